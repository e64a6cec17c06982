"""The operations runbooks say what the seed asks of them (emergency contacts, release procedure)."""

from __future__ import annotations

import re

from tests.harness import ROOT

DR = (ROOT / "docs" / "disaster-recovery.md").read_text()


def test_disaster_recovery_lists_the_seeds_emergency_roles_and_where_their_holders_live() -> None:
    section = DR.split("## Emergency contacts", 1)[1].split("\n## ", 1)[0]
    for role in ("DevOps Lead", "System Admin", "Product Manager"):
        row = next(line for line in section.splitlines() if line.startswith(f"| {role} |"))
        where = row.split("|")[3]
        assert where.strip(), role


def test_the_runbook_holds_no_phone_numbers() -> None:
    # Not the seed's +1-555-01xx placeholders, and no real numbers either: people live in the pager.
    assert not re.search(r"\+?\d[\d -]{7,}\d", DR.split("## Emergency contacts", 1)[1].split("\n## ", 1)[0])


def test_the_release_procedure_is_documented_where_operators_look() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text()
    assert "## Ship an application release (set the image tag)" in operations
    assert "scripts/release-tag.sh" in operations
