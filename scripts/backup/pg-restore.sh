#!/usr/bin/env bash
# Restore an off-site dump into a NEW database (never over a live one), verified end to end.
#
#   pg-restore.sh --new-db NAME [--owner ROLE] [--at ISO8601 | --key KEY]
#
#   SERVER_URL    postgresql://user:password@host:port/<any existing db>?sslmode=require of a role
#                 that may CREATE DATABASE (on DigitalOcean: doadmin); the new database is created
#                 on that server. With --owner (normally the application's role) the database and
#                 every restored object belong to that role, exactly as the application expects;
#                 without it they belong to the SERVER_URL role. Ownership and grants recorded in
#                 the dump are not replayed (--no-owner --no-acl): roles differ between clusters.
#   S3_BUCKET, BACKUP_STACK, S3_PREFIX (default postgres), AWS_* credentials with s3:GetObject and
#   s3:ListBucket on the bucket (an operator's own, never the CronJob's put-only key).
#
# Picks the newest dump that started at or before --at (default: now), checks its sha256 against
# the metadata written at backup time, restores in a single transaction (all or nothing), then
# prints "<schema>.<table> <rows>" for every table so the result can be compared with the source.
set -euo pipefail

usage() { sed -n '2,18p' "$0" >&2; exit 64; }
at="" key="" new_db="" owner=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --at) at="${2:?}"; shift 2 ;;
    --key) key="${2:?}"; shift 2 ;;
    --new-db) new_db="${2:?}"; shift 2 ;;
    --owner) owner="${2:?}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "pg-restore: unknown argument '$1'" >&2; usage ;;
  esac
done
: "${SERVER_URL:?SERVER_URL is required (a role that may CREATE DATABASE)}"
: "${S3_BUCKET:?S3_BUCKET is required}"
: "${BACKUP_STACK:?BACKUP_STACK is required}"
prefix="${S3_PREFIX:-postgres}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
s3obj="${S3OBJ:-$here/s3obj.py}"
python="${PYTHON:-python3}"
export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-15}"

if [[ ! "$new_db" =~ ^[a-z_][a-z0-9_]{0,62}$ ]]; then
  echo "pg-restore: --new-db must be a lowercase identifier ([a-z_][a-z0-9_]*), got '$new_db'" >&2
  exit 64
fi
if [[ -n "$owner" && ! "$owner" =~ ^[a-z_][a-z0-9_-]{0,62}$ ]]; then
  echo "pg-restore: --owner must be a role name ([a-z_][a-z0-9_-]*), got '$owner'" >&2
  exit 64
fi
if [[ -n "$at" && -n "$key" ]]; then
  echo "pg-restore: give --at or --key, not both" >&2
  exit 64
fi
# postgresql://user:pw@host:port/db?params -> the same with /<new_db>
if [[ ! "$SERVER_URL" =~ ^(postgres(ql)?://[^/?]+)/[^/?]*(\?.*)?$ ]]; then
  echo "pg-restore: SERVER_URL must be postgresql://user:password@host:port/database[?params]" >&2
  exit 64
fi
target_url="${BASH_REMATCH[1]}/$new_db${BASH_REMATCH[3]}"

log() { printf '%s pg-restore: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
workdir="$(mktemp -d "${TMPDIR:-/tmp}/pg-restore.XXXXXX")"
trap 'rm -rf "$workdir"' EXIT

if [[ -z "$key" ]]; then
  key="$("$python" "$s3obj" latest --bucket "$S3_BUCKET" --prefix "$prefix/$BACKUP_STACK/" ${at:+--at "$at"})"
fi
log "restoring s3://$S3_BUCKET/$key into database $new_db"
"$python" "$s3obj" get --bucket "$S3_BUCKET" --key "$key" --file "$workdir/db.dump" >&2
pg_restore --list "$workdir/db.dump" >/dev/null

exists="$(psql -X -At --no-password -d "$SERVER_URL" -c "select 1 from pg_database where datname = '$new_db'")"
if [[ -n "$exists" ]]; then
  echo "pg-restore: database $new_db already exists; restores only go into a new database" >&2
  exit 65
fi
role_args=()
if [[ -n "$owner" ]]; then
  # Creating a database for, and restoring as, another role needs membership in it. A non-superuser
  # admin (DigitalOcean's doadmin has CREATEROLE) may grant it to itself; a superuser already has it.
  member="$(psql -X -At --no-password -d "$SERVER_URL" -c "select pg_has_role(current_user, '$owner', 'MEMBER')")"
  if [[ "$member" != "t" ]]; then
    psql -X -q --no-password -v ON_ERROR_STOP=1 -d "$SERVER_URL" -c "grant \"$owner\" to current_user"
  fi
  psql -X -q --no-password -v ON_ERROR_STOP=1 -d "$SERVER_URL" -c "create database \"$new_db\" owner \"$owner\""
  role_args=(--role="$owner")
else
  psql -X -q --no-password -v ON_ERROR_STOP=1 -d "$SERVER_URL" -c "create database \"$new_db\""
fi
pg_restore --no-password --no-owner --no-acl --exit-on-error --single-transaction "${role_args[@]}" \
  --dbname="$target_url" "$workdir/db.dump"
log "restored; row counts:"
psql -X -At -F ' ' --no-password -v ON_ERROR_STOP=1 -d "$target_url" <<'SQL'
select format('select %L, count(*) from %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname)
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname not like 'pg_toast%'
order by 1
\gexec
SQL
log "done: $new_db restored from $key"
