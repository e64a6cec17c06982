"""Print how long `make cost` and `make diagram` take per committed stack, and where the time goes.

A benchmark that prints figures, never a test that asserts on time (issue #16 asks for the figures).

    .venv/bin/python benchmarks/bench_insights.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from costing import estimate  # noqa: E402
from costing.evaluate import STACKS, items_of, run_stack  # noqa: E402
from diagram import build, dot, mermaid  # noqa: E402
from diagram.publish import render_svg  # noqa: E402


def _median(fn: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _draw(stack: str, run: Any) -> tuple[str, str]:
    arch = build(stack, run.resources)
    return mermaid(arch), dot(arch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="timed repetitions per figure (default 3)")
    args = parser.parse_args()
    print(f"{'stack':<12}{'evaluate s':>11}{'estimate ms':>13}{'graph+text ms':>15}{'dot svg ms':>12}")
    for stack in STACKS:
        run = run_stack(stack)
        items = items_of(run)
        evaluate = _median(lambda s=stack: run_stack(s), args.runs)
        price = _median(lambda i=items: estimate(i), args.runs)
        arch = build(stack, run.resources)
        draw = _median(lambda s=stack, r=run: _draw(s, r), args.runs)
        svg = _median(lambda a=arch: render_svg(dot(a)), args.runs)
        print(f"{stack:<12}{evaluate:>11.2f}{1000 * price:>13.1f}{1000 * draw:>15.1f}{1000 * svg:>12.1f}")
    print("\nwhole commands (fresh interpreter, imports included):")
    scratch = tempfile.mkdtemp(prefix="bench-diagram-")  # never rewrite the committed diagrams
    for stack in STACKS:
        diagram = ["scripts/make_diagram.py", "--stack", stack, "--out", scratch]
        for command in (["scripts/cost.py", "--stack", stack, "--offline"], diagram):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, check=True)
            print(f"  {' '.join(command[:3]):<45}{time.perf_counter() - t0:>7.2f} s")


if __name__ == "__main__":
    main()
