"""The README's generated sections: each committed stack's estimate (vs the seed's figures) and its diagrams.

Sections sit between ``<!-- BEGIN GENERATED <name> ... -->`` and ``<!-- END GENERATED <name> -->``;
``make docs`` rewrites them, tests/test_insights.py fails when they are stale.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .estimate import Estimate
from .report import markdown

SEED_FIGURES: dict[str, tuple[float, float]] = {"staging": (150.0, 150.0), "production": (500.0, 800.0)}
"""Seed 000's own monthly figures (its "COST OPTIMIZATION" section: staging ~$150, production $500-800).
Vendored here because tests never read ../shared."""


def _begin(name: str) -> str:
    return f"<!-- BEGIN GENERATED {name} (make docs; do not edit by hand) -->"


def _end(name: str) -> str:
    return f"<!-- END GENERATED {name} -->"


def replace_section(text: str, name: str, body: str) -> str:
    """``text`` with the generated section ``name`` replaced by ``body`` (the markers must exist)."""
    pattern = re.compile(re.escape(_begin(name)) + r".*?" + re.escape(_end(name)), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"README has no generated section {name!r}: add the markers {_begin(name)} / {_end(name)}")
    return pattern.sub(lambda _m: f"{_begin(name)}\n{body.rstrip()}\n{_end(name)}", text, count=1)


def _seed(stack: str) -> str:
    low, high = SEED_FIGURES.get(stack, (0.0, 0.0))
    if not high:
        return "-"
    return f"~${low:,.0f}" if low == high else f"${low:,.0f}-{high:,.0f}"


def cost_section(estimates: Mapping[str, Estimate]) -> str:
    out = [
        "| stack | minimum scale | full scale | unpriced items | seed 000 says |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for stack, est in estimates.items():
        out.append(
            f"| `{stack}` | ${est.min_total:,.2f} | ${est.max_total:,.2f} | {len(est.unpriced)} | {_seed(stack)} |"
        )
    for stack, est in estimates.items():
        out += [
            "",
            f"<details><summary><code>{stack}</code>: every line</summary>",
            "",
            markdown(est),
            "",
            "</details>",
        ]
    return "\n".join(out)


def diagram_section(mermaid_by_stack: Mapping[str, str]) -> str:
    """Each stack's SVG, and its Mermaid source inline (GitHub renders it) behind a fold."""
    out = []
    for stack, mermaid in mermaid_by_stack.items():
        out += [
            f"**{stack}** ([Mermaid](docs/diagrams/{stack}.mmd), [DOT](docs/diagrams/{stack}.dot))",
            "",
            f"![{stack} architecture, generated from the evaluated program](docs/diagrams/{stack}.svg)",
            "",
            f"<details><summary><code>{stack}</code> as Mermaid</summary>",
            "",
            "```mermaid",
            mermaid.rstrip(),
            "```",
            "",
            "</details>",
            "",
        ]
    return "\n".join(out)
