# Sourced by test.sh and bench.sh: start a throwaway PostgreSQL cluster and
# Redis on free ports in a temporary directory, export their URLs, and stop
# them (and remove the directory) when the calling script exits.
TMP=$(mktemp -d -t alliance-run.XXXXXX)
chmod 755 "$TMP"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGPORT=$(.venv/bin/python scripts/free_port.py)
REDIS_PORT=$(.venv/bin/python scripts/free_port.py)

services_cleanup() {
  set +e
  [ -f "$TMP/redis/redis.pid" ] && kill "$(cat "$TMP/redis/redis.pid")" 2>/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/pg" -m immediate stop >/dev/null 2>&1
  rm -rf "$TMP"
}
trap services_cleanup EXIT INT TERM

# PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
mkdir -p "$TMP/pg" "$TMP/sock" "$TMP/redis"
chown postgres:postgres "$TMP/pg" "$TMP/sock"
runuser -u postgres -- "$PGBIN/initdb" -D "$TMP/pg" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/pg" -l "$TMP/pg/server.log" -w -o \
  "-p $PGPORT -k $TMP/sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB" \
  start >/dev/null
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$TMP/redis" --save "" --appendonly no \
  --daemonize yes --pidfile "$TMP/redis/redis.pid" --logfile "$TMP/redis/redis.log"

export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/alliance"
export PG_ADMIN_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export SECRET_KEY="run-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export ALLIANCE_KEK="kek-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export ALLIANCE_ENV_FILE="$TMP/none.env"
export ALLIANCE_VAR_DIR="$TMP/var"
export PATH="$PWD/.venv/bin:$PATH"
