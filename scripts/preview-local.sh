#!/usr/bin/env bash
# First look at a stack from a laptop: local file state (no Pulumi Cloud account), passphrase secrets.
#   DIGITALOCEAN_TOKEN=... PULUMI_CONFIG_PASSPHRASE=... scripts/preview-local.sh [staging|production]
# Creates the stack on first use, then previews it. Missing secrets are reported by the program itself
# with the exact `pulumi config set --secret ...` command for each.
set -euo pipefail
cd "$(dirname "$0")/.."
STACK="${1:-staging}"
case "$STACK" in staging|production|*-staging|*-production) ;; *) echo "unknown stack '$STACK'" >&2; exit 2 ;; esac
command -v pulumi >/dev/null || { echo "install the Pulumi CLI first: https://www.pulumi.com/docs/install/" >&2; exit 2; }
: "${DIGITALOCEAN_TOKEN:?export DIGITALOCEAN_TOKEN (a DigitalOcean API token with write scope)}"
: "${PULUMI_CONFIG_PASSPHRASE:?export PULUMI_CONFIG_PASSPHRASE (encrypts this stack's secrets; keep it in a password manager)}"
STATE_DIR="${PULUMI_LOCAL_STATE:-$HOME/.pulumi-state}"
mkdir -p "$STATE_DIR"
pulumi login "file://$STATE_DIR"
pulumi stack select --create "$STACK" --secrets-provider passphrase
exec pulumi preview --stack "$STACK" --diff
