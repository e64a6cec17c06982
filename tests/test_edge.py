"""Edge: the tenant's routes on the serving edge (Gateway API by default), the LB read back for DNS and Project,
and the migration from ingress-nginx (both edges up, DNS on the serving one)."""

from __future__ import annotations

import functools
from typing import Any

import pulumi_kubernetes as k8s
import pytest

from components.edge import Edge, EdgeArgs, EdgeRoute, relative_name
from tests.harness import INVOKES, UNKNOWN, StackRun, component_run, run_main

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
HTTPROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
SECURITY_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
RELEASE = "kubernetes:helm.sh/v3:Release"


@functools.cache
def migrating(stack: str, implementation: str, standby: str) -> StackRun:
    """A stack half-way through the migration: ``implementation`` serves, ``standby`` runs beside it."""
    return run_main(stack, overrides={"edge": {"implementation": implementation, "standby": standby}})


def seed_namespace(run: StackRun) -> str:
    return f"niche-discovery-{run.stack}"


def tenant_routes(run: StackRun) -> dict[str, dict[str, Any]]:
    """The seed tenant's HTTPRoutes (other tenants' and the Gateway's own redirect route excluded)."""
    return {
        r.inputs["metadata"]["name"]: r.inputs
        for r in run.of_type(HTTPROUTE)
        if r.inputs["metadata"]["namespace"] == seed_namespace(run)
    }


def ingresses(run: StackRun) -> dict[str, dict[str, Any]]:
    return {
        r.inputs["metadata"]["name"]: r.inputs
        for r in run.of_type(INGRESS)
        if r.inputs["metadata"]["namespace"] == seed_namespace(run)
    }


def lookups(run: StackRun) -> list[dict[str, Any]]:
    return [args for token, args in run.calls if token.endswith("getLoadBalancer")]


# --- Gateway API (the default) --------------------------------------------------------------------


def test_new_stacks_route_through_the_gateway_and_run_no_ingress_nginx(up_run: StackRun) -> None:
    assert not up_run.of_type(INGRESS)
    assert not [r for r in up_run.of_type(RELEASE) if r.inputs["chart"] == "ingress-nginx"]
    assert set(tenant_routes(up_run)) == {"api", "api-basic-auth", "dashboard"}


def test_production_hosts_attach_to_their_https_listeners(production: StackRun) -> None:
    found = tenant_routes(production)
    assert found["api"]["spec"]["hostnames"] == ["api.nichediscovery.com"]
    assert found["api"]["spec"]["parentRefs"][0]["sectionName"] == "https-api-nichediscovery-com"
    assert found["dashboard"]["spec"]["parentRefs"][0]["name"] == "edge"


def test_staging_hosts_are_under_its_subdomain(staging: StackRun) -> None:
    hosts = {h for r in tenant_routes(staging).values() for h in r["spec"]["hostnames"]}
    assert hosts == {"api.staging.nichediscovery.com", "dashboard.staging.nichediscovery.com"}


def test_flower_is_only_reachable_under_the_authenticated_admin_path(production: StackRun) -> None:
    found = tenant_routes(production)
    admin = found["api-basic-auth"]["spec"]["rules"]
    assert [(r["matches"][0]["path"]["value"], r["backendRefs"][0]["name"]) for r in admin] == [
        ("/admin/flower", "flower")
    ]
    policies = {
        p.inputs["spec"]["targetRefs"][0]["name"]
        for p in production.of_type(SECURITY_POLICY)
        if p.inputs["metadata"]["namespace"] == seed_namespace(production)
    }
    assert policies == {"api-basic-auth"}
    public = {
        b["name"]
        for n, r in found.items()
        if n != "api-basic-auth"
        for rule in r["spec"]["rules"]
        for b in rule["backendRefs"]
    }
    assert "flower" not in public


def test_basic_auth_secret_is_secret(up_run: StackRun) -> None:
    secrets = [
        r for r in up_run.of_type("kubernetes:core/v1:Secret") if r.inputs["metadata"]["name"] == "edge-basic-auth"
    ]
    assert secrets and all("stringData" in secret.secret_inputs for secret in secrets)


def test_the_gateways_proxies_reach_only_the_http_ports_of_the_tenant(production: StackRun) -> None:
    policy = next(
        r.inputs
        for r in production.of_type(NETWORK_POLICY)
        if r.inputs["metadata"]["name"] == "allow-edge-gateway"
        and r.inputs["metadata"]["namespace"] == seed_namespace(production)
    )
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": "http"}]
    assert rule["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "envoy-gateway-system"
    }


def test_dns_records_point_at_the_ccm_load_balancer(staging: StackRun) -> None:
    records = {r.inputs["name"]: r.inputs for r in staging.of_type("digitalocean:index/dnsRecord:DnsRecord")}
    assert {"api.staging", "dashboard.staging", "lb.staging"} <= set(records)
    # Every host of every tenant served by the Gateway gets its record (one load balancer for all).
    listeners = staging.one("kubernetes:gateway.networking.k8s.io/v1:Gateway").inputs["spec"]["listeners"]
    served = {item["hostname"].removesuffix(".nichediscovery.com") for item in listeners if "hostname" in item}
    assert served <= set(records)
    assert all(r["domain"] == "nichediscovery.com" and r["type"] == "A" for r in records.values())
    # Whatever address the lookup by name answers (the mock's, here) is what every record points at.
    looked_up = [INVOKES[token](args) for token, args in staging.calls if token.endswith("getLoadBalancer")]
    assert len(looked_up) == 1
    assert {r["value"] for r in records.values()} == {looked_up[0]["ip"]}
    assert staging.outputs["loadBalancerIp"] == looked_up[0]["ip"]


def test_the_gateways_load_balancer_is_read_back_by_its_stable_name(up_run: StackRun) -> None:
    assert lookups(up_run) == [{"name": f"niche-discovery-{up_run.stack}-gateway"}]


def test_load_balancer_joins_the_stacks_project(up_run: StackRun) -> None:
    members = [r.inputs["resources"] for r in up_run.of_type("digitalocean:index/projectResources:ProjectResources")]
    looked_up = [INVOKES[token](args) for token, args in up_run.calls if token.endswith("getLoadBalancer")]
    assert [looked_up[0]["loadBalancerUrn"]] in members


def test_first_preview_does_not_look_up_a_load_balancer_that_does_not_exist(staging_preview: StackRun) -> None:
    assert staging_preview.outputs["loadBalancerIp"] == UNKNOWN
    assert not lookups(staging_preview)
    records = staging_preview.of_type("digitalocean:index/dnsRecord:DnsRecord")
    assert records and all(r.inputs["value"] == UNKNOWN for r in records)


# --- Migration from ingress-nginx -------------------------------------------------------------------


def test_before_the_dns_move_ingress_nginx_serves_and_the_gateway_stands_by() -> None:
    run = migrating("staging", "ingress-nginx", "gateway")
    assert set(ingresses(run)) == {"api", "api-basic-auth", "dashboard"}
    assert set(tenant_routes(run)) == {"api", "api-basic-auth", "dashboard"}
    # DNS stays on the old load balancer; the Gateway's has its own name, so both coexist.
    assert lookups(run) == [{"name": "niche-discovery-staging-ingress"}]
    issuer = run.one("kubernetes:cert-manager.io/v1:ClusterIssuer").inputs["spec"]["acme"]
    assert issuer["solvers"] == [{"http01": {"ingress": {"ingressClassName": "nginx"}}}]
    names = {
        r.inputs["metadata"]["name"]
        for r in run.of_type(NETWORK_POLICY)
        if r.inputs["metadata"]["namespace"] == seed_namespace(run)
    }
    assert {"allow-edge-gateway", "allow-edge-ingress-nginx"} <= names


def test_after_the_dns_move_the_gateway_serves_and_ingress_nginx_drains() -> None:
    run = migrating("staging", "gateway", "ingress-nginx")
    assert ingresses(run) and tenant_routes(run)
    assert lookups(run) == [{"name": "niche-discovery-staging-gateway"}]
    issuer = run.one("kubernetes:cert-manager.io/v1:ClusterIssuer").inputs["spec"]["acme"]
    assert "gatewayHTTPRoute" in issuer["solvers"][0]["http01"]


def test_the_legacy_ingresses_force_https_rate_limit_and_share_one_certificate_per_host() -> None:
    found = ingresses(migrating("production", "ingress-nginx", "gateway"))
    assert found["api"]["spec"]["tls"] == [{"hosts": ["api.nichediscovery.com"], "secretName": "api-tls"}]
    assert found["api-basic-auth"]["spec"]["tls"][0]["secretName"] == "api-tls"
    issuers = [name for name, i in found.items() if "cert-manager.io/cluster-issuer" in i["metadata"]["annotations"]]
    assert sorted(issuers) == ["api", "dashboard"]
    for ingress in found.values():
        annotations = ingress["metadata"]["annotations"]
        assert annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
        assert annotations["nginx.ingress.kubernetes.io/limit-rpm"] == "100"
    assert found["api-basic-auth"]["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-type"] == "basic"


# --- Component contract -------------------------------------------------------------------------------


def _edge_args(**changes: Any) -> EdgeArgs:
    release = k8s.helm.v3.Release("ingress", chart="ingress-nginx")
    base: dict[str, Any] = {
        "namespace": "tenant",
        "tenant": "tenant",
        "domain": "example.com",
        "base_domain": "example.com",
        "routes": [EdgeRoute("admin", "/", "flower", 5555, auth="basic")],
        "cluster_issuer": "letsencrypt-prod",
        "ingress_class": "nginx",
        "rate_limit_rpm": 100,
        "load_balancer_name": "lb",
        "load_balancer_hostname": "lb.example.com",
        "edge_ready": release.status,
        "ingress_release": release,
        "project_id": "project",
        "basic_auth_htpasswd": "admin:{SHA}x=",
    }
    return EdgeArgs(**{**base, **changes})


def test_basic_auth_routes_need_an_htpasswd() -> None:
    with pytest.raises(Exception, match="no htpasswd"):
        component_run(lambda: Edge("edge", _edge_args(basic_auth_htpasswd=None)))


def test_load_balancer_hostname_must_be_in_the_zone() -> None:
    with pytest.raises(Exception, match="not under the zone"):
        component_run(lambda: Edge("edge", _edge_args(load_balancer_hostname="lb.other.org")))


def test_the_gateway_edge_needs_the_gateway() -> None:
    with pytest.raises(Exception, match="no gateway was given"):
        component_run(lambda: Edge("edge", _edge_args(implementations=("gateway",))))


def test_every_argument_problem_is_reported_at_once_before_anything_is_registered() -> None:
    changes: dict[str, Any] = {
        "basic_auth_htpasswd": None,
        "extra_hosts": ["videos.example.org"],
        "implementations": ("gateway",),
    }
    with pytest.raises(Exception, match="no htpasswd") as info:
        component_run(lambda: Edge("edge", _edge_args(**changes)))
    message = str(info.value)
    assert "no gateway was given" in message
    assert "extra host videos.example.org is not under the base domain example.com" in message
    # Only the test's own stand-in release exists: the Edge registered nothing of its own.
    registered = info.value.stack_run.resources  # type: ignore[attr-defined]
    assert [r.type for r in registered if r.type != "platform:edge:Edge"] == ["kubernetes:helm.sh/v3:Release"]


def test_other_tenants_hosts_get_records_too() -> None:
    run = component_run(lambda: Edge("edge", _edge_args(extra_hosts=["videos.example.com"])))
    names = {r.inputs["name"] for r in run.of_type("digitalocean:index/dnsRecord:DnsRecord")}
    assert names == {"admin", "videos", "lb"}


def test_record_names_are_relative_to_the_zone() -> None:
    assert relative_name("api.staging.example.com", "example.com") == "api.staging"
    with pytest.raises(ValueError, match="not inside"):
        relative_name("api.example.org", "example.com")
