.PHONY: run test test-fast lint format bench migrate seed

run:  ## the whole system on the embedded default (SQLite, local Redis, web, worker, beat, simulator)
	@scripts/run.sh

test:  ## lint + the whole suite on a throwaway PostgreSQL and Redis, with a real worker and browser
	@scripts/test.sh

test-fast:  ## unit tests on SQLite, no services
	@scripts/test_fast.sh

lint:
	@scripts/bootstrap.sh
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

bench:  ## benchmarks, side by side; figures go to docs/benchmarks.md
	@scripts/bench.sh
