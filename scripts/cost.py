"""Monthly cost estimate of a stack, from the program evaluated in-process (no cloud calls, no credentials).

    .venv/bin/python scripts/cost.py --stack production            # per-resource table
    .venv/bin/python scripts/cost.py --stack production --json     # for machines
    .venv/bin/python scripts/cost.py --stack production --markdown --base main.json   # PR comment

Prices come from costing/prices.py (source, as-of date, confidence per row). With DIGITALOCEAN_TOKEN set,
droplet and node prices are refreshed from digitalocean.get_sizes() (python -m costing.live, needs the
Pulumi CLI) and the differences are shown; --offline skips that.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from costing import estimate  # noqa: E402
from costing.evaluate import items_of, run_stack  # noqa: E402
from costing.report import as_json, comparison, table  # noqa: E402


def live_prices() -> dict[str, float]:
    """Prices from digitalocean.get_sizes(), in a separate process (the evaluation's mocks are global)."""
    done = subprocess.run(
        [sys.executable, "-m", "costing.live"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"cost: live prices unavailable, using the table ({reason})", file=sys.stderr)
        return {}
    return {str(k): float(v) for k, v in json.loads(done.stdout).items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default=os.environ.get("STACK", "staging"), help="committed stack (default staging)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON instead of the table")
    output.add_argument("--markdown", action="store_true", help="print the pull-request comment (Markdown)")
    parser.add_argument("--base", type=Path, help="with --markdown: JSON estimate of main to compare with")
    parser.add_argument("--offline", action="store_true", help="never fetch live prices, even with a token")
    args = parser.parse_args()

    live = live_prices() if os.environ.get("DIGITALOCEAN_TOKEN") and not args.offline else {}
    result = estimate(items_of(run_stack(args.stack)), live_prices=live)
    if args.json:
        print(json.dumps(as_json(result, args.stack), indent=2))
    elif args.markdown:
        base = None
        if args.base and args.base.is_file() and args.base.read_text().strip():
            base = json.loads(args.base.read_text())
        print(comparison(as_json(result, args.stack), base))
    else:
        print(table(result, args.stack, live))
    return 0


if __name__ == "__main__":
    sys.exit(main())
