"""Config of the stack's monthly budget (``platform:budget``), enforced by the ``stack-monthly-budget`` guard.

The estimate is ``make cost``'s (costing/): full scale prices every autoscaling pool at its maximum,
minimum scale at its minimum. The per-environment defaults live in ``costing.budget`` because the policy
pack, which cannot import this module (no pydantic in its virtualenv), falls back to the same figures.
"""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from costing.budget import DEFAULT_BUDGETS

from .base import StrictModel
from .infra import environment_of


def _default(field_name: str, info: ValidationInfo) -> float:
    budget = DEFAULT_BUDGETS[environment_of(info) or "staging"]
    return float(getattr(budget, field_name))


class BudgetConfig(StrictModel):
    """Most the stack may cost a month, in USD, as `make cost` estimates it."""

    full_scale_usd: float | None = Field(
        default=None,
        description="Monthly ceiling with every autoscaling pool at its maximum. "
        f"Default: {DEFAULT_BUDGETS['staging'].full_scale_usd:g} in staging, "
        f"{DEFAULT_BUDGETS['production'].full_scale_usd:g} in production.",
    )
    min_scale_usd: float | None = Field(
        default=None,
        description="Monthly ceiling with every autoscaling pool at its minimum (what the stack costs idle). "
        f"Default: {DEFAULT_BUDGETS['staging'].min_scale_usd:g} in staging, "
        f"{DEFAULT_BUDGETS['production'].min_scale_usd:g} in production.",
    )

    @field_validator("full_scale_usd")
    @classmethod
    def _full(cls, value: float | None, info: ValidationInfo) -> float:
        if value is None:
            return _default("full_scale_usd", info)
        if value <= 0:
            raise ValueError("must be a positive monthly amount in USD, e.g. 400 (see `make cost` for the estimate)")
        return value

    @field_validator("min_scale_usd")
    @classmethod
    def _min(cls, value: float | None, info: ValidationInfo) -> float:
        value = _default("min_scale_usd", info) if value is None else value
        if value <= 0:
            raise ValueError("must be a positive monthly amount in USD, e.g. 250 (see `make cost` for the estimate)")
        full = info.data.get("full_scale_usd")
        if full is not None and value > full:
            raise ValueError(
                f"the minimum-scale budget ({value:g}) exceeds the full-scale budget ({full:g}): "
                "set budget.minScaleUsd at or below budget.fullScaleUsd"
            )
        return value
