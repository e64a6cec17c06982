"""The stack lifecycle through the real Pulumi CLI, shared by the per-stack test modules.

Each stack module runs the steps in order on one workspace (a fixture of module scope); the steps
are separate tests so a failure names the step. Figures (wall time per step, resource counts) are
printed in the run's "reported figures" section (pytest record_property), never asserted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.engine.echo_provider import SENSITIVE
from tests.engine.workspace import Result, Workspace, policy_block, summary
from tests.harness import TEST_SECRETS


def timed(key: str, call: Any, record: Any = None) -> Result:
    """Run ``call``; with pytest's ``record_property``, its wall time (and the step counts) are printed in
    the run's "reported figures" section as ``[engine] <key>``."""
    start = time.monotonic()
    result = call()
    elapsed = time.monotonic() - start
    if record is not None:
        counts = summary(result.output) if isinstance(result, Result) else {}
        detail = ", ".join(f"{n} {verb}" for verb, n in counts.items())
        record("report", f"[engine] {key}: {elapsed:.1f} s" + (f" ({detail})" if detail else ""))
    return result


def workspace_for(stack: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = Workspace.create(tmp_path_factory.mktemp(f"engine-{stack}"))
    ws.init_stack(stack, TEST_SECRETS)
    yield ws


def assert_policies_clean(result: Result) -> None:
    block = policy_block(result.output)
    assert "platform-guards" in block, f"the policy pack did not report:\n{result.output[-4000:]}"
    assert "❌" not in block and "[mandatory]" not in block and "[advisory]" not in block, block


def plaintext_leaks(export_text: str, export: dict[str, Any]) -> list[str]:
    """The names of secret values that appear in clear anywhere in the exported state."""
    leaks = []
    for name, value in {f"config:{k}": v for k, v in TEST_SECRETS.items()}.items():
        if value in export_text:
            leaks.append(name)
    for resource in export["deployment"].get("resources", []):
        outputs = resource.get("outputs") or {}
        for key in SENSITIVE & set(outputs):
            value = outputs[key]
            if not (isinstance(value, dict) and "ciphertext" in value):
                leaks.append(f"{resource['urn']}.{key}")
    return leaks


class Lifecycle:
    """preview (with the pack) → up → preview --expect-no-changes → refresh → --expect-no-changes →
    stack export holds no plaintext secret → destroy (refused or clean, per stack)."""

    stack: str

    def test_preview_with_policy_pack_loaded_by_the_cli(self, ws: Workspace, record_property: Any) -> None:
        result = timed(
            f"{self.stack}:preview",
            lambda: ws.pulumi("preview", "--stack", self.stack, *ws.policy_args(self.stack)),
            record_property,
        )
        result.check()
        assert summary(result.output).get("to create", 0) > 100, result.output[-3000:]
        assert_policies_clean(result)

    def test_up(self, ws: Workspace, record_property: Any) -> None:
        result = timed(
            f"{self.stack}:up",
            lambda: ws.pulumi("up", "--yes", "--stack", self.stack, *ws.policy_args(self.stack)),
            record_property,
        )
        result.check()
        assert_policies_clean(result)
        created = summary(result.output).get("created", 0)
        assert created > 100

    def test_no_perpetual_diff_after_up(self, ws: Workspace, record_property: Any) -> None:
        result = timed(
            f"{self.stack}:expect-no-changes",
            lambda: ws.pulumi("preview", "--expect-no-changes", "--stack", self.stack, *ws.policy_args(self.stack)),
            record_property,
        )
        result.check()

    def test_refresh_finds_no_drift(self, ws: Workspace, record_property: Any) -> None:
        result = timed(
            f"{self.stack}:refresh", lambda: ws.pulumi("refresh", "--yes", "--stack", self.stack), record_property
        )
        result.check()
        counts = summary(result.output)
        assert not {k: v for k, v in counts.items() if k in ("updated", "deleted", "to update", "to delete") and v}, (
            counts
        )

    def test_no_changes_after_refresh(self, ws: Workspace, record_property: Any) -> None:
        result = timed(
            f"{self.stack}:expect-no-changes-after-refresh",
            lambda: ws.pulumi("preview", "--expect-no-changes", "--stack", self.stack, *ws.policy_args(self.stack)),
            record_property,
        )
        result.check()

    def test_state_holds_no_plaintext_secret(self, ws: Workspace, record_property: Any) -> None:
        result = ws.pulumi("stack", "export", "--stack", self.stack).check()
        export = json.loads(result.stdout)
        assert export["deployment"]["resources"], "empty state"
        assert plaintext_leaks(result.stdout, export) == []

    def test_kubernetes_provider_keeps_no_token_in_state(self, ws: Workspace, record_property: Any) -> None:
        # Decrypted on purpose: an expiring token must not be in state at all, encrypted or not
        # (refresh and destroy would run with it after it expired).
        export = json.loads(ws.pulumi("stack", "export", "--show-secrets", "--stack", self.stack).check().stdout)
        providers = [r for r in export["deployment"]["resources"] if r["type"] == "pulumi:providers:kubernetes"]
        assert providers, "no Kubernetes provider in state"
        for provider in providers:
            kubeconfig = kubeconfig_of(provider)
            users = [u.get("user", {}) for u in kubeconfig.get("users", [])]
            assert users, provider["urn"]
            for user in users:
                assert "token" not in user and "exec" in user, user


def kubeconfig_of(provider: dict[str, Any]) -> dict[str, Any]:
    """The provider's kubeconfig input as a document (a decrypted export wraps secrets as
    {sig, plaintext: <JSON of the value>}; the value is kubeconfig text, YAML or JSON)."""
    value = provider.get("inputs", {}).get("kubeconfig", "")
    if isinstance(value, dict) and "plaintext" in value:
        value = json.loads(value["plaintext"])
    document = yaml.safe_load(value) if isinstance(value, str) else value
    assert isinstance(document, dict), f"kubeconfig of {provider['urn']} is not a document: {str(value)[:200]}"
    return document


def provider_log(ws: Workspace) -> list[dict[str, Any]]:
    path: Path = ws.provider_log
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
