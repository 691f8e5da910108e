#!/usr/bin/env bash
# `make soak`: ten minutes (SOAK_SECONDS) of mixed traffic against gunicorn, a Celery
# worker and beat, a throwaway PostgreSQL and Redis; see bench/soak.py. The report is
# printed and kept in bench/out/soak.txt; figures are recorded by hand in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh postgresql redis-server
. scripts/services.sh
export DJANGO_SETTINGS_MODULE=alliance.settings.production
export LOG_LEVEL=WARNING
# The soak speaks to gunicorn as the TLS proxy would (X-Forwarded-Proto: https from 127.0.0.1).
export TRUSTED_PROXIES=127.0.0.1 METRICS_ALLOWED_IPS=127.0.0.1
export PROMETHEUS_MULTIPROC_DIR="$TMP/prom-web"
# Where the soak finds the database's and Redis's processes to measure their memory.
export SOAK_PG_PIDFILE="$TMP/pg/postmaster.pid" SOAK_REDIS_PIDFILE="$TMP/redis/redis.pid"
mkdir -p bench/out
createdb -h 127.0.0.1 -p "$PGPORT" -U postgres alliance
python manage.py migrate --noinput -v0
python manage.py collectstatic --noinput -v0  # hashed names (ManifestStaticFilesStorage) under production settings
python bench/soak.py | tee bench/out/soak.txt
