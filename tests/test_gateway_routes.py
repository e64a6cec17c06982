"""TenantRoutes: a tenant's HTTPRoutes on the shared Gateway, and basic auth on its admin paths."""

from __future__ import annotations

from typing import Any

import pytest

from components.edge import EdgeRoute
from components.gateway import GatewayRef, listener_name
from components.gateway_routes import TenantRoutes, TenantRoutesArgs, sha_htpasswd
from tests.harness import StackRun, component_run

HTTPROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
SECURITY_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"
HOSTS = ("api.example.com", "dashboard.example.com")
GATEWAY = GatewayRef("edge", "envoy-gateway-system", {h: listener_name(h) for h in HOSTS})
ROUTES = (
    EdgeRoute("api", "/v1", "api", 8000),
    EdgeRoute("api", "/health", "api", 8000),
    EdgeRoute("api", "/admin/flower", "flower", 5555, auth="basic"),
    EdgeRoute("dashboard", "/", "dashboard", 3000),
)


def _args(**changes: Any) -> TenantRoutesArgs:
    base: dict[str, Any] = {
        "namespace": "tenant-a",
        "tenant": "tenant-a",
        "routes": ROUTES,
        "base_domain": "example.com",
        "gateway": GATEWAY,
        "basic_auth_htpasswd": "admin:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=",
    }
    return TenantRoutesArgs(**{**base, **changes})


def _routes(run: StackRun) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in run.of_type(HTTPROUTE)}


def test_one_route_per_host_and_auth_in_the_tenants_namespace() -> None:
    found = _routes(component_run(lambda: TenantRoutes("t", _args())))
    assert set(found) == {"api", "api-basic-auth", "dashboard"}
    assert {r["metadata"]["namespace"] for r in found.values()} == {"tenant-a"}
    assert found["api"]["spec"]["hostnames"] == ["api.example.com"]
    assert [rule["matches"][0]["path"] for rule in found["api"]["spec"]["rules"]] == [
        {"type": "PathPrefix", "value": "/health"},
        {"type": "PathPrefix", "value": "/v1"},
    ]


def test_routes_attach_only_to_their_hosts_https_listener() -> None:
    found = _routes(component_run(lambda: TenantRoutes("t", _args())))
    assert found["dashboard"]["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "edge",
            "namespace": "envoy-gateway-system",
            "sectionName": "https-dashboard-example-com",
        }
    ]


def test_the_admin_path_has_its_own_route_behind_basic_auth() -> None:
    run = component_run(lambda: TenantRoutes("t", _args()))
    admin = _routes(run)["api-basic-auth"]
    assert [r["backendRefs"] for r in admin["spec"]["rules"]] == [[{"name": "flower", "port": 5555}]]
    policy = run.one(SECURITY_POLICY)
    assert policy.inputs["spec"]["targetRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "api-basic-auth"}
    ]
    assert policy.inputs["spec"]["basicAuth"] == {"users": {"name": "edge-basic-auth"}}
    public = {
        b["name"]
        for n, r in _routes(run).items()
        if n != "api-basic-auth"
        for rule in r["spec"]["rules"]
        for b in rule["backendRefs"]
    }
    assert "flower" not in public


def test_the_htpasswd_secret_is_secret_and_in_envoys_key() -> None:
    run = component_run(lambda: TenantRoutes("t", _args()))
    secret = run.one("kubernetes:core/v1:Secret")
    assert "stringData" in secret.secret_inputs
    assert secret.inputs["stringData"][".htpasswd"].startswith("admin:{SHA}")


def test_a_host_without_a_listener_is_refused_before_anything_is_registered() -> None:
    routes = (*ROUTES, EdgeRoute("admin", "/", "flower", 5555))
    with pytest.raises(Exception, match=r"admin\.example\.com has no HTTPS listener") as info:
        component_run(lambda: TenantRoutes("t", _args(routes=routes)))
    assert not [r for r in info.value.stack_run.resources if r.type != "platform:edge:TenantRoutes"]  # type: ignore[attr-defined]


def test_basic_auth_routes_need_an_htpasswd() -> None:
    with pytest.raises(Exception, match="no htpasswd was given"):
        component_run(lambda: TenantRoutes("t", _args(basic_auth_htpasswd=None)))


def test_bad_paths_and_auth_kinds_are_all_reported() -> None:
    routes = (EdgeRoute("api", "v1", "api", 8000, auth="oidc"),)
    with pytest.raises(Exception, match=r"auth 'oidc'.*a path starts with '/'"):
        component_run(lambda: TenantRoutes("t", _args(routes=routes)))


def test_only_sha1_htpasswd_entries_are_accepted() -> None:
    assert sha_htpasswd("admin:{SHA}abc=\n\n") == "admin:{SHA}abc=\n"
    with pytest.raises(ValueError, match=r"\['admin'\] are not SHA-1.*htpasswd -nbs"):
        sha_htpasswd("admin:$2y$05$bcrypt")
    with pytest.raises(ValueError, match="empty"):
        sha_htpasswd("")
