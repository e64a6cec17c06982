"""Both committed stacks, in up and preview mode, through the pack configured for that stack."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.harness import Resource, StackRun
from tests.policies.samples import patched
from tests.policy_adapter import (
    PackAnalyzer,
    PolicyEvaluator,
    Violation,
    advisory,
    describe,
    mandatory,
    mutate,
)

_verdicts: dict[tuple[str, bool], list[Violation]] = {}


def verdict(run: StackRun) -> list[Violation]:
    """The pack's verdict on a session stack (every policy, levels from the stack's config file), once per run."""
    key = (run.stack, run.preview)
    if key not in _verdicts:
        _verdicts[key] = PolicyEvaluator.for_stack(run.stack).analyze(run.resources, preview=run.preview)
    return _verdicts[key]


def test_stack_has_no_mandatory_violation(any_run: StackRun, record_property: Callable[[str, object], None]) -> None:
    found = verdict(any_run)
    mode = "preview" if any_run.preview else "up"
    record_property(
        "report",
        f"[policies] {any_run.stack}/{mode}: {len(any_run.resources)} resources, "
        f"{len(mandatory(found))} mandatory, {len(advisory(found))} advisory"
        + (f" ({describe(advisory(found))})" if advisory(found) else ""),
    )
    assert mandatory(found) == [], "\n" + describe(mandatory(found))


def test_preview_unknowns_never_downgrade_a_policy(any_run: StackRun) -> None:
    # A guard that read an unknown value would surface as "can't run policy ... during preview".
    found = verdict(any_run)
    assert [v for v in found if "during preview" in v.message] == []


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_served_pack_agrees_with_the_direct_evaluation(stack: str, request: pytest.FixtureRequest) -> None:
    # The pack as the CLI reaches it: the analyzer servicer, configured from the stack's file, fed
    # protobuf requests for every resource and the whole stack (first preview: unknowns everywhere).
    run: StackRun = request.getfixturevalue(f"{stack}_preview")

    def key(v: Violation) -> tuple[str, str, str, str]:
        return (v.policy, v.level, v.urn, v.message)

    served = PackAnalyzer.for_stack(stack).analyze_run(run)
    assert sorted(map(key, served)) == sorted(map(key, verdict(run)))


def renamed(records: list[Resource], old: str, new: str) -> list[Resource]:
    """The same resources as a stack named ``new`` would register them (URNs, parents, dependencies)."""

    def urn(value: str) -> str:
        return value.replace(f"urn:pulumi:{old}::", f"urn:pulumi:{new}::", 1)

    return [
        mutate(r, urn=urn(r.urn), parent=urn(r.parent), dependencies=tuple(urn(d) for d in r.dependencies))
        for r in records
    ]


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_tenant_prefixed_stack_name_gets_the_same_verdict(stack: str, request: pytest.FixtureRequest) -> None:
    # One definition of the environment: the pack reads it from policies/config/<stack>.json, so the
    # `<tenant>-<environment>` naming style the loader accepts changes nothing.
    run: StackRun = request.getfixturevalue(stack)
    evaluator = PolicyEvaluator.for_stack(stack)
    prefixed = evaluator.analyze(renamed(list(run.resources), stack, f"niche-discovery-{stack}"))
    assert mandatory(prefixed) == [], "\n" + describe(mandatory(prefixed))
    assert sorted((v.policy, v.resource) for v in prefixed) == sorted((v.policy, v.resource) for v in verdict(run))


def test_tenant_prefixed_production_still_refuses_ha_off_and_a_single_database_node(production: StackRun) -> None:
    records = renamed(list(production.resources), "production", "niche-discovery-production")
    for i, r in enumerate(records):
        if r.type == "digitalocean:index/kubernetesCluster:KubernetesCluster":
            records[i] = mutate(r, inputs=patched(r.inputs, "ha", False))
        if r.type == "digitalocean:index/databaseCluster:DatabaseCluster" and r.name.endswith("-pg-cluster"):
            records[i] = mutate(r, inputs=patched(r.inputs, "nodeCount", 1))
    fired = {v.policy for v in mandatory(PolicyEvaluator.for_stack("production").analyze(records))}
    assert {"do-k8s-ha-control-plane", "do-db-standby"} <= fired
