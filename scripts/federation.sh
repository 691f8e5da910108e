#!/usr/bin/env bash
# `make federation`: three local instances, `be`, `nl` and `europol`, each with its own SQLite database under
# var/federation/<id>/, its own Redis database number, web server (ports 8101-8103), worker and beat; each seeded
# with the demo alliance for its home agencies and peered to the other two. Ctrl-C stops them; data stays.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${REDIS_URL:-}" ]; then scripts/bootstrap.sh redis-server; else scripts/bootstrap.sh; fi
mkdir -p var/federation
REDIS_PID=""
if [ -z "${REDIS_URL:-}" ]; then
  REDIS_PORT=${REDIS_PORT:-6379}
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$PWD/var/federation" --save "" \
      --logfile "$PWD/var/federation/redis.log" &
    REDIS_PID=$!
    trap '[ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null || true' EXIT INT TERM
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
fi
.venv/bin/python scripts/federation_local.py --var var/federation --redis "${REDIS_URL%/*}"
