#!/usr/bin/env bash
# `make bench`: every benchmark in bench/, each comparing variants side by side
# in one run (ratios, not absolute times), against a throwaway PostgreSQL and
# Redis. Figures are recorded by hand in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh postgresql redis-server
. scripts/services.sh
export DJANGO_SETTINGS_MODULE=alliance.settings.test
mkdir -p bench/out
createdb -h 127.0.0.1 -p "$PGPORT" -U postgres alliance
python manage.py migrate --noinput -v0
for script in bench/bench_*.py bench/eval_*.py; do
  [ -e "$script" ] || continue
  echo "== $script"
  python "$script" | tee "bench/out/$(basename "$script" .py).txt"
done
