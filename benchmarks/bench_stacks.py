"""Print, per committed stack, the resource count and the median in-process evaluation time.

Also the stacks with seed 004's AWS tenant (issue 15): ``+aws`` is the engine lifecycle's variant (the stack's
DigitalOcean tenants plus the AWS one, tests/engine/lifecycle.py ``with_aws_tenant``), ``aws-only`` the mocked
tests' (tests/conftest.py ``AWS_TENANT_ENABLED``: the tenants list replaced by the AWS one).

Goal (issue #2): <= 3 s per stack, per-resource cost near the SDK's own floor (~5-6 ms). This is a
benchmark that prints figures, never a test that asserts on time.

    .venv/bin/python benchmarks/bench_stacks.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import AWS_TENANT_ENABLED  # noqa: E402
from tests.engine.lifecycle import with_aws_tenant  # noqa: E402
from tests.harness import run_main  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed evaluations per stack and mode (default 5)")
    args = parser.parse_args()

    started = time.perf_counter()
    run_main("staging")  # imports and first-run costs, reported separately
    print(f"warm-up (imports + first evaluation): {time.perf_counter() - started:.2f} s")
    print(f"{'stack':<21}{'mode':<9}{'resources':>10}{'median s':>10}{'min s':>8}{'ms/resource':>13}")
    variants = [
        ("staging", "staging", None),
        ("production", "production", None),
        ("production+aws", "production", with_aws_tenant("production")[0]),
        ("production aws-only", "production", AWS_TENANT_ENABLED),
    ]
    for label, stack, overrides in variants:
        for preview in (False, True):
            times, count = [], 0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                result = run_main(stack, preview=preview, overrides=overrides)
                times.append(time.perf_counter() - t0)
                count = len(result.resources)
            median = statistics.median(times)
            mode = "preview" if preview else "up"
            print(f"{label:<21}{mode:<9}{count:>10}{median:>10.3f}{min(times):>8.3f}{1000 * median / count:>13.2f}")


if __name__ == "__main__":
    main()
