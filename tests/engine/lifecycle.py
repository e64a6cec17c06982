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

from tests.conftest import AWS_TENANT_ENABLED
from tests.engine.echo_provider import SENSITIVE
from tests.engine.workspace import Result, Workspace, policy_block, summary
from tests.harness import TEST_SECRETS, stack_file_config


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


AWS_TENANT = "podcast-summariser"
"""Seed 004's tenant, the one with ``target: aws`` (tenants/podcast-summariser.yaml)."""
AWS_BUDGET = {"fullScaleUsd": 12000, "minScaleUsd": 1600}
"""The budget a stack with the AWS tenant states, in its stack file and its policy config alike: the EKS
pools at their caps cost about $10,200/month beside the DigitalOcean side and its three tenants, about
$1,400 at minimum scale (`make cost`; the guard stack-monthly-budget checks both against the pack's config)."""


AWS_VARIANT_REFUSED = {
    "staging": "the tenant's API autoscales 3-20 (tenants/podcast-summariser.yaml), over staging's cap of 6 "
    "(k8s-autoscaler-bounds), so the variant would need a stack entry scaling it down; and production already "
    "runs the AWS side through the engine, so staging's lifecycle stays the DigitalOcean-only one (CI time). "
    "(Running it found the catalog's NODE_ENV=production, refused on staging only at up: each stack's entry sets it.)",
}
"""Stacks the AWS variant cannot run on yet, and why (found by running staging's lifecycle with it)."""


def with_aws_tenant(stack: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stack's config and policy config with EKS and seed 004's AWS tenant enabled.

    tests/conftest.py ``AWS_TENANT_ENABLED`` (the mocked tests' variant) replaces the stack's tenants
    with the AWS one; here the DigitalOcean tenants stay beside it, so the stack's own lifecycle keeps
    everything it proved and adds a stack that spans both clouds, as an operator's would.
    """
    if stack in AWS_VARIANT_REFUSED:
        raise ValueError(f"the AWS tenant cannot be enabled on {stack}: {AWS_VARIANT_REFUSED[stack]}")
    # Seed 004 sets NODE_ENV per environment: the stack's entry does (stack_config/tenants.py, `config`).
    aws_entries = [{**e, "config": {"NODE_ENV": stack}} for e in AWS_TENANT_ENABLED["tenants"]]
    tenants = [*stack_file_config(stack).get("platform:tenants", []), *aws_entries]
    config = {**AWS_TENANT_ENABLED, "tenants": tenants, "budget": AWS_BUDGET}
    return config, {"stack-monthly-budget": AWS_BUDGET}


def workspace_for(
    stack: str, tmp_path_factory: pytest.TempPathFactory, *, aws_tenant: bool = False
) -> Iterator[Workspace]:
    ws = Workspace.create(tmp_path_factory.mktemp(f"engine-{stack}"))
    if aws_tenant:
        ws.override_config(stack, *with_aws_tenant(stack))
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


class AwsTenantLifecycle(Lifecycle):
    """The lifecycle of a stack with EKS and the AWS tenant on (``workspace_for(..., aws_tenant=True)``), and
    what the engine did for the AWS side: planned in the first preview, created by up, the Envoy proxies'
    Service read back (``Service.get``) on every run for the NLB hostname the tenant's CNAMEs point at.
    Runs after the Lifecycle steps (pytest collects base-class tests first), so the state is the one up,
    refresh and the ``--expect-no-changes`` previews left."""

    def test_first_preview_planned_the_aws_tenant(self, ws: Workspace) -> None:
        planned = {c["urn"] for c in provider_log(ws) if c["method"] == "Create" and c.get("preview")}
        for kind in (RDS, REPLICATION_GROUP, BUCKET, POD_IDENTITY):
            assert any(type_of(urn) == kind and AWS_TENANT in urn for urn in planned), f"{kind} not planned"

    def test_up_created_the_aws_tenant(self, ws: Workspace) -> None:
        resources = state(ws, self.stack)
        for kind in (RDS, REPLICATION_GROUP, BUCKET, POD_IDENTITY):
            assert [r for r in resources if r["type"] == kind and AWS_TENANT in r["urn"]], f"no {kind} in state"
        namespace = f"{AWS_TENANT}-{self.stack}"
        for kind in (DEPLOYMENT, SCALED_OBJECT):
            objects = [r for r in resources if r["type"] == kind and namespace_of(r) == namespace]
            assert objects, f"no {kind} in namespace {namespace}"
            # On the EKS cluster's provider, not the DigitalOcean cluster's.
            assert all("eks-provider" in r["provider"] for r in objects), [r["provider"] for r in objects]

    def test_the_database_password_is_managed_by_rds_not_in_state(self, ws: Workspace) -> None:
        instances = [r for r in state(ws, self.stack) if r["type"] == RDS and AWS_TENANT in r["urn"]]
        for rds in instances:
            assert "password" not in rds.get("inputs", {}) and "password" not in rds.get("outputs", {}), rds["urn"]
        # The primary's credentials live in Secrets Manager; the state has only the secret's ARN.
        assert [r for r in instances if r.get("outputs", {}).get("masterUserSecrets")], "no RDS-managed master secret"

    def test_the_proxies_service_is_read_and_the_cnames_point_at_its_nlb(self, ws: Workspace) -> None:
        resources = state(ws, self.stack)
        services = [r for r in resources if r["type"] == SERVICE and r.get("external") and "proxy-service" in r["urn"]]
        assert len(services) == 1, [r["urn"] for r in services]
        ingress = services[0]["outputs"]["status"]["loadBalancer"]["ingress"]
        hostname = ingress[0]["hostname"]
        assert hostname.endswith(".elb.us-east-1.amazonaws.com"), ingress
        cnames = [
            r
            for r in resources
            if r["type"] == DNS_RECORD and r["inputs"].get("type") == "CNAME" and "EksAddons" in r["urn"]
        ]
        assert cnames and {r["inputs"]["value"] for r in cnames} == {f"{hostname}."}, [r["inputs"] for r in cnames]
        # Read through the engine on every run (up and the previews after it), never created or deleted.
        calls = [c for c in provider_log(ws) if c.get("urn") == services[0]["urn"]]
        lookups = [c for c in calls if c["method"] == "Read" and c.get("lookup")]
        assert len(lookups) >= 3, calls  # up, expect-no-changes, and the one after refresh
        assert not [c for c in calls if c["method"] in ("Create", "Update", "Delete")], calls

    def test_outputs_name_the_aws_tenant_and_its_urls(self, ws: Workspace) -> None:
        outputs = json.loads(ws.pulumi("stack", "output", "--json", "--stack", self.stack).check().stdout)
        assert AWS_TENANT in outputs.get("awsTenants", {}), outputs.get("awsTenants")
        urls = outputs.get("eksUrls") or {}
        assert urls and all(u.startswith("https://") and AWS_TENANT in u for u in urls.values()), urls


RDS = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
BUCKET = "aws:s3/bucket:Bucket"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
SERVICE = "kubernetes:core/v1:Service"
DNS_RECORD = "digitalocean:index/dnsRecord:DnsRecord"


def state(ws: Workspace, stack: str) -> list[dict[str, Any]]:
    """The stack's resources as `pulumi stack export` writes them (secrets stay encrypted)."""
    export = json.loads(ws.pulumi("stack", "export", "--stack", stack).check().stdout)
    resources: list[dict[str, Any]] = export["deployment"].get("resources", [])
    return resources


def type_of(urn: str) -> str:
    """The resource's own type in its URN (``...::<parent types>$<type>::<name>``)."""
    return urn.rsplit("::", 2)[-2].rsplit("$", 1)[-1]


def namespace_of(resource: dict[str, Any]) -> str | None:
    metadata = (resource.get("outputs") or {}).get("metadata") or (resource.get("inputs") or {}).get("metadata") or {}
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    return str(namespace) if namespace else None


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
