"""The GitHub workflows: schema-valid, and holding the properties the delivery pipeline relies on.

Offline: check-jsonschema validates against the GitHub schemas vendored in the package; the rest
reads the YAML. What is proved: both stacks are previewed on pull requests, every preview/up
enforces the policy pack with the stack's config (and the PR preview passes the flags the script
passes), production deploys only after staging and behind its environment, secrets never appear in
a script, permissions are minimal, concurrency is set, and versions are pinned.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
ACTION = ROOT / ".github" / "actions" / "pulumi-setup" / "action.yml"
CHECK_JSONSCHEMA = ROOT / ".venv" / "bin" / "check-jsonschema"
STACKS = {"staging", "production"}
SCRIPT = "scripts/pulumi-stack.sh"
PULUMI_ACTION = "pulumi/actions@"
SECRET_EXPR = re.compile(r"\$\{\{[^}]*\bsecrets\.")
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}\s+# v\d+\.\d+\.\d+$")
TAG_PIN = re.compile(r"^[\w.-]+/[\w./-]+@v\d+\.\d+\.\d+$")


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the bare key `on` as the boolean True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def workflow(name: str) -> dict[str, Any]:
    return load(WORKFLOWS / f"{name}.yml")


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def all_steps() -> list[tuple[str, dict[str, Any]]]:
    found = [
        (f"{path.name}:{job_id}", step)
        for path in workflow_files()
        for job_id, job in load(path)["jobs"].items()
        for step in steps(job)
    ]
    found += [(ACTION.name, step) for step in load(ACTION)["runs"]["steps"]]
    return found


def script_calls(job: dict[str, Any]) -> list[list[str]]:
    """[command, stack] of each `bash scripts/pulumi-stack.sh <command> <stack>` step."""
    prefix = f"bash {SCRIPT} "
    runs = [step.get("run", "").strip() for step in steps(job)]
    return [run.removeprefix(prefix).split(" ", 1) for run in runs if run.startswith(prefix)]


def test_there_are_workflows() -> None:
    assert {p.stem for p in workflow_files()} >= {"pull-request", "deploy", "drift", "checks"}


# --- schema ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_workflow_validates_against_the_github_workflow_schema(path: Path) -> None:
    result = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_composite_action_validates_against_the_github_action_schema() -> None:
    result = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-actions", str(ACTION)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dependabot_config_validates_and_updates_the_pinned_actions() -> None:
    path = ROOT / ".github" / "dependabot.yml"
    result = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.dependabot", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (update,) = yaml.safe_load(path.read_text())["updates"]
    assert update["package-ecosystem"] == "github-actions"
    assert set(update["directories"]) == {"/", "/.github/actions/pulumi-setup"}


def test_the_schema_check_rejects_an_invalid_workflow(tmp_path: Path) -> None:
    """The validator is live: a job without runs-on or uses fails it."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    steps:\n      - run: true\n")
    result = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1


# --- pull requests -----------------------------------------------------------------------------
def preview_job() -> dict[str, Any]:
    return workflow("pull-request")["jobs"]["preview"]


def pulumi_steps(job: dict[str, Any], command: str) -> list[dict[str, Any]]:
    return [
        s for s in steps(job) if s.get("uses", "").startswith(PULUMI_ACTION) and s["with"].get("command") == command
    ]


def test_pull_requests_to_main_trigger_the_preview() -> None:
    assert workflow("pull-request")["on"]["pull_request"]["branches"] == ["main"]


def test_pull_requests_preview_both_stacks() -> None:
    assert set(preview_job()["strategy"]["matrix"]["stack"]) == STACKS
    assert preview_job()["strategy"]["fail-fast"] is False  # one stack's failure must not hide the other's diff
    (step,) = pulumi_steps(preview_job(), "preview")
    assert step["with"]["stack-name"] == "${{ matrix.stack }}"


def test_the_preview_runs_after_the_checks_and_comments_on_the_pull_request() -> None:
    assert preview_job()["needs"] == "checks"
    (step,) = pulumi_steps(preview_job(), "preview")
    assert step["with"]["comment-on-pr"] is True
    assert preview_job()["permissions"]["pull-requests"] == "write"


def test_the_pr_preview_passes_the_flags_the_script_passes() -> None:
    """pulumi/actions' inputs map to the CLI flags of `scripts/pulumi-stack.sh preview`."""
    (step,) = pulumi_steps(preview_job(), "preview")
    script = (ROOT / SCRIPT).read_text()
    preview = re.search(r"cmd_preview\(\) \{(.*?)\n\}", script, re.DOTALL)
    assert preview is not None
    body = preview.group(1)
    assert 'POLICY_PACK="policies"' in script
    assert 'local file="$POLICY_PACK/config/$1.json"' in script
    assert '--policy-pack "$POLICY_PACK" --policy-pack-config "$config"' in body
    assert step["with"]["policyPacks"] == "policies"
    assert step["with"]["policyPackConfigs"] == "policies/config/${{ matrix.stack }}.json"
    assert ("--diff" in body) == (step["with"].get("diff") is True)
    assert "--refresh" not in body
    assert step["with"].get("refresh", False) is False


def test_the_pr_preview_uses_the_s3_backend_and_not_pulumi_cloud() -> None:
    (step,) = pulumi_steps(preview_job(), "preview")
    assert step["with"]["cloud-url"] == "${{ secrets.PULUMI_BACKEND_URL }}"
    assert "PULUMI_ACCESS_TOKEN" not in (WORKFLOWS / "pull-request.yml").read_text()


def test_fork_pull_requests_get_no_preview() -> None:
    assert preview_job()["if"] == "github.event.pull_request.head.repo.full_name == github.repository"


def test_pull_request_runs_cancel_superseded_runs() -> None:
    concurrency = workflow("pull-request")["concurrency"]
    assert "github.event.pull_request.number" in concurrency["group"]
    assert concurrency["cancel-in-progress"] is True


def test_previews_use_the_read_only_preview_environments() -> None:
    assert preview_job()["environment"] == {"name": "${{ matrix.stack }}-preview", "deployment": False}


# --- policy pack everywhere --------------------------------------------------------------------
def test_every_pulumi_operation_goes_through_the_script_or_the_checked_preview_action() -> None:
    """No raw `pulumi up/preview/destroy/refresh` in a run step: the script adds the policy flags."""
    raw = re.compile(r"(^|[;&|]\s*|\n\s*)pulumi\s+(up|preview|update|destroy|refresh)\b")
    for where, step in all_steps():
        assert not raw.search(step.get("run", "")), where
        if step.get("uses", "").startswith(PULUMI_ACTION) and "command" in step.get("with", {}):
            assert step["with"]["command"] == "preview", where
            assert step["with"]["policyPacks"] == "policies", where
            assert step["with"]["policyPackConfigs"].startswith("policies/config/"), where


@pytest.mark.parametrize("command", ["preview", "up", "refresh-check"])
def test_the_script_passes_the_policy_pack_to_every_preview_and_up(command: str) -> None:
    script = (ROOT / SCRIPT).read_text()
    function = re.search(rf"cmd_{command.replace('-', '_')}\(\) \{{(.*?)\n\}}", script, re.DOTALL)
    assert function is not None
    assert function.group(1).count("--policy-pack-config") == function.group(1).count("pulumi ")


# --- deploy ------------------------------------------------------------------------------------
def deploy_jobs() -> dict[str, Any]:
    return workflow("deploy")["jobs"]


def test_deploy_runs_on_merge_to_main_and_develop() -> None:
    assert workflow("deploy")["on"]["push"]["branches"] == ["main", "develop"]


def test_develop_deploys_staging_and_only_main_deploys_production() -> None:
    assert deploy_jobs()["staging"]["if"] == "github.ref == 'refs/heads/develop' || github.ref == 'refs/heads/main'"
    assert deploy_jobs()["production"]["if"] == "github.ref == 'refs/heads/main'"


def test_a_release_passes_its_tag_by_dispatch_or_by_call() -> None:
    triggers = workflow("deploy")["on"]
    assert triggers["workflow_dispatch"]["inputs"]["image-tag"]["required"] is False
    assert triggers["workflow_call"]["inputs"]["image-tag"]["required"] is True
    assert "registry" in triggers["workflow_call"]["inputs"]


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_each_deploy_sets_the_released_tag_before_up_and_notifies_slack_after(stack: str) -> None:
    job = deploy_jobs()[stack]
    runs = [step.get("run", "") for step in steps(job)]
    tag = runs.index(f"bash scripts/release-tag.sh {stack}")
    up = runs.index(f"bash {SCRIPT} up {stack}")
    notify = runs.index("bash scripts/notify-deployment.sh")
    assert tag < up < notify
    tag_step, notify_step = steps(job)[tag], steps(job)[notify]
    assert tag_step["env"]["IMAGE_TAG"] == "${{ inputs.image-tag }}"
    assert tag_step["env"]["RELEASE_REGISTRY"] == "${{ inputs.registry }}"
    assert notify_step["if"] == "always()"  # the seed notifies with the job's status, failures too
    assert notify_step["env"]["SLACK_WEBHOOK"] == "${{ secrets.SLACK_WEBHOOK }}"
    assert notify_step["env"]["IMAGE_TAG"] == f"${{{{ steps.{tag_step['id']}.outputs.image-tag }}}}"


# --- release-tag.sh and notify-deployment.sh, run against stub CLIs ------------------------------
def _stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/usr/bin/env bash\n{body}\n")
    path.chmod(0o755)


def _run_release_tag(tmp_path: Path, stack: str, **env: str) -> tuple[subprocess.CompletedProcess[str], str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "pulumi-calls"
    # `pulumi stack output imageTag` answers 1.1.0 (the tag the stack runs); everything is logged.
    _stub(bin_dir, "pulumi", f'echo "$*" >> {calls}\n[ "$1 $2" = "stack output" ] && echo 1.1.0\nexit 0')
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "release-tag.sh"), stack],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": f"{bin_dir}:{ROOT / '.venv' / 'bin'}:/usr/bin:/bin", **env},
    )
    return result, calls.read_text() if calls.exists() else ""


def test_release_tag_sets_the_given_tag_in_the_stack_config(tmp_path: Path) -> None:
    result, calls = _run_release_tag(tmp_path, "production", IMAGE_TAG="1.4.0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1.4.0"
    assert "config set --stack production --path platform:apps.imageTag 1.4.0 --non-interactive" in calls


def test_release_tag_without_a_tag_keeps_the_deployed_one(tmp_path: Path) -> None:
    result, calls = _run_release_tag(tmp_path, "staging", IMAGE_TAG="")
    assert result.returncode == 0, result.stderr
    assert "stack output --stack staging --non-interactive imageTag" in calls
    assert "config set --stack staging --path platform:apps.imageTag 1.1.0 --non-interactive" in calls


@pytest.mark.parametrize("tag", ["latest", "-bad", "has space"])
def test_release_tag_refuses_an_unpinned_or_malformed_tag(tmp_path: Path, tag: str) -> None:
    result, calls = _run_release_tag(tmp_path, "staging", IMAGE_TAG=tag)
    assert result.returncode == 2
    assert "config set" not in calls


def test_release_tag_refuses_a_registry_the_cluster_does_not_pull_from(tmp_path: Path) -> None:
    result, calls = _run_release_tag(tmp_path, "staging", IMAGE_TAG="1.4.0", RELEASE_REGISTRY="ghcr.io/acme")
    assert result.returncode == 2
    assert "registry.digitalocean.com/nichediscovery" in result.stderr
    assert "config set" not in calls


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_the_release_registry_is_the_one_each_stack_pulls_from(tmp_path: Path, stack: str) -> None:
    """One registry: both stacks' catalogs pull from where the release pipeline is told to push (docs/ci.md)."""
    pushed = "registry.digitalocean.com/nichediscovery"
    assert f"registry: {pushed}" in (ROOT / "docs" / "ci.md").read_text()
    result, _ = _run_release_tag(tmp_path, stack, IMAGE_TAG="1.4.0", RELEASE_REGISTRY=pushed)
    assert result.returncode == 0, result.stderr


def _run_notify(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "curl"
    _stub(bin_dir, "curl", f'{{ echo "ARGS: $*"; echo "STDIN:"; cat; }} > {log}')
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "notify-deployment.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", **env},
    )
    return result, log.read_text() if log.exists() else ""


def test_the_slack_notice_names_stack_status_and_tag_without_exposing_the_webhook(tmp_path: Path) -> None:
    hook = "https://hooks.slack.example/services/T000/B000/SECRETSECRET"
    result, curl = _run_notify(
        tmp_path, SLACK_WEBHOOK=hook, STATUS="success", STACK="production", IMAGE_TAG="1.4.0", RUN_URL="u"
    )
    assert result.returncode == 0, result.stderr
    args, stdin = curl.split("STDIN:", 1)
    assert hook not in args  # not on the command line (process list)
    assert f'url = "{hook}"' in stdin
    assert hook not in result.stdout + result.stderr
    payload = json.loads(args.split("--data ", 1)[1].rsplit("\n", 1)[0].strip())
    assert payload["channel"] == "#deployments"
    assert "production" in payload["text"] and "success" in payload["text"] and "1.4.0" in payload["text"]


def test_no_webhook_means_no_notice_and_no_failure(tmp_path: Path) -> None:
    result, curl = _run_notify(tmp_path, STATUS="success", STACK="staging")
    assert result.returncode == 0
    assert curl == ""
    assert "no Slack notice" in result.stderr


# --- actionlint --------------------------------------------------------------------------------
ACTIONLINT = ROOT / "build" / "tools" / "actionlint"


def _actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    if not ACTIONLINT.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{ACTIONLINT} missing: scripts/install-tools.sh builds it")
        pytest.skip(f"{ACTIONLINT} not built (scripts/install-tools.sh builds it)")
    return subprocess.run(
        [str(ACTIONLINT), *map(str, paths)], capture_output=True, text=True, timeout=120, check=False, cwd=ROOT
    )


def test_actionlint_accepts_every_workflow() -> None:
    result = _actionlint(*workflow_files())
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_an_unknown_input_reference(tmp_path: Path) -> None:
    """The judge is live: a step reading an input the workflow does not declare fails it."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on:\n  workflow_dispatch:\n    inputs:\n      image-tag: {type: string}\n"
        "jobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ inputs.imagetag }}\n"
    )
    result = _actionlint(bad)
    assert result.returncode == 1
    assert "imagetag" in result.stdout


def test_deploy_updates_staging_after_the_checks_in_its_environment() -> None:
    staging = deploy_jobs()["staging"]
    assert staging["needs"] == "checks"
    assert staging["environment"]["name"] == "staging"
    assert script_calls(staging) == [["up", "staging"], ["smoke", "staging"]]


def test_production_deploys_after_staging_behind_its_environment() -> None:
    production = deploy_jobs()["production"]
    assert production["needs"] == "staging"
    assert production["environment"]["name"] == "production"
    assert script_calls(production) == [["up", "production"], ["smoke", "production"]]


def test_only_the_production_job_confirms_production() -> None:
    """CONFIRM=production is set where the environment's reviewers already approved, nowhere else."""
    for path in workflow_files():
        for job_id, job in load(path)["jobs"].items():
            confirms = job.get("env", {}).get("CONFIRM")
            if path.stem == "deploy" and job_id == "production":
                assert confirms == "production"
            else:
                assert confirms is None, f"{path.name}:{job_id}"


def test_deploys_are_never_cancelled_midway() -> None:
    concurrency = workflow("deploy")["concurrency"]
    assert concurrency["cancel-in-progress"] is False
    assert "${{" not in concurrency["group"]  # one queue for every deploy run


def test_deploy_steps_take_the_stack_credentials_from_their_environment() -> None:
    for job_id in ("staging", "production"):
        (up,) = [step for step in steps(deploy_jobs()[job_id]) if "pulumi-stack.sh up" in step.get("run", "")]
        assert up["env"] == {
            "PULUMI_BACKEND_URL": "${{ secrets.PULUMI_BACKEND_URL }}",
            "PULUMI_CONFIG_PASSPHRASE": "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
            "DIGITALOCEAN_TOKEN": "${{ secrets.DIGITALOCEAN_TOKEN }}",
        }


# --- drift -------------------------------------------------------------------------------------
def test_drift_detection_runs_on_a_schedule_for_both_stacks() -> None:
    drift = workflow("drift")
    assert drift["on"]["schedule"]
    job = drift["jobs"]["drift"]
    assert set(job["strategy"]["matrix"]["stack"]) == STACKS
    assert job["strategy"]["fail-fast"] is False
    assert script_calls(job) == [["refresh-check", "${{ matrix.stack }}"]]


def test_drift_opens_an_issue_when_a_check_fails() -> None:
    report = workflow("drift")["jobs"]["report"]
    assert report["needs"] == "drift"
    assert report["if"] == "failure()"
    assert report["permissions"] == {"issues": "write"}
    assert "gh issue create" in steps(report)[0]["run"]


# --- hygiene: permissions, secrets, concurrency, pins ------------------------------------------
@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_top_level_permissions_are_read_only(path: Path) -> None:
    assert load(path)["permissions"] == {"contents": "read"}


ALLOWED_WRITES = {
    ("pull-request", "preview"): {"pull-requests", "id-token"},
    ("deploy", "staging"): {"id-token"},
    ("deploy", "production"): {"id-token"},
    ("drift", "drift"): {"id-token"},
    ("drift", "report"): {"issues"},
}


def test_job_permissions_grant_writes_only_where_needed() -> None:
    for path in workflow_files():
        for job_id, job in load(path)["jobs"].items():
            permissions = job.get("permissions", {})
            assert isinstance(permissions, dict), f"{path.name}:{job_id}"
            writes = {scope for scope, level in permissions.items() if level == "write"}
            assert writes == ALLOWED_WRITES.get((path.stem, job_id), set()), f"{path.name}:{job_id}"


def test_id_token_is_granted_only_to_jobs_that_can_assume_the_aws_role() -> None:
    for path in workflow_files():
        for job_id, job in load(path)["jobs"].items():
            uses_setup = any(s.get("uses") == "./.github/actions/pulumi-setup" for s in steps(job))
            assert (job.get("permissions", {}).get("id-token") == "write") == uses_setup, f"{path.name}:{job_id}"


def test_no_run_step_contains_a_secret_expression() -> None:
    """Secrets reach scripts through env: only, so no script text can echo or log one."""
    for where, step in all_steps():
        assert not SECRET_EXPR.search(step.get("run", "")), where
        assert "set -x" not in step.get("run", ""), where


def test_no_step_prints_the_environment() -> None:
    for where, step in all_steps():
        run = step.get("run", "")
        assert not re.search(r"(^|\s)(env|printenv|export -p)(\s|$)", run), where


def test_secrets_are_given_to_steps_not_to_whole_workflows_or_jobs() -> None:
    """Workflow- or job-level env would hand every step, third-party actions included, every secret."""
    for path in workflow_files():
        data = load(path)
        assert not SECRET_EXPR.search(yaml.safe_dump(data.get("env", {}))), path.name
        for job_id, job in data["jobs"].items():
            assert not SECRET_EXPR.search(yaml.safe_dump(job.get("env", {}))), f"{path.name}:{job_id}"


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_every_triggered_workflow_sets_concurrency(path: Path) -> None:
    data = load(path)
    if set(data["on"]) == {"workflow_call"}:
        return  # a called workflow runs inside its caller's concurrency group
    assert data["concurrency"]["group"]


def test_every_action_is_pinned_to_a_sha_or_an_exact_release() -> None:
    texts = [*(p.read_text() for p in workflow_files()), ACTION.read_text()]
    uses = [line.split("uses:", 1)[1].strip() for text in texts for line in text.splitlines() if "uses:" in line]
    assert uses
    for ref in uses:
        if ref.startswith("./"):
            continue
        assert SHA_PIN.match(ref) or TAG_PIN.match(ref), ref


def test_pulumi_actions_is_the_current_major() -> None:
    refs = {s["uses"] for _, s in all_steps() if s.get("uses", "").startswith(PULUMI_ACTION)}
    assert refs == {"pulumi/actions@v7.0.0"}


def requirement_pin(package: str) -> str:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.startswith(f"{package}=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError(f"{package} is not pinned in requirements.txt")


def engine_cli_version() -> str:
    """The CLI version the engine tests build and run (tools/pulumi/go.mod)."""
    for line in (ROOT / "tools" / "pulumi" / "go.mod").read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "github.com/pulumi/pulumi/pkg/v3":
            return parts[1].removeprefix("v")
    raise AssertionError("tools/pulumi/go.mod does not require github.com/pulumi/pulumi/pkg/v3")


def test_the_workflows_deploy_with_the_cli_the_tests_run() -> None:
    """What deploys is what the engine tests proved: the workflows' CLI is the one built from
    tools/pulumi. (The Python SDK pin may be older: a CLI runs programs of older SDKs; the SDK on PyPI
    here stops at the pin in requirements.txt.)"""
    cli = engine_cli_version()
    sdk = requirement_pin("pulumi")
    assert tuple(map(int, cli.split("."))) >= tuple(map(int, sdk.split("."))), (cli, sdk)
    found = 0
    for path in workflow_files():
        env = load(path).get("env", {})
        if "PULUMI_VERSION" in env:
            found += 1
            assert env["PULUMI_VERSION"] == cli, path.name
    assert found >= 3
    pulumi_inputs = [s["with"]["pulumi-version"] for _, s in all_steps() if s.get("uses", "").startswith(PULUMI_ACTION)]
    assert pulumi_inputs
    assert set(pulumi_inputs) <= {"${{ env.PULUMI_VERSION }}", "${{ inputs.pulumi-version }}"}


def test_python_is_pinned_to_the_projects_version() -> None:
    versions = {load(path).get("env", {}).get("PYTHON_VERSION") for path in workflow_files()}
    assert versions == {"3.11"}
    assert 'target-version = "py311"' in (ROOT / "pyproject.toml").read_text()


PULUMI_RUNNER = "${{ vars.PULUMI_RUNNER || 'ubuntu-24.04' }}"
"""The runner of the jobs that run Pulumi: GitHub's pinned image unless a self-hosted label is set."""


def test_jobs_run_on_a_pinned_runner_image_with_a_timeout() -> None:
    for path in workflow_files():
        for job_id, job in load(path)["jobs"].items():
            if "uses" in job:
                continue  # a called workflow
            # Jobs that run Pulumi may move to a self-hosted runner on an EKS stack's network path.
            assert job["runs-on"] in ("ubuntu-24.04", PULUMI_RUNNER), f"{path.name}:{job_id}"
            assert job["timeout-minutes"] > 0, f"{path.name}:{job_id}"


# --- documentation -----------------------------------------------------------------------------
def referenced(kind: str) -> set[str]:
    texts = [*(p.read_text() for p in workflow_files()), ACTION.read_text()]
    return {m for text in texts for m in re.findall(rf"\b{kind}\.([A-Z][A-Z0-9_]+)", text)}


def test_every_secret_and_variable_the_workflows_read_is_documented() -> None:
    ci = (ROOT / "docs" / "ci.md").read_text()
    names = referenced("secrets") | referenced("vars")
    assert names >= {"PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "DIGITALOCEAN_TOKEN"}
    for name in names:
        assert f"| `{name}` |" in ci, name


def test_every_environment_the_workflows_use_is_documented() -> None:
    ci = (ROOT / "docs" / "ci.md").read_text()
    names = set()
    for path in workflow_files():
        for job in load(path)["jobs"].values():
            if "environment" in job:
                name = job["environment"]["name"]
                names |= {name.replace("${{ matrix.stack }}", s) for s in STACKS} if "matrix" in name else {name}
    assert names == {"staging", "production", "staging-preview", "production-preview"}
    for name in names:
        assert f"| `{name}` |" in ci, name
