"""Edge: Ingresses with TLS, redirect, rate limit and admin auth; the LB read back for DNS and Project."""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s
import pytest

from components.edge import Edge, EdgeArgs, EdgeRoute, relative_name
from tests.harness import INVOKES, UNKNOWN, StackRun, component_run

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


def ingresses(run: StackRun) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in run.of_type(INGRESS)}


def test_hosts_are_served_over_tls_from_one_certificate_each(production: StackRun) -> None:
    found = ingresses(production)
    assert set(found) == {"api", "api-basic-auth", "dashboard"}
    assert found["api"]["spec"]["tls"] == [{"hosts": ["api.nichediscovery.com"], "secretName": "api-tls"}]
    assert found["api-basic-auth"]["spec"]["tls"][0]["secretName"] == "api-tls"
    issuers = [name for name, i in found.items() if "cert-manager.io/cluster-issuer" in i["metadata"]["annotations"]]
    assert sorted(issuers) == ["api", "dashboard"]


def test_staging_hosts_are_under_its_subdomain(staging: StackRun) -> None:
    hosts = {rule["host"] for i in ingresses(staging).values() for rule in i["spec"]["rules"]}
    assert hosts == {"api.staging.nichediscovery.com", "dashboard.staging.nichediscovery.com"}


def test_every_ingress_forces_https_and_rate_limits(up_run: StackRun) -> None:
    for ingress in ingresses(up_run).values():
        annotations = ingress["metadata"]["annotations"]
        assert annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
        assert annotations["nginx.ingress.kubernetes.io/limit-rpm"] == "100"
        assert ingress["spec"]["ingressClassName"] == "nginx"


def test_flower_is_only_reachable_under_the_authenticated_admin_path(production: StackRun) -> None:
    found = ingresses(production)
    admin = found["api-basic-auth"]
    assert admin["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-type"] == "basic"
    paths = admin["spec"]["rules"][0]["http"]["paths"]
    assert [(p["path"], p["backend"]["service"]["name"], p["backend"]["service"]["port"]["number"]) for p in paths] == [
        ("/admin/flower", "flower", 5555)
    ]
    public_backends = {
        p["backend"]["service"]["name"]
        for name, i in found.items()
        if name != "api-basic-auth"
        for p in i["spec"]["rules"][0]["http"]["paths"]
    }
    assert "flower" not in public_backends


def test_basic_auth_secret_is_secret(up_run: StackRun) -> None:
    secret = next(
        r for r in up_run.of_type("kubernetes:core/v1:Secret") if r.inputs["metadata"]["name"] == "ingress-basic-auth"
    )
    assert "stringData" in secret.secret_inputs


def test_dns_records_point_at_the_ccm_load_balancer(staging: StackRun) -> None:
    records = {r.inputs["name"]: r.inputs for r in staging.of_type("digitalocean:index/dnsRecord:DnsRecord")}
    assert set(records) == {"api.staging", "dashboard.staging", "lb.staging"}
    assert all(r["domain"] == "nichediscovery.com" and r["type"] == "A" for r in records.values())
    # Whatever address the lookup by name answers (the mock's, here) is what every record points at.
    looked_up = [INVOKES[token](args) for token, args in staging.calls if token.endswith("getLoadBalancer")]
    assert len(looked_up) == 1
    assert {r["value"] for r in records.values()} == {looked_up[0]["ip"]}
    assert staging.outputs["loadBalancerIp"] == looked_up[0]["ip"]


def test_load_balancer_is_read_back_by_its_stable_name(up_run: StackRun) -> None:
    lookups = [args for token, args in up_run.calls if token.endswith("getLoadBalancer")]
    assert lookups == [{"name": f"niche-discovery-{up_run.stack}-ingress"}]


def test_load_balancer_joins_the_stacks_project(up_run: StackRun) -> None:
    members = [r.inputs["resources"] for r in up_run.of_type("digitalocean:index/projectResources:ProjectResources")]
    looked_up = [INVOKES[token](args) for token, args in up_run.calls if token.endswith("getLoadBalancer")]
    assert [looked_up[0]["loadBalancerUrn"]] in members


def test_first_preview_does_not_look_up_a_load_balancer_that_does_not_exist(staging_preview: StackRun) -> None:
    assert staging_preview.outputs["loadBalancerIp"] == UNKNOWN
    assert not [token for token, _ in staging_preview.calls if token.endswith("getLoadBalancer")]
    records = staging_preview.of_type("digitalocean:index/dnsRecord:DnsRecord")
    assert records and all(r.inputs["value"] == UNKNOWN for r in records)


def _edge_args(**changes: Any) -> EdgeArgs:
    release = k8s.helm.v3.Release("ingress", chart="ingress-nginx")
    base: dict[str, Any] = {
        "namespace": "tenant",
        "domain": "example.com",
        "base_domain": "example.com",
        "routes": [EdgeRoute("admin", "/", "flower", 5555, auth="basic")],
        "cluster_issuer": "letsencrypt-prod",
        "ingress_class": "nginx",
        "rate_limit_rpm": 100,
        "load_balancer_name": "lb",
        "load_balancer_hostname": "lb.example.com",
        "ingress_release": release,
        "project_id": "project",
        "basic_auth_htpasswd": "admin:hash",
    }
    return EdgeArgs(**{**base, **changes})


def test_basic_auth_routes_need_an_htpasswd() -> None:
    with pytest.raises(Exception, match="no htpasswd"):
        component_run(lambda: Edge("edge", _edge_args(basic_auth_htpasswd=None)))


def test_load_balancer_hostname_must_be_in_the_zone() -> None:
    with pytest.raises(Exception, match="not under the zone"):
        component_run(lambda: Edge("edge", _edge_args(load_balancer_hostname="lb.other.org")))


def test_record_names_are_relative_to_the_zone() -> None:
    assert relative_name("api.staging.example.com", "example.com") == "api.staging"
    with pytest.raises(ValueError, match="not inside"):
        relative_name("api.example.org", "example.com")
