#!/usr/bin/env bash
# Writes the secret files docker-compose.yml reads (./secrets, mode 0600, git-ignored), once: an existing
# file is never overwritten (a new ALLIANCE_KEK would make every agency key unreadable). Print nothing secret.
#
# Keep alliance_kek and backup_passphrase ALSO outside this host (a password manager or a sealed envelope
# with the security officer): a backup restored elsewhere is useless without them, and they must never be
# stored with the backups (docs/operations.md, "The key-encryption key").
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077
mkdir -p secrets
chmod 700 secrets
gen() { python3 -c "import secrets; print(secrets.token_urlsafe($1), end='')"; }
made=()
for name in secret_key:50 alliance_kek:32 postgres_password:24 backup_passphrase:32 demo_password:12 grafana_password:16; do
  file=secrets/${name%%:*}
  if [ ! -e "$file" ]; then
    gen "${name##*:}" > "$file"
    made+=("${name%%:*}")
  fi
done
if [ ! -e secrets/database_url ]; then
  printf 'postgres://alliance:%s@postgres:5432/alliance' "$(cat secrets/postgres_password)" > secrets/database_url
  made+=(database_url)
fi
# Compose mounts secret files as they are on the host (uid, gid and mode kept): each belongs to the user that
# reads it inside its container. alliance = uid 10001 (Dockerfile), postgres = 999 (the postgres image; the
# archive_command and the backup service run as it), grafana = 472; postgres_password is read by the
# postgres entrypoint while still root.
own() {  # uid file...
  local uid=$1
  shift
  chown "$uid:$uid" "$@" 2>/dev/null || echo "note: could not chown $* to $uid (not root?): do it before starting"
  chmod 400 "$@"
}
own 10001 secrets/secret_key secrets/alliance_kek secrets/database_url secrets/demo_password
own 999 secrets/backup_passphrase
own 472 secrets/grafana_password
own 0 secrets/postgres_password
echo "secrets/: ${made[*]:-nothing new} written; existing files kept."
