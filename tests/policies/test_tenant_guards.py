"""The tenant isolation guards (policies/guards/tenants.py) on synthetic records: each passes good props, fires on
the one change it exists for, and stays quiet on values unknown at preview. On the committed stacks:
tests/test_tenants.py and the mutants of tests/policies/test_mutations.py."""

from __future__ import annotations

from typing import Any

from tests.harness import Resource
from tests.policies.samples import UNKNOWN
from tests.policy_adapter import mutate, stack_violations, synthetic, violations

NAMESPACE = "kubernetes:core/v1:Namespace"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
HARD = {"pods": "20", "requests.cpu": "4", "requests.memory": "8Gi", "limits.cpu": "8", "limits.memory": "16Gi"}


def fired(name: str, records: list[Resource], preview: bool = False) -> list[str]:
    return [message for message, _ in stack_violations(name, records, preview=preview)]


def namespace(name: str, tenant: str) -> Resource:
    labels = {"app.kubernetes.io/part-of": tenant, "pod-security.kubernetes.io/enforce": "restricted"}
    return synthetic(NAMESPACE, {"metadata": {"name": name, "labels": labels}}, name=f"{name}-namespace")


def quota(ns: str, hard: Any = None) -> Resource:
    props = {"metadata": {"name": "compute", "namespace": ns}, "spec": {"hard": HARD if hard is None else hard}}
    return synthetic(QUOTA, props, name=f"{ns}-quota")


def limits(ns: str) -> Resource:
    return synthetic(LIMIT_RANGE, {"metadata": {"name": "defaults", "namespace": ns}, "spec": {}}, name=f"{ns}-limits")


def policy(ns: str, peer: dict[str, Any], name: str = "api") -> Resource:
    props = {
        "metadata": {"name": name, "namespace": ns},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [peer]}]},
    }
    return synthetic(NETPOL, props, name=f"{ns}-{name}")


def route(ns: str, backend: dict[str, Any]) -> Resource:
    props = {"metadata": {"name": "api", "namespace": ns}, "spec": {"rules": [{"backendRefs": [backend]}]}}
    return synthetic(ROUTE, props, name=f"{ns}-route")


TWO_TENANTS = [namespace("rwp-production", "rwp"), namespace("doc-scraper-production", "doc-scraper")]


# --- tenant-namespace-quota


def test_a_tenant_namespace_with_quota_and_limits_passes() -> None:
    records = [
        *TWO_TENANTS,
        *(r for ns in ("rwp-production", "doc-scraper-production") for r in (quota(ns), limits(ns))),
    ]
    assert fired("tenant-namespace-quota", records) == []


def test_a_tenant_namespace_without_quota_fires() -> None:
    records = [*TWO_TENANTS, quota("rwp-production"), limits("rwp-production"), limits("doc-scraper-production")]
    assert fired("tenant-namespace-quota", records) == [
        "tenant doc-scraper: namespace doc-scraper-production has no ResourceQuota capping pods, requests.cpu, "
        "requests.memory, limits.cpu, limits.memory."
    ]


def test_a_quota_that_caps_only_pods_fires() -> None:
    records = [TWO_TENANTS[0], quota("rwp-production", {"pods": "10"}), limits("rwp-production")]
    assert fired("tenant-namespace-quota", records) != []


def test_a_tenant_namespace_without_limit_range_fires() -> None:
    records = [TWO_TENANTS[0], quota("rwp-production")]
    assert fired("tenant-namespace-quota", records) == [
        "tenant rwp: namespace rwp-production has no LimitRange (containers without limits)."
    ]


def test_a_platform_namespace_needs_no_tenant_quota() -> None:
    monitoring = synthetic(NAMESPACE, {"metadata": {"name": "monitoring", "labels": {}}}, name="monitoring")
    assert fired("tenant-namespace-quota", [monitoring]) == []


def test_a_quota_whose_namespace_is_unknown_counts_when_it_depends_on_the_namespace() -> None:
    ns = TWO_TENANTS[0]
    pending = mutate(quota(UNKNOWN), dependencies=(ns.urn,))
    pending_limits = mutate(limits(UNKNOWN), dependencies=(ns.urn,))
    assert fired("tenant-namespace-quota", [ns, pending, pending_limits], preview=True) == []


# --- tenant-no-cross-tenant-traffic


def test_peers_in_the_own_namespace_and_platform_namespaces_pass() -> None:
    records = [
        *TWO_TENANTS,
        policy("rwp-production", {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "worker"}}}),
        policy(
            "rwp-production",
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}},
            name="dns",
        ),
        route("rwp-production", {"name": "api", "port": 3000}),
    ]
    assert fired("tenant-no-cross-tenant-traffic", records) == []


def test_a_policy_admitting_another_tenants_namespace_fires() -> None:
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "doc-scraper-production"}}}
    assert fired("tenant-no-cross-tenant-traffic", [*TWO_TENANTS, policy("rwp-production", peer)]) == [
        "tenant rwp: NetworkPolicy rwp-production/api admits namespace doc-scraper-production of tenant doc-scraper."
    ]


def test_a_policy_admitting_another_tenant_by_label_fires() -> None:
    peer = {"namespaceSelector": {"matchLabels": {"app.kubernetes.io/part-of": "doc-scraper"}}}
    assert fired("tenant-no-cross-tenant-traffic", [*TWO_TENANTS, policy("rwp-production", peer)]) != []


def test_a_policy_admitting_every_namespace_fires() -> None:
    assert fired("tenant-no-cross-tenant-traffic", [*TWO_TENANTS, policy("rwp-production", {"namespaceSelector": {}})])


def test_a_route_to_another_namespace_fires() -> None:
    backend = {"name": "api", "namespace": "doc-scraper-production", "port": 8000}
    assert fired("tenant-no-cross-tenant-traffic", [*TWO_TENANTS, route("rwp-production", backend)]) == [
        "tenant rwp: route rwp-production/api sends traffic to doc-scraper-production/api, outside its namespace."
    ]


def test_an_unknown_selector_is_not_a_violation() -> None:
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": UNKNOWN}}}
    assert fired("tenant-no-cross-tenant-traffic", [*TWO_TENANTS, policy("rwp-production", peer)], preview=True) == []


# --- do-region-allowed: Spaces buckets have regions of their own (nyc1 has no Spaces)

SPACES_CONFIG = {"allowedRegions": ["nyc1"], "allowedSpacesRegions": ["nyc3", "sfo3"]}


def bucket(region: str) -> Resource:
    return synthetic("digitalocean:index/spacesBucket:SpacesBucket", {"name": "b", "region": region, "acl": "private"})


def test_a_bucket_in_an_allowed_spaces_region_passes() -> None:
    assert violations("do-region-allowed", bucket("sfo3"), SPACES_CONFIG) == []


def test_a_bucket_outside_the_spaces_regions_fires() -> None:
    assert violations("do-region-allowed", bucket("ams3"), SPACES_CONFIG) == [
        "region 'ams3' is not in ['nyc3', 'sfo3']."
    ]


def test_the_spaces_regions_do_not_admit_a_database_there() -> None:
    database = synthetic("digitalocean:index/databaseCluster:DatabaseCluster", {"engine": "pg", "region": "sfo3"})
    assert violations("do-region-allowed", database, SPACES_CONFIG) == ["region 'sfo3' is not in ['nyc1']."]


def test_without_spaces_regions_a_bucket_follows_the_allowed_regions() -> None:
    assert violations("do-region-allowed", bucket("nyc3"), {"allowedRegions": ["nyc1"]}) == [
        "region 'nyc3' is not in ['nyc1']."
    ]
