#!/usr/bin/env bash
# Writes the DigitalOcean Spaces access key into an AWS shared-credentials profile (default
# `spaces`), which PULUMI_BACKEND_URL names with `&profile=spaces`.
#
# Why a profile and not AWS_ACCESS_KEY_ID: the program's AWS provider (off-site backups) takes its
# credentials from the AWS_* environment (GitHub OIDC in CI). An explicitly named profile wins over
# those variables in the state backend's S3 client, so each side gets its own credentials.
#
#   SPACES_ACCESS_KEY_ID=... SPACES_SECRET_ACCESS_KEY=... scripts/ops/spaces-profile.sh [profile]
#
# Replaces the profile's section if present, keeps every other profile, prints no key.
set -euo pipefail

profile="${1:-spaces}"
: "${SPACES_ACCESS_KEY_ID:?SPACES_ACCESS_KEY_ID is not set (a Spaces access key with access to the state bucket)}"
: "${SPACES_SECRET_ACCESS_KEY:?SPACES_SECRET_ACCESS_KEY is not set}"
file="${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}"

umask 077
mkdir -p "$(dirname "$file")"
touch "$file"
tmp="$(mktemp "$file.XXXXXX")"
# Drop the old [profile] section (up to the next section header), keep the rest verbatim.
awk -v section="[$profile]" '
  /^\[/ { skip = ($0 == section) }
  !skip { print }
' "$file" >"$tmp"
{
  echo "[$profile]"
  echo "aws_access_key_id = $SPACES_ACCESS_KEY_ID"
  echo "aws_secret_access_key = $SPACES_SECRET_ACCESS_KEY"
} >>"$tmp"
mv "$tmp" "$file"
echo "spaces-profile: wrote profile [$profile] to $file" >&2
