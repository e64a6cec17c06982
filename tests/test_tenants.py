"""The tenants of issue 14 on the DigitalOcean platform, per committed stack (whole program under mocks):
what each seed asked for, isolation between tenants, and the platform's stateful URNs unchanged."""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.database_access import TrustedSources
from components.gateway import GatewayRef
from components.tenant import (
    TenantArgs,
    backup_prefix,
    render_alert_rules,
    render_dashboards,
    tenant_problems,
    with_host,
)
from components.workload import NetworkPeer
from stack_config.base import ConfigError
from stack_config.tenants import TENANT_SECTIONS, TenantEntry
from tests.harness import TEST_SECRETS, Resource, StackRun, run_main
from tests.observability.support import run_tool
from tests.policy_adapter import stack_violations

ROOT = Path(__file__).resolve().parent.parent
TENANTS = ("video-analysis", "doc-scraper", "rwp")
DO = "digitalocean:index/"
K8S_SECRET = "kubernetes:core/v1:Secret"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL = (
    f"{DO}kubernetesCluster:KubernetesCluster",
    f"{DO}kubernetesNodePool:KubernetesNodePool",
    f"{DO}databaseCluster:DatabaseCluster",
    f"{DO}databaseDb:DatabaseDb",
    f"{DO}databaseUser:DatabaseUser",
    f"{DO}volume:Volume",
    f"{DO}droplet:Droplet",
    f"{DO}reservedIp:ReservedIp",
    f"{DO}vpc:Vpc",
    "aws:s3/bucket:Bucket",
    "aws:kms/key:Key",
)
"""What must never be replaced: data, and what data hangs off."""


def in_namespace(run: StackRun, type_token: str, namespace: str, name: str | None = None) -> list[Resource]:
    return [
        r
        for r in run.of_type(type_token)
        if r.inputs.get("metadata", {}).get("namespace") == namespace
        and (name is None or r.inputs["metadata"].get("name") == name)
    ]


def one(run: StackRun, type_token: str, namespace: str, name: str) -> dict[str, Any]:
    (found,) = in_namespace(run, type_token, namespace, name)
    return found.inputs


def tenant_component(run: StackRun, tenant: str) -> Resource:
    return run.one("platform:tenant:Tenant", f"niche-discovery-{run.stack}-{tenant}")


def descendants(run: StackRun, root: Resource) -> list[Resource]:
    found, frontier = [], [root.urn]
    while frontier:
        children = [r for r in run.resources if r.parent in frontier]
        found += children
        frontier = [r.urn for r in children]
    return found


# --- All four DigitalOcean tenants on both stacks ------------------------------------------------


def test_both_stacks_run_all_four_digitalocean_tenants(up_run: StackRun) -> None:
    namespaces = {r.inputs["metadata"]["name"] for r in up_run.of_type("kubernetes:core/v1:Namespace")}
    expected = {f"niche-discovery-{up_run.stack}", *(f"{t}-{up_run.stack}" for t in TENANTS)}
    assert expected <= namespaces
    assert up_run.outputs["tenantNamespaces"] == {t: f"{t}-{up_run.stack}" for t in TENANTS}


def test_each_tenant_namespace_is_restricted_with_quota_limits_and_default_deny(any_run: StackRun) -> None:
    for tenant in TENANTS:
        ns = f"{tenant}-{any_run.stack}"
        (namespace,) = [
            r for r in any_run.of_type("kubernetes:core/v1:Namespace") if r.inputs["metadata"]["name"] == ns
        ]
        labels = namespace.inputs["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert labels["app.kubernetes.io/part-of"] == tenant
        assert in_namespace(any_run, "kubernetes:core/v1:ResourceQuota", ns)
        assert in_namespace(any_run, "kubernetes:core/v1:LimitRange", ns)
        deny = one(any_run, NETPOL, ns, "default-deny")["spec"]
        assert deny["podSelector"] == {} and sorted(deny["policyTypes"]) == ["Egress", "Ingress"]


# --- Isolation -------------------------------------------------------------------------------


def test_no_network_policy_admits_another_tenants_namespace(any_run: StackRun) -> None:
    tenant_namespaces = {f"{t}-{any_run.stack}" for t in TENANTS} | {f"niche-discovery-{any_run.stack}"}
    for tenant in TENANTS:
        ns = f"{tenant}-{any_run.stack}"
        for policy in in_namespace(any_run, NETPOL, ns):
            spec = policy.inputs["spec"]
            peers = [p for rule in spec.get("ingress", []) for p in rule.get("from", [])]
            peers += [p for rule in spec.get("egress", []) for p in rule.get("to", [])]
            for peer in peers:
                selector = peer.get("namespaceSelector")
                if selector is not None:
                    labels = selector.get("matchLabels") or {}
                    assert labels or selector.get("matchExpressions"), f"{ns}/{policy.name}: every namespace"
                    assert labels.get("kubernetes.io/metadata.name") not in tenant_namespaces - {ns}
                    assert labels.get("app.kubernetes.io/part-of") in (None, tenant)


def test_no_network_policy_reaches_pod_addresses_by_ip(up_run: StackRun) -> None:
    """Another tenant's pods are reachable only through the pod subnet: no ipBlock may cover it."""
    pods = ipaddress.IPv4Network(up_run.one(f"{DO}kubernetesCluster:KubernetesCluster").inputs["clusterSubnet"])
    for tenant in TENANTS:
        for policy in in_namespace(up_run, NETPOL, f"{tenant}-{up_run.stack}"):
            for rule in policy.inputs["spec"].get("egress", []):
                for peer in rule.get("to", []):
                    block = peer.get("ipBlock")
                    if block is None or not pods.overlaps(ipaddress.IPv4Network(block["cidr"])):
                        continue
                    excepted = [ipaddress.IPv4Network(c) for c in block.get("except", [])]
                    assert any(pods.subnet_of(e) for e in excepted), f"{policy.name} reaches pods by address"


def test_routes_stay_in_their_tenants_namespace(up_run: StackRun) -> None:
    for tenant in TENANTS:
        routes = in_namespace(up_run, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", f"{tenant}-{up_run.stack}")
        assert routes, tenant
        for route in routes:
            assert route.inputs["spec"]["hostnames"] == [f"api.{tenant}.{hostname_base(up_run)}"]
            for rule in route.inputs["spec"]["rules"]:
                assert all("namespace" not in ref for ref in rule["backendRefs"])


def hostname_base(run: StackRun) -> str:
    return "staging.nichediscovery.com" if run.stack == "staging" else "nichediscovery.com"


def test_the_shared_gateway_listens_for_every_tenants_hosts(up_run: StackRun) -> None:
    (gateway,) = up_run.of_type("kubernetes:gateway.networking.k8s.io/v1:Gateway")
    hostnames = {listener.get("hostname") for listener in gateway.inputs["spec"]["listeners"]}
    assert {f"api.{t}.{hostname_base(up_run)}" for t in TENANTS} <= hostnames


def test_each_tenant_has_its_own_database_role_and_valkey(up_run: StackRun) -> None:
    seen: dict[str, set[str]] = {"db": set(), "user": set(), "valkey": set()}
    for tenant in TENANTS:
        children = descendants(up_run, tenant_component(up_run, tenant))
        (database,) = [r for r in children if r.type == f"{DO}databaseDb:DatabaseDb"]
        (role,) = [r for r in children if r.type == f"{DO}databaseUser:DatabaseUser"]
        (valkey,) = [r for r in children if r.type == f"{DO}databaseCluster:DatabaseCluster"]
        assert valkey.inputs["engine"] == "valkey" and valkey.inputs["evictionPolicy"] == "noeviction"
        seen["db"].add(database.inputs["name"])
        seen["user"].add(role.inputs["name"])
        seen["valkey"].add(valkey.inputs["name"])
        secret = one(up_run, K8S_SECRET, f"{tenant}-{up_run.stack}", "app-secrets")["stringData"]
        assert f"/{database.inputs['name']}?" in secret["DATABASE_DIRECT_URL"]
        assert secret["DATABASE_DIRECT_URL"].startswith(f"postgresql://{role.inputs['name']}:")
        assert valkey.inputs["name"] in secret["REDIS_URL"]
    assert all(len(names) == len(TENANTS) for names in seen.values())


def test_tenant_databases_are_on_the_shared_cluster_protected_in_production(production: StackRun) -> None:
    (platform_pg,) = [
        r for r in production.of_type(f"{DO}databaseCluster:DatabaseCluster") if r.inputs["engine"] == "pg"
    ]
    for tenant in TENANTS:
        children = descendants(production, tenant_component(production, tenant))
        for resource in children:
            if resource.type in (f"{DO}databaseDb:DatabaseDb", f"{DO}databaseUser:DatabaseUser"):
                assert resource.inputs["clusterId"] == platform_pg.id
                assert resource.protect
            if resource.type == f"{DO}databaseCluster:DatabaseCluster":
                assert resource.protect and resource.inputs["nodeCount"] == 2


def test_each_tenant_writes_backups_under_its_own_prefix_only(up_run: StackRun) -> None:
    for tenant in TENANTS:
        children = descendants(up_run, tenant_component(up_run, tenant))
        (policy,) = [r for r in children if r.type == "aws:iam/userPolicy:UserPolicy"]
        document = json.loads(policy.inputs["policy"])
        put = next(s for s in document["Statement"] if s["Action"] == ["s3:PutObject"])
        assert [r.rsplit(":::", 1)[1].split("/", 1)[1] for r in put["Resource"]] == [f"{backup_prefix(tenant)}/*"]
        (cronjob,) = [r for r in children if r.type == "kubernetes:batch/v1:CronJob" and "pg-backup" in r.name]
        env = {
            e["name"]: e.get("value")
            for e in cronjob.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        assert env["S3_PREFIX"] == backup_prefix(tenant)


def test_each_tenants_spaces_key_is_granted_its_own_buckets_only(up_run: StackRun) -> None:
    buckets_of = {}
    for tenant in TENANTS:
        children = descendants(up_run, tenant_component(up_run, tenant))
        buckets_of[tenant] = {r.inputs["name"] for r in children if r.type == f"{DO}spacesBucket:SpacesBucket"}
        (key,) = [r for r in children if r.type == f"{DO}spacesKey:SpacesKey"]
        assert {g["bucket"] for g in key.inputs["grants"]} == buckets_of[tenant]
        assert {g["permission"] for g in key.inputs["grants"]} == {"readwrite"}
    assert not set.intersection(*buckets_of.values())


def test_tenant_credentials_travel_as_secrets(up_run: StackRun) -> None:
    for tenant in TENANTS:
        for secret in in_namespace(up_run, K8S_SECRET, f"{tenant}-{up_run.stack}"):
            assert "stringData" in secret.secret_inputs, secret.name
        config = one(up_run, "kubernetes:core/v1:ConfigMap", f"{tenant}-{up_run.stack}", "app-config")["data"]
        assert "mock-spaces-secret" not in json.dumps(config)


# --- What each seed asked for ------------------------------------------------------------------


def test_video_analysis_workers_scale_on_queue_depth_50_to_at_most_20(production: StackRun) -> None:
    scaled = one(production, "kubernetes:keda.sh/v1alpha1:ScaledObject", "video-analysis-production", "worker")
    (trigger,) = [t for t in scaled["spec"]["triggers"] if t["type"] == "redis"]
    assert trigger["metadata"]["listLength"] == "50"
    assert trigger["metadata"]["listName"] == "video-analysis"
    assert scaled["spec"]["maxReplicaCount"] == 20


def test_video_analysis_api_scales_at_65_percent_cpu_with_a_300s_cooldown(production: StackRun) -> None:
    hpa = one(production, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "video-analysis-production", "api")
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["averageUtilization"] == 65
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300


def test_video_analysis_reads_through_its_own_replica_behind_a_firewall(up_run: StackRun) -> None:
    children = descendants(up_run, tenant_component(up_run, "video-analysis"))
    (replica,) = [r for r in children if r.type == f"{DO}databaseReplica:DatabaseReplica"]
    firewalls = [r for r in children if r.type == f"{DO}databaseFirewall:DatabaseFirewall"]
    assert replica.outputs["uuid"] in {f.inputs["clusterId"] for f in firewalls}
    secret = one(up_run, K8S_SECRET, f"video-analysis-{up_run.stack}", "app-secrets")["stringData"]
    assert f"@{replica.outputs['privateHost']}:25060/video_analysis?" in secret["DATABASE_REPLICA_URL"]
    assert "GEMINI_API_KEY" in secret


def test_video_analysis_static_assets_are_behind_the_cdn_and_videos_expire(up_run: StackRun) -> None:
    children = descendants(up_run, tenant_component(up_run, "video-analysis"))
    buckets = {r.name.rsplit("-storage-", 1)[1]: r for r in children if r.type == f"{DO}spacesBucket:SpacesBucket"}
    (cdn,) = [r for r in children if r.type == f"{DO}cdn:Cdn"]
    assert cdn.inputs["origin"] == buckets["static"].outputs["bucketDomainName"]
    (policy,) = [r for r in children if r.type == f"{DO}spacesBucketPolicy:SpacesBucketPolicy"]
    assert policy.inputs["bucket"] == buckets["static"].inputs["name"]
    assert json.loads(policy.inputs["policy"])["Statement"][0]["Action"] == ["s3:GetObject"]
    rules = {r.get("prefix"): r for r in buckets["videos"].inputs["lifecycleRules"]}
    assert rules["uploads/"]["expiration"]["days"] == 90
    assert all(b.inputs["acl"] == "private" for b in buckets.values())


def test_doc_scraper_keeps_the_seeds_hpa_ranges(production: StackRun) -> None:
    ns = "doc-scraper-production"
    hpa = one(production, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", ns, "api")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    worker = one(production, "kubernetes:keda.sh/v1alpha1:ScaledObject", ns, "worker")["spec"]
    assert (worker["minReplicaCount"], worker["maxReplicaCount"]) == (3, 20)


def test_doc_scraper_exports_are_copied_to_another_region(up_run: StackRun) -> None:
    children = descendants(up_run, tenant_component(up_run, "doc-scraper"))
    regions = {r.inputs["region"]: r for r in children if r.type == f"{DO}spacesBucket:SpacesBucket"}
    assert set(regions) == {"nyc3", "sfo3"}
    assert regions["nyc3"].inputs["versioning"]["enabled"] is True
    sync = one(up_run, "kubernetes:batch/v1:CronJob", f"doc-scraper-{up_run.stack}", "bucket-replica-sync")
    command = sync["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert (
        command == f"rclone copy --checksum src:{regions['nyc3'].inputs['name']} dst:{regions['sfo3'].inputs['name']}"
    )


def test_rwp_ai_pods_run_only_on_the_ai_pool(up_run: StackRun) -> None:
    (pool,) = [r for r in up_run.of_type(f"{DO}kubernetesNodePool:KubernetesNodePool") if r.inputs["name"] == "rwp-ai"]
    assert pool.inputs["taints"] == [{"key": "dedicated", "value": "rwp-ai", "effect": "NoSchedule"}]
    ai = one(up_run, DEPLOYMENT, f"rwp-{up_run.stack}", "ai-processor")["spec"]["template"]["spec"]
    assert ai["nodeSelector"] == {"doks.digitalocean.com/node-pool": "rwp-ai"}
    container = ai["containers"][0]
    assert container["resources"] == {
        "requests": {"cpu": "4", "memory": "8Gi"},
        "limits": {"cpu": "8", "memory": "16Gi"},
    }
    # Nothing else tolerates the pool's taint, so nothing else lands there.
    for deployment in up_run.of_type(DEPLOYMENT):
        if deployment.inputs["metadata"]["name"] == "ai-processor":
            continue
        tolerations = deployment.inputs["spec"]["template"]["spec"].get("tolerations") or []
        assert all(t.get("value") != "rwp-ai" for t in tolerations), deployment.name


def test_rwp_namespace_admits_the_ai_pods_limits(up_run: StackRun) -> None:
    (limits,) = in_namespace(up_run, "kubernetes:core/v1:LimitRange", f"rwp-{up_run.stack}")
    assert limits.inputs["spec"]["limits"][0]["max"] == {"cpu": "8000m", "memory": "16384Mi"}


def test_rwp_services_talk_only_as_the_seed_draws(up_run: StackRun) -> None:
    ns = f"rwp-{up_run.stack}"
    for service in ("ai-processor", "analytics"):
        policy = one(up_run, NETPOL, ns, service)["spec"]
        sources = [p["podSelector"]["matchLabels"] for rule in policy["ingress"] for p in rule["from"]]
        assert sources == [{"app.kubernetes.io/name": "worker"}]


# --- Alerts and dashboards: promtool judges every expression -----------------------------------


@functools.cache
def specs() -> dict[str, Any]:
    return {
        t: TenantEntry.model_validate(
            {"catalog": f"tenants/{t}.yaml", "imageTag": "1"}, context={"environment": "staging"}
        ).tenant
        for t in TENANTS
    }


def test_every_tenant_alert_carries_its_tenant_label() -> None:
    for tenant, spec in specs().items():
        (group,) = yaml.safe_load(render_alert_rules(spec, f"{tenant}-staging"))["groups"]
        assert group["rules"] and all(r["labels"]["tenant"] == tenant for r in group["rules"])
    rwp = yaml.safe_load(render_alert_rules(specs()["rwp"], "rwp-staging"))["groups"][0]["rules"]
    assert {r["labels"]["severity"] for r in rwp} == {"critical", "warning"}


def test_doc_scraper_alerts_are_the_seeds_but_the_database_one() -> None:
    # The seed's DatabaseConnectionExhausted read postgres_exporter names nothing exports, over the shared
    # cluster (no tenant namespace to scope it to): README, table of seeds 001 to 003.
    rules = yaml.safe_load(render_alert_rules(specs()["doc-scraper"], "doc-scraper-staging"))["groups"][0]["rules"]
    assert [r["alert"] for r in rules] == ["HighErrorRate", "WorkerQueueBacklog", "APIHighLatency"]


def test_promtool_accepts_every_tenants_rule_file(tmp_path: Path) -> None:
    for tenant, spec in specs().items():
        (tmp_path / f"{tenant}.yml").write_text(render_alert_rules(spec, f"{tenant}-staging"))
        result = run_tool("promtool", "check", "rules", f"{tenant}.yml", cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    exprs = [
        target["expr"]
        for tenant, spec in specs().items()
        for dashboard in render_dashboards(spec, f"{tenant}-staging").values()
        for panel in json.loads(dashboard)["panels"]
        for target in panel["targets"]
    ]
    rules = [{"record": f"tenant:dashboard:{i}", "expr": e} for i, e in enumerate(exprs)]
    (tmp_path / "queries.yml").write_text(yaml.safe_dump({"groups": [{"name": "q", "rules": rules}]}))
    result = run_tool("promtool", "check", "rules", "queries.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout


# --- Migration: the platform's stateful resources keep their URNs ------------------------------


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_adding_tenants_changes_no_stateful_urn_of_the_platform(stack: str, request: pytest.FixtureRequest) -> None:
    with_tenants: StackRun = request.getfixturevalue(stack)
    without = run_main(stack, overrides={"tenants": None})
    before = {r.urn for r in without.resources if r.type in STATEFUL}
    after = {r.urn for r in with_tenants.resources if r.type in STATEFUL}
    assert before and before <= after
    # ... and nothing of the platform is re-parented or renamed: every URN of the single-tenant run survives.
    assert {r.urn for r in without.resources} <= {r.urn for r in with_tenants.resources}


def test_catalog_files_are_the_ones_the_stacks_list() -> None:
    for stack in ("staging", "production"):
        listed = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]["platform:tenants"]
        assert [e["catalog"] for e in listed] == [f"tenants/{t}.yaml" for t in TENANTS]


# --- The tenant guards on the committed stacks (their mutants: tests/policies/test_mutations.py)


@pytest.mark.parametrize("guard", ["tenant-namespace-quota", "tenant-no-cross-tenant-traffic"])
def test_the_committed_stacks_pass_the_tenant_guards(guard: str, up_run: StackRun) -> None:
    assert stack_violations(guard, up_run.resources) == []


# --- The component's own refusals (nothing registered) ------------------------------------------


def args_for(entry: TenantEntry, **changes: Any) -> TenantArgs:
    base = TenantArgs(
        entry=entry,
        environment="staging",
        name_prefix="niche-discovery-staging",
        region="nyc1",
        spaces_region="nyc3",
        vpc_id="vpc",
        vpc_cidr="10.110.0.0/16",
        cluster_id="cluster",
        kubernetes_minor="1.35",
        platform_pools={},
        postgres_cluster_id="pg",
        postgres_private_host="pg.private",
        trusted=TrustedSources(kubernetes_cluster_ids=["cluster"]),
        ingress_controller=NetworkPeer(pod_labels={"app": "edge"}, namespace_labels={"name": "edge"}),
        secret_config=lambda key: None,
        protect=False,
        tags=["niche-discovery"],
    )
    return dataclasses.replace(base, **changes)


def test_the_digitalocean_tenant_refuses_an_aws_catalog() -> None:
    entry = TenantEntry.model_validate(
        {"catalog": "tenants/podcast-summariser.yaml", "imageTag": "1"}, context={"environment": "staging"}
    )
    assert any("deploys DigitalOcean tenants only" in p for p in tenant_problems(args_for(entry)))


def test_a_gateway_needs_the_base_domain() -> None:
    gateway = GatewayRef(name="shared", namespace="edge")
    problems = tenant_problems(args_for(entry_of("rwp"), gateway=gateway))
    assert problems == ["a gateway was given without base_domain"]


def test_buckets_replicate_to_one_region() -> None:
    value = entry_of("doc-scraper")
    buckets = {
        **value.tenant.buckets,
        "more": value.tenant.buckets["exports"].model_copy(update={"replica_region": "ams3"}),
    }
    entry = value.model_copy(update={"tenant": value.tenant.model_copy(update={"buckets": buckets})})
    assert tenant_problems(args_for(entry)) == ["buckets replicate to more than one region: the sync job copies to one"]


def test_a_seed_tenant_has_no_problem() -> None:
    assert all(tenant_problems(args_for(entry_of(t))) == [] for t in TENANTS)


def entry_of(tenant: str) -> TenantEntry:
    return TenantEntry.model_validate(
        {"catalog": f"tenants/{tenant}.yaml", "imageTag": "1"}, context={"environment": "staging"}
    )


def test_a_tenants_config_names_its_environment_and_buckets(staging: StackRun) -> None:
    config = one(staging, "kubernetes:core/v1:ConfigMap", "doc-scraper-staging", "app-config")["data"]
    assert config["ENVIRONMENT"] == "staging"
    assert config["S3_BUCKET_EXPORTS"] == "niche-discovery-staging-doc-scraper-exports"
    assert config["S3_ENDPOINT_URL"] == "https://nyc3.digitaloceanspaces.com"


def test_a_listed_tenants_missing_secret_stops_the_run_before_anything_is_registered() -> None:
    secrets = {k: v for k, v in TEST_SECRETS.items() if k != "rwpOpenaiApiKey"}
    with pytest.raises(ConfigError) as err:
        run_main("staging", secrets=secrets)
    assert [p.key for p in err.value.problems] == ["platform:rwpOpenaiApiKey"]
    assert len(err.value.stack_run.resources) <= 1  # type: ignore[attr-defined]  # the root stack at most


def test_a_tenants_clusters_and_buckets_join_the_stacks_project(up_run: StackRun) -> None:
    project = up_run.one(f"{DO}project:Project")
    for tenant in TENANTS:
        children = descendants(up_run, tenant_component(up_run, tenant))
        (membership,) = [r for r in children if r.type == f"{DO}projectResources:ProjectResources"]
        assert membership.inputs["project"] == project.id
        expected = {r.outputs["clusterUrn"] for r in children if r.type == f"{DO}databaseCluster:DatabaseCluster"}
        expected |= {r.outputs["bucketUrn"] for r in children if r.type == f"{DO}spacesBucket:SpacesBucket"}
        assert set(membership.inputs["resources"]) == expected


def test_a_tenant_may_have_a_postgresql_cluster_of_its_own() -> None:
    catalog = yaml.safe_load((ROOT / "tenants" / "rwp.yaml").read_text())
    tenant = {k: catalog.pop(k) for k in TENANT_SECTIONS if k in catalog}
    tenant["database"] |= {"cluster": "dedicated", "dedicated": {"size": "db-s-1vcpu-2gb"}}
    entry = {"catalog": "tenants/rwp.yaml", "tenant": tenant, "apps": {"catalog": catalog, "imageTag": "1.0.0"}}
    run = run_main("staging", overrides={"tenants": [entry]})
    children = descendants(run, tenant_component(run, "rwp"))
    (cluster,) = [
        r for r in children if r.type == f"{DO}databaseCluster:DatabaseCluster" and r.inputs["engine"] == "pg"
    ]
    assert cluster.inputs["name"] == "niche-discovery-staging-rwp-pg"
    (database,) = [r for r in children if r.type == f"{DO}databaseDb:DatabaseDb"]
    assert database.inputs["clusterId"] == cluster.id and database.inputs["name"] == "rwp"
    (firewall,) = [
        r
        for r in children
        if r.type == f"{DO}databaseFirewall:DatabaseFirewall" and r.inputs["clusterId"] == cluster.id
    ]
    assert {rule["type"] for rule in firewall.inputs["rules"]} == {"k8s", "ip_addr"}
    secret = one(run, K8S_SECRET, "rwp-staging", "app-secrets")["stringData"]
    assert "@private-niche-discovery-staging-rwp-pg-" in secret["DATABASE_DIRECT_URL"]
    (membership,) = [r for r in children if r.type == f"{DO}projectResources:ProjectResources"]
    assert cluster.outputs["clusterUrn"] in membership.inputs["resources"]


def test_with_host_swaps_only_the_host() -> None:
    uri = "postgresql://rwp:pw@private-a.db:25060/rwp?sslmode=require"
    assert with_host(uri, "private-b.db") == "postgresql://rwp:pw@private-b.db:25060/rwp?sslmode=require"
