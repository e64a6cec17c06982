"""The whole program, per committed stack, in up and preview mode (config read from Pulumi.<stack>.yaml)."""

from __future__ import annotations

import json
import re

import pytest

from tests.harness import TEST_SECRETS, UNKNOWN, StackRun

DO = "digitalocean:index/"
# The DigitalOcean infrastructure layer every stack must contain, exactly.
INFRA_INVENTORY = {
    f"{DO}vpc:Vpc": 1,
    f"{DO}kubernetesCluster:KubernetesCluster": 1,
    f"{DO}kubernetesNodePool:KubernetesNodePool": 2,
    f"{DO}databaseCluster:DatabaseCluster": 2,
    f"{DO}databaseFirewall:DatabaseFirewall": 2,
    f"{DO}databaseDb:DatabaseDb": 1,
    f"{DO}databaseUser:DatabaseUser": 1,
    f"{DO}databaseConnectionPool:DatabaseConnectionPool": 1,
    f"{DO}droplet:Droplet": 1,
    f"{DO}volume:Volume": 1,
    f"{DO}volumeAttachment:VolumeAttachment": 1,
    f"{DO}firewall:Firewall": 1,
    f"{DO}reservedIp:ReservedIp": 1,
    f"{DO}reservedIpAssignment:ReservedIpAssignment": 1,
    f"{DO}project:Project": 1,
}
SECRET_EXPORTS = {"kubeconfig", "postgresDirectUri", "postgresPooledUri", "cacheUri"}
# Anything that looks like a credential-bearing URI or a mock-generated password.
CREDENTIAL = re.compile(r"://[^/\s:@]+:[^/\s@]+@|pw-[0-9a-f]{12}|mock-short-lived-token|mock-7-day-token")


def outside_tenants(run: StackRun) -> list:
    """The platform's own resources: everything not inside a Tenant (tests/test_tenants.py covers those)."""
    by_urn = {r.urn: r for r in run.resources}

    def in_tenant(resource: object) -> bool:
        parent = by_urn.get(resource.parent)  # type: ignore[attr-defined]
        while parent is not None:
            if parent.type == "platform:tenant:Tenant":
                return True
            parent = by_urn.get(parent.parent)
        return False

    return [r for r in run.resources if r.type != "platform:tenant:Tenant" and not in_tenant(r)]


def db(run: StackRun, engine: str) -> dict:
    return next(r.inputs for r in run.of_type(f"{DO}databaseCluster:DatabaseCluster") if r.inputs["engine"] == engine)


def test_infrastructure_inventory(any_run: StackRun) -> None:
    counts: dict[str, int] = {}
    for resource in outside_tenants(any_run):
        counts[resource.type] = counts.get(resource.type, 0) + 1
    assert {t: counts.get(t, 0) for t in INFRA_INVENTORY} == INFRA_INVENTORY


def test_components_wrap_the_infrastructure(any_run: StackRun) -> None:
    components = {r.type for r in any_run.resources if not r.custom}
    assert {
        "platform:network:Network",
        "platform:k8s:KubernetesCluster",
        "platform:data:PostgresDatabase",
        "platform:data:Cache",
        "platform:monitoring:MonitoringServer",
        "platform:project:StackProject",
    } <= components


def test_every_resource_belongs_to_a_component(any_run: StackRun) -> None:
    """Nothing is registered at the stack root except components: every child has parent=self."""
    stray = [r.name for r in any_run.resources if r.custom and r.parent_type in ("", "pulumi:pulumi:Stack")]
    assert stray == []


def test_every_component_child_is_parented_to_its_component(any_run: StackRun) -> None:
    by_urn = {r.urn: r for r in any_run.resources}
    for resource in any_run.resources:
        if resource.parent and resource.parent_type != "pulumi:pulumi:Stack":
            parent = by_urn[resource.parent]
            assert not parent.custom, f"{resource.name} is parented to a custom resource {parent.name}"


def test_names_carry_the_tenant_and_environment(any_run: StackRun) -> None:
    prefix = f"niche-discovery-{any_run.stack}"
    cluster = any_run.one(f"{DO}kubernetesCluster:KubernetesCluster")
    assert cluster.inputs["name"] == prefix
    assert any_run.one(f"{DO}vpc:Vpc").inputs["name"] == prefix


# On these types `tags` selects other resources instead of labelling this one.
TAG_SELECTORS = {f"{DO}firewall:Firewall", f"{DO}monitorAlert:MonitorAlert"}


def test_taggable_resources_carry_tenant_and_environment_tags(any_run: StackRun) -> None:
    expected = {"niche-discovery", f"env:{any_run.stack}", "managed-by:pulumi"}
    for resource in any_run.resources:
        if resource.type.startswith(DO) and "tags" in resource.inputs and resource.type not in TAG_SELECTORS:
            assert expected <= set(resource.inputs["tags"]), resource.name


def test_production_differs_from_staging_as_configured(staging: StackRun, production: StackRun) -> None:
    cluster = f"{DO}kubernetesCluster:KubernetesCluster"
    assert (staging.one(cluster).inputs["ha"], production.one(cluster).inputs["ha"]) == (False, True)
    assert (db(staging, "pg")["nodeCount"], db(production, "pg")["nodeCount"]) == (1, 2)
    assert db(production, "pg")["size"] == "db-s-2vcpu-4gb"
    assert (db(staging, "valkey")["nodeCount"], db(production, "valkey")["nodeCount"]) == (1, 2)
    droplet = f"{DO}droplet:Droplet"
    assert (staging.one(droplet).inputs["backups"], production.one(droplet).inputs["backups"]) == (False, True)
    pools = {r.inputs["name"]: r.inputs for r in staging.of_type(f"{DO}kubernetesNodePool:KubernetesNodePool")}
    assert (pools["general"]["minNodes"], pools["general"]["maxNodes"]) == (1, 3)
    pools = {r.inputs["name"]: r.inputs for r in production.of_type(f"{DO}kubernetesNodePool:KubernetesNodePool")}
    assert (pools["general"]["minNodes"], pools["general"]["maxNodes"]) == (2, 10)
    assert (pools["scrapers"]["minNodes"], pools["scrapers"]["maxNodes"]) == (2, 8)


def test_stateful_resources_are_protected_only_in_production(staging: StackRun, production: StackRun) -> None:
    stateful = (f"{DO}databaseCluster:DatabaseCluster", f"{DO}volume:Volume")
    for run, expected in ((staging, False), (production, True)):
        for type_token in stateful:
            assert {r.protect for r in run.of_type(type_token)} == {expected}, (run.stack, type_token)


def test_everything_lives_in_the_stack_vpc(up_run: StackRun) -> None:
    vpc_id = up_run.one(f"{DO}vpc:Vpc").id
    assert up_run.one(f"{DO}kubernetesCluster:KubernetesCluster").inputs["vpcUuid"] == vpc_id
    assert up_run.one(f"{DO}droplet:Droplet").inputs["vpcUuid"] == vpc_id
    for cluster in up_run.of_type(f"{DO}databaseCluster:DatabaseCluster"):
        assert cluster.inputs["privateNetworkUuid"] == vpc_id


def test_databases_admit_only_the_kubernetes_cluster(up_run: StackRun) -> None:
    cluster = up_run.one(f"{DO}kubernetesCluster:KubernetesCluster")
    db_ids = {r.id for r in up_run.of_type(f"{DO}databaseCluster:DatabaseCluster")}
    db_ids |= {r.outputs.get("uuid", r.id) for r in up_run.of_type(f"{DO}databaseReplica:DatabaseReplica")}
    firewalls = up_run.of_type(f"{DO}databaseFirewall:DatabaseFirewall")
    assert {f.inputs["clusterId"] for f in firewalls} == db_ids  # exactly one firewall per database
    for firewall in firewalls:
        # Its nodes, and its pods (VPC-native: they connect from pod-subnet addresses).
        assert firewall.inputs["rules"] == [
            {"type": "k8s", "value": cluster.id},
            {"type": "ip_addr", "value": cluster.inputs["clusterSubnet"]},
        ]


def test_project_groups_every_digitalocean_resource(up_run: StackRun) -> None:
    project = up_run.one(f"{DO}project:Project").inputs
    assert project["environment"] == up_run.stack.title()
    members = {m for r in up_run.of_type(f"{DO}projectResources:ProjectResources") for m in r.inputs["resources"]}
    expected = {
        up_run.one(f"{DO}kubernetesCluster:KubernetesCluster").outputs["clusterUrn"],
        *(r.outputs["clusterUrn"] for r in up_run.of_type(f"{DO}databaseCluster:DatabaseCluster")),
        up_run.one(f"{DO}droplet:Droplet").outputs["dropletUrn"],
        up_run.one(f"{DO}volume:Volume").outputs["volumeUrn"],
        up_run.one(f"{DO}reservedIp:ReservedIp").outputs["reservedIpUrn"],
    }
    assert expected <= members


def test_outputs_are_exported(up_run: StackRun) -> None:
    assert {
        "vpcId",
        "clusterId",
        "clusterEndpoint",
        "kubeconfig",
        "postgresDirectUri",
        "postgresPooledUri",
        "cacheUri",
        "monitoringPublicIp",
        "monitoringPrivateIp",
    } <= set(up_run.outputs)


def test_credential_outputs_are_secret(any_run: StackRun) -> None:
    assert any_run.secret_outputs >= SECRET_EXPORTS


def test_no_unmarked_output_carries_a_credential(up_run: StackRun) -> None:
    for name, value in up_run.outputs.items():
        if name in up_run.secret_outputs:
            continue
        text = json.dumps(value, default=str)
        assert not CREDENTIAL.search(text), name
        assert not any(secret in text for secret in TEST_SECRETS.values()), name


def test_database_uris_point_at_the_private_network(up_run: StackRun) -> None:
    direct = up_run.outputs["postgresDirectUri"]
    assert re.fullmatch(r"postgresql://app:pw-\w+@private-[^:]+:25060/niche_discovery\?sslmode=require", direct)
    # The pool's private URI as the provider returns it (never the public one), not a shape the mock made up.
    pool = next(r for r in outside_tenants(up_run) if r.type == f"{DO}databaseConnectionPool:DatabaseConnectionPool")
    assert up_run.outputs["postgresPooledUri"] == pool.outputs["privateUri"] != pool.outputs["uri"]
    assert up_run.outputs["cacheUri"].startswith("rediss://default:")
    assert "@private-" in up_run.outputs["cacheUri"]


def test_no_secret_reaches_a_resource_as_a_plain_input(any_run: StackRun) -> None:
    """Secret config and generated credentials only ever travel as secret inputs."""
    for resource in any_run.resources:
        for key, value in resource.inputs.items():
            if key in resource.secret_inputs:
                continue
            text = json.dumps(value, default=str)
            leaked = [k for k, v in TEST_SECRETS.items() if v in text]
            assert not leaked, f"{resource.type} {resource.name}.{key} carries {leaked} unmarked"
            assert not CREDENTIAL.search(text), f"{resource.type} {resource.name}.{key} carries a credential"


def test_preview_leaves_computed_values_unknown(production_preview: StackRun) -> None:
    assert production_preview.outputs["clusterId"] == UNKNOWN
    provider = production_preview.one("pulumi:providers:kubernetes", "niche-discovery-production-provider")
    assert provider.inputs.get("kubeconfig", UNKNOWN) == UNKNOWN
    lookups = [t for t, _ in production_preview.calls if t.endswith("getKubernetesCluster")]
    assert lookups == []


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_preview_and_up_register_the_same_resources(stack: str, request: pytest.FixtureRequest) -> None:
    up: StackRun = request.getfixturevalue(stack)
    preview: StackRun = request.getfixturevalue(f"{stack}_preview")
    assert sorted(r.urn for r in up.resources) == sorted(r.urn for r in preview.resources)


def test_cloud_firewall_selects_only_the_monitoring_droplet(up_run: StackRun) -> None:
    """A firewall's tags would pull every droplet carrying them (the cluster nodes too) behind it."""
    firewall = up_run.one(f"{DO}firewall:Firewall")
    assert "tags" not in firewall.inputs
    assert firewall.inputs["dropletIds"] == [int(up_run.one(f"{DO}droplet:Droplet").id)]
