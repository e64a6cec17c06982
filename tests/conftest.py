"""Shared fixtures: each committed stack is evaluated once per session, in up and preview mode."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.harness import StackRun, deep_merge, run_main  # noqa: E402

STACKS = ("staging", "production")
EKS_ENABLED = {
    "eks": {
        "enabled": True,
        "adminRoleArns": ["arn:aws:iam::123456789012:role/platform-admins"],
        "deployRoleArn": "arn:aws:iam::123456789012:role/platform-deploy",
        "previewRoleArn": "arn:aws:iam::123456789012:role/platform-preview",
        "apiIngressCidrs": ["10.200.0.0/24"],
    },
    # EKS's pools at their caps cost several times the DOKS stack: a stack that enables it states its budget.
    "budget": {"fullScaleUsd": 10000, "minScaleUsd": 1500},
}
"""The opt-in EKS target switched on, as a production stack file would (the committed ones leave it off)."""

GPU_POOL = {
    "capacityTypes": ["spot", "on-demand"],
    "instanceCategories": ["g"],
    "cpuLimit": 32,
    "gpuLimit": 4,
    "labels": {"workload": "transcriber"},
    "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
    "consolidateAfter": "1m",
}
"""Seed 004's GPU transcriber pool: spot first, tainted, capped in GPUs (docs/eks.md)."""
AWS_TENANT_ENABLED = deep_merge(
    EKS_ENABLED,
    {
        "eks": {
            # The defaults stated again (a nodePools value replaces them), plus the transcriber's GPU pool.
            "nodePools": {
                "general": {"cpuLimit": 64, "labels": {"workload": "general"}},
                "scrapers": {
                    "capacityTypes": ["spot", "on-demand"],
                    "instanceCategories": ["c", "m"],
                    "cpuLimit": 32,
                    "labels": {"workload": "scrapers"},
                    "taints": [{"key": "workload", "value": "scrapers", "effect": "NoSchedule"}],
                },
                "gpu": GPU_POOL,
            },
            "tenantData": {
                "podcast-summariser": {
                    "bucketAccess": {
                        "api": {"media": {"prefixes": ["transcripts"]}},
                        "transcriber": {"media": {"prefixes": ["audio", "transcripts"], "write": True}},
                    },
                    # The API accepts an episode and queues it for the transcriber (seed 004's processing queue).
                    "queueSenders": {"episodes": ["api"]},
                }
            },
        },
        "tenants": [{"catalog": "tenants/podcast-summariser.yaml", "imageTag": "1.0.0"}],
    },
)
"""EKS on, with seed 004's AWS tenant (tenants/podcast-summariser.yaml) and its GPU pool (issue 15)."""


@functools.cache
def evaluated(stack: str, preview: bool) -> StackRun:
    """The committed stack run under mocks; cached so the suite pays for each evaluation once."""
    return run_main(stack, preview=preview)


@functools.cache
def evaluated_with_eks(stack: str) -> StackRun:
    """A committed stack with ``EKS_ENABLED`` applied, in up mode; cached like ``evaluated``."""
    return run_main(stack, overrides=EKS_ENABLED)


@pytest.fixture(scope="session")
def staging() -> StackRun:
    return evaluated("staging", False)


@pytest.fixture(scope="session")
def production() -> StackRun:
    return evaluated("production", False)


@pytest.fixture(scope="session")
def staging_preview() -> StackRun:
    return evaluated("staging", True)


@pytest.fixture(scope="session")
def production_preview() -> StackRun:
    return evaluated("production", True)


@pytest.fixture(scope="session")
def production_eks() -> StackRun:
    return evaluated_with_eks("production")


@functools.cache
def evaluated_with_aws_tenant(stack: str) -> StackRun:
    """A committed stack with ``AWS_TENANT_ENABLED`` applied, in up mode; cached like ``evaluated``."""
    return run_main(stack, overrides=AWS_TENANT_ENABLED)


@pytest.fixture(scope="session")
def production_aws() -> StackRun:
    return evaluated_with_aws_tenant("production")


@pytest.fixture(
    scope="session",
    params=[(s, p) for s in STACKS for p in (False, True)],
    ids=lambda v: f"{v[0]}-{'preview' if v[1] else 'up'}",
)
def any_run(request: pytest.FixtureRequest) -> StackRun:
    """Each stack in each mode, for properties that must hold everywhere."""
    stack, preview = request.param
    return evaluated(stack, preview)


@pytest.fixture(scope="session", params=STACKS)
def up_run(request: pytest.FixtureRequest) -> StackRun:
    """Each stack in up mode (all outputs known)."""
    return evaluated(request.param, False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures tests reported with ``record_property("report", line)``.

    User properties travel from xdist workers to the controller, so this works in parallel runs,
    where a test's own stdout is swallowed.
    """
    lines = sorted(
        {
            str(value)
            for reports in terminalreporter.stats.values()
            for report in reports
            for name, value in getattr(report, "user_properties", ())
            if name == "report"
        }
    )
    if lines:
        terminalreporter.section("reported figures")
        for line in lines:
            terminalreporter.write_line(line)
