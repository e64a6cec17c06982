#!/usr/bin/env bash
# The real cloud preview from a laptop, once a DigitalOcean token exists (the offline plan, with no
# account at all, is `make plan`). Local file state (no Pulumi Cloud account), passphrase secrets, and
# the policy pack with the stack's policy config, exactly as the pull-request workflow runs it.
#   DIGITALOCEAN_TOKEN=... PULUMI_CONFIG_PASSPHRASE=... scripts/preview-local.sh [staging|production]
# Creates the stack on first use, then previews it. Missing secrets are reported by the program itself
# with the exact `pulumi config set --secret ...` command for each.
set -euo pipefail
cd "$(dirname "$0")/.."
STACK="${1:-staging}"
case "$STACK" in staging|production|*-staging|*-production) ;; *) echo "unknown stack '$STACK'" >&2; exit 2 ;; esac
command -v pulumi >/dev/null || { echo "install the Pulumi CLI first: https://www.pulumi.com/docs/install/" >&2; exit 2; }
# Messages in double quotes: an apostrophe inside ${VAR:?...} would open a quote bash never closes.
: "${DIGITALOCEAN_TOKEN:?"export DIGITALOCEAN_TOKEN (a DigitalOcean API token with write scope)"}"
: "${PULUMI_CONFIG_PASSPHRASE:?"export PULUMI_CONFIG_PASSPHRASE (encrypts the stack's secrets; keep it in a password manager)"}"
ENVIRONMENT="${STACK##*-}"
POLICY_CONFIG="policies/config/$ENVIRONMENT.json"
[ -f "$POLICY_CONFIG" ] || { echo "missing $POLICY_CONFIG: every preview enforces the stack's policy config" >&2; exit 2; }
[ -x .venv/bin/python ] || { echo "run \`make venv\` first: the program and the policy pack run in .venv" >&2; exit 2; }
STATE_DIR="${PULUMI_LOCAL_STATE:-$HOME/.pulumi-state}"
mkdir -p "$STATE_DIR"
pulumi login "file://$STATE_DIR"
pulumi stack select --create "$STACK" --secrets-provider passphrase
exec pulumi preview --stack "$STACK" --diff --policy-pack policies --policy-pack-config "$POLICY_CONFIG"
