"""What a stack would deploy, offline: `make plan STACK=<stack>` (the README's first command).

`make plan STACK=<stack> WITH_AWS=1` (``--with-aws``) plans the stack with EKS and seed 004's AWS tenant
enabled beside its DigitalOcean tenants, as the production lifecycle test runs it
(tests/engine/lifecycle.py ``with_aws_tenant``); the committed stack files leave EKS off.

The real Pulumi CLI (build/engine) runs the program and the policy pack on a throwaway copy of the
project, with the echo providers standing in for DigitalOcean, AWS and Kubernetes, and random stand-ins
for the stack's secrets. It prints the CLI's own preview (every resource it would create) and the
policy pack's verdict, then deletes the copy. Nothing reaches a cloud; no account or token is needed.
The lifecycle tests run the same workspace code (tests/engine/workspace.py).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import secrets
import sys
import tempfile
from pathlib import Path

from stack_config.secrets import SECRETS
from tests.engine.lifecycle import with_aws_tenant
from tests.engine.workspace import Workspace, policy_block, summary


def stand_in(key: str) -> str:
    """A random value of the secret's shape: an htpasswd line must be one the edge accepts (SHA-1 form)."""
    value = f"offline-{secrets.token_hex(12)}"
    if key.endswith("Htpasswd"):
        digest = base64.b64encode(hashlib.sha1(value.encode()).digest()).decode()  # noqa: S324 - htpasswd's {SHA}
        return f"admin:{{SHA}}{digest}"
    return value


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="make plan", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("stack", nargs="?", default="staging")
    parser.add_argument("--with-aws", action="store_true", help="EKS and the AWS tenant (podcast-summariser) on")
    options = parser.parse_args(argv[1:])
    stack: str = options.stack
    if not (Path(__file__).resolve().parents[2] / f"Pulumi.{stack}.yaml").exists():
        print(f"plan: no Pulumi.{stack}.yaml in the repository", file=sys.stderr)
        return 2
    try:
        variant = with_aws_tenant(stack) if options.with_aws else None
    except ValueError as refused:
        print(f"plan: {refused}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix=f"plan-{stack}-") as where:
        ws = Workspace.create(Path(where))
        if variant:
            ws.override_config(stack, *variant)
        # Stand-ins for the encrypted values a bootstrapped stack carries: random, thrown away.
        ws.init_stack(stack, {spec.key: stand_in(spec.key) for spec in SECRETS})
        result = ws.pulumi("preview", "--stack", stack, *ws.policy_args(stack))
        print(result.stdout)
        if result.stderr.strip():
            print(result.stderr, file=sys.stderr)
        counts = summary(result.output)
        verdict = "clean" if result.returncode == 0 and "[mandatory]" not in policy_block(result.output) else "REFUSED"
        label = " with the AWS tenant" if variant else ""
        print(
            f"plan {stack}{label}: {counts.get('to create', 0)} resources to create; policy pack: {verdict}. "
            f"Next, with a token: scripts/preview-local.sh {stack} (the real cloud preview)."
        )
        return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))
