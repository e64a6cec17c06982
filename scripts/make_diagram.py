"""Architecture diagram of a stack, from the program evaluated in-process (no cloud calls, no credentials).

    .venv/bin/python scripts/make_diagram.py --stack production          # docs/diagrams/production.{mmd,dot,svg}
    .venv/bin/python scripts/make_diagram.py --stack production --stdout # Mermaid on stdout, nothing written

Components are boxes grouped by cloud, network and cluster; edges are the data paths the program wires
(diagram/graph.py says how each is derived). The SVG needs Graphviz `dot` (`make tools`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from costing.evaluate import run_stack  # noqa: E402
from diagram import build, mermaid  # noqa: E402
from diagram.publish import DIAGRAM_DIR, write  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default=os.environ.get("STACK", "staging"), help="committed stack (default staging)")
    parser.add_argument("--out", type=Path, default=DIAGRAM_DIR, help="directory for the files (docs/diagrams)")
    parser.add_argument("--stdout", action="store_true", help="print the Mermaid source instead of writing files")
    args = parser.parse_args()
    arch = build(args.stack, run_stack(args.stack).resources)
    if args.stdout:
        print(mermaid(arch), end="")
        return 0
    for path in write(arch, args.out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
