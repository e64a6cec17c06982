"""Evaluate a committed stack in-process (tests/harness.py: mocks, no network, no credentials) for the scripts.

Not imported by the policy pack (it needs the program's own virtualenv). Up mode: the mocks return
realistic outputs (names, ARNs, hosts), so relations are matched by value as well as by dependency.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .estimate import Item

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("staging", "production")
"""The committed stacks (``Pulumi.<stack>.yaml``)."""


def run_stack(stack: str, overrides: Mapping[str, Any] | None = None) -> Any:
    """The harness's ``StackRun`` of ``__main__.py`` for ``stack``."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.harness import run_main  # noqa: PLC0415 - pulumi is imported only by the scripts

    return run_main(stack, preview=False, overrides=overrides)


def items_of(run: Any) -> list[Item]:
    """Harness records as the estimator's inventory (state = inputs + outputs, as a policy sees it)."""
    return [Item(r.type, r.name, r.urn, {**r.inputs, **r.outputs}, r.dependencies, r.custom) for r in run.resources]
