#!/usr/bin/env bash
# Sets the application image tag a stack deploys, without a hand edit (the deploy workflow's step
# before `pulumi-stack.sh up`).
#
#   scripts/release-tag.sh <stack>
#
# Environment:
#   IMAGE_TAG          the released tag to deploy; empty: keep the tag the stack runs now
#   RELEASE_REGISTRY   optional: where the release pipeline pushed (<host>/<namespace>); refused
#                      unless it is the registry the tenant catalog pulls from (one registry)
#   PULUMI_BACKEND_URL the state backend (read for the current tag)
#
# Why "keep the tag the stack runs": the stack file's imageTag is only the first deploy's value. A
# release sets the tag in CI's checkout, not in git, so a later deploy of an infrastructure change
# (no tag given) must not roll the applications back to the file's tag: it reads the deployed tag
# from the stack output `imageTag` and sets that.
#
# Prints the tag it set on stdout (and as `image-tag` to $GITHUB_OUTPUT when that is set).
# Exit codes: 0 ok; 2 refused (usage, a malformed or 'latest' tag, a foreign registry).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ -x "$ROOT/.venv/bin/python" ]; then
  PATH="$ROOT/.venv/bin:$PATH"
fi

refuse() {
  echo "release-tag: $*" >&2
  exit 2
}

[ $# -eq 1 ] || refuse "usage: scripts/release-tag.sh <staging|production>"
stack="$1"
case "$stack" in
  staging | production) ;;
  *) refuse "unknown stack '$stack' (expected staging or production)" ;;
esac

# The same rule as stack_config/apps.py (a Docker tag, never 'latest').
valid_tag() {
  [[ "$1" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] && [ "$1" != "latest" ]
}

# The registry the cluster pulls from: the tenant catalog's `registry`.
catalog_registry() {
  python - "$stack" <<'PY'
import sys

import yaml

stack = sys.argv[1]
config = yaml.safe_load(open(f"Pulumi.{stack}.yaml"))["config"]["platform:apps"]
catalog = config["catalog"]
if isinstance(catalog, str):
    catalog = yaml.safe_load(open(catalog))
print(catalog["registry"])
PY
}

if [ -n "${RELEASE_REGISTRY:-}" ]; then
  pulls="$(catalog_registry)"
  [ "${RELEASE_REGISTRY%/}" = "$pulls" ] \
    || refuse "the release was pushed to '$RELEASE_REGISTRY' but $stack pulls from '$pulls' (tenant catalog 'registry'): push where the cluster pulls"
fi

tag="${IMAGE_TAG:-}"
if [ -z "$tag" ]; then
  tag="$(pulumi stack output --stack "$stack" --non-interactive imageTag 2>/dev/null)" || tag=""
  if [ -z "$tag" ]; then
    echo "release-tag: no tag given and $stack has no imageTag output yet: the stack file's tag stays" >&2
    tag="$(python -c "import yaml,sys; print(yaml.safe_load(open(sys.argv[1]))['config']['platform:apps']['imageTag'])" "Pulumi.$stack.yaml")"
  fi
fi
valid_tag "$tag" || refuse "image tag '$tag' is not a pinned Docker tag (A-Z a-z 0-9 _ . -, at most 128, not 'latest')"

pulumi config set --stack "$stack" --path "platform:apps.imageTag" "$tag" --non-interactive
echo "$tag"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "image-tag=$tag" >>"$GITHUB_OUTPUT"
fi
