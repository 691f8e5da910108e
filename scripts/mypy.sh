#!/usr/bin/env bash
# Type-check the files pyproject.toml [tool.mypy] names. The django-stubs plugin loads the test settings,
# which read the environment (SECRET_KEY and ALLIANCE_KEK have no default): the values scripts/test_fast.sh uses.
set -euo pipefail
cd "$(dirname "$0")/.."
TMP=$(mktemp -d -t alliance-mypy.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export DATABASE_URL="sqlite:///$TMP/mypy.sqlite3"
export REDIS_URL="redis://127.0.0.1:1/0"
export SECRET_KEY=fast-tests ALLIANCE_KEK=fast-tests-kek ALLIANCE_ENV_FILE="$TMP/none.env" ALLIANCE_VAR_DIR="$TMP/var"
export DJANGO_SETTINGS_MODULE=alliance.settings.test
.venv/bin/mypy "$@"
