#!/usr/bin/env bash
# Point-in-time recovery, rehearsed for real on a throwaway cluster (docs/operations.md, "Backups"):
#
#   1. a PostgreSQL cluster archiving every WAL segment to an encrypted pgBackRest repository;
#   2. the schema and the demo alliance (signed alerts, agency keys, the audit chain), then a full backup;
#   3. alert BEFORE published and a checkpoint signed; the target time noted; alert AFTER published;
#   4. the cluster is lost; a new one is restored from the base backup and the WAL up to the target time;
#   5. proven on the restored database: BEFORE is there and AFTER is not; `verify_signatures` and
#      `audit_verify` pass; signing anything needs the key-encryption key (a wrong ALLIANCE_KEK fails, the
#      right one works); neither the KEK nor the repository passphrase is in the repository, and the
#      repository cannot be read without the passphrase.
#
# Exit 0 only when every step held. Run by tests/ops/test_pitr.py (so by `make test`) and by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh postgresql pgbackrest
export PATH="$PWD/.venv/bin:$PATH"

TMP=$(mktemp -d -t alliance-pitr.XXXXXX)
chmod 755 "$TMP"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PORT_A=$(python scripts/free_port.py)
PORT_B=$(python scripts/free_port.py)
cleanup() {
  set +e
  for dir in "$TMP/pg" "$TMP/restored"; do
    [ -f "$dir/postmaster.pid" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1
  done
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
step() { printf '\n== %s\n' "$*"; }

mkdir -p "$TMP"/{pg,restored,repo,spool,log,lock,sock}
chown -R postgres:postgres "$TMP"
chmod 700 "$TMP/pg" "$TMP/restored"

# The two secrets of a deployment, kept apart from the repository (here: shell variables only).
KEK=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')
PASSPHRASE=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')
cat > "$TMP/pgbackrest.conf" <<CONF
[global]
repo1-path=$TMP/repo
repo1-cipher-type=aes-256-cbc
repo1-retention-full=2
spool-path=$TMP/spool
log-path=$TMP/log
lock-path=$TMP/lock
start-fast=y
log-level-console=warn
log-level-file=off

[alliance]
pg1-path=$TMP/pg
pg1-port=$PORT_A
pg1-socket-path=$TMP/sock
CONF
chown postgres:postgres "$TMP/pgbackrest.conf"
PGB=(runuser -u postgres -- env PGBACKREST_CONFIG="$TMP/pgbackrest.conf" PGBACKREST_REPO1_CIPHER_PASS="$PASSPHRASE" pgbackrest --stanza=alliance)

start_cluster() {  # dir port extra-options...
  local dir=$1 port=$2
  shift 2
  runuser -u postgres -- env PGBACKREST_CONFIG="$TMP/pgbackrest.conf" PGBACKREST_REPO1_CIPHER_PASS="$PASSPHRASE" \
    "$PGBIN/pg_ctl" -D "$dir" -l "$TMP/log/$(basename "$dir").log" -w -t 120 \
    -o "-p $port -k $TMP/sock -c listen_addresses=127.0.0.1 $*" start >/dev/null
}

step "1. a cluster archiving its WAL to an encrypted pgBackRest repository"
runuser -u postgres -- "$PGBIN/initdb" -D "$TMP/pg" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
start_cluster "$TMP/pg" "$PORT_A" "-c wal_level=replica -c archive_mode=on -c archive_timeout=60 \
  -c archive_command='pgbackrest --stanza=alliance archive-push %p'"
"${PGB[@]}" stanza-create
"${PGB[@]}" check
createdb -h 127.0.0.1 -p "$PORT_A" -U postgres alliance

export DJANGO_SETTINGS_MODULE=alliance.settings.production SECURE_SSL_REDIRECT=false LOG_LEVEL=WARNING
export ALLIANCE_ENV_FILE="$TMP/none.env" ALLIANCE_VAR_DIR="$TMP/var" ALLOWED_HOSTS=localhost
export SECRET_KEY="pitr-$(python -c 'import secrets; print(secrets.token_urlsafe(40))')" ALLIANCE_KEK="$KEK"
export REDIS_URL="redis://127.0.0.1:1/0"  # no broker: commands only (enqueues fail quietly)
export DATABASE_URL="postgres://postgres@127.0.0.1:$PORT_A/alliance"

step "2. schema, the demo alliance (agency keys, signed alerts, audit chain), full backup"
python manage.py migrate --noinput -v0
DEMO_PASSWORD=rehearsal-password python manage.py seed_demo >/dev/null
python manage.py shell -v0 -c "from ports import audit; audit.checkpoint_create()"
"${PGB[@]}" backup --type=full

publish() {  # title
  python manage.py shell -v0 -c "
from django.db import transaction
from ports.models import Membership
from sharing.services.alerts import alert_publish
officer = Membership.objects.filter(role='officer', agency__port__isnull=False).select_related('agency').first()
with transaction.atomic():
    alert_publish(membership=officer, data={
        'title': '$1', 'body': 'Rehearsal of a point-in-time recovery.', 'category': 'seal_tampering',
        'severity': 'medium', 'tlp': 'GREEN', 'audience': {'agencies': [], 'ports': [], 'users': []},
        'containers': [], 'vessels': [], 'port': officer.agency.port_id, 'origin': 'ECGYE', 'valid_until': None,
        'source_reliability': None, 'information_reliability': None, 'handling': None})
"
}
query() { psql -h 127.0.0.1 -p "$1" -U postgres -d alliance -Atc "$2"; }

step "3. BEFORE published and checkpointed, the target time noted, AFTER published"
BEFORE="PITR before $(date -u +%H%M%S)"
AFTER="PITR after $(date -u +%H%M%S)"
publish "$BEFORE"
python manage.py shell -v0 -c "from ports import audit; audit.checkpoint_create()"
sleep 1
TARGET=$(query "$PORT_A" "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00')")
sleep 1
publish "$AFTER"
query "$PORT_A" "SELECT pg_switch_wal()" >/dev/null
"${PGB[@]}" check  # waits until the segment holding AFTER is in the repository
echo "target time: $TARGET; alerts on the lost cluster: $(query "$PORT_A" "SELECT count(*) FROM sharing_alert")"

step "4. the cluster is lost; restore base backup + WAL to the target time on a new one"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/pg" -m immediate stop >/dev/null
"${PGB[@]}" --pg1-path="$TMP/restored" --type=time "--target=$TARGET" --target-action=promote restore
# The rehearsal cluster must not archive into the production stanza's repository after promotion.
start_cluster "$TMP/restored" "$PORT_B" "-c archive_mode=off"
for _ in $(seq 120); do
  [ "$(query "$PORT_B" "SELECT pg_is_in_recovery()")" = "f" ] && break
  sleep 0.5
done
export DATABASE_URL="postgres://postgres@127.0.0.1:$PORT_B/alliance"

step "5. proofs on the restored database"
fail() { echo "PITR REHEARSAL FAILED: $*" >&2; exit 1; }
[ "$(query "$PORT_B" "SELECT count(*) FROM sharing_alert WHERE title = '$BEFORE'")" = 1 ] || fail "BEFORE is missing"
[ "$(query "$PORT_B" "SELECT count(*) FROM sharing_alert WHERE title = '$AFTER'")" = 0 ] || fail "AFTER was restored"
echo "BEFORE restored, AFTER (after the target time) absent"
python manage.py verify_signatures --no-mark
python manage.py audit_verify
sign_checkpoint='
from django.db import transaction
from ports import audit
with transaction.atomic():
    audit.record("pitr-rehearsal", "rehearsal.restored", None, {}, object_type="rehearsal", object_id="1")
    print("signed checkpoint", audit.checkpoint_create().seq)
'
if ALLIANCE_KEK="not-the-kek" python manage.py shell -v0 -c "$sign_checkpoint" >/dev/null 2>&1; then
  fail "a checkpoint was signed without the key-encryption key"
fi
echo "without ALLIANCE_KEK the restored keys cannot sign (as intended)"
python manage.py shell -v0 -c "$sign_checkpoint"
python manage.py audit_verify
if grep -rqa -- "$KEK" "$TMP/repo" || grep -rqa -- "$PASSPHRASE" "$TMP/repo"; then
  fail "a secret is stored in the backup repository"
fi
mkdir -p "$TMP/probe" && chown postgres:postgres "$TMP/probe" && chmod 700 "$TMP/probe"
if runuser -u postgres -- env PGBACKREST_CONFIG="$TMP/pgbackrest.conf" PGBACKREST_REPO1_CIPHER_PASS=wrong \
  pgbackrest --stanza=alliance --pg1-path="$TMP/probe" restore >/dev/null 2>&1; then
  fail "the repository was restored with a wrong passphrase"
fi
echo "the repository holds neither the KEK nor its passphrase, and is unreadable without the passphrase"
echo
echo "PITR REHEARSAL OK"
