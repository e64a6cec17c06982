#!/usr/bin/env bash
# The one entry point for every Pulumi operation on a stack, run the same way by a human (ops.mk)
# and by CI (.github/workflows/). docs/operations.md is the runbook around it.
#
#   scripts/pulumi-stack.sh <command> <stack>
#
#   preview            pulumi preview with the policy pack and the stack's policy config
#   up                 pulumi up, same policy flags; production needs CONFIRM=production
#   refresh-check      drift detection: preview --refresh --expect-no-changes (fails on drift)
#   smoke              GET <apiUrl, else publicUrls.api><HEALTH_PATH> until it answers 2xx
#   destroy            staging only, with CONFIRM=staging; production is refused outright
#   bootstrap          pulumi stack init with the secrets provider (passphrase unless SECRETS_PROVIDER)
#   set-secrets        prompt for every secret of stack_config/secrets.py, store it encrypted
#   rotate-db-password reset the PostgreSQL user's password at DigitalOcean, then refresh + up
#
# Environment:
#   PULUMI_BACKEND_URL         s3://BUCKET?endpoint=REGION.digitaloceanspaces.com&region=us-east-1[&profile=spaces]
#   PULUMI_CONFIG_PASSPHRASE   (or PULUMI_CONFIG_PASSPHRASE_FILE) for passphrase-encrypted stacks
#   DIGITALOCEAN_TOKEN         DigitalOcean API token; also handed to doctl (DIGITALOCEAN_ACCESS_TOKEN) unless set
#   CONFIRM                    must equal the stack name for production up/rotation and staging destroy
#   HEALTH_PATH, SMOKE_ATTEMPTS, SMOKE_DELAY_SECONDS   smoke check tuning (/health, 30, 10)
#
# Exit codes: 0 ok; 1 the pulumi/doctl/curl operation failed (including drift); 2 refused
# (usage, missing confirmation or setting, doctl missing or not authenticated); 3 the smoke check
# cannot run (no apiUrl output).
# Nothing here prints a secret: values go to pulumi on stdin, and there is no `set -x`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

STACKS=(staging production)
POLICY_PACK="policies"
API_URL_OUTPUT="apiUrl"
PUBLIC_URLS_OUTPUT="publicUrls"
API_HOST="api"

# The policy pack's runtime is the `python` on PATH: the project virtualenv holds pulumi-policy
# (`make venv` installs policies/requirements.txt), so humans and CI evaluate the same rules.
if [ -x "$ROOT/.venv/bin/python" ]; then
  PATH="$ROOT/.venv/bin:$PATH"
fi

say() { echo "pulumi-stack: $*" >&2; }
refuse() {
  say "$*"
  exit 2
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

require_stack() {
  local stack="$1" known
  for known in "${STACKS[@]}"; do
    [ "$stack" = "$known" ] && return 0
  done
  refuse "unknown stack '$stack' (expected one of: ${STACKS[*]})"
}

require_confirmation() {
  local stack="$1" action="$2"
  if [ "${CONFIRM:-}" != "$stack" ]; then
    refuse "refusing to $action $stack without CONFIRM=$stack (got '${CONFIRM:-}')."
  fi
}

policy_config() {
  local file="$POLICY_PACK/config/$1.json"
  # Fail closed: without its config the pack would run with every policy at its default level.
  [ -f "$file" ] || refuse "missing policy config $file: every preview/up enforces the stack's policy config"
  echo "$file"
}

require_passphrase() {
  local stack="$1" stack_file="Pulumi.$1.yaml"
  # A stack initialised with a KMS provider records it in its file and needs no passphrase.
  if [ -f "$stack_file" ] && grep -Eq '^secretsprovider: *[a-z0-9]+://' "$stack_file" \
    && ! grep -Eq '^secretsprovider: *passphrase' "$stack_file"; then
    return 0
  fi
  if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    refuse "PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) is not set: $stack's secrets are passphrase-encrypted"
  fi
}

require_doctl() {
  # The Kubernetes provider's kubeconfig holds no token: client-go runs
  # `doctl kubernetes cluster kubeconfig exec-credential` whenever it talks to the cluster, in
  # preview, up, refresh and destroy alike (components/kubernetes_cluster.py). Without a working doctl
  # those fail half-way with an opaque exec-plugin error; say so before anything runs.
  command -v doctl >/dev/null \
    || refuse "doctl is not on PATH: the Kubernetes provider gets its cluster credential from 'doctl kubernetes cluster kubeconfig exec-credential'. Install it (scripts/ops/install-doctl.sh) and retry."
  # doctl reads DIGITALOCEAN_ACCESS_TOKEN (in its default context, the one the kubeconfig names); the
  # Pulumi provider reads DIGITALOCEAN_TOKEN. Exported, so the exec plugin pulumi starts inherits it.
  export DIGITALOCEAN_ACCESS_TOKEN="${DIGITALOCEAN_ACCESS_TOKEN:-${DIGITALOCEAN_TOKEN:-}}"
  doctl account get --context default >/dev/null 2>&1 \
    || refuse "doctl cannot authenticate (doctl account get --context default failed): set DIGITALOCEAN_TOKEN (or DIGITALOCEAN_ACCESS_TOKEN) to a valid token, or run 'doctl auth init'."
}

login() {
  local url="${PULUMI_BACKEND_URL:-}"
  [ -n "$url" ] || refuse "PULUMI_BACKEND_URL is not set: the s3://... URL of the state bucket (docs/operations.md, 'State backend')"
  case "$url" in
    s3://* | file://*) ;;
    *) refuse "refusing backend '${url%%\?*}': state lives in the self-managed S3-compatible bucket (s3://...), never in Pulumi Cloud" ;;
  esac
  pulumi login --non-interactive "$url" >/dev/null
}

cmd_preview() {
  local stack="$1" config
  config="$(policy_config "$stack")"
  require_passphrase "$stack"
  require_doctl
  login
  pulumi preview --stack "$stack" --non-interactive --diff \
    --policy-pack "$POLICY_PACK" --policy-pack-config "$config"
}

cmd_up() {
  local stack="$1" config
  if [ "$stack" = production ]; then
    require_confirmation production "update"
  fi
  config="$(policy_config "$stack")"
  require_passphrase "$stack"
  require_doctl
  login
  pulumi up --stack "$stack" --non-interactive --yes --diff \
    --policy-pack "$POLICY_PACK" --policy-pack-config "$config"
}

cmd_refresh_check() {
  local stack="$1" config
  config="$(policy_config "$stack")"
  require_passphrase "$stack"
  require_doctl
  login
  # preview --refresh reads the live resources without writing the refreshed state, so a drift
  # stays visible to the next check (and to `up`, which reverts it) instead of being absorbed.
  if ! pulumi preview --stack "$stack" --non-interactive --refresh --expect-no-changes --diff \
    --policy-pack "$POLICY_PACK" --policy-pack-config "$config"; then
    say "DRIFT: $stack differs from main (changed outside Pulumi, or main is not deployed). See the diff above and docs/operations.md, 'Drift'."
    exit 1
  fi
  say "$stack: no drift"
}

cmd_smoke() {
  local stack="$1" base urls url attempt
  local attempts="${SMOKE_ATTEMPTS:-30}" delay="${SMOKE_DELAY_SECONDS:-10}" path="${HEALTH_PATH:-/health}"
  # Reading an output loads the stack's checkpoint, which needs its secrets provider.
  require_passphrase "$stack"
  login
  base="$(pulumi stack output --stack "$stack" --non-interactive "$API_URL_OUTPUT" 2>/dev/null)" || base=""
  if [ -z "$base" ]; then
    # Fallback: the edge's map of public URLs, keyed by route host label ("api").
    urls="$(pulumi stack output --stack "$stack" --non-interactive --json "$PUBLIC_URLS_OUTPUT" 2>/dev/null)" || urls="{}"
    base="$(python3 -c 'import json, sys
urls = json.loads(sys.stdin.read() or "{}")
print(urls.get(sys.argv[1], "") if isinstance(urls, dict) else "")' "$API_HOST" <<<"$urls")" || base=""
  fi
  if [ -z "$base" ]; then
    say "cannot smoke-check $stack: the stack has neither an '$API_URL_OUTPUT' output nor '$PUBLIC_URLS_OUTPUT.$API_HOST' (the public base URL of the API)."
    say "Export one from __main__.py (docs/operations.md, 'Smoke check'); until then this check fails rather than pass blind."
    exit 3
  fi
  if [ "$base" = "[secret]" ]; then
    say "cannot smoke-check $stack: '$API_URL_OUTPUT' is exported as a secret; export the URL in plain text"
    exit 3
  fi
  url="${base%/}$path"
  for ((attempt = 1; attempt <= attempts; attempt++)); do
    if curl --fail --silent --show-error --max-time 10 --output /dev/null "$url"; then
      say "$stack: $url healthy (attempt $attempt/$attempts)"
      return 0
    fi
    if [ "$attempt" -lt "$attempts" ]; then sleep "$delay"; fi
  done
  say "SMOKE CHECK FAILED: $url did not answer 2xx after $attempts attempts"
  exit 1
}

cmd_destroy() {
  local stack="$1"
  if [ "$stack" = production ]; then
    refuse "production is never destroyed from here: its databases and volumes are protected (platform:protect) and hold the only live data. See docs/operations.md, 'Teardown'."
  fi
  require_confirmation "$stack" "destroy"
  require_passphrase "$stack"
  require_doctl
  login
  pulumi destroy --stack "$stack" --non-interactive --yes
}

cmd_bootstrap() {
  local stack="$1" provider="${SECRETS_PROVIDER:-passphrase}"
  if [ "$provider" = passphrase ]; then require_passphrase "$stack"; fi
  login
  if pulumi stack select --non-interactive "$stack" >/dev/null 2>&1; then
    say "$stack already exists in the backend; nothing to initialise"
    return 0
  fi
  pulumi stack init --non-interactive --secrets-provider "$provider" "$stack"
  say "initialised $stack; commit the encryption settings written to Pulumi.$stack.yaml, then: make set-secrets STACK=$stack"
}

secret_registry() {
  # key<TAB>required<TAB>purpose<TAB>how to generate, from the registry the program reads.
  python3 -c 'from stack_config.secrets import SECRETS
for s in SECRETS:
    print(s.key, int(s.required), s.purpose, s.generate, sep="\t")'
}

cmd_set_secrets() {
  local stack="$1" key required purpose generate value registry
  require_passphrase "$stack"
  registry="$(secret_registry)"
  login
  while IFS=$'\t' read -r key required purpose generate; do
    say "$key: $purpose (generate: $generate)"
    [ "$required" = 1 ] || say "  optional: leave empty to disable the feature"
    printf 'value for %s (empty keeps the current value): ' "$key" >&2
    IFS= read -r -s -u 3 value || value=""
    echo >&2
    if [ -z "$value" ]; then
      say "  $key unchanged"
      continue
    fi
    # On stdin, not argv: the value never shows in `ps` or shell history.
    printf '%s' "$value" | pulumi config set --stack "$stack" --secret "$key"
    say "  $key stored (encrypted in Pulumi.$stack.yaml)"
  done 3<&0 <<<"$registry"
}

cmd_rotate_db_password() {
  local stack="$1" export_json targets cluster user urn
  if [ "$stack" = production ]; then require_confirmation production "rotate the database password of"; fi
  require_passphrase "$stack"
  # doctl resets the password here, and the refresh and up below reach the cluster through it.
  require_doctl
  login
  export_json="$(pulumi stack export --stack "$stack" --non-interactive)"
  # Lines: "user <cluster id> <user name> <urn>" and "pool <urn>" (pool URIs embed the password).
  targets="$(python3 -c 'import json, sys
deployment = json.load(sys.stdin)["deployment"]
for r in deployment.get("resources", []):
    t = r.get("type", "")
    if t == "digitalocean:index/databaseUser:DatabaseUser":
        o = r.get("outputs", {})
        print("user", o["clusterId"], o["name"], r["urn"])
    elif t == "digitalocean:index/databaseConnectionPool:DatabaseConnectionPool":
        print("pool", r["urn"])' <<<"$export_json")"
  grep -q '^user ' <<<"$targets" || refuse "no DatabaseUser in $stack's state: nothing to rotate"
  local refresh_targets=()
  while read -r kind a b c; do
    case "$kind" in
      user)
        cluster="$a" user="$b" urn="$c"
        say "resetting the password of database user $user"
        # doctl prints the new password: it goes nowhere.
        doctl databases user reset "$cluster" "$user" >/dev/null
        refresh_targets+=(--target "$urn")
        ;;
      pool) refresh_targets+=(--target "$a") ;;
    esac
  done <<<"$targets"
  pulumi refresh --stack "$stack" --non-interactive --yes "${refresh_targets[@]}"
  cmd_up "$stack"
  say "rotated; restart the workloads that read the database URI so they pick up the new Secret"
}

[ $# -eq 2 ] || usage
command="$1" stack="$2"
require_stack "$stack"
case "$command" in
  preview) cmd_preview "$stack" ;;
  up) cmd_up "$stack" ;;
  refresh-check) cmd_refresh_check "$stack" ;;
  smoke) cmd_smoke "$stack" ;;
  destroy) cmd_destroy "$stack" ;;
  bootstrap) cmd_bootstrap "$stack" ;;
  set-secrets) cmd_set_secrets "$stack" ;;
  rotate-db-password) cmd_rotate_db_password "$stack" ;;
  *) usage ;;
esac
