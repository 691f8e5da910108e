#!/usr/bin/env bash
# `make run`: the whole system on the embedded default. SQLite, a local Redis,
# web (gunicorn), Celery worker and beat, demo data and a simulated scanner.
# Ctrl-C stops everything; a second run keeps the data and the secrets.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${REDIS_URL:-}" ]; then scripts/bootstrap.sh redis-server gettext; else scripts/bootstrap.sh gettext; fi
mkdir -p var/log
PY=.venv/bin/python
export DJANGO_SETTINGS_MODULE=alliance.settings.local

# Secrets are generated once into a git-ignored env file, so a second run finds them.
if [ ! -f .env.local ]; then
  umask 077
  {
    echo "SECRET_KEY=$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')"
    echo "ALLIANCE_KEK=$($PY -c 'import secrets; print(secrets.token_urlsafe(32))')"
    echo "DEMO_PASSWORD=$($PY -c 'import secrets; print(secrets.token_urlsafe(12))')"
  } > .env.local
  umask 022
  echo "Generated local secrets in .env.local (git-ignored)."
fi
set -a; . ./.env.local; set +a

PIDS=()
stop() {
  trap - INT TERM EXIT
  echo; echo "Stopping..."
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "Stopped. Data is kept in var/."
}
trap stop INT TERM EXIT

if [ -z "${REDIS_URL:-}" ]; then
  REDIS_PORT=${REDIS_PORT:-6379}
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    echo "Using the Redis already listening on port $REDIS_PORT."
  else
    mkdir -p var/redis
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$PWD/var/redis" --appendonly yes \
      --save "" --logfile "$PWD/var/log/redis.log" &
    PIDS+=($!)
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
fi

scripts/messages.sh compile  # the .mo catalogues are built, never committed
$PY manage.py migrate --noinput -v0
$PY manage.py collectstatic --noinput -v0
$PY manage.py seed_demo | tee var/log/seed.log

PORT=${PORT:-8000}
# JSON log lines (alliance.logs) in var/log/; metrics on /metrics (web) and METRICS_WORKER_PORT (worker),
# each with its own Prometheus multiprocess directory, emptied at start.
rm -rf var/metrics && mkdir -p var/metrics/web var/metrics/worker
PROMETHEUS_MULTIPROC_DIR="$PWD/var/metrics/web" .venv/bin/gunicorn -c python:alliance.gunicorn_conf \
  alliance.wsgi:application --bind "127.0.0.1:$PORT" --workers 2 --threads 4 >>var/log/web.log 2>&1 &
PIDS+=($!)
PROMETHEUS_MULTIPROC_DIR="$PWD/var/metrics/worker" METRICS_WORKER_PORT=${METRICS_WORKER_PORT:-9808} \
  .venv/bin/celery --quiet -A alliance worker --loglevel INFO --concurrency 2 >>var/log/worker.log 2>&1 &
PIDS+=($!)
.venv/bin/celery --quiet -A alliance beat --loglevel INFO --schedule var/celerybeat-schedule >>var/log/beat.log 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  $PY -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
    "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
if $PY manage.py help simulate_scanners >/dev/null 2>&1; then
  $PY manage.py simulate_scanners --url "http://127.0.0.1:$PORT" --rate "${SIM_RATE:-2}" >var/log/simulator.log 2>&1 &
  PIDS+=($!)
fi

cat <<MSG

  Alliance Exchange is running:  http://127.0.0.1:$PORT/
  API docs:                      http://127.0.0.1:$PORT/api/docs/
  Health:                        http://127.0.0.1:$PORT/healthz
  Metrics:                       http://127.0.0.1:$PORT/metrics (worker: http://127.0.0.1:${METRICS_WORKER_PORT:-9808}/metrics)
  Demo logins (password: $DEMO_PASSWORD):
MSG
grep -E '^  [a-z]+\.[a-z]+ ' var/log/seed.log | awk '{printf "    %-20s %-8s %s\n", $1, $2, $3}'
echo "  Logs in var/log/. Press Ctrl-C to stop."
wait
