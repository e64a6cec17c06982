"""A real IAM policy evaluator as the judge of the program's policies: @cloud-copilot/iam-simulate.

The library (pinned in tools/iam-simulate/package-lock.json, installed by scripts/install-tools.sh
with ``npm ci``) evaluates identity and resource policies the way IAM documents it, every condition
operator included. ``tools/iam-simulate/simulate.js`` is a thin adapter: JSON cases in, one decision
per case out. No network: the package and its action/condition-key data are local.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.harness import ROOT

TOOL = ROOT / "tools" / "iam-simulate"
SCRIPT = TOOL / "simulate.js"
ALLOWED = "Allowed"
EXPLICIT_DENY = "ExplicitlyDenied"
IMPLICIT_DENY = "ImplicitlyDenied"
DENIED = frozenset({EXPLICIT_DENY, IMPLICIT_DENY})
TLS = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}
ACCOUNT = "123456789012"
"""The account id the mocks (tests/harness.py) put in every ARN."""
DEFAULT_KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}
"""The key policy AWS gives a KMS key created without one (what the program's keys get): the account's
IAM policies decide."""
"""What S3 puts in the context of a request over HTTPS (TLS 1.3, as boto3 negotiates today)."""


@dataclass(frozen=True)
class Case:
    """One request, with the policies that apply to it."""

    name: str
    action: str
    resource: str
    principal: str
    account_id: str
    identity_policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Policies attached to the principal, by name."""
    resource_policy: Mapping[str, Any] | None = None
    context: Mapping[str, str | list[str]] = field(default_factory=dict)
    expected: str = ALLOWED
    """Allowed, ExplicitlyDenied or ImplicitlyDenied: written by the test, never taken from a mock."""
    note: str = ""


@dataclass(frozen=True)
class Decision:
    case: Case
    decision: str
    ignored_context_keys: tuple[str, ...]
    errors: Any

    @property
    def as_expected(self) -> bool:
        return self.decision == self.case.expected


def node_ready() -> str | None:
    """Why the evaluator cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not on PATH (scripts/install-tools.sh needs Node.js 18+)"
    if not (TOOL / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        return "tools/iam-simulate/node_modules is missing: run scripts/install-tools.sh (npm ci)"
    return None


def evaluate(cases: Sequence[Case]) -> list[Decision]:
    """Evaluate every case in one Node process; raise on anything but a decision per case."""
    problem = node_ready()
    if problem:
        raise RuntimeError(problem)
    payload = {
        "cases": [
            {
                "name": c.name,
                "action": c.action,
                "resource": c.resource,
                "principal": c.principal,
                "accountId": c.account_id,
                "identityPolicies": [{"name": n, "policy": p} for n, p in c.identity_policies.items()],
                "resourcePolicy": c.resource_policy,
                "context": dict(c.context),
            }
            for c in cases
        ]
    }
    done = subprocess.run(
        ["node", str(SCRIPT)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"simulate.js failed ({done.returncode}): {done.stderr}")
    results = json.loads(done.stdout)["results"]
    return [
        Decision(
            case=c, decision=r["decision"], ignored_context_keys=tuple(r["ignoredContextKeys"]), errors=r["errors"]
        )
        for c, r in zip(cases, results, strict=True)
    ]


def table(title: str, decisions: Sequence[Decision]) -> list[str]:
    """``request | expected | got`` lines, prefixed so they sort together under "reported figures"."""
    width = max(len(d.case.name) for d in decisions)
    digits = len(str(len(decisions)))
    lines = []
    for i, d in enumerate(decisions, 1):
        mark = "ok" if d.as_expected else "MISMATCH"
        note = f"  ({d.case.note})" if d.case.note else ""
        lines.append(
            f"iam {title} {i:0{digits}d} | {d.case.name:<{width}} | expected {d.case.expected:<16} | "
            f"got {d.decision:<16} | {mark}{note}"
        )
    return lines
