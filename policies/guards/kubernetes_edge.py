"""Edge guards: the Gateway API objects (and legacy Ingresses) that face the internet.

* public listeners are HTTPS; port 80 only redirects (its listener admits only its own namespace's
  routes, and those carry nothing but a RequestRedirect to https);
* every public hostname is inside the stack's domain(s), so staging never claims production names;
* HTTPS listeners admit routes only from selected namespaces (never ``All``), and a route attaches
  only where its namespace is admitted;
* admin paths (``/admin`` by default) carry an auth policy: an Envoy Gateway SecurityPolicy with an
  authentication method on the HTTPRoute, or ingress-nginx auth annotations on the Ingress.

Stack guards, because each rule relates objects (a listener and its routes, a route and its policy,
a route and its namespace). Relations are matched by name and namespace; what is unknown during a
preview is skipped, never reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import Severity

from ._base import StackResource, as_dict, as_list, dig, is_unknown, stack_guard

GROUP = "kubernetes-edge"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
HTTPROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
SECURITY_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
NAMESPACE = "kubernetes:core/v1:Namespace"
AUTH_METHODS = ("basicAuth", "oidc", "jwt", "extAuth", "apiKeyAuth")
"""SecurityPolicy fields that authenticate a request (cors/authorization alone do not)."""
INGRESS_AUTH = ("nginx.ingress.kubernetes.io/auth-type", "nginx.ingress.kubernetes.io/auth-url")


def _known(value: Any) -> bool:
    return value is not None and not is_unknown(value)


def _meta(r: StackResource, field: str, default: Any = None) -> Any:
    return dig(r.props, "metadata", field, default=default)


def _label(r: StackResource) -> str:
    name = _meta(r, "name")
    return f"{r.type.rsplit(':', 1)[-1]} {name if _known(name) else r.name!r}"


def _listeners(gateway: StackResource) -> list[dict[str, Any]]:
    listeners = dig(gateway.props, "spec", "listeners")
    return [] if is_unknown(listeners) else [as_dict(x) for x in as_list(listeners)]


def _attached(route: StackResource, gateway: StackResource, listener: Mapping[str, Any]) -> bool | None:
    """Whether the route names this gateway's listener among its parents (None: cannot tell yet)."""
    route_ns, gw_name, gw_ns = (
        _meta(route, "namespace", "default"),
        _meta(gateway, "name"),
        _meta(gateway, "namespace", "default"),
    )
    parents = dig(route.props, "spec", "parentRefs")
    if not all(_known(v) for v in (route_ns, gw_name, gw_ns, parents)):
        return None
    for item in as_list(parents):
        ref = as_dict(item)
        if any(is_unknown(v) for v in ref.values()):
            return None
        if ref.get("kind", "Gateway") != "Gateway" or ref.get("name") != gw_name:
            continue
        if ref.get("namespace", route_ns) != gw_ns:
            continue
        section, port = ref.get("sectionName"), ref.get("port")
        if (section is None or section == listener.get("name")) and (port is None or port == listener.get("port")):
            return True
    return False


def _redirects_only(route: StackResource) -> bool | None:
    rules = dig(route.props, "spec", "rules")
    if is_unknown(rules):
        return None
    for item in as_list(rules):
        rule = as_dict(item)
        if as_list(rule.get("backendRefs")):
            return False
        filters = [as_dict(f) for f in as_list(rule.get("filters"))]
        redirects = [f for f in filters if f.get("type") == "RequestRedirect"]
        if not redirects or any(dig(f, "requestRedirect", "scheme") != "https" for f in redirects):
            return False
    return bool(as_list(rules))


@stack_guard(
    "k8s-gateway-https-only",
    description="Public Gateway listeners are HTTPS with a certificate; port 80 only redirects to https.",
    severity=Severity.HIGH,
    remediation="Give every listener protocol HTTPS, tls.mode Terminate and a certificateRefs Secret (cert-manager); "
    "keep one HTTP listener on port 80 with allowedRoutes.namespaces.from: Same whose only HTTPRoute is a "
    "RequestRedirect filter with scheme https and no backendRefs (components/gateway.py).",
    group=GROUP,
)
def gateway_https_only(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    routes = [r for r in resources if r.type == HTTPROUTE]
    for gateway in resources:
        if gateway.type != GATEWAY:
            continue
        for listener in _listeners(gateway):
            protocol, name = listener.get("protocol"), listener.get("name")
            if not _known(protocol):
                continue
            if protocol == "HTTPS":
                if _terminates_tls(listener) is False:
                    yield f"{_label(gateway)} listener {name!r} does not terminate TLS with a certificate.", gateway.urn
            elif protocol == "HTTP":
                yield from _plain_http_problems(gateway, listener, routes)
            else:
                yield f"{_label(gateway)} listener {name!r} is {protocol}, not HTTPS.", gateway.urn


def _terminates_tls(listener: Mapping[str, Any]) -> bool | None:
    tls = listener.get("tls")
    if is_unknown(tls):
        return None
    refs = dig(tls, "certificateRefs")
    if dig(tls, "mode", default="Terminate") != "Terminate":
        return False
    return None if is_unknown(refs) else bool(as_list(refs))


def _plain_http_problems(
    gateway: StackResource, listener: Mapping[str, Any], routes: list[StackResource]
) -> Iterable[tuple[str, str | None]]:
    name, port = listener.get("name"), listener.get("port")
    allowed = dig(listener, "allowedRoutes", "namespaces", "from", default="Same")
    if _known(port) and port != 80:  # the HTTP port
        yield f"{_label(gateway)} serves plain HTTP on port {port} (only 80, redirecting).", gateway.urn
    if _known(allowed) and allowed != "Same":
        yield (
            f"{_label(gateway)} HTTP listener {name!r} admits routes from {allowed!r} namespaces "
            "(only its own, where the redirect lives).",
            gateway.urn,
        )
    for route in routes:
        if _attached(route, gateway, listener) and _redirects_only(route) is False:
            yield (
                f"{_label(route)} serves content on {_label(gateway)}'s plain-HTTP listener {name!r} "
                "(only a RequestRedirect to https may).",
                route.urn,
            )


def _in_domains(host: str, domains: list[str]) -> bool:
    return any(host == d or host.endswith(f".{d}") for d in domains)


@stack_guard(
    "k8s-edge-hostnames",
    description="Every public hostname (Gateway listener, HTTPRoute, Ingress) is inside the stack's domains.",
    severity=Severity.HIGH,
    remediation="Set the hosts from edge.domain/edge.subdomain (staging under its subdomain), and list the stack's "
    "base domain under `domains` in policies/config/<stack>.json; an HTTPS listener always names its hostname.",
    group=GROUP,
    config={
        "domains": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Domains the stack may serve (a host is one of them or a name under one).",
            "default": [],
        }
    },
)
def edge_hostnames(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    domains = list(cfg["domains"])
    for r in resources:
        hosts: list[Any] = []
        if r.type == GATEWAY:
            for listener in _listeners(r):
                host = listener.get("hostname")
                if host is None and listener.get("protocol") == "HTTPS":
                    yield f"{_label(r)} HTTPS listener {listener.get('name')!r} names no hostname (serves any).", r.urn
                hosts.append(host)
        elif r.type == HTTPROUTE:
            names = dig(r.props, "spec", "hostnames")
            hosts = [] if is_unknown(names) else as_list(names)
        elif r.type == INGRESS:
            rules = dig(r.props, "spec", "rules")
            hosts = [] if is_unknown(rules) else [dig(rule, "host") for rule in as_list(rules)]
        for host in hosts:
            if _known(host) and not _in_domains(str(host), domains):
                yield f"{_label(r)} serves {host!r}, outside the stack's domains {domains}.", r.urn


def _selects(selector: Any, labels: Mapping[str, Any]) -> bool | None:
    """A LabelSelector against known labels (None: cannot tell)."""
    if is_unknown(selector):
        return None
    selector = as_dict(selector)
    for label, value in as_dict(selector.get("matchLabels")).items():
        if is_unknown(value):
            return None
        if labels.get(label) != value:
            return False
    for item in as_list(selector.get("matchExpressions")):
        expr = as_dict(item)
        key, op, values = expr.get("key"), expr.get("operator"), as_list(expr.get("values"))
        if any(is_unknown(v) for v in (key, op, *values)):
            return None
        key = str(key)
        present = key in labels
        verdict = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(str(op), False)
        if not verdict:
            return False
    return True


@stack_guard(
    "k8s-gateway-allowed-routes",
    description="HTTPS listeners admit routes only from selected namespaces, and routes attach only from those.",
    severity=Severity.HIGH,
    remediation="Set allowedRoutes.namespaces to from: Selector with a selector naming the tenants' label (or "
    "Same), never All or an empty selector; create tenant routes only in namespaces that carry the label.",
    group=GROUP,
)
def gateway_allowed_routes(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    namespaces = {_meta(n, "name"): n for n in resources if n.type == NAMESPACE and _known(_meta(n, "name"))}
    routes = [r for r in resources if r.type == HTTPROUTE]
    for gateway in resources:
        if gateway.type != GATEWAY:
            continue
        for listener in _listeners(gateway):
            allowed = dig(listener, "allowedRoutes", "namespaces")
            if listener.get("protocol") != "HTTPS" or is_unknown(allowed):
                continue
            source, selector = dig(allowed, "from", default="Same"), dig(allowed, "selector")
            label = f"{_label(gateway)} listener {listener.get('name')!r}"
            if source == "All":
                yield f"{label} admits routes from every namespace.", gateway.urn
                continue
            if source == "Selector" and not is_unknown(selector) and _empty(selector):
                yield f"{label} selects every namespace (empty selector).", gateway.urn
                continue
            for route in routes:
                if (
                    _attached(route, gateway, listener)
                    and _admitted(route, gateway, source, selector, namespaces) is False
                ):
                    route_ns = _meta(route, "namespace", "default")
                    yield (
                        f"{_label(route)} attaches to {label} from namespace {route_ns!r}, which it does not admit.",
                        route.urn,
                    )


def _empty(selector: Any) -> bool:
    sel = as_dict(selector)
    return not as_dict(sel.get("matchLabels")) and not as_list(sel.get("matchExpressions"))


def _admitted(
    route: StackResource, gateway: StackResource, source: Any, selector: Any, namespaces: Mapping[Any, StackResource]
) -> bool | None:
    """Whether the listener admits the route's namespace (None: the namespace's labels are not known here)."""
    route_ns = _meta(route, "namespace", "default")
    if source == "Same":
        return bool(route_ns == _meta(gateway, "namespace", "default"))
    ns = namespaces.get(route_ns)
    labels = None if ns is None else _meta(ns, "labels", {})
    if labels is None or is_unknown(labels) or any(is_unknown(v) for v in as_dict(labels).values()):
        return None
    return _selects(selector, {**as_dict(labels), "kubernetes.io/metadata.name": route_ns})


def _admin_paths(paths: Iterable[Any], prefixes: list[str]) -> list[str]:
    return [p for p in paths if _known(p) and any(str(p).startswith(prefix) for prefix in prefixes)]


@stack_guard(
    "k8s-edge-admin-auth",
    description="Routes to admin paths carry an authentication policy (never an open admin UI).",
    severity=Severity.CRITICAL,
    remediation="Put the admin path in its own HTTPRoute targeted by a SecurityPolicy with basicAuth (or oidc/jwt/"
    "extAuth) in the same namespace (components/gateway_routes.py); on a legacy Ingress, annotate "
    "nginx.ingress.kubernetes.io/auth-type: basic with its auth-secret.",
    group=GROUP,
    config={
        "adminPaths": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Path prefixes that lead to admin UIs (Flower, dashboards).",
            "default": ["/admin"],
        }
    },
)
def edge_admin_auth(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    prefixes = list(cfg["adminPaths"])
    policies = [p for p in resources if p.type == SECURITY_POLICY]
    for r in resources:
        if r.type == HTTPROUTE:
            rules = dig(r.props, "spec", "rules")
            if is_unknown(rules):
                continue
            paths = [dig(m, "path", "value") for rule in as_list(rules) for m in as_list(dig(rule, "matches"))]
            admin = _admin_paths(paths, prefixes)
            if admin and _authenticated(r, policies) is False:
                yield f"{_label(r)} routes {admin} with no authenticating SecurityPolicy.", r.urn
        elif r.type == INGRESS:
            rules = dig(r.props, "spec", "rules")
            annotations = _meta(r, "annotations", {})
            if is_unknown(rules) or is_unknown(annotations):
                continue
            paths = [dig(p, "path") for rule in as_list(rules) for p in as_list(dig(rule, "http", "paths"))]
            admin = _admin_paths(paths, prefixes)
            values = [as_dict(annotations).get(a) for a in INGRESS_AUTH]
            if admin and not any(is_unknown(v) for v in values) and not any(values):
                yield f"{_label(r)} routes {admin} without auth annotations ({', '.join(INGRESS_AUTH)}).", r.urn


def _authenticated(route: StackResource, policies: list[StackResource]) -> bool | None:
    name, namespace = _meta(route, "name"), _meta(route, "namespace", "default")
    if not _known(name) or not _known(namespace):
        return None
    undecided = False
    for policy in policies:
        spec = dig(policy.props, "spec")
        policy_ns = _meta(policy, "namespace", "default")
        if is_unknown(spec) or is_unknown(policy_ns):
            undecided = True
            continue
        if policy_ns != namespace:
            continue
        refs = [
            as_dict(x)
            for x in [*as_list(dig(spec, "targetRefs")), *([dig(spec, "targetRef")] if dig(spec, "targetRef") else [])]
        ]
        if not any(ref.get("kind") == "HTTPRoute" and ref.get("name") == name for ref in refs):
            if any(is_unknown(v) for ref in refs for v in ref.values()):
                undecided = True
            continue
        methods = [dig(spec, m) for m in AUTH_METHODS]
        if any(is_unknown(m) for m in methods):
            undecided = True
        elif any(m for m in methods):
            return True
    return None if undecided else False


GUARDS = [gateway_https_only, edge_hostnames, gateway_allowed_routes, edge_admin_auth]
