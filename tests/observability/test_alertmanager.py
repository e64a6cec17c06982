"""alertmanager.yml: amtool accepts it, and its routing tree sends each severity where it should."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from observability.alertmanager import alertmanager_args, render_alertmanager_config
from tests.observability.support import SECRETS, assert_golden, run_tool


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("alertmanager") / "alertmanager.yml"
    path.write_text(render_alertmanager_config(SECRETS, "staging"))
    return path


def receivers_for(config_file: Path, *labels: str) -> list[str]:
    result = run_tool("amtool", "config", "routes", "test", f"--config.file={config_file}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().split(",")


def test_amtool_accepts_the_config(config_file: Path) -> None:
    result = run_tool("amtool", "check-config", str(config_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 receivers" in result.stdout


def test_critical_alerts_page_and_are_posted_to_chat(config_file: Path) -> None:
    assert receivers_for(config_file, "severity=critical", "alertname=LowDiskSpace") == ["paging", "chat"]


def test_warnings_go_to_chat_only(config_file: Path) -> None:
    assert receivers_for(config_file, "severity=warning", "alertname=HighQueueBacklog") == ["chat"]


def test_unlabelled_alerts_still_reach_chat(config_file: Path) -> None:
    assert receivers_for(config_file, "alertname=Unknown") == ["chat"]


def test_receiver_urls_come_from_the_secrets() -> None:
    config = yaml.safe_load(render_alertmanager_config(SECRETS, "staging"))
    by_name = {r["name"]: r for r in config["receivers"]}
    assert by_name["paging"]["webhook_configs"][0]["url"] == SECRETS.paging_webhook_url
    assert by_name["chat"]["slack_configs"][0]["api_url"] == SECRETS.chat_webhook_url


def test_alertmanager_keeps_its_state_on_the_volume_without_gossip() -> None:
    assert alertmanager_args("/mnt/monitoring") == (
        'ARGS="--storage.path=/mnt/monitoring/alertmanager --cluster.listen-address="\n'
    )


def test_config_matches_golden() -> None:
    assert_golden("alertmanager.yml", render_alertmanager_config(SECRETS, "staging"))
