"""The files the Pulumi CLI reads before any program code runs: the project, the stack files, the
policy pack's manifest and its per-stack configs. A mistake in them fails a CI preview at once (or,
worse, is silently ignored), so they are checked offline here.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from pulumi_policy import EnforcementLevel, Policy

from policies.guards import build_policies  # the function policies/__main__.py hands to PolicyPack
from stack_config.model import StackConfig
from stack_config.secrets import SECRETS

ROOT = Path(__file__).resolve().parent.parent
PROJECT_SCHEMA = ROOT / "tests" / "vendor" / "pulumi-project.schema.json"
"""The schema the pinned CLI embeds (tests/vendor/README.md: source, version, licence)."""
POLICIES = ROOT / "policies"
STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))
STACKS = [path.name.split(".")[1] for path in STACK_FILES]
PROVIDER_NAMESPACES = {"digitalocean", "kubernetes", "aws", "random"}
"""Config namespaces of the providers in requirements.txt (e.g. `aws:region`): not project keys."""
LEVELS = {level.value for level in EnforcementLevel}


def yaml_file(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def project() -> dict[str, Any]:
    return yaml_file(ROOT / "Pulumi.yaml")


def test_both_stacks_have_a_stack_file() -> None:
    assert set(STACKS) == {"staging", "production"}


# --- Pulumi.yaml -------------------------------------------------------------------------------
def test_pulumi_yaml_validates_against_the_project_schema() -> None:
    schema = json.loads(PROJECT_SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft202012Validator(schema).iter_errors(project())
    ]
    assert errors == []


def test_the_project_schema_rejects_a_broken_project() -> None:
    """The schema check is live: a runtime without a name fails it."""
    schema = json.loads(PROJECT_SCHEMA.read_text())
    broken = {**project(), "runtime": {"options": {"virtualenv": ".venv"}, "version": 3}}
    assert list(Draft202012Validator(schema).iter_errors(broken))


def test_the_vendored_schema_is_the_pinned_clis() -> None:
    """When the engine's modules are on this machine, the copy must equal the CLI's own schema."""
    go_mod = (ROOT / "tools" / "pulumi" / "go.mod").read_text()
    version = next(
        line.split()[1] for line in go_mod.splitlines() if line.strip().startswith("github.com/pulumi/pulumi/sdk/v3 ")
    )
    module = Path.home() / "go" / "pkg" / "mod" / "github.com" / "pulumi" / "pulumi" / f"sdk/v3@{version}"
    assert (ROOT / "tests" / "vendor" / "README.md").read_text().count(version) >= 1, "README names another version"
    upstream = module / "go" / "common" / "workspace" / "project.json"
    if upstream.exists():  # `make test` builds the engine first, so on CI this always compares
        assert upstream.read_bytes() == PROJECT_SCHEMA.read_bytes()


# The CLI's rule (pulumi/pulumi ValidateStackConfigAndApplyProjectConfig): a key declared in
# Pulumi.yaml `config:` without a `default` is REQUIRED; preview and up of a stack that does not set it
# are refused before the program runs. The engine tests (tests/engine) run the real CLI on both stacks;
# these check the rule itself on every committed stack file, fast.
def required_project_keys(data: dict[str, Any]) -> set[str]:
    return {
        key for key, spec in (data.get("config") or {}).items() if not (isinstance(spec, dict) and "default" in spec)
    }


@pytest.mark.parametrize("stack", STACKS)
def test_every_required_project_key_is_set_by_the_stack(stack: str) -> None:
    config = (yaml_file(ROOT / f"Pulumi.{stack}.yaml") or {}).get("config") or {}
    missing = {key for key in required_project_keys(project()) if f"platform:{key}" not in config}
    assert missing == set(), f"the CLI would refuse Pulumi.{stack}.yaml: missing {sorted(missing)}"


def test_the_required_key_rule_fires_on_a_key_without_default() -> None:
    data = project()
    data["config"]["region"] = {"type": "string"}
    assert "region" in required_project_keys(data)


def test_only_environment_and_tenant_are_required() -> None:
    assert required_project_keys(project()) == {"environment", "tenant"}


def test_project_defaults_equal_the_code_defaults() -> None:
    """Scalar defaults are stated twice (Pulumi.yaml for the CLI, stack_config for the program): pinned
    equal. Object keys default to {} ("every field at its code default"), which the loader must treat as
    an omitted section."""
    fields = StackConfig.model_fields
    for key, spec in project()["config"].items():
        if "default" not in spec:
            continue
        if spec["type"] == "object":
            assert spec["default"] == {}, key
        elif spec["type"] == "array":
            assert spec["default"] == [], key  # a list field's default_factory is list
        else:
            assert spec["default"] == fields[key].default, key


def test_the_project_is_platform_on_python_with_the_venv_ci_builds() -> None:
    data = project()
    assert data["name"] == "platform"
    assert data["runtime"]["name"] == "python"
    # The workflows and the ops script put .venv/bin on PATH; the CLI must use the same virtualenv.
    assert data["runtime"]["options"]["virtualenv"] == ".venv"


# --- Pulumi.<stack>.yaml -----------------------------------------------------------------------
@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: p.name)
def test_every_stack_config_key_is_declared_a_secret_or_a_provider_key(path: Path) -> None:
    declared = set(project()["config"]) | {spec.key for spec in SECRETS}
    for key in yaml_file(path).get("config", {}):
        namespace, _, name = key.partition(":")
        if namespace == "platform":
            assert name in declared, f"{path.name}: {key} is not declared in Pulumi.yaml config"
        else:
            assert namespace in PROVIDER_NAMESPACES, f"{path.name}: {key} belongs to no provider of this project"


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: p.name)
def test_registered_secrets_in_a_stack_file_are_encrypted(path: Path) -> None:
    config = yaml_file(path).get("config", {})
    for spec in SECRETS:
        value = config.get(f"platform:{spec.key}")
        if value is not None:
            assert isinstance(value, dict) and set(value) == {"secure"}, f"{path.name}: {spec.key} is in plaintext"


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: p.name)
def test_a_stack_files_environment_is_its_stack_name(path: Path) -> None:
    stack = path.name.split(".")[1]
    assert yaml_file(path)["config"]["platform:environment"] == stack


# --- the policy pack ---------------------------------------------------------------------------
@cache
def pack_policies() -> dict[str, Policy]:
    built = build_policies()
    by_name = {policy.name: policy for policy in built}
    assert len(by_name) == len(built), "two policies share a name"
    return by_name


def test_policy_pack_manifest_parses_and_runs_on_python() -> None:
    manifest = yaml_file(POLICIES / "PulumiPolicy.yaml")
    runtime = manifest["runtime"]
    assert (runtime if isinstance(runtime, str) else runtime["name"]) == "python"
    assert manifest.get("description")


def test_policy_pack_pins_the_sdks_the_program_and_the_tests_use() -> None:
    def pins(path: Path) -> dict[str, str]:
        lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
        return dict(line.split("==", 1) for line in lines if "==" in line)

    pack, program, dev = (
        pins(POLICIES / "requirements.txt"),
        pins(ROOT / "requirements.txt"),
        pins(ROOT / "requirements-dev.txt"),
    )
    assert pack["pulumi"] == program["pulumi"]
    assert pack["pulumi-policy"] == dev["pulumi-policy"]


def test_the_pack_has_policies() -> None:
    assert pack_policies()


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_has_a_policy_config(stack: str) -> None:
    """scripts/pulumi-stack.sh and the workflows pass policies/config/<stack>.json to every preview/up."""
    assert (POLICIES / "config" / f"{stack}.json").is_file()


def policy_configs() -> list[Path]:
    return sorted((POLICIES / "config").glob("*.json"))


@pytest.mark.parametrize("path", policy_configs(), ids=lambda p: p.name)
def test_policy_config_belongs_to_a_stack(path: Path) -> None:
    assert path.stem in STACKS


@pytest.mark.parametrize("path", policy_configs(), ids=lambda p: p.name)
def test_policy_config_names_only_policies_that_exist(path: Path) -> None:
    config = json.loads(path.read_text())
    assert isinstance(config, dict)
    unknown = set(config) - {"all"} - set(pack_policies())
    assert not unknown, f"{path.name} configures policies the pack does not have: {sorted(unknown)}"


@pytest.mark.parametrize("path", policy_configs(), ids=lambda p: p.name)
def test_policy_config_levels_and_parameters_match_each_policys_schema(path: Path) -> None:
    config = json.loads(path.read_text())
    if "all" in config:
        assert config["all"] in LEVELS
    for name, value in config.items():
        if name == "all":
            continue
        policy = pack_policies()[name]
        if isinstance(value, str):
            assert value in LEVELS, f"{path.name}: {name}"
            continue
        assert isinstance(value, dict), f"{path.name}: {name}"
        params = dict(value)
        level = params.pop("enforcementLevel", None)
        assert level is None or level in LEVELS, f"{path.name}: {name}.enforcementLevel"
        properties = policy.config_schema.properties if policy.config_schema else {}
        # A misspelt parameter would be ignored and the policy would run with its default.
        schema = {"type": "object", "properties": properties, "additionalProperties": False}
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(params)]
        assert errors == [], f"{path.name}: {name}: {errors}"


def test_production_disables_no_policy() -> None:
    """Production's config may tune parameters and levels, never switch a policy (or all) off."""
    config = json.loads((POLICIES / "config" / "production.json").read_text())
    assert config.get("all", "mandatory") == "mandatory"
    for name, value in config.items():
        level = value.get("enforcementLevel") if isinstance(value, dict) else value
        assert level != "disabled", f"production disables {name}"
