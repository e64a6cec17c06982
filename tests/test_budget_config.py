"""``platform:budget``: defaults per environment, and every validator fires naming its exact key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from costing.budget import DEFAULT_BUDGETS, budget_for_stack
from policies.guards.budget import budget_from_config
from stack_config import ConfigError, StackConfig
from stack_config.base import Problem, problems_from_validation_error
from tests.harness import ROOT, deep_merge, run_main, stack_file_config


def validate(stack: str, budget: dict[str, Any] | None) -> StackConfig:
    raw = {k.removeprefix("platform:"): v for k, v in stack_file_config(stack).items()}
    if budget is not None:
        raw = deep_merge(raw, {"budget": budget})
    return StackConfig.model_validate(raw, context={"environment": raw["environment"]})


def problems(stack: str, budget: dict[str, Any]) -> list[Problem]:
    with pytest.raises(ValidationError) as info:
        validate(stack, budget)
    return problems_from_validation_error(info.value, stack)


BAD = [
    ("staging", {"fullScaleUsd": 0}, "platform:budget.fullScaleUsd", "positive monthly amount"),
    ("production", {"fullScaleUsd": -5}, "platform:budget.fullScaleUsd", "positive monthly amount"),
    ("staging", {"minScaleUsd": -1}, "platform:budget.minScaleUsd", "positive monthly amount"),
    ("staging", {"fullScaleUsd": 100, "minScaleUsd": 200}, "platform:budget.minScaleUsd", "at or below"),
    ("production", {"fullScaleUsd": 300}, "platform:budget.minScaleUsd", "exceeds the full-scale budget"),
    ("staging", {"fullScaleUsd": "a lot"}, "platform:budget.fullScaleUsd", "valid number"),
    ("staging", {"maxUsd": 10}, "platform:budget.maxUsd", "unknown key"),
]


@pytest.mark.parametrize(("stack", "budget", "key", "phrase"), BAD, ids=[f"{b[2]}={b[1]}" for b in BAD])
def test_bad_budget_is_refused_naming_the_key(stack: str, budget: dict[str, Any], key: str, phrase: str) -> None:
    found = {p.key: p.message for p in problems(stack, budget)}
    assert key in found, found
    assert phrase in found[key]


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_each_environment_gets_its_default_budget(stack: str) -> None:
    raw = {k.removeprefix("platform:"): v for k, v in stack_file_config(stack).items() if k != "platform:budget"}
    budget = StackConfig.model_validate(raw, context={"environment": raw["environment"]}).budget
    default = DEFAULT_BUDGETS[stack]
    assert (budget.full_scale_usd, budget.min_scale_usd) == (default.full_scale_usd, default.min_scale_usd)


def test_a_stack_may_set_its_own_budget() -> None:
    budget = validate("staging", {"fullScaleUsd": 500, "minScaleUsd": 300}).budget
    assert (budget.full_scale_usd, budget.min_scale_usd) == (500, 300)


def test_a_bad_budget_stops_the_program_before_anything_is_registered() -> None:
    with pytest.raises(ConfigError) as info:
        run_main("staging", overrides={"budget": {"fullScaleUsd": -1}})
    assert "platform:budget.fullScaleUsd" in str(info.value)
    assert info.value.stack_run.resources == []  # type: ignore[attr-defined]


# --- The same budget as the policy pack reads it (costing.budget, no pydantic) ------------------


def test_the_pack_reads_the_budget_of_the_stack_file(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.demo-production.yaml").write_text(
        "config:\n  platform:environment: production\n  platform:budget:\n    fullScaleUsd: 900\n"
    )
    budget = budget_for_stack(tmp_path, "demo-production")
    assert (budget.full_scale_usd, budget.min_scale_usd) == (900.0, DEFAULT_BUDGETS["production"].min_scale_usd)
    assert "Pulumi.demo-production.yaml" in budget.source


def test_the_pack_falls_back_to_the_environment_default(tmp_path: Path) -> None:
    assert budget_for_stack(tmp_path, "production") == DEFAULT_BUDGETS["production"]
    assert budget_for_stack(tmp_path, "prod-eu") == DEFAULT_BUDGETS["production"]
    assert budget_for_stack(tmp_path, "staging") == DEFAULT_BUDGETS["staging"]


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_pack_and_the_program_agree_on_the_committed_budgets(stack: str) -> None:
    # The program validates platform:budget; the pack is told it by policies/config/<stack>.json.
    model = validate(stack, None).budget
    from_file = budget_for_stack(ROOT, stack)
    pack_config = json.loads((ROOT / "policies" / "config" / f"{stack}.json").read_text())["stack-monthly-budget"]
    pack = budget_from_config(pack_config)
    assert pack_config["environment"] == stack
    assert (pack.full_scale_usd, pack.min_scale_usd) == (model.full_scale_usd, model.min_scale_usd)
    assert (from_file.full_scale_usd, from_file.min_scale_usd) == (model.full_scale_usd, model.min_scale_usd)
