#!/usr/bin/env bash
# `make test-fast`: unit tests on SQLite, no services.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh gettext
scripts/messages.sh compile
TMP=$(mktemp -d -t alliance-fast.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export DATABASE_URL="sqlite:///$TMP/fast.sqlite3"
export REDIS_URL="redis://127.0.0.1:1/0"   # nothing listens: caches and throttles must fail open
export SECRET_KEY=fast-tests ALLIANCE_KEK=fast-tests-kek ALLIANCE_ENV_FILE="$TMP/none.env" ALLIANCE_VAR_DIR="$TMP/var"
export DJANGO_SETTINGS_MODULE=alliance.settings.test
.venv/bin/pytest -m "not integration and not postgres" "$@"
