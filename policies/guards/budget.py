"""The monthly budget guard: the stack's cost estimate against its ``platform:budget``.

The estimate is the project's own ``costing`` package (pure Python), the same code ``make cost`` prints
from. The pack runs with only ``policies/`` on ``sys.path`` (policies/__main__.py), so the project root,
one level up, is appended here; appending never shadows a module of the pack's own virtualenv.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pulumi_policy import Severity

from ._base import ENVIRONMENT, StackResource, UnknownProps, stack_guard

PROJECT_DIR = Path(__file__).resolve().parents[2]
"""The Pulumi project the pack sits in: where ``Pulumi.<stack>.yaml`` (and ``costing/``) live."""
if str(PROJECT_DIR) not in sys.path:
    sys.path.append(str(PROJECT_DIR))

from costing import DEFAULT_BUDGETS, Budget, Item, estimate, over_budget  # noqa: E402

GROUP = "stack"


def inventory(resources: Iterable[StackResource]) -> list[Item]:
    """The stack's resources as the estimator's inventory."""
    # A resource whose outputs are all unknown (its provider not configured yet: UnknownProps) is
    # passed with no props: the estimator then prices it from its type alone or lists it as unpriced.
    return [
        Item(r.type, r.name, r.urn, {} if isinstance(r.props, UnknownProps) else r.props, tuple(r.dependencies))
        for r in resources
    ]


@stack_guard(
    "stack-monthly-budget",
    description="The stack's estimated monthly cost (costing/, as `make cost` prints it) stays within "
    "platform:budget, at full scale (every pool at its maximum) and at minimum scale.",
    severity=Severity.HIGH,
    remediation="Run `make cost STACK=<stack>` to see every line; shrink the biggest items named (pool "
    "maxNodes, plan sizes, standby nodes), or raise platform:budget.fullScaleUsd / minScaleUsd in "
    "Pulumi.<stack>.yaml and the same figures in policies/config/<stack>.json after the budget owner agrees.",
    group=GROUP,
    # The budget reaches the pack like the environment does: the stack file declares platform:budget, its
    # policies/config/<stack>.json repeats it (tests/test_budget_config.py keeps the two equal). Never
    # looked up by stack name: `<tenant>-staging` and `staging` are judged alike.
    config={
        "environment": ENVIRONMENT,
        "fullScaleUsd": {
            "type": "number",
            "minimum": 0,
            "description": "platform:budget.fullScaleUsd of the stack; 0: the environment's default.",
            "default": 0,
        },
        "minScaleUsd": {
            "type": "number",
            "minimum": 0,
            "description": "platform:budget.minScaleUsd of the stack; 0: the environment's default.",
            "default": 0,
        },
        "topItems": {
            "type": "integer",
            "minimum": 1,
            "description": "How many of the most expensive items a violation names.",
            "default": 3,
        },
    },
)
def monthly_budget(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    budget = budget_from_config(cfg)
    for message in over_budget(estimate(inventory(resources)), budget, int(cfg["topItems"])):
        yield message, None


def budget_from_config(cfg: Mapping[str, Any]) -> Budget:
    """The stack's budget as the pack config states it, each figure unset falling back to the default."""
    default = DEFAULT_BUDGETS[str(cfg.get("environment") or "production")]
    if cfg.get("fullScaleUsd") is None and cfg.get("minScaleUsd") is None:
        return default
    return Budget(
        full_scale_usd=float(cfg.get("fullScaleUsd") or default.full_scale_usd),
        min_scale_usd=float(cfg.get("minScaleUsd") or default.min_scale_usd),
        source="platform:budget",
    )


GUARDS = [monthly_budget]
