#!/usr/bin/env bash
# The README's first command (`make plan STACK=...`): what a stack would deploy, through the real Pulumi
# CLI with echo providers and the policy pack, with no cloud account. See tests/engine/plan.py.
set -euo pipefail
cd "$(dirname "$0")/.."
STACK="${1:-staging}"
bash scripts/build-engine.sh
exec .venv/bin/python -m tests.engine.plan "$STACK"
