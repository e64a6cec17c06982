#!/usr/bin/env bash
# One off-site backup: pg_dump of the application database, uploaded to S3 under a timestamped key.
# Run hourly by the <prefix>-pg-backup CronJob (RPO 1 h); runnable by hand with the same variables.
#
#   DATABASE_URL  postgresql:// URI on the DIRECT port (25060). Never the transaction pool (25061):
#                 pg_dump needs a session of its own for its snapshot.
#   S3_BUCKET     bucket of the stack's BackupVault
#   BACKUP_STACK  stack name, part of the key
#   S3_PREFIX     key prefix the writer may put under (default: postgres)
#   S3_KMS_KEY_ARN  the vault's dedicated KMS key, named on every upload (unset: the aws/s3 key)
#   AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (or a profile), AWS_ENDPOINT_URL (tests only)
#   BACKUP_TIMESTAMP  override of the dump's time, YYYYMMDDTHHMMSSZ (tests)
#
# Key: <prefix>/<stack>/YYYY/MM/DD/<YYYYMMDDTHHMMSSZ>.dump, custom format (compressed, restorable
# table by table), sha256 in the object's metadata. Exits non-zero on any failure, so the Job fails
# and kube_cronjob_status_last_successful_time stops advancing (the "no backup in 2 h" alert).
set -euo pipefail

: "${DATABASE_URL:?DATABASE_URL is required (direct port 25060)}"
: "${S3_BUCKET:?S3_BUCKET is required}"
: "${BACKUP_STACK:?BACKUP_STACK is required}"
prefix="${S3_PREFIX:-postgres}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
s3obj="${S3OBJ:-$here/s3obj.py}"
python="${PYTHON:-python3}"
export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-15}"

now="${BACKUP_TIMESTAMP:-$(date -u +%Y%m%dT%H%M%SZ)}"
if [[ ! "$now" =~ ^[0-9]{8}T[0-9]{6}Z$ ]]; then
  echo "pg-backup: BACKUP_TIMESTAMP must look like 20260101T000000Z, got '$now'" >&2
  exit 64
fi
key="$prefix/$BACKUP_STACK/${now:0:4}/${now:4:2}/${now:6:2}/$now.dump"

log() { printf '%s pg-backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

workdir="$(mktemp -d "${TMPDIR:-/tmp}/pg-backup.XXXXXX")"
trap 'rm -rf "$workdir"' EXIT

log "dumping with $(pg_dump --version)"
# --lock-wait-timeout: fail fast instead of queueing behind a migration's exclusive lock (and
# blocking every query queued behind us). The next hourly run retries.
pg_dump --format=custom --compress=6 --no-password --lock-wait-timeout=60s \
  --file="$workdir/db.dump" --dbname="$DATABASE_URL"
# A dump pg_restore cannot read is no backup: check its table of contents before uploading it.
pg_restore --list "$workdir/db.dump" >"$workdir/toc"
entries="$(grep -cv '^;' "$workdir/toc" || true)"
log "dump ok: $(stat -c %s "$workdir/db.dump") bytes, $entries TOC entries"

"$python" "$s3obj" put --bucket "$S3_BUCKET" --key "$key" --file "$workdir/db.dump"
log "uploaded s3://$S3_BUCKET/$key"
