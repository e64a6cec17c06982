"""Staging through the real Pulumi CLI: the whole lifecycle, then a clean destroy."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.lifecycle import Lifecycle, timed, workspace_for
from tests.engine.workspace import ROOT, Workspace, summary

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    yield from workspace_for("staging", tmp_path_factory)


class TestStaging(Lifecycle):
    stack = "staging"

    def test_destroy_removes_everything(self, ws: Workspace, record_property: Any) -> None:
        result = timed("staging:destroy", lambda: ws.pulumi("destroy", "--yes", "--stack", "staging"), record_property)
        result.check()
        assert summary(result.output).get("deleted", 0) > 100
        left = ws.pulumi("stack", "--stack", "staging", "--show-urns").check().output
        assert "Current stack resources (0)" in left or "no resources" in left.lower(), left[-2000:]


class TestReadmeCommands:
    """The README's commands, run as a reader runs them, through the same CLI."""

    def test_offline_plan_shows_the_stack_and_the_policy_verdict(self) -> None:
        result = run_script(["bash", "scripts/plan-offline.sh", "staging"])
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "platform-guards" in result.stdout
        assert re.search(r"plan staging: \d{3} resources to create; policy pack: clean", result.stdout)

    def test_cloud_preview_script_parses_and_reaches_the_program_with_the_pack(self, tmp_path: Path) -> None:
        # A fresh stack without its secrets: the script must get as far as the program, which refuses
        # with the exact commands to run, with the policy pack loaded (the script passes it).
        ws = Workspace.create(tmp_path)
        env = {**ws.env, "DIGITALOCEAN_TOKEN": "dop_v1_offline", "PULUMI_LOCAL_STATE": str(tmp_path / "local-state")}
        env.pop("PULUMI_BACKEND_URL")
        result = subprocess.run(
            ["bash", "scripts/preview-local.sh", "staging"],
            cwd=ws.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "platform-guards|local|policies" in output, output[-3000:]  # "Policy Packs run:"
        assert "required secret is missing" in output and "pulumi config set --stack staging --secret" in output

    def test_cloud_preview_script_refuses_without_a_token(self, tmp_path: Path) -> None:
        ws = Workspace.create(tmp_path)
        result = ws.run(["bash", "scripts/preview-local.sh", "staging"])
        assert result.returncode != 0
        assert "export DIGITALOCEAN_TOKEN" in result.output


def run_script(argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "DIGITALOCEAN_", "AWS_"))}
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
