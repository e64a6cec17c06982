"""Regenerate what `make docs` derives from the evaluated stacks: the README's cost estimates and the
committed architecture diagrams (docs/diagrams/), for every committed stack.

.venv/bin/python scripts/gen_insights.py          # rewrite
.venv/bin/python scripts/gen_insights.py --check  # exit 1 if anything is stale (tests/test_insights.py)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from costing import estimate  # noqa: E402
from costing.evaluate import STACKS, items_of, run_stack  # noqa: E402
from costing.readme import cost_section, diagram_section, replace_section  # noqa: E402
from diagram import build, mermaid  # noqa: E402
from diagram.publish import stale, write  # noqa: E402

README = ROOT / "README.md"


def readme_text(runs: dict[str, Any], current: str) -> str:
    estimates = {stack: estimate(items_of(run)) for stack, run in runs.items()}
    text = replace_section(current, "cost", cost_section(estimates))
    diagrams = {stack: mermaid(build(stack, run.resources)) for stack, run in runs.items()}
    return replace_section(text, "diagrams", diagram_section(diagrams))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="report stale files instead of writing them")
    args = parser.parse_args()
    runs = {stack: run_stack(stack) for stack in STACKS}
    current = README.read_text()
    wanted = readme_text(runs, current)
    problems = [] if wanted == current else ["README.md generated sections are stale"]
    for stack, run in runs.items():
        arch = build(stack, run.resources)
        if args.check:
            problems += stale(arch)
        else:
            write(arch)
    if args.check:
        for problem in problems:
            print(f"{problem}: run `make docs`", file=sys.stderr)
        return 1 if problems else 0
    README.write_text(wanted)
    print("README.md and docs/diagrams/ regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
