"""The echo provider's Read, the workspace's stack variants and `make plan`'s flag, in-process (no engine).

The lifecycle tests (marker ``engine``) prove these through the real CLI; these name the behaviour the
engine relies on, so a change that breaks it fails here in milliseconds rather than minutes into a run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from google.protobuf import json_format
from pulumi.runtime.proto import provider_pb2

from tests.engine import plan
from tests.engine.echo_provider import EchoProvider, to_struct
from tests.engine.lifecycle import AWS_BUDGET, AWS_TENANT, type_of, with_aws_tenant
from tests.engine.workspace import Result, Workspace
from tests.harness import stack_file_config

SERVICE = "kubernetes:core/v1:Service"
SERVICE_URN = f"urn:pulumi:production::platform::platform:eks:EksAddons${SERVICE}::edge-proxy-service"


def read(type_token: str, urn: str, rid: str, properties: dict[str, Any] | None = None) -> Any:
    request = provider_pb2.ReadRequest(
        id=rid, urn=urn, type=type_token, name=urn.rsplit("::", 1)[-1], properties=to_struct(properties or {})
    )
    return EchoProvider("kubernetes", "0.0.0").Read(request, None)


def test_a_lookup_answers_with_the_live_objects_outputs() -> None:
    """Service.get(name, "<namespace>/<name>"): only the id is known; the answer is the object, with the
    NLB hostname the mocks give a read Service, under the id it was asked for."""
    response = read(SERVICE, SERVICE_URN, "envoy-gateway-system/edge-proxy")
    outputs = json_format.MessageToDict(response.properties)
    assert response.id == "envoy-gateway-system/edge-proxy"
    assert outputs["metadata"] == {"name": "edge-proxy", "namespace": "envoy-gateway-system"}
    assert outputs["status"]["loadBalancer"]["ingress"][0]["hostname"].endswith(".elb.us-east-1.amazonaws.com")


def test_a_lookup_reads_the_same_object_every_run() -> None:
    # The tenant's CNAMEs take their target from it: a different answer each run would be churn.
    assert read(SERVICE, SERVICE_URN, "ns/svc").properties == read(SERVICE, SERVICE_URN, "ns/svc").properties


def test_a_refresh_read_returns_the_state_it_was_given() -> None:
    state = {"metadata": {"name": "svc"}, "spec": {"type": "ClusterIP"}}
    response = read(SERVICE, SERVICE_URN, "ns/svc", state)
    assert response.id == "ns/svc" and json_format.MessageToDict(response.properties) == state


def test_a_read_without_id_or_state_is_not_found() -> None:
    # An empty id is how a provider tells the engine the resource does not exist.
    assert read(SERVICE, SERVICE_URN, "").id == ""


def test_a_lookup_of_a_cluster_scoped_or_non_kubernetes_object_has_no_namespace() -> None:
    assert json_format.MessageToDict(read("kubernetes:core/v1:Namespace", "urn::x::ns", "tenant").properties) == {
        "metadata": {"name": "tenant"}
    }
    assert "metadata" not in json_format.MessageToDict(read("aws:s3/bucket:Bucket", "urn::x::b", "media").properties)


def workspace(tmp_path: Path, stack: str) -> Workspace:
    """A bare project copy with only the files ``override_config`` touches (no engine needed)."""
    project = tmp_path / "project"
    (project / "policies" / "config").mkdir(parents=True)
    (project / f"Pulumi.{stack}.yaml").write_text(
        yaml.safe_dump({"config": {"platform:environment": stack, "platform:budget": {"fullScaleUsd": 1}, "aws:x": 1}})
    )
    (project / "policies" / "config" / f"{stack}.json").write_text(json.dumps({"all": "mandatory"}))
    return Workspace(project)


def test_override_config_deep_merges_into_the_copys_stack_file_and_policy_config(tmp_path: Path) -> None:
    ws = workspace(tmp_path, "staging")
    ws.override_config(
        "staging",
        {"budget": {"minScaleUsd": 2}, "environment": None, "eks": {"enabled": True}},
        {"stack-monthly-budget": {"fullScaleUsd": 3}},
    )
    config = yaml.safe_load((ws.path / "Pulumi.staging.yaml").read_text())["config"]
    assert config == {
        "aws:x": 1,
        "platform:budget": {"fullScaleUsd": 1, "minScaleUsd": 2},
        "platform:eks": {"enabled": True},
    }
    pack = json.loads((ws.path / "policies" / "config" / "staging.json").read_text())
    assert pack == {"all": "mandatory", "stack-monthly-budget": {"fullScaleUsd": 3}}


def test_the_aws_variant_keeps_the_digitalocean_tenants_and_states_one_budget_twice() -> None:
    config, policy_config = with_aws_tenant("production")
    catalogs = [t["catalog"] for t in config["tenants"]]
    committed = [t["catalog"] for t in stack_file_config("production")["platform:tenants"]]
    assert catalogs == [*committed, f"tenants/{AWS_TENANT}.yaml"]
    assert config["eks"]["enabled"] is True
    # The program's budget and the guard's must agree, or the pack judges a budget the stack does not state.
    assert config["budget"] == policy_config["stack-monthly-budget"] == AWS_BUDGET


def test_type_of_reads_the_resources_own_type_under_its_parents() -> None:
    urn = "urn:pulumi:production::platform::platform:aws:Tenant$aws:rds/instance:Instance::x-pg-primary"
    assert type_of(urn) == "aws:rds/instance:Instance"
    assert type_of("urn:pulumi:production::platform::aws:s3/bucket:Bucket::media") == "aws:s3/bucket:Bucket"


class FakeWorkspace:
    """Records what plan.main asks of the workspace; the preview "succeeds" with a canned summary."""

    calls: ClassVar[list[tuple[str, Any]]] = []

    @classmethod
    def create(cls, where: Path) -> FakeWorkspace:
        cls.calls.append(("create", where))
        return cls()

    def override_config(self, stack: str, config: Any, policy_config: Any) -> None:
        self.calls.append(("override_config", (stack, config, policy_config)))

    def init_stack(self, stack: str, secrets: Any) -> None:
        self.calls.append(("init_stack", stack))

    def policy_args(self, stack: str) -> list[str]:
        return []

    def pulumi(self, *args: str) -> Result:
        return Result(args, 0, "Resources:\n    + 7 to create\n", "")


def test_plan_with_aws_plans_the_aws_variant(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(plan, "Workspace", FakeWorkspace)
    FakeWorkspace.calls = []
    assert plan.main(["plan", "production", "--with-aws"]) == 0
    assert FakeWorkspace.calls[1] == ("override_config", ("production", *with_aws_tenant("production")))
    assert "plan production with the AWS tenant: 7 resources to create; policy pack: clean" in capsys.readouterr().out


def test_plan_without_the_flag_plans_the_committed_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "Workspace", FakeWorkspace)
    FakeWorkspace.calls = []
    assert plan.main(["plan", "staging"]) == 0
    assert [name for name, _ in FakeWorkspace.calls] == ["create", "init_stack"]


def test_the_aws_variant_is_refused_where_it_cannot_run_and_says_why() -> None:
    with pytest.raises(ValueError, match=r"cannot be enabled on staging: .*over staging's cap of 6"):
        with_aws_tenant("staging")


def test_plan_with_aws_on_a_refused_stack_stops_before_copying_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(plan, "Workspace", FakeWorkspace)
    FakeWorkspace.calls = []
    assert plan.main(["plan", "staging", "--with-aws"]) == 2
    assert FakeWorkspace.calls == []
    assert "cannot be enabled on staging" in capsys.readouterr().err
