"""Alert rules: promtool accepts them, and promtool's unit tests prove each fires (and stays quiet)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from observability.rules import (
    BACKUP_CRONJOB_REGEX,
    GROUPS,
    RECORDING_RULES,
    SEED_RULES,
    all_alert_names,
    render_rule_files,
)
from tests.observability.support import assert_golden, run_tool

HERE = Path(__file__).resolve().parent
SEED_ALERTS = {
    "HighErrorRate",
    "HighResponseTime",
    "LowScrapingSuccessRate",
    "HighQueueBacklog",
    "DatabaseConnectionFailure",
    "LowDiscoveryRate",
    "PodRestartingFrequently",
    "LowDiskSpace",
}
PLATFORM_ALERTS = {
    "KubeNodeNotReady",
    "KubePodCrashLooping",
    "KubePersistentVolumeFillingUp",
    "CertificateExpiringSoon",
    "CacheUnreachable",
    "PostgresBackupMissing",
    "ClusterMetricsMissing",
}


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("rules")
    for name, text in render_rule_files().items():
        (directory / name).write_text(text)
    shutil.copy(HERE / "rules_test.yml", directory / "rules_test.yml")
    return directory


def test_all_eight_seed_alerts_keep_their_names() -> None:
    assert {r.alert for r in SEED_RULES} == SEED_ALERTS


def test_platform_rules_cover_cluster_data_backups_and_the_pipeline() -> None:
    assert set(all_alert_names()) >= PLATFORM_ALERTS


def test_alert_names_are_unique() -> None:
    names = all_alert_names()
    assert len(names) == len(set(names))


def test_every_rule_routes_by_a_known_severity() -> None:
    severities = {r.severity for rules in GROUPS.values() for r in rules}
    assert severities <= {"critical", "warning"}


def test_backup_rule_watches_the_backup_cronjob_for_two_hours() -> None:
    (rule,) = [r for r in GROUPS["backups"] if r.alert == "PostgresBackupMissing"]
    assert f'kube_cronjob_status_last_successful_time{{cronjob=~"{BACKUP_CRONJOB_REGEX}"}}' in rule.expr
    assert "> 7200" in rule.expr
    assert rule.severity == "critical"


def test_promtool_accepts_every_rule_file(rules_dir: Path) -> None:
    files = sorted(p.name for p in rules_dir.glob("*.yml") if p.name != "rules_test.yml")
    result = run_tool("promtool", "check", "rules", *files, cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    total = sum(len(rules) for rules in GROUPS.values()) + len(RECORDING_RULES)
    found = sum(int(line.split()[1]) for line in result.stdout.splitlines() if "rules found" in line)
    assert found == total


def test_promtool_unit_tests_pass(rules_dir: Path) -> None:
    result = run_tool("promtool", "test", "rules", "rules_test.yml", cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr


def test_unit_tests_exercise_every_seed_alert_and_the_backup_alert() -> None:
    tests = yaml.safe_load((HERE / "rules_test.yml").read_text())["tests"]
    fired = {case["alertname"] for t in tests for case in t.get("alert_rule_test", []) if case.get("exp_alerts")}
    assert SEED_ALERTS | {"PostgresBackupMissing"} <= fired


def test_unit_tests_load_every_rendered_rule_file() -> None:
    files = yaml.safe_load((HERE / "rules_test.yml").read_text())["rule_files"]
    assert sorted(files) == sorted(render_rule_files())


@pytest.mark.parametrize("name", sorted(render_rule_files()))
def test_rule_file_matches_golden(name: str) -> None:
    assert_golden(f"rules/{name}", render_rule_files()[name])
