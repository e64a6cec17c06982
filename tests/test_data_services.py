"""PostgresDatabase and Cache: private, firewalled to trusted sources, secret URIs, protectable."""

from __future__ import annotations

import pytest

from components import Cache, CacheArgs, MaintenanceWindow, PostgresDatabase, PostgresDatabaseArgs, TrustedSources
from stack_config.model import StackConfig
from tests.harness import StackRun, component_run, stack_file_config

DB = "digitalocean:index/databaseCluster:DatabaseCluster"
FIREWALL = "digitalocean:index/databaseFirewall:DatabaseFirewall"
POOL = "digitalocean:index/databaseConnectionPool:DatabaseConnectionPool"
WINDOW = MaintenanceWindow("sunday", "02:00")


def postgres(protect: bool = True, trusted: TrustedSources | None = None) -> PostgresDatabase:
    return PostgresDatabase(
        "pg",
        PostgresDatabaseArgs(
            region="nyc1",
            vpc_id="vpc-123",
            version="17",
            size="db-s-2vcpu-4gb",
            node_count=2,
            database="app",
            user="app",
            pool_size=20,
            maintenance=WINDOW,
            trusted=trusted or TrustedSources(kubernetes_cluster_ids=["k8s-1"]),
            tags=["t"],
            protect=protect,
        ),
    )


def cache() -> Cache:
    return Cache(
        "valkey",
        CacheArgs(
            region="nyc1",
            vpc_id="vpc-123",
            version="8",
            size="db-s-1vcpu-2gb",
            node_count=1,
            eviction_policy="noeviction",
            maintenance=WINDOW,
            trusted=TrustedSources(kubernetes_cluster_ids=["k8s-1"]),
            tags=["t"],
            protect=False,
        ),
    )


@pytest.fixture(scope="module")
def pg() -> StackRun:
    return component_run(postgres)


@pytest.fixture(scope="module")
def valkey() -> StackRun:
    return component_run(cache)


def test_postgres_is_a_supported_major_on_the_private_network(pg: StackRun) -> None:
    cluster = pg.one(DB).inputs
    assert cluster["engine"] == "pg"
    assert cluster["version"] == "17"
    assert cluster["privateNetworkUuid"] == "vpc-123"
    assert cluster["nodeCount"] == 2
    assert cluster["maintenanceWindows"] == [{"day": "sunday", "hour": "02:00"}]
    assert "projectId" not in cluster  # forces replacement; membership goes through ProjectResources


def test_postgres_admits_only_the_cluster(pg: StackRun) -> None:
    firewalls = pg.of_type(FIREWALL)
    assert len(firewalls) == 1
    assert firewalls[0].inputs["rules"] == [{"type": "k8s", "value": "k8s-1"}]
    assert firewalls[0].inputs["clusterId"] == pg.one(DB).id


def test_trusted_droplets_become_droplet_rules() -> None:
    run = component_run(lambda: postgres(trusted=TrustedSources(kubernetes_cluster_ids=["k"], droplet_ids=["42"])))
    assert run.one(FIREWALL).inputs["rules"] == [{"type": "k8s", "value": "k"}, {"type": "droplet", "value": "42"}]


def test_a_trusted_pod_subnet_becomes_an_ip_rule_beside_the_cluster() -> None:
    trusted = TrustedSources(kubernetes_cluster_ids=["k"], ip_ranges=["10.111.0.0/16"])
    run = component_run(lambda: postgres(trusted=trusted))
    assert run.one(FIREWALL).inputs["rules"] == [
        {"type": "k8s", "value": "k"},
        {"type": "ip_addr", "value": "10.111.0.0/16"},
    ]


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_both_databases_admit_exactly_the_cluster_and_its_pod_subnet(
    stack: str, request: pytest.FixtureRequest
) -> None:
    """VPC-native pods reach the databases from pod-subnet addresses, which a k8s rule does not cover."""
    run: StackRun = request.getfixturevalue(stack)
    cluster_id = run.one("digitalocean:index/kubernetesCluster:KubernetesCluster").id
    pods = stack_file_config(stack)["platform:network"]["clusterSubnet"]
    # Seed 000's PostgreSQL and Valkey, one rule set each (other tenants' databases have their own tests).
    firewalls = [
        f
        for f in run.of_type(FIREWALL)
        if f.name in {f"niche-discovery-{stack}-{db}-firewall" for db in ("pg", "valkey")}
    ]
    assert len(firewalls) == 2
    for firewall in firewalls:
        assert firewall.inputs["rules"] == [{"type": "k8s", "value": cluster_id}, {"type": "ip_addr", "value": pods}]


def test_a_firewall_without_sources_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one trusted source"):
        TrustedSources().rules()


def test_pool_is_transaction_mode_and_waits_for_database_and_user(pg: StackRun) -> None:
    pool = pg.one(POOL)
    assert pool.inputs["mode"] == "transaction"
    assert pool.inputs["size"] == 20
    depends = set(pool.dependencies)
    assert pg.one("digitalocean:index/databaseDb:DatabaseDb").urn in depends
    assert pg.one("digitalocean:index/databaseUser:DatabaseUser").urn in depends


def test_postgres_cluster_is_protected_when_asked(pg: StackRun) -> None:
    assert pg.one(DB).protect is True
    assert component_run(lambda: postgres(protect=False)).one(DB).protect is False


def test_the_database_is_protected_with_its_cluster(pg: StackRun) -> None:
    # Its name forces replacement: a protected database refuses a rename instead of dropping the data.
    assert pg.one("digitalocean:index/databaseDb:DatabaseDb").protect is True
    unprotected = component_run(lambda: postgres(protect=False))
    assert unprotected.one("digitalocean:index/databaseDb:DatabaseDb").protect is False


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_application_database_keeps_the_seeds_name(stack: str) -> None:
    raw = {k.removeprefix("platform:"): v for k, v in stack_file_config(stack).items()}
    config = StackConfig.model_validate(raw, context={"environment": stack})
    assert config.postgres.database == "niche_discovery"


def test_staging_postgres_is_the_seeds_staging_plan() -> None:
    raw = {k.removeprefix("platform:"): v for k, v in stack_file_config("staging").items()}
    config = StackConfig.model_validate(raw, context={"environment": "staging"})
    assert (config.postgres.size, config.postgres.node_count) == ("db-s-1vcpu-1gb", 1)


def test_cache_is_valkey_that_never_evicts(valkey: StackRun) -> None:
    cluster = valkey.one(DB).inputs
    assert cluster["engine"] == "valkey"
    assert cluster["version"] == "8"
    assert cluster["evictionPolicy"] == "noeviction"
    assert cluster["privateNetworkUuid"] == "vpc-123"


def test_cache_admits_only_the_cluster(valkey: StackRun) -> None:
    assert [f.inputs["rules"] for f in valkey.of_type(FIREWALL)] == [[{"type": "k8s", "value": "k8s-1"}]]


@pytest.mark.parametrize("fixture", ["pg", "valkey"])
def test_every_child_is_parented_to_its_component(fixture: str, request: pytest.FixtureRequest) -> None:
    run: StackRun = request.getfixturevalue(fixture)
    components = [r for r in run.resources if not r.custom]
    assert len(components) == 1
    assert all(r.parent == components[0].urn for r in run.resources if r.custom)
