"""The README's generated cost estimates and the committed diagrams are current (`make docs` regenerates them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from costing import estimate
from costing.evaluate import items_of
from costing.readme import cost_section, diagram_section, replace_section
from diagram import build, mermaid
from diagram.publish import stale
from tests.harness import ROOT, StackRun

README = ROOT / "README.md"


def test_the_readme_estimates_and_diagram_links_are_current(staging: StackRun, production: StackRun) -> None:
    current = README.read_text()
    runs = {"staging": staging, "production": production}
    wanted = replace_section(current, "cost", cost_section({s: estimate(items_of(r)) for s, r in runs.items()}))
    diagrams = {s: mermaid(build(s, r.resources)) for s, r in runs.items()}
    wanted = replace_section(wanted, "diagrams", diagram_section(diagrams))
    assert wanted == current, "README.md generated sections are stale: run `make docs`"


@pytest.mark.parametrize("fixture", ["staging", "production"])
def test_the_committed_diagrams_are_current(fixture: str, request: pytest.FixtureRequest) -> None:
    run: StackRun = request.getfixturevalue(fixture)
    assert stale(build(run.stack, run.resources)) == [], "run `make docs`"


def test_the_staleness_check_notices_a_change(staging: StackRun, tmp_path: Path) -> None:
    arch = build("staging", staging.resources)
    assert len(stale(arch, tmp_path)) == 3  # nothing written there: .mmd, .dot and .svg all stale
    with pytest.raises(ValueError, match="no generated section"):
        replace_section("no markers here", "cost", "x")
