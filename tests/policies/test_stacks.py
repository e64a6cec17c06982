"""Both committed stacks, in up and preview mode, through the pack configured for that stack."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.harness import StackRun
from tests.policy_adapter import PackAnalyzer, PolicyEvaluator, Violation, advisory, describe, mandatory

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
