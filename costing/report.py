"""Renderings of an estimate: the terminal table, JSON for machines, Markdown for the README and PR comments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .estimate import Estimate, Line
from .prices import PRICES

SCHEMA = "platform-cost/v1"


def _usd(value: float | None) -> str:
    return "unpriced" if value is None else f"${value:,.2f}"


def _ordered(estimate: Estimate) -> list[Line]:
    """Priced lines, most expensive (at full scale) first, then unpriced ones."""
    priced = sorted(estimate.priced, key=lambda line: (-(line.max_usd or 0.0), line.resource))
    return priced + sorted(estimate.unpriced, key=lambda line: line.resource)


def table(estimate: Estimate, stack: str, live: Mapping[str, float] | None = None) -> str:
    """The per-resource table ``make cost`` prints."""
    header = ("resource", "kind", "size / unit", "count", "min $/mo", "max $/mo", "confidence", "note")
    rows = [
        (
            line.resource,
            line.kind,
            line.unit,
            line.count,
            _usd(line.min_usd),
            _usd(line.max_usd),
            line.confidence or "-",
            line.note,
        )
        for line in _ordered(estimate)
    ]
    widths = [min(max(len(str(r[i])) for r in [header, *rows]), 60) for i in range(len(header) - 1)]

    def fmt(row: tuple[str, ...]) -> str:
        cells = [
            str(c)[:w].ljust(w) if i < 4 or i == 6 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(row[:-1], widths, strict=True))
        ]
        return "  ".join([*cells, row[-1]]).rstrip()

    out = [f"Monthly cost estimate of stack '{stack}' (USD; min = autoscaling pools at minNodes, max = at maxNodes)"]
    out += ["", fmt(header), fmt((*("-" * w for w in widths), "-" * 4))]
    out += [fmt(row) for row in rows]
    out += ["", f"total: ${estimate.min_total:,.2f} at minimum scale, ${estimate.max_total:,.2f} at full scale"]
    if estimate.unpriced:
        out.append(f"not included: {len(estimate.unpriced)} unpriced item(s) listed above")
    free = estimate.free
    out.append(
        f"free: {sum(int(line.count) for line in free)} resources of {len(free)} types "
        f"({', '.join(f'{line.resource} x{line.count}' for line in free)})"
    )
    if live:
        out += ["", "live prices (digitalocean.get_sizes) vs the table:"]
        for key, usd in sorted(live.items()):
            row = PRICES.get(key)
            if row is not None and abs(row.usd - usd) > 0.005:
                out.append(f"  {key}: table ${row.usd:,.2f} ({row.as_of}), live ${usd:,.2f} ({usd - row.usd:+,.2f})")
        out.append("  (lines above use the live price where one exists)")
    used = sorted({key for line in estimate.lines for key in line.price_keys})
    out += ["", "price rows used (costing/prices.py):"]
    out += [
        f"  {key}: ${PRICES[key].usd:g} per {PRICES[key].unit} - {PRICES[key].confidence}, "
        f"{PRICES[key].source}, as of {PRICES[key].as_of}"
        for key in used
        if key in PRICES
    ]
    return "\n".join(out)


def as_json(estimate: Estimate, stack: str) -> dict[str, Any]:
    used = sorted({key for line in estimate.lines for key in line.price_keys})
    return {
        "schema": SCHEMA,
        "stack": stack,
        "total": {"min": estimate.min_total, "max": estimate.max_total},
        "lines": [
            {
                "resource": line.resource,
                "kind": line.kind,
                "unit": line.unit,
                "count": line.count,
                "min": line.min_usd,
                "max": line.max_usd,
                "status": line.status,
                "confidence": line.confidence,
                "priceKeys": list(line.price_keys),
                "note": line.note,
                "urn": line.urn,
            }
            for line in estimate.lines
        ],
        "prices": {
            key: {
                "usd": PRICES[key].usd,
                "unit": PRICES[key].unit,
                "source": PRICES[key].source,
                "asOf": PRICES[key].as_of,
                "confidence": PRICES[key].confidence,
            }
            for key in used
            if key in PRICES
        },
    }


def markdown(estimate: Estimate) -> str:
    """A compact Markdown table of one stack (README)."""
    out = [
        "| item | kind | size / unit | count | min $/mo | max $/mo | confidence |",
        "| --- | --- | --- | --- | ---: | ---: | --- |",
    ]
    for line in _ordered(estimate):
        out.append(
            f"| {line.resource} | {line.kind} | {line.unit} | {line.count} | {_usd(line.min_usd)} | "
            f"{_usd(line.max_usd)} | {line.confidence or '-'} |"
        )
    out.append(f"| **total** | | | | **{_usd(estimate.min_total)}** | **{_usd(estimate.max_total)}** | |")
    free = estimate.free
    out += [
        "",
        f"Free ({sum(int(line.count) for line in free)} resources): "
        + ", ".join(f"{line.resource} x{line.count}" for line in free)
        + ".",
    ]
    if estimate.unpriced:
        # Sorted: resources whose inputs wait on outputs register in no fixed order (README must be stable).
        names = sorted(line.resource for line in estimate.unpriced)
        out.append(f"Unpriced, not in the totals: {', '.join(names)}.")
    return "\n".join(out)


def _delta(head: float, base: float | None) -> str:
    if base is None:
        return "new"
    change = head - base
    return "no change" if abs(change) < 0.005 else f"{change:+,.2f}"


def comparison(head: Mapping[str, Any], base: Mapping[str, Any] | None) -> str:
    """Markdown for a pull request: this branch's estimate and its change against main, per line."""
    stack = head["stack"]
    base_ok = bool(base) and base.get("schema") == SCHEMA  # type: ignore[union-attr]
    base_total = base["total"] if base_ok else None  # type: ignore[index]
    out = [f"### Monthly cost estimate: `{stack}`", ""]
    out.append("| | min scale | max scale |")
    out.append("| --- | ---: | ---: |")
    out.append(f"| this pull request | ${head['total']['min']:,.2f} | ${head['total']['max']:,.2f} |")
    if base_total is not None:
        out.append(f"| main | ${base_total['min']:,.2f} | ${base_total['max']:,.2f} |")
        out.append(
            f"| change | {_delta(head['total']['min'], base_total['min'])} | "
            f"{_delta(head['total']['max'], base_total['max'])} |"
        )
    else:
        out.append("| main | n/a | n/a |")
    if base_ok:

        def key(line: Mapping[str, Any]) -> tuple[str, str, str]:
            return line["resource"], line["kind"], line["status"]

        before = {key(line): line for line in base["lines"]}  # type: ignore[index]
        after = {key(line): line for line in head["lines"]}
        changed = []
        for k in sorted(set(before) | set(after)):
            old, new = before.get(k), after.get(k)
            if (
                old
                and new
                and (old["min"], old["max"], old["count"], old["unit"])
                == (
                    new["min"],
                    new["max"],
                    new["count"],
                    new["unit"],
                )
            ):
                continue
            shown = new or old
            assert shown is not None
            changed.append(
                f"| {k[0]} | {k[1]} | {'removed' if new is None else 'added' if old is None else 'changed'} | "
                f"{_usd(old['max']) if old else '-'} | {_usd(new['max']) if new else '-'} |"
            )
        if changed:
            out += ["", "| item | kind | change | max before | max after |", "| --- | --- | --- | ---: | ---: |"]
            out += changed
        else:
            out += ["", "No line changed against main."]
    unpriced = [line["resource"] for line in head["lines"] if line["status"] == "unpriced"]
    if unpriced:
        out += ["", f"Unpriced (not in the totals): {', '.join(unpriced)}."]
    out += ["", "Generated by `make cost` (costing/); prices and their confidence in costing/prices.py."]
    return "\n".join(out)
