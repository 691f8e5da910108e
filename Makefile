.PHONY: run federation test test-fast lint format bench soak backup restore pitr-rehearsal secrets messages

run:  ## the whole system on the embedded default (SQLite, local Redis, web, worker, beat, simulator)
	@scripts/run.sh

federation:  ## three local instances (be, nl, europol), own databases, peered to each other (docs/federation.md)
	@scripts/federation.sh

test:  ## lint + the whole suite on a throwaway PostgreSQL and Redis, with a real worker and browser
	@scripts/test.sh

test-fast:  ## unit tests on SQLite, no services
	@scripts/test_fast.sh

messages:  ## re-extract marked strings into locale/{nl,fr,de} (then translate the new, empty entries)
	@scripts/bootstrap.sh gettext
	@scripts/messages.sh update

lint:
	@scripts/bootstrap.sh
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports --no-cache
	scripts/mypy.sh

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

bench:  ## benchmarks, side by side; figures go to docs/benchmarks.md
	@scripts/bench.sh

soak:  ## ten minutes (SOAK_SECONDS) of mixed traffic against the whole stack; figures go to docs/benchmarks.md
	@scripts/soak.sh

backup:  ## a consistent backup of the local database into var/backups/
	@set -a; [ -f .env.local ] && . ./.env.local; set +a; .venv/bin/python manage.py backup_db

restore:  ## make restore FILE=var/backups/alliance-....sqlite3 (stop `make run` first)
	@test -n "$(FILE)" || (echo "usage: make restore FILE=path" && exit 2)
	@set -a; [ -f .env.local ] && . ./.env.local; set +a; .venv/bin/python manage.py restore_db "$(FILE)"

pitr-rehearsal:  ## base backup + WAL archive + restore to a point in time on a throwaway cluster, then verify
	@scripts/pitr_rehearsal.sh

secrets:  ## the secret files docker-compose.yml reads (./secrets, never overwritten)
	@scripts/make_secrets.sh
