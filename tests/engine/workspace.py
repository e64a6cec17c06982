"""A throwaway copy of this project driven through the real Pulumi CLI, with echo providers.

Used by the lifecycle tests (tests/engine/test_lifecycle_*.py) and by the README's offline plan
(`make plan`, scripts/plan-offline.sh), so what the README shows is what the tests prove.

The copy is needed because `pulumi config set --secret` writes the stack file: the repository's
committed `Pulumi.<stack>.yaml` must never receive the stand-in secrets. State lives in a local file
backend inside the copy, secrets are encrypted with a passphrase, and the CLI finds the providers
(tests/engine/bin) and its Python language host (build/engine) as ambient plugins on PATH, with
plugin downloads switched off.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.harness import PROJECT, deep_merge

ROOT = Path(__file__).resolve().parents[2]
ENGINE_DIR = ROOT / "build" / "engine"
PROVIDERS_DIR = ROOT / "tests" / "engine" / "bin"
PASSPHRASE = "offline-plan-passphrase"
"""Encrypts the stand-in secrets of a throwaway stack (never a real one)."""
_SKIP = {".git", ".venv", ".venv-checkov", "build", "node_modules", "__pycache__", ".pytest_cache", ".mypy_cache"}
_SKIP_SUFFIXES = (".pyc",)


class EngineMissing(RuntimeError):
    """The CLI or the language host has not been built."""


def require_engine() -> None:
    missing = [
        n for n in ("pulumi", "pulumi-language-python", "pulumi-language-python-exec") if not (ENGINE_DIR / n).exists()
    ]
    if missing:
        raise EngineMissing(
            f"{', '.join(missing)} missing in {ENGINE_DIR}: run `bash scripts/build-engine.sh` (`make test` does)"
        )


@dataclass
class Result:
    args: Sequence[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def check(self) -> Result:
        if self.returncode != 0:
            raise AssertionError(f"`pulumi {' '.join(self.args)}` exited {self.returncode}:\n{self.output[-6000:]}")
        return self


@dataclass
class Workspace:
    """A copy of the project in ``path`` with its own state backend and Pulumi home."""

    path: Path
    provider_log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.provider_log = self.path.parent / "echo-provider.log"

    @classmethod
    def create(cls, where: Path) -> Workspace:
        require_engine()
        project = where / "project"

        def ignore(folder: str, names: list[str]) -> set[str]:
            return {n for n in names if n in _SKIP or n.endswith(_SKIP_SUFFIXES)}

        shutil.copytree(ROOT, project, ignore=ignore, symlinks=True)
        # The program and the policy pack run in the repository's virtualenv (Pulumi.yaml and
        # policies/PulumiPolicy.yaml name ".venv" relative to the project).
        (project / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
        (where / "state").mkdir()
        (where / "home").mkdir()
        return cls(project)

    @property
    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            # A developer's real credentials and backend must never reach a test run.
            if not k.startswith(("PULUMI_", "DIGITALOCEAN_", "AWS_", "KUBECONFIG"))
        }
        env.update(
            PATH=os.pathsep.join([str(ENGINE_DIR), str(PROVIDERS_DIR), env.get("PATH", "")]),
            PULUMI_HOME=str(self.path.parent / "home"),
            PULUMI_BACKEND_URL=f"file://{self.path.parent / 'state'}",
            PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
            PULUMI_SUPPRESS_COPILOT_LINK="true",
            # The file backend rewrites the whole state after every step (quadratic in the ~350 resources
            # of a stack); only the final state matters to a throwaway stack, and it is still written.
            PULUMI_SKIP_CHECKPOINTS="true",
            ECHO_PROVIDER_LOG=str(self.provider_log),
            ECHO_PROVIDER_PYTHON=sys.executable
            if ".venv" in sys.executable
            else str(ROOT / ".venv" / "bin" / "python"),
            NO_COLOR="1",
        )
        return env

    def pulumi(self, *args: str, input_text: str | None = None, timeout: float = 300) -> Result:
        proc = subprocess.run(
            [str(ENGINE_DIR / "pulumi"), *args, "--non-interactive"]
            if args[0] != "version"
            else [str(ENGINE_DIR / "pulumi"), *args],
            cwd=self.path,
            env=self.env,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Result(args, proc.returncode, proc.stdout, proc.stderr)

    def run(self, argv: Sequence[str], timeout: float = 300) -> Result:
        """Any command inside the copy with the engine's environment (e.g. the README's scripts)."""
        proc = subprocess.run(
            list(argv), cwd=self.path, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        return Result(argv, proc.returncode, proc.stdout, proc.stderr)

    def override_config(
        self, stack: str, config: Mapping[str, Any], policy_config: Mapping[str, Any] | None = None
    ) -> None:
        """Deep-merge ``config`` (keys without the ``platform:`` prefix, as tests/harness.py ``run_main``
        takes them; None deletes a key) into the copy's ``Pulumi.<stack>.yaml``, and ``policy_config`` into
        its ``policies/config/<stack>.json``: a stack variant (e.g. the AWS tenant enabled) as an operator
        would write it, without touching the committed files. Call before ``init_stack``."""
        stack_file = self.path / f"Pulumi.{stack}.yaml"
        document = yaml.safe_load(stack_file.read_text()) or {}
        current = document.get("config") or {}
        ours = {k.removeprefix(f"{PROJECT}:"): v for k, v in current.items() if k.startswith(f"{PROJECT}:")}
        others = {k: v for k, v in current.items() if not k.startswith(f"{PROJECT}:")}
        document["config"] = {**others, **{f"{PROJECT}:{k}": v for k, v in deep_merge(ours, config).items()}}
        stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
        if policy_config:
            pack_file = self.path / "policies" / "config" / f"{stack}.json"
            merged = deep_merge(json.loads(pack_file.read_text()), policy_config)
            pack_file.write_text(json.dumps(merged, indent=2) + "\n")

    def init_stack(self, stack: str, secrets: Mapping[str, str]) -> None:
        """`pulumi stack init` on the committed stack file, then the secrets, encrypted, as an operator sets them."""
        self.pulumi("stack", "init", stack, "--secrets-provider", "passphrase").check()
        for key, value in secrets.items():
            # The value goes through stdin, never argv (argv is visible in the process table).
            self.pulumi("config", "set", "--stack", stack, "--secret", key, input_text=value).check()

    def policy_args(self, stack: str) -> list[str]:
        return ["--policy-pack", "policies", "--policy-pack-config", f"policies/config/{stack}.json"]


VERBS = "to create|created|to update|updated|to delete|deleted|to replace|replaced|unchanged"
SUMMARY = re.compile(rf"^\s+([+~-]|\+-|-\+)?\s*(\d+) ({VERBS})", re.M)


def summary(output: str) -> dict[str, int]:
    """The "Resources:" block of a preview/up/destroy as {verb: count}."""
    block = output.split("Resources:", 1)[-1]
    return {m.group(3): int(m.group(2)) for m in SUMMARY.finditer(block)}


def policy_block(output: str) -> str:
    """The text of the "Policies:" section (empty when the pack reported nothing)."""
    if "Policies:" not in output:
        return ""
    return output.split("Policies:", 1)[1].split("\nDiagnostics:", 1)[0].split("\nOutputs:", 1)[0]
