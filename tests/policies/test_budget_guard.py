"""The ``stack-monthly-budget`` guard: passes the committed stacks, fires over budget naming the biggest
items, and catches deliberately expensive mutants of the real stacks (in the style of test_mutations.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from costing import DEFAULT_BUDGETS, estimate
from costing.evaluate import items_of
from tests.harness import Resource, StackRun
from tests.policies.samples import patched
from tests.policy_adapter import PolicyEvaluator, Violation, describe, mutate, stack_violations, synthetic

GUARD = "stack-monthly-budget"
POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
DB = "digitalocean:index/databaseCluster:DatabaseCluster"
VOLUME = "digitalocean:index/volume:Volume"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
ENVOY_PROXY = "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy"
SIZE_UNIT = (
    "spec",
    "provider",
    "kubernetes",
    "envoyService",
    "annotations",
    "service.beta.kubernetes.io/do-loadbalancer-size-unit",
)


def fired(records: list[Resource], config: dict[str, Any] | None = None, preview: bool = False) -> list[str]:
    # The pack is told the environment (and any budget) by policies/config/<stack>.json; here, as the
    # committed config files do, the environment is the records' stack's.
    environment = records[0].urn.split(":")[2].split("::")[0] if records else "production"
    config = {"environment": environment, **(config or {})}
    return [message for message, _ in stack_violations(GUARD, records, config, preview)]


def pool(name: str, max_nodes: float, *, stack: str = "staging", min_nodes: float = 1.0) -> Resource:
    props = {"name": name, "size": "s-4vcpu-8gb", "autoScale": True, "minNodes": min_nodes, "maxNodes": max_nodes}
    return synthetic(POOL, props, name=name, stack=stack)


# --- fire and pass on hand-made stacks ----------------------------------------------------------


def test_a_stack_within_its_budget_passes() -> None:
    # 1-3 nodes at $48: $48-144, inside staging's default budget.
    assert fired([pool("general", 3)]) == []


def test_a_stack_over_its_full_scale_budget_fires_naming_the_biggest_items() -> None:
    records = [pool("general", 6), pool("scrapers", 4), pool("batch", 2)]  # max $288 + $192 + $96 = $576
    (message,) = fired(records)
    assert "full scale" in message and "$576.00" in message
    assert message.index("general $288") < message.index("scrapers $192") < message.index("batch $96")
    assert f"${DEFAULT_BUDGETS['staging'].full_scale_usd:,.2f}" in message


def test_a_stack_over_its_minimum_scale_budget_fires_too() -> None:
    # Idle at 5 nodes of $48 = $240 > $225, full scale $288 < $350.
    messages = fired([pool("general", 6, min_nodes=5)])
    assert len(messages) == 1 and "minimum scale" in messages[0]


def test_top_items_limits_the_items_named() -> None:
    records = [pool("general", 6), pool("scrapers", 4), pool("batch", 2)]
    (message,) = fired(records, {"topItems": 1})
    assert "general $288" in message and "scrapers" not in message


def test_a_production_stack_is_judged_against_the_production_budget() -> None:
    records = [pool("general", 10, stack="production"), pool("scrapers", 8, stack="production")]  # $864
    assert fired(records) == []  # under production's $1,100, though far over staging's $350
    assert fired([pool("general", 10), pool("scrapers", 8)]) != []


def test_unpriced_items_are_named_as_not_included() -> None:
    unknown = synthetic("digitalocean:index/kafkaTopic:KafkaTopic", {}, name="topic", stack="staging")
    (message,) = fired([pool("general", 8), unknown])
    assert "1 item(s) unpriced, not included" in message


# --- the committed stacks -----------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["staging", "production", "staging_preview", "production_preview"])
def test_the_committed_stacks_are_within_their_budgets(fixture: str, request: pytest.FixtureRequest) -> None:
    run: StackRun = request.getfixturevalue(fixture)
    # Through the committed pack config, which tells the guard the stack's budget.
    found = PolicyEvaluator.for_stack(run.stack).analyze(run.resources, preview=run.preview)
    assert [v for v in found if v.policy == GUARD] == [], "\n" + describe(found)


def test_a_budget_in_the_pack_config_is_the_one_judged() -> None:
    records = [pool("general", 3)]  # $144 at full scale
    assert fired(records, {"fullScaleUsd": 100.0, "minScaleUsd": 50.0}) != []
    assert fired(records, {"fullScaleUsd": 200.0, "minScaleUsd": 50.0}) == []


def test_the_guard_prices_a_preview_as_make_cost_prices_the_stack(
    production: StackRun, production_preview: StackRun
) -> None:
    """Before anything exists (names, ARNs unknown) relations resolve by dependency: same totals."""
    up, preview = estimate(items_of(production)), estimate(items_of(production_preview))
    assert (preview.min_total, preview.max_total) == (up.min_total, up.max_total)


# --- mutants of the real stacks -----------------------------------------------------------------

Records = list[Resource]


def _index(records: Records, type_token: str, suffix: str) -> int:
    for i, r in enumerate(records):
        if r.type == type_token and r.name.endswith(suffix):
            return i
    pytest.skip(f"the stack has no {type_token} named *{suffix} (yet)")


def set_input(type_token: str, suffix: str, path: str | tuple[str, ...], value: Any) -> Callable[[Records], Records]:
    def change(records: Records) -> Records:
        i = _index(records, type_token, suffix)
        records[i] = mutate(records[i], inputs=patched(records[i].inputs, path, value))
        return records

    return change


@dataclass(frozen=True)
class Mutant:
    id: str
    stack: str
    change: Callable[[Records], Records]


MUTANTS = [
    Mutant("staging-load-balancer-of-20-units", "staging", set_input(ENVOY_PROXY, "-gateway-proxy", SIZE_UNIT, "20")),
    Mutant(
        "production-load-balancer-of-60-units", "production", set_input(ENVOY_PROXY, "-gateway-proxy", SIZE_UNIT, "60")
    ),
    Mutant("staging-monitoring-volume-of-3-tib", "staging", set_input(VOLUME, "-monitoring-data", "size", 3072.0)),
    Mutant(
        "production-backups-kept-ten-years",
        "production",
        set_input(LIFECYCLE, "-primary-lifecycle", "rules.0.expiration.days", 3650.0),
    ),
]


def _violations(stack: str, records: Records) -> list[Violation]:
    return PolicyEvaluator.for_stack(stack).analyze(records)


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_an_expensive_mutant_fires_exactly_the_budget_guard(mutant: Mutant, request: pytest.FixtureRequest) -> None:
    run: StackRun = request.getfixturevalue(mutant.stack)
    before = Counter(v.policy for v in _violations(mutant.stack, run.resources))
    after = _violations(mutant.stack, mutant.change(list(run.resources)))
    new = Counter(v.policy for v in after) - before
    assert set(new) == {GUARD}, "\n" + describe(after)
    assert {v.level for v in after if v.policy == GUARD} == {"mandatory"}
