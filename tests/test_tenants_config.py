"""Tenant catalogs and ``platform:tenants`` entries: the seeds' catalogs validate, and every rule fires."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from stack_config.infra import NodePool
from stack_config.tenants import (
    TENANT_SECTIONS,
    TenantEntry,
    TenantsProblem,
    camel,
    check_tenants,
    required_tenant_secrets,
    tenant_secret_problems,
)

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ("video-analysis", "doc-scraper", "rwp")
PLATFORM_POOLS = {
    "general": NodePool(size="s-2vcpu-4gb", min_nodes=1, max_nodes=3),
    "scrapers": NodePool(size="s-2vcpu-4gb", min_nodes=1, max_nodes=2),
}


def entry(catalog: str = "video-analysis", environment: str = "staging", **stack: Any) -> TenantEntry:
    return TenantEntry.model_validate(
        {"catalog": f"tenants/{catalog}.yaml", "imageTag": "1.0.0", **stack}, context={"environment": environment}
    )


def split(catalog: str) -> dict[str, Any]:
    """A catalog file as an already-split entry, for editing one field (the loader's other path)."""
    loaded = yaml.safe_load((ROOT / "tenants" / f"{catalog}.yaml").read_text())
    tenant = {k: loaded.pop(k) for k in TENANT_SECTIONS if k in loaded}
    return {"catalog": f"tenants/{catalog}.yaml", "tenant": tenant, "apps": {"catalog": loaded, "imageTag": "1.0.0"}}


def refused(value: dict[str, Any], environment: str = "staging") -> str:
    with pytest.raises(ValidationError) as err:
        TenantEntry.model_validate(value, context={"environment": environment})
    return str(err.value)


@pytest.mark.parametrize("environment", ["staging", "production"])
@pytest.mark.parametrize("catalog", CATALOGS)
def test_every_seed_catalog_validates(catalog: str, environment: str) -> None:
    stack = {"cache": {"nodeCount": 2}} if environment == "production" else {}
    loaded = entry(catalog, environment, **stack)
    assert loaded.name == catalog
    assert loaded.tenant.target == "digitalocean"
    assert loaded.namespace(environment) == f"{catalog}-{environment}"


def test_a_stack_scales_a_tenant_and_nothing_else() -> None:
    scaled = entry("rwp", services={"worker": {"replicas": 1}}, nodePools={"rwp-ai": {"minNodes": 1, "maxNodes": 1}})
    assert scaled.apps.resolved_services()["worker"].replicas == 1
    assert (scaled.tenant.node_pools["rwp-ai"].min_nodes, scaled.tenant.node_pools["rwp-ai"].max_nodes) == (1, 1)
    assert scaled.tenant.node_pools["rwp-ai"].size == "s-8vcpu-16gb"  # the catalog's
    # Not the catalog's data needs: a stack may not add a bucket (or any other tenant section).
    assert "buckets" in refused({"catalog": "tenants/rwp.yaml", "imageTag": "1.0.0", "buckets": {"x": {}}})


def test_a_stack_sets_the_config_values_that_differ_per_environment() -> None:
    # Seed 004 sets NODE_ENV per environment; a catalog value would be the same in every stack.
    staged = entry("podcast-summariser", config={"NODE_ENV": "staging"})
    assert staged.apps.config_map()["NODE_ENV"] == "staging"
    assert staged.apps.config_map()["LOG_LEVEL"] == "info"  # the catalog's own stay
    assert "NODE_ENV" not in entry("podcast-summariser").apps.config_map()


def test_a_stack_may_not_scale_a_pool_the_catalog_lacks() -> None:
    assert "not pools of" in refused({"catalog": "tenants/rwp.yaml", "imageTag": "1", "nodePools": {"gpu": {}}})


def test_a_stack_sets_only_the_cache_node_count() -> None:
    message = refused({"catalog": "tenants/rwp.yaml", "imageTag": "1", "cache": {"size": "db-s-4vcpu-8gb"}})
    assert "sets only nodeCount" in message


def test_production_tenant_brokers_need_a_standby() -> None:
    assert "standby" in refused({"catalog": "tenants/rwp.yaml", "imageTag": "1"}, environment="production")


def test_a_catalog_outside_tenants_is_refused() -> None:
    assert "not a file under tenants/" in refused({"catalog": "Pulumi.yaml", "imageTag": "1"})
    assert "not a file under tenants/" in refused({"catalog": "tenants/nope.yaml", "imageTag": "1"})


def test_a_tenant_reads_only_its_own_secrets() -> None:
    value = split("rwp")
    value["apps"]["catalog"]["secrets"]["GEMINI_API_KEY"] = "config.videoAnalysisGeminiApiKey"
    assert "is not this tenant's" in refused(value)


def test_the_replica_uri_needs_a_replica() -> None:
    value = split("video-analysis")
    value["tenant"]["database"].pop("readReplica")
    assert "needs database.readReplica" in refused(value)


def test_storage_keys_need_a_bucket() -> None:
    value = split("doc-scraper")
    value["tenant"]["buckets"] = {}
    assert "needs at least one bucket" in refused(value)


def test_a_queue_needs_the_tenants_cache() -> None:
    value = split("video-analysis")
    del value["tenant"]["cache"]
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        del value["apps"]["catalog"]["secrets"][name]
    for service in value["apps"]["catalog"]["services"].values():
        service["secretEnv"] = [s for s in service["secretEnv"] if s not in ("REDIS_URL", "CELERY_BROKER_URL")]
        service["egress"] = [e for e in service["egress"] if e != "cache"]
    assert "scales on a queue" in refused(value)


def test_database_egress_needs_a_database() -> None:
    value = split("rwp")
    del value["tenant"]["database"]
    for name in ("DATABASE_URL", "DATABASE_DIRECT_URL"):
        del value["apps"]["catalog"]["secrets"][name]
    for service in value["apps"]["catalog"]["services"].values():
        service["secretEnv"] = [s for s in service["secretEnv"] if not s.startswith("DATABASE")]
    assert "egress postgres needs a database section" in refused(value)


def test_a_tenant_pool_must_be_tainted_and_prefixed() -> None:
    value = split("rwp")
    value["tenant"]["nodePools"]["rwp-ai"]["taints"] = []
    assert "needs a taint" in refused(value)
    value = split("rwp")
    value["tenant"]["nodePools"] = {"ai": value["tenant"]["nodePools"]["rwp-ai"]}
    assert "prefix it with the tenant" in refused(value)


def test_a_cdn_bucket_is_not_replicated() -> None:
    value = split("video-analysis")
    value["tenant"]["buckets"]["static"]["replicaRegion"] = "sfo3"
    assert "CDN bucket" in refused(value)


def test_a_replica_region_must_have_spaces() -> None:
    value = split("doc-scraper")
    value["tenant"]["buckets"]["exports"]["replicaRegion"] = "nyc1"
    assert "Spaces region" in refused(value)


def test_tenant_names_are_short_dns_labels() -> None:
    value = split("rwp")
    value["tenant"]["name"] = "Recruitment_Platform"
    assert "lowercase DNS label" in refused(value)


def test_an_alert_is_defined_once() -> None:
    value = split("doc-scraper")
    value["tenant"]["alerts"].append(copy.deepcopy(value["tenant"]["alerts"][0]))
    assert "defined twice" in refused(value)


def test_an_alert_for_is_a_duration() -> None:
    value = split("doc-scraper")
    value["tenant"]["alerts"][0]["for"] = "five minutes"
    assert "Prometheus duration" in refused(value)


def test_every_alert_and_panel_selects_the_tenants_namespace() -> None:
    # The seed's query, unchanged, sums every tenant's requests; each expression is reported.
    value = split("rwp")
    value["tenant"]["alerts"][0]["expr"] = 'sum(rate(http_requests_total{status=~"5.."}[5m])) > 1'
    value["tenant"]["dashboards"][0]["panels"][1]["expr"] = "sum(redis_list_length)"
    message = refused(value)
    assert (
        "alerts.RwpErrorRate.expr: 'sum(rate(http_requests_total{status=~\"5..\"}[5m])) > 1' reads every "
        'tenant\'s series: add namespace="$namespace" to each selector'
    ) in message
    assert "dashboards.System Metrics.Processing Queue Length.expr: 'sum(redis_list_length)'" in message


def test_an_aws_tenants_alerts_are_not_held_to_the_droplets_scoping() -> None:
    # Not loaded on the droplet (their metrics never reach it): observability/tenants.py.
    value = split("rwp")
    value["tenant"]["target"] = "aws"
    value["tenant"]["alerts"][0]["expr"] = "sum(up) < 1"
    assert TenantEntry.model_validate(value, context={"environment": "staging"}).tenant.alerts[0].expr == "sum(up) < 1"


def test_tenant_dumps_run_at_least_hourly() -> None:
    value = split("rwp")
    value["tenant"]["backup"]["schedule"] = "0 3 * * *"
    assert "at least once an hour" in refused(value)


def test_check_tenants_refuses_a_tenant_listed_twice_or_the_platforms_own() -> None:
    with pytest.raises(TenantsProblem, match="listed twice"):
        check_tenants([entry("rwp"), entry("rwp")], "niche-discovery", PLATFORM_POOLS)
    with pytest.raises(TenantsProblem, match="stack's own tenant"):
        check_tenants([entry("rwp")], "rwp", PLATFORM_POOLS)


def test_check_tenants_refuses_a_pool_name_that_exists() -> None:
    pools = {**PLATFORM_POOLS, "rwp-ai": PLATFORM_POOLS["general"]}
    with pytest.raises(TenantsProblem, match="already exists"):
        check_tenants([entry("rwp")], "niche-discovery", pools)


def test_check_tenants_refuses_pinning_to_another_tenants_pool() -> None:
    value = split("doc-scraper")
    value["apps"]["catalog"]["services"]["worker"]["nodePool"] = "rwp-ai"
    doc = TenantEntry.model_validate(value, context={"environment": "staging"})
    with pytest.raises(TenantsProblem, match="neither the platform's"):
        check_tenants([entry("rwp"), doc], "niche-discovery", PLATFORM_POOLS)


def test_the_seed_tenants_fit_together() -> None:
    entries = [entry(c) for c in CATALOGS]
    assert check_tenants(entries, "niche-discovery", PLATFORM_POOLS) == entries


def test_a_listed_tenants_missing_secret_is_a_problem() -> None:
    entries = [entry("video-analysis")]
    assert required_tenant_secrets(entries) == ["videoAnalysisGeminiApiKey", "videoAnalysisJwtSecret"]
    problems = tenant_secret_problems("staging", entries, lambda key: key == "videoAnalysisJwtSecret")
    assert [p.key for p in problems] == ["platform:videoAnalysisGeminiApiKey"]
    assert "pulumi config set --stack staging --secret videoAnalysisGeminiApiKey" in problems[0].message


def test_tenant_secret_prefix_is_the_camel_case_name() -> None:
    assert camel("video-analysis") == "videoAnalysis"
    assert camel("rwp") == "rwp"


def test_a_dedicated_cluster_needs_its_plan_and_only_then() -> None:
    value = split("rwp")
    value["tenant"]["database"]["cluster"] = "dedicated"
    assert "exactly when database.cluster is dedicated" in refused(value)
    value = split("rwp")
    value["tenant"]["database"]["dedicated"] = {"size": "db-s-1vcpu-2gb"}
    assert "exactly when database.cluster is dedicated" in refused(value)


def test_a_production_dedicated_cluster_needs_a_standby_which_the_stack_sets() -> None:
    value = split("rwp")
    value["tenant"]["database"] |= {"cluster": "dedicated", "dedicated": {"size": "db-s-2vcpu-4gb"}}
    value["tenant"]["cache"]["nodeCount"] = 2
    assert "production needs a standby" in refused(value, environment="production")
    value["tenant"]["database"]["dedicated"]["nodeCount"] = 2
    entry = TenantEntry.model_validate(value, context={"environment": "production"})
    assert entry.tenant.database is not None and entry.tenant.database.dedicated is not None
    assert entry.tenant.database.dedicated.node_count == 2


def test_a_stack_sets_only_a_dedicated_clusters_node_count() -> None:
    message = refused({"catalog": "tenants/rwp.yaml", "imageTag": "1", "database": {"nodeCount": 2}})
    assert "of a catalog with a dedicated cluster" in message


def test_an_aws_tenants_pools_are_not_the_doks_clusters() -> None:
    podcast = entry("podcast-summariser")
    assert podcast.tenant.target == "aws"
    assert check_tenants([podcast], "niche-discovery", PLATFORM_POOLS) == [podcast]
