"""Every Kubernetes object both stacks create passes independent offline checkers.

* ``kubernetes-validate --strict`` at the cluster's Kubernetes minor: each object matches the API
  schema, with no unknown fields.
* ``checkov --framework kubernetes``: zero failed checks; the only skips are listed, each with its
  reason, in ``.checkov.yaml``.

The objects are rendered from the session's mocked up-runs (tests/k8s_manifests.py). Helm-rendered
objects are out of scope (their values are tested in test_platform_addons.py), and so are custom
resources, whose schemas kubernetes-validate does not ship (test_workload.py and
test_platform_addons.py assert their specs).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack_config.infra import ClusterConfig
from tests.harness import ROOT, StackRun
from tests.k8s_manifests import BUILD, render

pytestmark = pytest.mark.tools


def _checkov() -> str:
    local = ROOT / ".venv-checkov" / "bin" / "checkov"
    if local.exists():
        return str(local)
    found = shutil.which("checkov")
    if found:
        return found
    pytest.fail("checkov is not installed: run `bash scripts/install-tools.sh` (it creates .venv-checkov)")


def _kubernetes_version(stack: str) -> str:
    data = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    prefix = (data.get("platform:cluster") or {}).get("versionPrefix")
    if prefix is None:
        prefix = ClusterConfig().version_prefix
    return f"{prefix}0"


@pytest.fixture(scope="module")
def rendered(staging: StackRun, production: StackRun) -> dict[str, list[Path]]:
    return {run.stack: render(run) for run in (staging, production)}


@pytest.fixture(scope="module")
def checkov_report(rendered: dict[str, list[Path]]) -> list[dict[str, Any]]:
    """One checkov run over both stacks' directories (it is the slow part of the suite)."""
    result = subprocess.run(
        [
            _checkov(),
            "--framework",
            "kubernetes",
            "--config-file",
            str(ROOT / ".checkov.yaml"),
            "--directory",
            str(BUILD),
            "--output",
            "json",
            "--quiet",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if not result.stdout.strip():
        pytest.fail(f"checkov produced no report (exit {result.returncode}): {result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_every_object_is_valid_at_the_clusters_kubernetes_version(
    stack: str, rendered: dict[str, list[Path]], record_property: Callable[[str, object], None]
) -> None:
    paths = rendered[stack]
    assert paths, f"nothing rendered for {stack}"
    record_property("report", f"[kubernetes-validate] {stack}: {len(paths)} objects rendered and validated")
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "kubernetes-validate"),
            "--strict",
            "--quiet",
            "--kubernetes-version",
            _kubernetes_version(stack),
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_reports_no_failed_checks(
    checkov_report: list[dict[str, Any]], record_property: Callable[[str, object], None]
) -> None:
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for report in checkov_report
        for check in report.get("results", {}).get("failed_checks", [])
    ]
    for summary in (report.get("summary", {}) for report in checkov_report):
        record_property(
            "report",
            f"[checkov] passed {summary.get('passed')}, failed {summary.get('failed')}, "
            f"skipped {summary.get('skipped')} (+ {_skip_count()} checks excluded by .checkov.yaml)",
        )
    assert not failed, "\n".join(failed)


def _skip_count() -> int:
    config = yaml.safe_load((ROOT / ".checkov.yaml").read_text()) or {}
    return len(config.get("skip-check", []))


def test_checkov_saw_every_rendered_object(
    checkov_report: list[dict[str, Any]], rendered: dict[str, list[Path]]
) -> None:
    summary = checkov_report[0].get("summary", {})
    assert summary.get("passed", 0) > 0
    assert summary.get("resource_count", 0) >= sum(len(p) for p in rendered.values())


def test_every_skipped_check_has_a_reason() -> None:
    lines = (ROOT / ".checkov.yaml").read_text().splitlines()
    entries = [line for line in lines if line.strip().startswith("- CKV")]
    assert entries
    assert all("#" in line and line.split("#", 1)[1].strip() for line in entries), entries
