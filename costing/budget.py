"""The stack's monthly budget (``platform:budget``) and the check the budget guard runs.

The budget lives in the stack's config (validated by ``stack_config.budget.BudgetConfig``); the policy pack
cannot run the program's config loader, so it reads the same key from ``Pulumi.<stack>.yaml`` next to the
pack and falls back to the same per-environment defaults, which live here so both sides share them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .estimate import Estimate

PROJECT = "platform"
_PRODUCTION = re.compile(r"^(prod|production)([-_.].*)?$|(^|-)production$")


@dataclass(frozen=True)
class Budget:
    """Most a stack may cost a month, at full scale (every pool at its maximum) and at minimum scale."""

    full_scale_usd: float
    min_scale_usd: float
    source: str = "default"
    """Where the figures come from, for the guard's message."""


DEFAULT_BUDGETS: dict[str, Budget] = {
    "staging": Budget(full_scale_usd=350.0, min_scale_usd=225.0, source="the staging default"),
    "production": Budget(full_scale_usd=1100.0, min_scale_usd=600.0, source="the production default"),
}
"""Per-environment defaults of ``platform:budget`` (stack_config.budget uses them too)."""


def environment_of_stack(stack: str, declared: Any = None) -> Literal["staging", "production"]:
    if declared in ("staging", "production"):
        return declared
    return "production" if _PRODUCTION.search(stack) else "staging"


def budget_for_stack(project_dir: Path, stack: str) -> Budget:
    """``platform:budget`` of ``Pulumi.<stack>.yaml`` in ``project_dir``, else the environment's default."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    config: dict[str, Any] = {}
    if path.is_file():
        import yaml  # noqa: PLC0415 - pulumi's own dependency; only needed when a stack file exists

        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    default = DEFAULT_BUDGETS[environment_of_stack(stack, config.get(f"{PROJECT}:environment"))]
    given = config.get(f"{PROJECT}:budget")
    if not isinstance(given, dict):
        return default
    return Budget(
        full_scale_usd=float(given.get("fullScaleUsd", default.full_scale_usd)),
        min_scale_usd=float(given.get("minScaleUsd", default.min_scale_usd)),
        source=f"{PROJECT}:budget in {path.name}",
    )


def _items(lines: list[Any], scale: Literal["min", "max"]) -> str:
    return ", ".join(
        f"{line.resource} ${(line.min_usd if scale == 'min' else line.max_usd) or 0:,.0f}" for line in lines
    )


def over_budget(estimate: Estimate, budget: Budget, top: int = 3) -> list[str]:
    """One message per scale at which the estimate exceeds the budget, naming the biggest items."""
    messages = []
    unpriced_names = sorted({line.resource for line in estimate.unpriced})
    names = ", ".join(unpriced_names[:5]) + (f" and {len(unpriced_names) - 5} more" if len(unpriced_names) > 5 else "")
    unpriced = f" ({len(estimate.unpriced)} item(s) unpriced, not included: {names})" if estimate.unpriced else ""
    if estimate.max_total > budget.full_scale_usd:
        messages.append(
            f"at full scale the stack is estimated at ${estimate.max_total:,.2f}/month, over the budget of "
            f"${budget.full_scale_usd:,.2f} ({budget.source}){unpriced}; biggest items: "
            f"{_items(estimate.biggest('max', top), 'max')}."
        )
    if estimate.min_total > budget.min_scale_usd:
        messages.append(
            f"at minimum scale the stack is estimated at ${estimate.min_total:,.2f}/month, over the budget of "
            f"${budget.min_scale_usd:,.2f} ({budget.source}){unpriced}; biggest items: "
            f"{_items(estimate.biggest('min', top), 'min')}."
        )
    return messages
