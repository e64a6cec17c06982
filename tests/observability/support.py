"""Fixed inputs of the observability renderers, golden-file comparison and the external checkers.

Golden renders use the harness's fixed test secrets, never real ones. Regenerate the golden files
with ``UPDATE_GOLDEN=1 .venv/bin/pytest tests/observability`` and review the diff.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from observability.agent import AgentSettings, private_metrics_targets
from observability.cloud_init import MonitoringHost, MonitoringSecrets
from tests.harness import ROOT, TEST_SECRETS

GOLDEN_DIR = ROOT / "tests" / "golden" / "observability"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

HOST = MonitoringHost(
    tenant="niche-discovery",
    environment="staging",
    name="niche-discovery-staging-monitoring",
    volume_name="niche-discovery-staging-monitoring-data",
    volume_size_gib=50,
    retention_days=30,
)
SECRETS = MonitoringSecrets(
    grafana_admin_password=TEST_SECRETS["grafanaAdminPassword"],
    paging_webhook_url=TEST_SECRETS["alertPagingWebhookUrl"],
    chat_webhook_url=TEST_SECRETS["alertChatWebhookUrl"],
)
AGENT = AgentSettings(
    remote_write_url="http://10.110.0.30:9090/api/v1/write",
    cluster="niche-discovery-staging",
    tenant="niche-discovery",
    environment="staging",
    metrics_username="metrics-user",
    postgres_targets=private_metrics_targets(["niche-discovery-staging-pg-do-user-1-0.db.ondigitalocean.com:9273"]),
    valkey_targets=private_metrics_targets(
        [
            "https://niche-discovery-staging-valkey-do-user-1-0.db.ondigitalocean.com:9273/metrics",
            "replica-niche-discovery-staging-valkey-do-user-1-0.db.ondigitalocean.com:9273",
        ]
    ),
)


def assert_golden(relative: str, text: str) -> None:
    """Compare ``text`` with the golden file (or rewrite it when UPDATE_GOLDEN=1)."""
    path = GOLDEN_DIR / relative
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"missing golden file {path}: run with UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(), (
        f"{relative} differs from its golden file: run with UPDATE_GOLDEN=1 and review the diff"
    )


def tool(name: str) -> str:
    """Path of an external checker; skip (locally) when scripts/install-tools.sh has not run."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed: scripts/install-tools.sh must run first")
        pytest.skip(f"{name} not installed (scripts/install-tools.sh installs it)")
    return found


def run_tool(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool(argv[0]), *argv[1:]], cwd=cwd, capture_output=True, text=True, check=False, timeout=60)
