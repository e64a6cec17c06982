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

from ._base import StackResource, UnknownProps, stack_guard, stack_of

PROJECT_DIR = Path(__file__).resolve().parents[2]
"""The Pulumi project the pack sits in: where ``Pulumi.<stack>.yaml`` (and ``costing/``) live."""
if str(PROJECT_DIR) not in sys.path:
    sys.path.append(str(PROJECT_DIR))

from costing import Item, budget_for_stack, estimate, over_budget  # noqa: E402

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
    "Pulumi.<stack>.yaml after the budget owner agrees.",
    group=GROUP,
    config={
        "topItems": {
            "type": "integer",
            "minimum": 1,
            "description": "How many of the most expensive items a violation names.",
            "default": 3,
        },
    },
)
def monthly_budget(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    stacks = {stack_of(r.urn) for r in resources} - {""}
    if len(stacks) != 1:
        return
    budget = budget_for_stack(PROJECT_DIR, stacks.pop())
    for message in over_budget(estimate(inventory(resources)), budget, int(cfg["topItems"])):
        yield message, None


GUARDS = [monthly_budget]
