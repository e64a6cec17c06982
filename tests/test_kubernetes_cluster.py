"""KubernetesCluster: a stable system pool, keyed worker pools, and a provider that never goes stale."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from components import KubernetesCluster, KubernetesClusterArgs, NodePoolSpec
from components.kubernetes_cluster import exec_kubeconfig
from tests import harness
from tests.harness import TEST_SECRETS, UNKNOWN, StackRun, component_run

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
        "cluster_subnet": "10.111.0.0/16",
        "service_subnet": "10.112.0.0/20",
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


def kubeconfig_of(run: StackRun) -> dict[str, Any]:
    return json.loads(run.one(PROVIDER).inputs["kubeconfig"])


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def test_the_providers_kubeconfig_holds_no_token_and_no_secret(up: StackRun) -> None:
    config = kubeconfig_of(up)
    (user,) = config["users"]
    # Only an exec credential: no token, password, client key or auth-provider secrets.
    assert set(user["user"]) == {"exec"}
    assert not {"token", "password", "client-key-data", "auth-provider"} & set(strings(config))
    text = up.one(PROVIDER).inputs["kubeconfig"]
    cluster = up.one(CLUSTER).outputs["kubeConfigs"][0]
    assert cluster["token"] not in text  # the token the cluster resource carries stays out
    assert not [secret for secret in TEST_SECRETS.values() if secret in text]


def test_the_kubeconfig_runs_doctls_exec_credential_for_this_cluster(up: StackRun) -> None:
    config = kubeconfig_of(up)
    (user,) = config["users"]
    assert user["user"]["exec"]["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert user["user"]["exec"]["command"] == "doctl"
    assert user["user"]["exec"]["args"] == [
        "kubernetes",
        "cluster",
        "kubeconfig",
        "exec-credential",
        "--version=v1beta1",
        "--context=default",
        up.one(CLUSTER).id,
    ]
    (context,) = config["contexts"]
    assert context["context"]["user"] == user["name"]
    assert config["current-context"] == context["name"]


def test_the_kubeconfig_points_at_the_clusters_endpoint_and_ca(up: StackRun) -> None:
    (entry,) = kubeconfig_of(up)["clusters"]
    outputs = up.one(CLUSTER).outputs
    assert entry["cluster"]["server"] == outputs["endpoint"]
    assert entry["cluster"]["certificate-authority-data"] == outputs["kubeConfigs"][0]["clusterCaCertificate"]


@pytest.fixture
def fresh_token_every_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the real provider does: every read or lookup of the cluster mints a new token."""
    counter = itertools.count()
    outputs_for = harness.outputs_for

    def with_new_token(config: dict[str, Any]) -> dict[str, Any]:
        token = f"token-{next(counter)}"
        return {**config, "token": token, "rawConfig": harness.KUBECONFIG.replace("mock-short-lived-token", token)}

    def cluster_outputs(type_token: str, name: str, inputs: dict[str, Any], rid: str) -> dict[str, Any]:
        found = outputs_for(type_token, name, inputs, rid)
        if "kubeConfigs" in found:
            found["kubeConfigs"] = [with_new_token(c) for c in found["kubeConfigs"]]
        return found

    lookup = "digitalocean:index/getKubernetesCluster:getKubernetesCluster"
    original = harness.INVOKES[lookup]
    monkeypatch.setattr(harness, "outputs_for", cluster_outputs)
    monkeypatch.setitem(harness.INVOKES, lookup, lambda a: {**original(a), "kubeConfigs": [with_new_token({})]})


@pytest.mark.usefixtures("fresh_token_every_run")
def test_the_kubeconfig_is_byte_identical_run_after_run() -> None:
    first, second = (component_run(build).one(PROVIDER).inputs["kubeconfig"] for _ in range(2))
    assert first == second


def test_rendering_the_kubeconfig_is_deterministic() -> None:
    args = ("do-nyc1-x", "id-1", "https://id-1.k8s.ondigitalocean.com", "Q0E=")
    assert exec_kubeconfig(*args) == exec_kubeconfig(*args)


def test_no_run_looks_the_cluster_credentials_up(up: StackRun, preview: StackRun) -> None:
    for run in (up, preview):
        assert [token for token, _ in run.calls if token == LOOKUP] == []


def test_provider_identity_is_the_cluster_id(up: StackRun) -> None:
    provider = up.one(PROVIDER)
    assert provider.inputs["clusterIdentifier"] == up.one(CLUSTER).id


def test_kubeconfig_reaches_the_provider_as_a_secret(up: StackRun) -> None:
    assert "kubeconfig" in up.one(PROVIDER).secret_inputs


def test_first_preview_leaves_the_kubeconfig_unknown(preview: StackRun) -> None:
    assert preview.one(PROVIDER).inputs.get("kubeconfig", UNKNOWN) == UNKNOWN


def test_pod_and_service_subnets_are_set_explicitly(up: StackRun) -> None:
    cluster = up.one(CLUSTER).inputs
    assert (cluster["clusterSubnet"], cluster["serviceSubnet"]) == ("10.111.0.0/16", "10.112.0.0/20")


def test_control_plane_firewall_only_when_cidrs_are_given(up: StackRun) -> None:
    assert "controlPlaneFirewall" not in up.one(CLUSTER).inputs
    run = component_run(lambda: build(api_allowed_cidrs=("198.51.100.0/24",)))
    assert run.one(CLUSTER).inputs["controlPlaneFirewall"] == {"enabled": True, "allowedAddresses": ["198.51.100.0/24"]}


def test_every_child_is_parented_to_the_component(up: StackRun) -> None:
    component = up.one("platform:k8s:KubernetesCluster")
    assert {r.urn for r in up.resources if r.custom} == {r.urn for r in up.children_of(component) if r.custom}
