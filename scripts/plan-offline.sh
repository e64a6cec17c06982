#!/usr/bin/env bash
# The README's first command (`make plan STACK=...`): what a stack would deploy, through the real Pulumi
# CLI with echo providers and the policy pack, with no cloud account. See tests/engine/plan.py.
set -euo pipefail
cd "$(dirname "$0")/.."
STACK="${1:-staging}"
bash scripts/build-engine.sh
# Further arguments (e.g. --with-aws: EKS and the AWS tenant on) go to tests/engine/plan.py.
exec .venv/bin/python -m tests.engine.plan "$STACK" "${@:2}"
