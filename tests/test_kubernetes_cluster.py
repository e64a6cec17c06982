"""KubernetesCluster: a stable system pool, keyed worker pools, and a provider that never goes stale."""

from __future__ import annotations

import pytest

from components import KubernetesCluster, KubernetesClusterArgs, NodePoolSpec
from tests.harness import KUBECONFIG, UNKNOWN, StackRun, component_run

CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
PROVIDER = "pulumi:providers:kubernetes"
LOOKUP = "digitalocean:index/getKubernetesCluster:getKubernetesCluster"


def build(**overrides: object) -> None:
    args = {
        "region": "nyc1",
        "vpc_id": "vpc-123",
        "version_prefix": "1.35.",
        "ha": True,
        "auto_upgrade": True,
        "surge_upgrade": True,
        "maintenance_day": "sunday",
        "maintenance_start_time": "02:00",
        "system_pool": NodePoolSpec(size="s-2vcpu-4gb", auto_scale=False, node_count=2, labels={"workload": "system"}),
        "pools": {
            "general": NodePoolSpec(
                size="s-4vcpu-8gb", auto_scale=True, min_nodes=2, max_nodes=10, labels={"workload": "general"}
            ),
            "scrapers": NodePoolSpec(
                size="s-2vcpu-4gb",
                auto_scale=True,
                min_nodes=2,
                max_nodes=8,
                labels={"workload": "scrapers"},
                taints=(("workload", "scrapers", "NoSchedule"),),
            ),
            "batch": NodePoolSpec(size="s-2vcpu-4gb", auto_scale=False, node_count=3),
        },
        "tags": ["tenant", "env:test"],
        "kubeconfig_ttl_seconds": 1800,
    }
    args.update(overrides)
    KubernetesCluster("test", KubernetesClusterArgs(**args))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def up() -> StackRun:
    return component_run(build)


@pytest.fixture(scope="module")
def preview() -> StackRun:
    return component_run(build, preview=True)


def test_version_is_resolved_from_the_minor_prefix(up: StackRun) -> None:
    cluster = up.one(CLUSTER)
    assert cluster.inputs["version"] == "1.35.4-do.0"
    assert ("digitalocean:index/getKubernetesVersions:getKubernetesVersions", {"versionPrefix": "1.35."}) in up.calls


def test_auto_upgrade_in_the_seed_window_with_surge_and_ha(up: StackRun) -> None:
    cluster = up.one(CLUSTER).inputs
    assert cluster["autoUpgrade"] is True
    assert cluster["surgeUpgrade"] is True
    assert cluster["ha"] is True
    assert cluster["maintenancePolicy"] == {"day": "sunday", "startTime": "02:00"}
    assert cluster["vpcUuid"] == "vpc-123"
    assert cluster["destroyAllAssociatedResources"] is False


def test_auto_upgraded_version_is_not_reconciled_back(up: StackRun) -> None:
    assert "version" in up.one(CLUSTER).ignore_changes


def test_pinned_cluster_reconciles_its_version() -> None:
    run = component_run(lambda: build(auto_upgrade=False))
    assert "version" not in run.one(CLUSTER).ignore_changes


def test_embedded_pool_is_the_small_fixed_system_pool(up: StackRun) -> None:
    pool = up.one(CLUSTER).inputs["nodePool"]
    assert pool["name"] == "system"
    assert pool["autoScale"] is False
    assert pool["nodeCount"] == 2
    assert pool["labels"] == {"workload": "system"}


def test_each_keyed_pool_is_a_separate_node_pool(up: StackRun) -> None:
    pools = {r.inputs["name"]: r for r in up.of_type(POOL)}
    assert set(pools) == {"general", "scrapers", "batch"}
    assert {r.name for r in pools.values()} == {"test-general", "test-scrapers", "test-batch"}


def test_scrapers_pool_is_labelled_and_tainted(up: StackRun) -> None:
    scrapers = up.one(POOL, "test-scrapers").inputs
    assert scrapers["labels"] == {"workload": "scrapers"}
    assert scrapers["taints"] == [{"key": "workload", "value": "scrapers", "effect": "NoSchedule"}]
    assert scrapers["size"] == "s-2vcpu-4gb"


def test_autoscaling_pools_do_not_set_node_count(up: StackRun) -> None:
    for name in ("test-general", "test-scrapers"):
        pool = up.one(POOL, name)
        assert pool.inputs["autoScale"] is True
        assert "nodeCount" not in pool.inputs
        assert "nodeCount" in pool.ignore_changes
        assert (pool.inputs["minNodes"], pool.inputs["maxNodes"]) in {(2, 10), (2, 8)}


def test_fixed_pool_manages_its_node_count(up: StackRun) -> None:
    batch = up.one(POOL, "test-batch")
    assert batch.inputs["nodeCount"] == 3
    assert batch.inputs["autoScale"] is False
    assert "nodeCount" not in batch.ignore_changes


def test_provider_uses_a_fresh_short_lived_credential(up: StackRun) -> None:
    lookups = [args for token, args in up.calls if token == LOOKUP]
    assert lookups == [{"name": "test", "kubeconfigExpireSeconds": 1800}]
    provider = up.one(PROVIDER)
    assert provider.inputs["kubeconfig"] == KUBECONFIG
    assert "mock-7-day-token" not in str(provider.inputs)


def test_provider_identity_is_the_cluster_id(up: StackRun) -> None:
    provider = up.one(PROVIDER)
    assert provider.inputs["clusterIdentifier"] == up.one(CLUSTER).id


def test_kubeconfig_reaches_the_provider_as_a_secret(up: StackRun) -> None:
    assert "kubeconfig" in up.one(PROVIDER).secret_inputs


def test_first_preview_skips_the_credential_lookup(preview: StackRun) -> None:
    assert [token for token, _ in preview.calls if token == LOOKUP] == []
    assert preview.one(PROVIDER).inputs.get("kubeconfig", UNKNOWN) == UNKNOWN


def test_control_plane_firewall_only_when_cidrs_are_given(up: StackRun) -> None:
    assert "controlPlaneFirewall" not in up.one(CLUSTER).inputs
    run = component_run(lambda: build(api_allowed_cidrs=("198.51.100.0/24",)))
    assert run.one(CLUSTER).inputs["controlPlaneFirewall"] == {"enabled": True, "allowedAddresses": ["198.51.100.0/24"]}


def test_every_child_is_parented_to_the_component(up: StackRun) -> None:
    component = up.one("platform:k8s:KubernetesCluster")
    assert {r.urn for r in up.resources if r.custom} == {r.urn for r in up.children_of(component) if r.custom}
