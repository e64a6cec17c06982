"""The pack itself: metadata of every policy, the per-stack config files, and the analyzer the CLI talks to."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
from google.protobuf import json_format
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy.deserialize import serialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from policies.guards import GUARDS, PACK_NAME, Guard, build_policies
from policies.guards._base import plain
from tests.harness import ROOT
from tests.policies import samples as s
from tests.policy_adapter import CONFIG_DIR, PackAnalyzer, _struct, load_config, synthetic

STACKS = ("staging", "production")
LEVELS = {"advisory", "mandatory", "disabled", "remediate"}


def test_pack_has_at_least_thirty_uniquely_named_guards() -> None:
    names = [p.name for p in build_policies()]
    assert len(names) >= 30
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("guard", GUARDS, ids=lambda g: g.name)
def test_every_guard_is_documented(guard: Guard) -> None:
    assert guard.description.endswith(".")
    assert guard.severity is not None
    assert len(guard.remediation) > 20
    for key, spec in guard.config.items():
        assert "description" in spec and "default" in spec, key
        jsonschema.validate(spec["default"], spec)


@pytest.mark.parametrize("stack", STACKS)
def test_config_file_names_only_real_policies(stack: str) -> None:
    names = {p.name for p in build_policies()} | {"all"}
    assert set(load_config(stack)) - names == set()


@pytest.mark.parametrize("stack", STACKS)
def test_config_file_parameters_validate_against_each_schema(stack: str) -> None:
    schemas = {p.name: p.config_schema for p in build_policies()}
    for name, entry in load_config(stack).items():
        if isinstance(entry, str):
            assert entry in LEVELS, name
            continue
        assert entry.get("enforcementLevel", "mandatory") in LEVELS, name
        params = {k: v for k, v in entry.items() if k != "enforcementLevel"}
        if params:
            schema = schemas[name]
            assert schema is not None, f"{name} takes no parameters"
            jsonschema.validate(
                params, {"type": "object", "properties": schema.properties, "additionalProperties": False}
            )


def test_production_is_mandatory_across_the_board() -> None:
    config = load_config("production")
    assert config["all"] == "mandatory"
    for name, entry in config.items():
        level = entry if isinstance(entry, str) else entry.get("enforcementLevel", "mandatory")
        assert level == "mandatory", name


def test_every_staging_relaxation_is_justified_in_the_readme() -> None:
    readme = (ROOT / "policies" / "README.md").read_text()
    for name, entry in load_config("staging").items():
        level = entry if isinstance(entry, str) else entry.get("enforcementLevel", "mandatory")
        if name != "all" and level != "mandatory":
            assert f"`{name}`" in readme, f"{name} is {level} in staging without a justification"


def test_config_files_are_the_only_ones() -> None:
    assert sorted(p.name for p in CONFIG_DIR.glob("*.json")) == ["production.json", "staging.json"]


# --- The analyzer servicer, in-process (what PolicyPack serves to the CLI over gRPC)


def test_analyzer_info_lists_every_policy_with_its_metadata() -> None:
    info = PackAnalyzer().info()
    assert info.name == PACK_NAME
    assert info.supportsConfig
    assert {p.name for p in info.policies} == {g.name for g in GUARDS}
    for policy in info.policies:
        assert policy.description and policy.remediation_steps
        assert policy.enforcementLevel == analyzer_pb2.MANDATORY
        assert policy.severity != analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED
    schema = next(p for p in info.policies if p.name == "do-region-allowed").configSchema
    assert "allowedRegions" in json_format.MessageToDict(schema.properties)


def test_analyze_reports_a_violation_with_the_configured_level() -> None:
    analyzer = PackAnalyzer.for_stack("staging")
    record = synthetic(
        "digitalocean:index/databaseCluster:DatabaseCluster",
        s.patched(s.database(), "maintenanceWindows", []),
        stack="staging",
    )
    request = analyzer_pb2.AnalyzeRequest(
        type=record.type, properties=_struct(record.inputs), urn=record.urn, name=record.name
    )
    response = analyzer.servicer.Analyze(request, None)
    by_policy = {d.policyName: d for d in response.diagnostics}
    assert by_policy["do-db-maintenance-window"].enforcementLevel == analyzer_pb2.ADVISORY
    # Staging tags are wrong for this production-shaped sample: mandatory, from "all".
    assert by_policy["do-required-tags"].enforcementLevel == analyzer_pb2.MANDATORY


def test_analyze_with_unknown_inputs_reports_nothing() -> None:
    props = s.patched(s.deployment(), "spec.template.spec", s.UNKNOWN)
    record = synthetic("kubernetes:apps/v1:Deployment", props)
    request = analyzer_pb2.AnalyzeRequest(
        type=record.type, properties=_struct(record.inputs), urn=record.urn, name=record.name
    )
    assert list(PackAnalyzer.for_stack("production").servicer.Analyze(request, None).diagnostics) == []


def test_analyze_stack_applies_config_parameters() -> None:
    pool = synthetic(
        "digitalocean:index/kubernetesNodePool:KubernetesNodePool",
        s.patched(s.node_pool(), "maxNodes", 9),
        stack="staging",
    )
    staging = PackAnalyzer.for_stack("staging").analyze([pool])
    production = PackAnalyzer.for_stack("production").analyze([pool])
    assert "stack-budget-caps" in {v.policy for v in staging}  # staging caps the cluster at 8 nodes
    assert "do-node-pool-bounds" in {v.policy for v in staging}  # and a pool at 4
    assert not {"stack-budget-caps", "do-node-pool-bounds"} & {v.policy for v in production}


def test_disabled_policy_is_not_run() -> None:
    config = {"all": "mandatory", "do-droplet-monitoring": "disabled"}
    droplet = synthetic("digitalocean:index/droplet:Droplet", s.patched(s.droplet(), "monitoring", False))
    assert "do-droplet-monitoring" not in {v.policy for v in PackAnalyzer(config).analyze([droplet])}


# --- The pack's entry point


def test_main_only_assembles() -> None:
    tree = ast.parse((ROOT / "policies" / "__main__.py").read_text())
    defined = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    calls = [n.value for n in tree.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)]
    assert defined == []
    assert [ast.unparse(c.func) for c in calls] == ["sys.path.insert", "PolicyPack"]


def test_importing_the_rules_starts_no_server() -> None:
    code = "import policies.guards, policies.guards.stack; print('imported')"
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "imported", done.stderr


def test_main_builds_the_pack_when_run_as_the_cli_runs_it(tmp_path: Path) -> None:
    # PolicyPack would serve forever; stand it in with a recorder, then run __main__.py as a script
    # from an unrelated directory, as the CLI's Python host does.
    code = textwrap.dedent(
        f"""
        import runpy, pulumi_policy
        seen = {{}}
        class Recorder:
            def __init__(self, name, policies, enforcement_level=None, **kw):
                seen.update(name=name, count=len(policies), level=enforcement_level.value)
        pulumi_policy.PolicyPack = Recorder
        runpy.run_path({str(ROOT / "policies" / "__main__.py")!r}, run_name="__main__")
        print(seen["name"], seen["count"], seen["level"])
        """
    )
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, check=False, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert done.stdout.split() == [PACK_NAME, str(len(GUARDS)), "mandatory"], done.stderr


def test_pack_requirements_are_pinned() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "policies" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == ["pulumi==3.272.0", "pulumi-policy==1.21.0"]


def test_guards_unwrap_props_exactly_as_the_sdk_serializer_does() -> None:
    props = s.patched(s.deployment(), "spec.template.spec.containers.0.image", s.UNKNOWN)
    proxied = unknown_checking_proxy(props)
    assert plain(proxied) == dict(serialize_properties(proxied)) == props
