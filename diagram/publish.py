"""The committed diagram files (docs/diagrams/<stack>.mmd, .dot, .svg) and their staleness check.

The SVG comes from Graphviz ``dot`` (Debian package ``graphviz``, installed by scripts/install-tools.sh).
Its bytes depend on the Graphviz version, so staleness is judged on the DOT source: the SVG carries the
SHA-256 of the DOT it was rendered from, and the DOT and Mermaid files are compared byte for byte.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

from .graph import Architecture
from .render import dot, mermaid

ROOT = Path(__file__).resolve().parent.parent
DIAGRAM_DIR = ROOT / "docs" / "diagrams"
_SOURCE = re.compile(r"<!-- dot source sha256: ([0-9a-f]{64}) -->")


def sources(arch: Architecture) -> dict[str, str]:
    """File name -> text of the text renderings of one stack."""
    return {f"{arch.stack}.mmd": mermaid(arch), f"{arch.stack}.dot": dot(arch)}


def digest(dot_source: str) -> str:
    return hashlib.sha256(dot_source.encode()).hexdigest()


def render_svg(dot_source: str) -> str:
    """``dot -Tsvg``, stamped with the digest of its source."""
    binary = shutil.which("dot")
    if binary is None:
        raise RuntimeError("Graphviz `dot` is not installed: run `make tools` (Debian package graphviz)")
    done = subprocess.run([binary, "-Tsvg"], input=dot_source, capture_output=True, text=True, check=True, timeout=120)
    svg = done.stdout
    stamp = f"<!-- dot source sha256: {digest(dot_source)} -->\n"
    head, sep, rest = svg.partition("<svg")
    return f"{head}{stamp}{sep}{rest}"


def svg_digest(svg: str) -> str | None:
    match = _SOURCE.search(svg)
    return match.group(1) if match else None


def write(arch: Architecture, directory: Path = DIAGRAM_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in sources(arch).items():
        (directory / name).write_text(text)
        written.append(directory / name)
    svg = directory / f"{arch.stack}.svg"
    svg.write_text(render_svg(sources(arch)[f"{arch.stack}.dot"]))
    written.append(svg)
    return written


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def stale(arch: Architecture, directory: Path = DIAGRAM_DIR) -> list[str]:
    """What differs between the committed files and this architecture (empty: current)."""
    problems = []
    for name, text in sources(arch).items():
        path = directory / name
        if not path.is_file() or path.read_text() != text:
            problems.append(f"{_shown(path)} is stale")
    svg = directory / f"{arch.stack}.svg"
    expected = digest(sources(arch)[f"{arch.stack}.dot"])
    if not svg.is_file() or svg_digest(svg.read_text()) != expected:
        problems.append(f"{_shown(svg)} was not rendered from the current DOT source")
    return problems
