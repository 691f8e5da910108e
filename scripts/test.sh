#!/usr/bin/env bash
# `make test`: install what is needed, start a throwaway PostgreSQL cluster and
# Redis on free ports in a temporary directory, lint, run the whole suite
# against them (with real worker, web and browser processes), tear down.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh postgresql redis-server chromium openssl gettext docker-compose caddy pgbackrest
# The compiled catalogues (.mo) are built, never committed.
scripts/messages.sh compile
. scripts/services.sh
export DJANGO_SETTINGS_MODULE=alliance.settings.test

if [ -z "${SKIP_LINT:-}" ]; then
  echo "== lint"
  ruff check .
  ruff format --check .
  lint-imports --no-cache >/dev/null || lint-imports --no-cache
  scripts/mypy.sh
fi
echo "== tests (PostgreSQL $PGPORT, Redis $REDIS_PORT)"
pytest "$@"
