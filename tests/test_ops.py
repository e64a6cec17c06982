"""scripts/pulumi-stack.sh and the ops.mk targets, against a fake `pulumi` (and `doctl`) on PATH.

Each test runs in a sandbox copy of the files the script and make read (the script, ops.mk, the
Makefile, the stack files, the secret registry; the project virtualenv linked), with policy configs
of its own: the tests do not depend on the policy pack's state, tests/test_project_files.py checks
the real configs. The fakes record their argv (and stdin for `config set`) as JSON lines; nothing
reaches a network or a real backend. What is proved: the flags every operation passes, the refusals (production
without its typed confirmation, production destroy, a non-S3 backend, missing settings), and that
no secret value reaches the output or a command line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stack_config.secrets import SECRETS

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_FILES = ("Makefile", "ops.mk", "Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.production.yaml")
SANDBOX_DIRS = ("scripts", "stack_config")
BACKEND = "s3://platform-state?endpoint=fra1.digitaloceanspaces.com&region=us-east-1&profile=spaces"
PASSPHRASE = "passphrase-sentinel-7f3a"
DO_TOKEN = "dop_v1_token-sentinel-91c2"
NEW_DB_PASSWORD = "db-password-sentinel-55e0"

FAKE = f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
entry = {{"argv": args}}
# Whether doctl (and so the exec plugin pulumi would start) gets the token: a boolean, never the value.
token = os.environ.get("DIGITALOCEAN_ACCESS_TOKEN")
entry["doctl_token"] = bool(token) and token == os.environ.get("DIGITALOCEAN_TOKEN")
if args[:2] == ["config", "set"]:
    entry["stdin"] = sys.stdin.read()
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"tool": os.path.basename(sys.argv[0]), **entry}}) + "\\n")
key = "-".join(args[:2]) if args and args[0] == "stack" else (args[0] if args else "")
if key in os.environ.get("FAKE_FAIL", "").split():
    sys.exit(1)
if key == "stack-output":
    name = args[-1]
    value = {{"apiUrl": os.environ.get("FAKE_API_URL"), "publicUrls": os.environ.get("FAKE_PUBLIC_URLS")}}.get(name)
    if not value:
        print(f"error: current stack does not have output property '{{name}}'", file=sys.stderr)
        sys.exit(255)
    print(value)
elif key == "stack-export":
    print(open(os.environ["FAKE_EXPORT"]).read())
elif os.path.basename(sys.argv[0]) == "doctl":
    print("ID  Name  Role  Password")
    print("1   app   normal  {NEW_DB_PASSWORD}")
"""


class Ops:
    """Runs the script (or make) with the fakes first on PATH and a clean environment."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "repo"
        self.root.mkdir()
        for name in SANDBOX_FILES:
            shutil.copy2(ROOT / name, self.root / name)
        for name in SANDBOX_DIRS:
            shutil.copytree(ROOT / name, self.root / name, ignore=shutil.ignore_patterns("__pycache__"))
        (self.root / ".venv").symlink_to(ROOT / ".venv")
        (self.root / "policies" / "config").mkdir(parents=True)
        for stack in ("staging", "production"):
            (self.root / "policies" / "config" / f"{stack}.json").write_text("{}\n")
        self.script = self.root / "scripts" / "pulumi-stack.sh"
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        for tool in ("pulumi", "doctl"):
            stub = self.bin / tool
            stub.write_text(FAKE)
            stub.chmod(0o755)
        self.log = tmp_path / "calls.jsonl"
        self.env = {
            "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "FAKE_LOG": str(self.log),
            "PULUMI_BACKEND_URL": BACKEND,
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "DIGITALOCEAN_TOKEN": DO_TOKEN,
            "SMOKE_DELAY_SECONDS": "0",
            # The sandbox's stack_config comes first (the script runs from the sandbox); modules it
            # imports that are not copied (costing, guardrails ...) resolve in the real repository.
            "PYTHONPATH": str(ROOT),
        }

    def run(self, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(self.script), *args],
            cwd=self.root,
            env={**self.env, **env},
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def make(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "--no-print-directory", *args],
            cwd=self.root,
            env={**self.env, **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def calls(self, tool: str = "pulumi") -> list[dict]:
        if not self.log.exists():
            return []
        entries = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [e for e in entries if e["tool"] == tool]

    def commands(self) -> list[list[str]]:
        return [c["argv"] for c in self.calls()]


@pytest.fixture
def ops(tmp_path: Path) -> Ops:
    return Ops(tmp_path)


def policy_flags(stack: str) -> list[str]:
    return ["--policy-pack", "policies", "--policy-pack-config", f"policies/config/{stack}.json"]


def assert_no_secret_shown(result: subprocess.CompletedProcess[str]) -> None:
    for secret in (PASSPHRASE, DO_TOKEN, NEW_DB_PASSWORD):
        assert secret not in result.stdout + result.stderr


# --- preview / up ------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["staging", "production"])
def test_preview_logs_in_to_the_backend_and_enforces_the_stacks_policy_config(ops: Ops, stack: str) -> None:
    result = ops.run("preview", stack)
    assert result.returncode == 0, result.stderr
    assert ops.commands() == [
        ["login", "--non-interactive", BACKEND],
        ["preview", "--stack", stack, "--non-interactive", "--diff", *policy_flags(stack)],
    ]
    assert_no_secret_shown(result)


def test_up_staging_needs_no_confirmation_and_enforces_the_policy_pack(ops: Ops) -> None:
    result = ops.run("up", "staging")
    assert result.returncode == 0, result.stderr
    assert ops.commands()[-1] == [
        "up",
        "--stack",
        "staging",
        "--non-interactive",
        "--yes",
        "--diff",
        *policy_flags("staging"),
    ]


@pytest.mark.parametrize("confirm", [None, "", "staging", "yes", "PRODUCTION"])
def test_up_production_is_refused_without_confirm_production(ops: Ops, confirm: str | None) -> None:
    env = {} if confirm is None else {"CONFIRM": confirm}
    result = ops.run("up", "production", **env)
    assert result.returncode == 2
    assert "CONFIRM=production" in result.stderr
    assert ops.commands() == []  # refused before even logging in


def test_up_production_runs_with_confirm_production(ops: Ops) -> None:
    result = ops.run("up", "production", CONFIRM="production")
    assert result.returncode == 0, result.stderr
    assert ops.commands()[-1][:5] == ["up", "--stack", "production", "--non-interactive", "--yes"]
    assert ops.commands()[-1][-4:] == policy_flags("production")


def test_a_failed_pulumi_up_fails_the_script(ops: Ops) -> None:
    assert ops.run("up", "staging", FAKE_FAIL="up").returncode == 1


# --- settings and arguments --------------------------------------------------------------------
@pytest.mark.parametrize("args", [(), ("preview",), ("preview", "staging", "extra"), ("deploy", "staging")])
def test_bad_arguments_print_the_usage(ops: Ops, args: tuple[str, ...]) -> None:
    result = ops.run(*args)
    assert result.returncode == 2
    assert "refresh-check" in result.stderr  # the usage lists the commands
    assert ops.commands() == []


def test_an_unknown_stack_is_refused(ops: Ops) -> None:
    result = ops.run("preview", "dev")
    assert result.returncode == 2
    assert "unknown stack 'dev'" in result.stderr
    assert ops.commands() == []


def test_a_missing_backend_url_is_refused_with_its_name(ops: Ops) -> None:
    result = ops.run("preview", "staging", PULUMI_BACKEND_URL="")
    assert result.returncode == 2
    assert "PULUMI_BACKEND_URL is not set" in result.stderr
    assert ops.commands() == []


@pytest.mark.parametrize("url", ["https://api.pulumi.com", "azblob://state"])
def test_a_backend_other_than_the_s3_bucket_is_refused(ops: Ops, url: str) -> None:
    result = ops.run("preview", "staging", PULUMI_BACKEND_URL=url)
    assert result.returncode == 2
    assert "never in Pulumi Cloud" in result.stderr
    assert ops.commands() == []


def test_a_stack_without_its_policy_config_is_refused(ops: Ops) -> None:
    (ops.root / "policies" / "config" / "production.json").unlink()
    result = ops.run("preview", "production")
    assert result.returncode == 2
    assert "missing policy config policies/config/production.json" in result.stderr
    assert ops.commands() == []


def test_a_passphrase_stack_without_a_passphrase_is_refused(ops: Ops) -> None:
    result = ops.run("up", "staging", PULUMI_CONFIG_PASSPHRASE="")
    assert result.returncode == 2
    assert "PULUMI_CONFIG_PASSPHRASE" in result.stderr
    assert ops.commands() == []


def test_a_passphrase_file_is_accepted_instead_of_the_passphrase(ops: Ops, tmp_path: Path) -> None:
    passfile = tmp_path / "passphrase"
    passfile.write_text(PASSPHRASE)
    result = ops.run("preview", "staging", PULUMI_CONFIG_PASSPHRASE="", PULUMI_CONFIG_PASSPHRASE_FILE=str(passfile))
    assert result.returncode == 0, result.stderr


# --- drift -------------------------------------------------------------------------------------
def test_refresh_check_previews_with_refresh_and_expect_no_changes(ops: Ops) -> None:
    result = ops.run("refresh-check", "production")
    assert result.returncode == 0, result.stderr
    assert ops.commands()[-1] == [
        "preview",
        "--stack",
        "production",
        "--non-interactive",
        "--refresh",
        "--expect-no-changes",
        "--diff",
        *policy_flags("production"),
    ]
    # Read-only: a drift check never writes the refreshed state or changes anything.
    assert not any(c[0] in {"refresh", "up", "destroy"} for c in ops.commands())


def test_refresh_check_fails_loudly_when_the_stack_drifted(ops: Ops) -> None:
    result = ops.run("refresh-check", "staging", FAKE_FAIL="preview")
    assert result.returncode == 1
    assert "DRIFT: staging" in result.stderr


# --- smoke check -------------------------------------------------------------------------------
def test_smoke_fails_clearly_when_the_stack_exports_no_api_url(ops: Ops) -> None:
    result = ops.run("smoke", "staging", FAKE_PUBLIC_URLS=json.dumps({"flower": "https://flower.example.com"}))
    assert result.returncode == 3
    assert "neither an 'apiUrl' output nor 'publicUrls.api'" in result.stderr
    assert ["stack", "output", "--stack", "staging", "--non-interactive", "apiUrl"] in ops.commands()
    assert ["stack", "output", "--stack", "staging", "--non-interactive", "--json", "publicUrls"] in ops.commands()


def test_smoke_falls_back_to_the_api_entry_of_public_urls(ops: Ops, tmp_path: Path) -> None:
    (tmp_path / "health").write_text("ok")
    urls = {"api": f"file://{tmp_path}", "flower": "https://flower.example.com"}
    result = ops.run("smoke", "staging", FAKE_PUBLIC_URLS=json.dumps(urls))
    assert result.returncode == 0, result.stderr
    assert f"file://{tmp_path}/health healthy" in result.stderr


def test_smoke_passes_when_the_health_endpoint_answers(ops: Ops, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "health").write_text("ok")
    result = ops.run("smoke", "production", FAKE_API_URL=f"file://{site}/")
    assert result.returncode == 0, result.stderr
    assert f"file://{site}/health healthy" in result.stderr


def test_smoke_fails_after_its_attempts_when_the_endpoint_never_answers(ops: Ops, tmp_path: Path) -> None:
    result = ops.run("smoke", "staging", FAKE_API_URL=f"file://{tmp_path}/absent", SMOKE_ATTEMPTS="3")
    assert result.returncode == 1
    assert "did not answer 2xx after 3 attempts" in result.stderr


def test_smoke_uses_the_health_path_setting(ops: Ops, tmp_path: Path) -> None:
    (tmp_path / "healthz").write_text("ok")
    result = ops.run("smoke", "staging", FAKE_API_URL=f"file://{tmp_path}", HEALTH_PATH="/healthz")
    assert result.returncode == 0, result.stderr


# --- destroy -----------------------------------------------------------------------------------
@pytest.mark.parametrize("confirm", ["", "production"])
def test_destroying_production_is_refused_outright(ops: Ops, confirm: str) -> None:
    result = ops.run("destroy", "production", CONFIRM=confirm)
    assert result.returncode == 2
    assert "production is never destroyed" in result.stderr
    assert ops.commands() == []


def test_destroying_staging_needs_confirm_staging(ops: Ops) -> None:
    result = ops.run("destroy", "staging")
    assert result.returncode == 2
    assert "CONFIRM=staging" in result.stderr
    assert ops.commands() == []


def test_destroying_staging_with_its_confirmation_runs_destroy(ops: Ops) -> None:
    result = ops.run("destroy", "staging", CONFIRM="staging")
    assert result.returncode == 0, result.stderr
    assert ops.commands()[-1] == ["destroy", "--stack", "staging", "--non-interactive", "--yes"]


# --- doctl: the Kubernetes provider's credential plugin ------------------------------------------
ENGINE_COMMANDS = [("preview", "staging", ""), ("up", "staging", ""), ("refresh-check", "production", "")]
ENGINE_COMMANDS += [("destroy", "staging", "staging")]


@pytest.mark.parametrize(("command", "stack", "confirm"), ENGINE_COMMANDS)
def test_engine_commands_refuse_to_start_without_doctl(ops: Ops, command: str, stack: str, confirm: str) -> None:
    """The kubeconfig's exec credential needs doctl; without it refresh/destroy would die half-way."""
    (ops.bin / "doctl").unlink()
    if shutil.which("doctl", path=ops.env["PATH"]):
        pytest.skip("a real doctl is on this machine's PATH")
    result = ops.run(command, stack, CONFIRM=confirm)
    assert result.returncode == 2
    assert "doctl is not on PATH" in result.stderr
    assert "install-doctl.sh" in result.stderr
    assert ops.commands() == []


@pytest.mark.parametrize(("command", "stack", "confirm"), ENGINE_COMMANDS)
def test_engine_commands_refuse_to_start_when_doctl_cannot_authenticate(
    ops: Ops, command: str, stack: str, confirm: str
) -> None:
    result = ops.run(command, stack, CONFIRM=confirm, FAKE_FAIL="account")
    assert result.returncode == 2
    assert "doctl cannot authenticate" in result.stderr
    assert ops.commands() == []
    assert_no_secret_shown(result)


def test_destroy_checks_doctl_in_the_kubeconfigs_context_and_hands_it_the_token(ops: Ops) -> None:
    result = ops.run("destroy", "staging", CONFIRM="staging")
    assert result.returncode == 0, result.stderr
    assert [c["argv"] for c in ops.calls("doctl")] == [["account", "get", "--context", "default"]]
    destroy = ops.calls()[-1]
    assert destroy["argv"][0] == "destroy"
    assert destroy["doctl_token"] is True  # DIGITALOCEAN_TOKEN exported as DIGITALOCEAN_ACCESS_TOKEN
    assert_no_secret_shown(result)


def test_install_doctl_pins_a_version_and_refuses_an_unverified_archive() -> None:
    script = (ROOT / "scripts" / "ops" / "install-doctl.sh").read_text()
    assert re.search(r'^DOCTL_VERSION="\d+\.\d+\.\d+"$', script, re.MULTILINE)
    assert re.search(r'^DOCTL_SHA256="[0-9a-f]{64}"$', script, re.MULTILINE)
    assert 'if [ "$actual" != "$DOCTL_SHA256" ]' in script
    assert 'if [ "$published" != "$DOCTL_SHA256" ]' in script
    assert script.index("REFUSED") < script.index("tar -xzf")
    action = (ROOT / ".github" / "actions" / "pulumi-setup" / "action.yml").read_text()
    assert "scripts/ops/install-doctl.sh" in action


# --- bootstrap and secrets ---------------------------------------------------------------------
def test_bootstrap_initialises_a_missing_stack_with_the_passphrase_provider(ops: Ops) -> None:
    result = ops.run("bootstrap", "staging", FAKE_FAIL="stack-select")
    assert result.returncode == 0, result.stderr
    assert ops.commands()[-1] == ["stack", "init", "--non-interactive", "--secrets-provider", "passphrase", "staging"]


def test_bootstrap_accepts_a_kms_secrets_provider_without_passphrase(ops: Ops) -> None:
    kms = "awskms://alias/platform-state?region=eu-central-1"
    result = ops.run(
        "bootstrap", "production", FAKE_FAIL="stack-select", SECRETS_PROVIDER=kms, PULUMI_CONFIG_PASSPHRASE=""
    )
    assert result.returncode == 0, result.stderr
    assert ops.commands()[-1][-3:] == ["--secrets-provider", kms, "production"]


def test_a_kms_initialised_stack_needs_no_passphrase(ops: Ops) -> None:
    stack_file = ops.root / "Pulumi.production.yaml"
    stack_file.write_text(
        "secretsprovider: awskms://alias/platform-state?region=eu-central-1\n" + stack_file.read_text()
    )
    result = ops.run("preview", "production", PULUMI_CONFIG_PASSPHRASE="")
    assert result.returncode == 0, result.stderr


def test_bootstrap_leaves_an_existing_stack_alone(ops: Ops) -> None:
    result = ops.run("bootstrap", "staging")
    assert result.returncode == 0, result.stderr
    assert not any(c[:2] == ["stack", "init"] for c in ops.commands())
    assert "already exists" in result.stderr


def test_set_secrets_prompts_for_every_registered_secret_and_sends_values_on_stdin(ops: Ops) -> None:
    values = {spec.key: f"value-of-{spec.key}" for spec in SECRETS}
    values[SECRETS[0].key] = ""  # empty answer keeps the current value
    result = ops.run("set-secrets", "staging", stdin="".join(f"{v}\n" for v in values.values()))
    assert result.returncode == 0, result.stderr
    sets = [c for c in ops.calls() if c["argv"][:2] == ["config", "set"]]
    assert [c["argv"] for c in sets] == [
        ["config", "set", "--stack", "staging", "--secret", key] for key, v in values.items() if v
    ]
    assert [c["stdin"] for c in sets] == [v for v in values.values() if v]
    for spec in SECRETS:
        assert spec.key in result.stderr  # each prompt names the key, its purpose and how to generate it
        assert spec.generate in result.stderr
    for value in filter(None, values.values()):
        assert value not in result.stdout + result.stderr


# --- database password rotation ----------------------------------------------------------------
def stack_export(tmp_path: Path) -> Path:
    urn = "urn:pulumi:staging::platform::platform:data:PostgresDatabase$digitalocean:index/"
    export = {
        "version": 3,
        "deployment": {
            "resources": [
                {
                    "urn": f"{urn}databaseUser:DatabaseUser::pg-user",
                    "type": "digitalocean:index/databaseUser:DatabaseUser",
                    "outputs": {"clusterId": "c0ffee", "name": "app", "password": {"ciphertext": "x"}},
                },
                {
                    "urn": f"{urn}databaseConnectionPool:DatabaseConnectionPool::pg-pool",
                    "type": "digitalocean:index/databaseConnectionPool:DatabaseConnectionPool",
                    "outputs": {},
                },
            ]
        },
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    return path


def test_rotating_the_db_password_resets_it_refreshes_the_user_and_pool_then_updates(ops: Ops, tmp_path: Path) -> None:
    result = ops.run("rotate-db-password", "staging", FAKE_EXPORT=str(stack_export(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert [c["argv"] for c in ops.calls("doctl") if c["argv"][0] != "account"] == [
        ["databases", "user", "reset", "c0ffee", "app"]
    ]
    refresh = next(c for c in ops.commands() if c[0] == "refresh")
    assert refresh[refresh.index("--target") + 1].endswith("databaseUser:DatabaseUser::pg-user")
    assert refresh.count("--target") == 2
    assert ops.commands()[-1][0] == "up"
    assert_no_secret_shown(result)  # doctl prints the new password; the script discards it


def test_rotating_the_production_db_password_needs_confirm_production(ops: Ops, tmp_path: Path) -> None:
    result = ops.run("rotate-db-password", "production", FAKE_EXPORT=str(stack_export(tmp_path)))
    assert result.returncode == 2
    assert ops.calls("doctl") == []
    assert ops.commands() == []


# --- make targets ------------------------------------------------------------------------------
def test_make_preview_runs_the_script_for_the_given_stack(ops: Ops) -> None:
    result = ops.make("preview", "STACK=production")
    assert result.returncode == 0, result.stderr
    assert ops.commands()[-1][:3] == ["preview", "--stack", "production"]


def test_make_up_defaults_to_staging(ops: Ops) -> None:
    result = ops.make("up")
    assert result.returncode == 0, result.stderr
    assert ops.commands()[-1][:3] == ["up", "--stack", "staging"]


def test_make_up_production_without_confirmation_is_refused(ops: Ops) -> None:
    result = ops.make("up", "STACK=production")
    assert result.returncode != 0
    assert "CONFIRM=production" in result.stderr
    assert ops.commands() == []


def test_make_ignores_a_confirm_left_in_the_environment(ops: Ops) -> None:
    result = ops.make("up", "STACK=production", CONFIRM="production")
    assert result.returncode != 0
    assert ops.commands() == []


def test_make_up_production_with_confirmation_on_the_command_line_runs(ops: Ops) -> None:
    result = ops.make("up", "STACK=production", "CONFIRM=production")
    assert result.returncode == 0, result.stderr
    assert ops.commands()[-1][:3] == ["up", "--stack", "production"]


def test_make_drift_runs_the_refresh_check(ops: Ops) -> None:
    result = ops.make("drift", "STACK=production")
    assert result.returncode == 0, result.stderr
    assert "--expect-no-changes" in ops.commands()[-1]


def test_make_destroy_staging_needs_its_confirmation(ops: Ops) -> None:
    assert ops.make("destroy-staging").returncode != 0
    assert ops.commands() == []
    assert ops.make("destroy-staging", "CONFIRM=staging").returncode == 0
    assert ops.commands()[-1][:3] == ["destroy", "--stack", "staging"]


def test_make_bootstrap_stack_initialises_the_stack(ops: Ops) -> None:
    result = ops.make("bootstrap-stack", "STACK=production", FAKE_FAIL="stack-select")
    assert result.returncode == 0, result.stderr
    assert ops.commands()[-1][:2] == ["stack", "init"]


# --- Spaces profile ----------------------------------------------------------------------------
def test_spaces_profile_replaces_its_section_and_keeps_other_profiles(tmp_path: Path) -> None:
    credentials = tmp_path / "aws" / "credentials"
    credentials.parent.mkdir()
    credentials.write_text(
        "[default]\naws_access_key_id = AKIAOTHER\n\n[spaces]\naws_access_key_id = OLD\naws_secret_access_key = OLD\n"
    )
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "ops" / "spaces-profile.sh")],
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
            "SPACES_ACCESS_KEY_ID": "DO00NEWKEY",
            "SPACES_SECRET_ACCESS_KEY": "spaces-secret-sentinel",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = credentials.read_text()
    assert "AKIAOTHER" in text
    assert "OLD" not in text
    assert text.count("[spaces]") == 1
    assert "aws_access_key_id = DO00NEWKEY" in text
    assert "spaces-secret-sentinel" not in result.stdout + result.stderr
    assert credentials.stat().st_mode & 0o077 == 0


# --- documentation -----------------------------------------------------------------------------
OPERATIONS = ROOT / "docs" / "operations.md"


def test_operations_doc_tables_every_registered_secret_with_purpose_and_generation() -> None:
    rows = {line.split("|")[1].strip(): line for line in OPERATIONS.read_text().splitlines() if line.startswith("| `")}
    for spec in SECRETS:
        row = rows.get(f"`{spec.key}`")
        assert row is not None, f"docs/operations.md has no row for {spec.key}"
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[1] == ("yes" if spec.required else "no"), spec.key
        assert spec.purpose in row, spec.key
        assert spec.generate.replace("|", "\\|") in row, spec.key


def test_operations_doc_lists_every_ops_target() -> None:
    targets = [
        line.split(":", 1)[0]
        for line in (ROOT / "ops.mk").read_text().splitlines()
        if line and not line[0].isspace() and ":" in line and not line.startswith((".", "#")) and "=" not in line
    ]
    assert len(targets) >= 10
    text = OPERATIONS.read_text()
    for target in targets:
        assert f"`make {target}" in text, target
