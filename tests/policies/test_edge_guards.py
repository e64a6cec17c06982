"""Edge guards (policies/guards/kubernetes_edge.py): a clean edge passes, each violation fires its guard,
and what a preview cannot know yet is never reported."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.harness import Resource
from tests.policies import samples as s
from tests.policy_adapter import stack_violations, synthetic

GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
HTTPROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"
NAMESPACE = "kubernetes:core/v1:Namespace"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
DOMAINS = {"domains": ["example.com"]}
TENANT_SELECTOR = {
    "from": "Selector",
    "selector": {"matchExpressions": [{"key": "app.kubernetes.io/part-of", "operator": "In", "values": ["shop"]}]},
}


def gateway() -> dict[str, Any]:
    return {
        "metadata": {"name": "edge", "namespace": "gw"},
        "spec": {
            "gatewayClassName": "envoy",
            "listeners": [
                {"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "Same"}}},
                {
                    "name": "https-api",
                    "protocol": "HTTPS",
                    "port": 443,
                    "hostname": "api.example.com",
                    "tls": {"mode": "Terminate", "certificateRefs": [{"name": "api-tls"}]},
                    "allowedRoutes": {"namespaces": copy.deepcopy(TENANT_SELECTOR)},
                },
            ],
        },
    }


def redirect() -> dict[str, Any]:
    return {
        "metadata": {"name": "https-redirect", "namespace": "gw"},
        "spec": {
            "parentRefs": [{"name": "edge", "sectionName": "http"}],
            "rules": [
                {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}
            ],
        },
    }


def route(name: str = "api", path: str = "/v1") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "parentRefs": [{"name": "edge", "namespace": "gw", "sectionName": "https-api"}],
            "hostnames": ["api.example.com"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                    "backendRefs": [{"name": "api", "port": 8000}],
                }
            ],
        },
    }


def auth_policy() -> dict[str, Any]:
    return {
        "metadata": {"name": "admin", "namespace": "shop"},
        "spec": {
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "admin"}],
            "basicAuth": {"users": {"name": "edge-basic-auth"}},
        },
    }


def namespace() -> dict[str, Any]:
    return {"metadata": {"name": "shop", "labels": {"app.kubernetes.io/part-of": "shop"}}}


def edge(**changes: dict[str, Any] | None) -> list[Resource]:
    """The clean edge; ``changes`` replaces (or with None drops) one object's props by name."""
    parts: dict[str, tuple[str, dict[str, Any] | None]] = {
        "ns": (NAMESPACE, namespace()),
        "gateway": (GATEWAY, gateway()),
        "redirect": (HTTPROUTE, redirect()),
        "api": (HTTPROUTE, route()),
        "admin": (HTTPROUTE, route("admin", "/admin/flower")),
        "policy": (POLICY, auth_policy()),
    }
    for key, props in changes.items():
        parts[key] = (parts[key][0], props)
    return [synthetic(kind, props, name=key) for key, (kind, props) in parts.items() if props is not None]


def fired(name: str, records: list[Resource], config: dict[str, Any] | None = None) -> list[str]:
    return [message for message, _ in stack_violations(name, records, config)]


GUARDS = ("k8s-gateway-https-only", "k8s-edge-hostnames", "k8s-gateway-allowed-routes", "k8s-edge-admin-auth")


@pytest.mark.parametrize("guard", GUARDS)
def test_the_clean_edge_passes(guard: str) -> None:
    assert fired(guard, edge(), DOMAINS) == []


# --- k8s-gateway-https-only


def test_a_plain_http_listener_on_another_port_fires() -> None:
    props = s.patched(gateway(), "spec.listeners.0.port", 8080)
    assert fired("k8s-gateway-https-only", edge(gateway=props)) == [
        "Gateway 'edge' serves plain HTTP on port 8080 (only 80, redirecting)."
    ]


def test_a_route_serving_content_on_port_80_fires() -> None:
    props = s.patched(redirect(), "spec.rules.0", {"backendRefs": [{"name": "api", "port": 8000}]})
    assert fired("k8s-gateway-https-only", edge(redirect=props)) == [
        "HTTPRoute 'https-redirect' serves content on Gateway 'edge''s plain-HTTP listener 'http' "
        "(only a RequestRedirect to https may)."
    ]


def test_a_redirect_to_plain_http_counts_as_content() -> None:
    props = s.patched(redirect(), "spec.rules.0.filters.0.requestRedirect.scheme", "http")
    assert fired("k8s-gateway-https-only", edge(redirect=props))


def test_the_http_listener_admitting_other_namespaces_fires() -> None:
    props = s.patched(gateway(), "spec.listeners.0.allowedRoutes.namespaces.from", "All")
    assert "admits routes from 'All' namespaces" in fired("k8s-gateway-https-only", edge(gateway=props))[0]


def test_https_without_a_certificate_or_passthrough_fires() -> None:
    no_cert = s.patched(gateway(), "spec.listeners.1.tls.certificateRefs", [])
    passthrough = s.patched(gateway(), "spec.listeners.1.tls.mode", "Passthrough")
    for props in (no_cert, passthrough):
        assert fired("k8s-gateway-https-only", edge(gateway=props)) == [
            "Gateway 'edge' listener 'https-api' does not terminate TLS with a certificate."
        ]


def test_a_tcp_listener_fires() -> None:
    props = s.patched(gateway(), "spec.listeners.1.protocol", "TCP")
    assert fired("k8s-gateway-https-only", edge(gateway=props)) == [
        "Gateway 'edge' listener 'https-api' is TCP, not HTTPS."
    ]


def test_unknown_listeners_and_rules_are_not_judged() -> None:
    assert fired("k8s-gateway-https-only", edge(gateway=s.patched(gateway(), "spec.listeners", s.UNKNOWN))) == []
    assert fired("k8s-gateway-https-only", edge(redirect=s.patched(redirect(), "spec.rules", s.UNKNOWN))) == []


# --- k8s-edge-hostnames


def test_a_host_outside_the_stacks_domain_fires() -> None:
    props = s.patched(route(), "spec.hostnames", ["api.example.org"])
    assert fired("k8s-edge-hostnames", edge(api=props), DOMAINS) == [
        "HTTPRoute 'api' serves 'api.example.org', outside the stack's domains ['example.com']."
    ]


def test_staging_may_not_claim_a_production_name() -> None:
    assert fired("k8s-edge-hostnames", edge(), {"domains": ["staging.example.com"]})


def test_an_https_listener_without_hostname_fires() -> None:
    props = s.patched(gateway(), "spec.listeners.1.hostname", s.DELETE)
    assert fired("k8s-edge-hostnames", edge(gateway=props), DOMAINS) == [
        "Gateway 'edge' HTTPS listener 'https-api' names no hostname (serves any)."
    ]


def test_legacy_ingress_hosts_are_judged_too() -> None:
    ingress = {"metadata": {"name": "api", "namespace": "shop"}, "spec": {"rules": [{"host": "api.other.net"}]}}
    assert fired("k8s-edge-hostnames", [synthetic(INGRESS, ingress)], DOMAINS)


# --- k8s-gateway-allowed-routes


def test_a_listener_admitting_every_namespace_fires() -> None:
    props = s.patched(gateway(), "spec.listeners.1.allowedRoutes.namespaces", {"from": "All"})
    assert fired("k8s-gateway-allowed-routes", edge(gateway=props)) == [
        "Gateway 'edge' listener 'https-api' admits routes from every namespace."
    ]


def test_an_empty_selector_fires() -> None:
    props = s.patched(gateway(), "spec.listeners.1.allowedRoutes.namespaces", {"from": "Selector", "selector": {}})
    assert fired("k8s-gateway-allowed-routes", edge(gateway=props))


def test_a_route_from_an_unlabelled_namespace_fires() -> None:
    unlabelled = {"metadata": {"name": "shop", "labels": {}}}
    suffix = "attaches to Gateway 'edge' listener 'https-api' from namespace 'shop', which it does not admit."
    assert fired("k8s-gateway-allowed-routes", edge(ns=unlabelled)) == [
        f"HTTPRoute 'api' {suffix}",
        f"HTTPRoute 'admin' {suffix}",
    ]


def test_a_namespace_not_in_the_stack_or_with_unknown_labels_is_not_judged() -> None:
    assert fired("k8s-gateway-allowed-routes", edge(ns=None)) == []
    assert fired("k8s-gateway-allowed-routes", edge(ns=s.patched(namespace(), "metadata.labels", s.UNKNOWN))) == []


# --- k8s-edge-admin-auth


def test_an_admin_path_without_an_auth_policy_fires() -> None:
    assert fired("k8s-edge-admin-auth", edge(policy=None)) == [
        "HTTPRoute 'admin' routes ['/admin/flower'] with no authenticating SecurityPolicy."
    ]


def test_a_policy_without_an_authentication_method_does_not_count() -> None:
    cors_only = s.patched(auth_policy(), "spec.basicAuth", s.DELETE)
    assert fired("k8s-edge-admin-auth", edge(policy=s.patched(cors_only, "spec.cors", {"allowOrigins": ["*"]})))


def test_a_policy_in_another_namespace_does_not_count() -> None:
    assert fired("k8s-edge-admin-auth", edge(policy=s.patched(auth_policy(), "metadata.namespace", "other")))


def test_an_admin_path_slipped_into_a_public_route_fires() -> None:
    props = s.patched(route(), "spec.rules.+", {"matches": [{"path": {"type": "PathPrefix", "value": "/admin"}}]})
    assert fired("k8s-edge-admin-auth", edge(api=props)) == [
        "HTTPRoute 'api' routes ['/admin'] with no authenticating SecurityPolicy."
    ]


def test_an_unknown_policy_is_not_judged() -> None:
    assert fired("k8s-edge-admin-auth", edge(policy=s.patched(auth_policy(), "spec", s.UNKNOWN))) == []


def test_a_legacy_admin_ingress_needs_auth_annotations() -> None:
    ingress: dict[str, Any] = {
        "metadata": {"name": "admin", "namespace": "shop", "annotations": {}},
        "spec": {"rules": [{"host": "api.example.com", "http": {"paths": [{"path": "/admin/flower"}]}}]},
    }
    assert fired("k8s-edge-admin-auth", [synthetic(INGRESS, ingress)])
    ingress["metadata"]["annotations"] = {"nginx.ingress.kubernetes.io/auth-type": "basic"}
    assert fired("k8s-edge-admin-auth", [synthetic(INGRESS, ingress)]) == []
