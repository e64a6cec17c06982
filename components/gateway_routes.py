"""A tenant's public routes on the shared Gateway: HTTPRoutes in its namespace, and their auth.

One HTTPRoute per (host, auth) group of routes, because an Envoy Gateway ``SecurityPolicy`` (basic
auth) applies to a whole HTTPRoute: Flower's admin path gets its own route, with its own policy, so
nothing else on the host asks for a password and nothing under the admin path is ever served
without one. Each route attaches to its host's HTTPS listener only (``sectionName``); port 80 never
sees a tenant route (its listener admits only the Gateway's own namespace, where the redirect is).

What the Gateway already does for every route (components/gateway.py): TLS, the security headers,
the per-client rate limit, PROXY-protocol client addresses. So a tenant's routes carry no policy of
their own besides authentication, and a NetworkPolicy ``allow-edge-gateway`` that admits the Envoy
proxies into the tenant's namespace, to pods' ports named ``http`` only (never ``metrics``): a tenant
with a default-deny namespace needs no edge rule of its own.

Basic auth: Envoy's basic_auth filter reads the Secret key ``.htpasswd`` and accepts only SHA-1
entries (``user:{SHA}base64``; ``htpasswd -s``): a bcrypt line (``$2y$``) would never match, so
the value is checked when it is known and the deployment stops with the fix named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from .edge import EdgeRoute, admit_edge
from .gateway import ENVOY_API, GATEWAY_API, GatewayRef, proxy_peer

BASIC_AUTH_SECRET = "edge-basic-auth"  # noqa: S105 - an object name


@dataclass(frozen=True)
class TenantRoutesArgs:
    namespace: pulumi.Input[str]
    """The tenant's namespace: the routes live beside their Services (no ReferenceGrant needed)."""
    tenant: str
    """Tenant name (the namespace's ``app.kubernetes.io/part-of`` label, which the Gateway admits)."""
    routes: Sequence[EdgeRoute]
    base_domain: str
    """Hosts are ``<route host>.<base_domain>``; each needs a listener on ``gateway``."""
    gateway: GatewayRef
    basic_auth_htpasswd: pulumi.Input[str] | None = None
    """htpasswd lines with SHA-1 hashes (module docstring). Required when a route uses basic auth."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the routes wait for (the namespace, the Gateway's controller and CRDs)."""


class TenantRoutes(pulumi.ComponentResource):
    """HTTPRoutes (and SecurityPolicies for authenticated paths) of one tenant on the shared Gateway."""

    hostnames: list[str]
    """Every FQDN the tenant's routes serve (for DNS records)."""
    route_names: list[str]
    """metadata.name of each HTTPRoute, in creation order."""

    def __init__(self, name: str, args: TenantRoutesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:edge:TenantRoutes", name, None, opts)
        problems = route_problems(args)
        if problems:
            raise ValueError(f"tenant {args.tenant} routes: " + "; ".join(problems))

        auth_secret = None
        if any(r.auth == "basic" for r in args.routes) and args.basic_auth_htpasswd is not None:
            auth_secret = k8s.core.v1.Secret(
                f"{name}-basic-auth",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=BASIC_AUTH_SECRET, namespace=args.namespace),
                type="Opaque",
                string_data={".htpasswd": pulumi.Output.secret(args.basic_auth_htpasswd).apply(sha_htpasswd)},
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
            )

        groups: dict[tuple[str, str], list[EdgeRoute]] = {}
        for route in args.routes:
            groups.setdefault((route.host, route.auth), []).append(route)
        self.route_names = []
        for (host, auth), routes in sorted(groups.items()):
            fqdn = f"{host}.{args.base_domain}"
            route_name = host if auth == "none" else f"{host}-{auth}-auth"
            self.route_names.append(route_name)
            k8s.apiextensions.CustomResource(
                f"{name}-{route_name}",
                api_version=GATEWAY_API,
                kind="HTTPRoute",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=route_name, namespace=args.namespace, labels={"app.kubernetes.io/part-of": args.tenant}
                ),
                spec={
                    "parentRefs": [args.gateway.parent_ref(fqdn)],
                    "hostnames": [fqdn],
                    "rules": [
                        {
                            "matches": [{"path": {"type": "PathPrefix", "value": route.path}}],
                            "backendRefs": [{"name": route.service, "port": route.port}],
                        }
                        for route in sorted(routes, key=lambda r: r.path)
                    ],
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
            )
            if auth == "basic" and auth_secret is not None:
                k8s.apiextensions.CustomResource(
                    f"{name}-{route_name}-policy",
                    api_version=ENVOY_API,
                    kind="SecurityPolicy",
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=route_name, namespace=args.namespace, labels={"app.kubernetes.io/part-of": args.tenant}
                    ),
                    spec={
                        "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": route_name}],
                        "basicAuth": {"users": {"name": BASIC_AUTH_SECRET}},
                    },
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[auth_secret, *args.depends_on]),
                )

        admit_edge(f"{name}-allow-edge", args.namespace, "gateway", proxy_peer(), self, args.depends_on)
        self.hostnames = sorted({f"{r.host}.{args.base_domain}" for r in args.routes})
        self.register_outputs({"hostnames": self.hostnames, "route_names": self.route_names})


def route_problems(args: TenantRoutesArgs) -> list[str]:
    """Everything wrong with the routes, all at once (nothing is registered when any is)."""
    problems = []
    for route in args.routes:
        fqdn = f"{route.host}.{args.base_domain}"
        if fqdn not in args.gateway.listeners:
            problems.append(f"host {fqdn} has no HTTPS listener on the shared Gateway: add it to the Gateway's hosts")
        if route.auth not in ("none", "basic"):
            problems.append(f"route {fqdn}{route.path} has auth {route.auth!r}: use 'none' or 'basic'")
        if not route.path.startswith("/"):
            problems.append(f"route {fqdn}{route.path!r}: a path starts with '/'")
    if any(r.auth == "basic" for r in args.routes) and args.basic_auth_htpasswd is None:
        problems.append("a route uses basic auth but no htpasswd was given: pass basic_auth_htpasswd")
    return problems


def sha_htpasswd(value: str) -> str:
    """The htpasswd content, refused unless every entry is ``user:{SHA}...`` (module docstring)."""
    lines = [line.strip() for line in value.splitlines() if line.strip()]
    bad = [line.split(":", 1)[0] for line in lines if ":" not in line or not line.split(":", 1)[1].startswith("{SHA}")]
    if not lines or bad:
        raise ValueError(
            f"basic-auth htpasswd (e.g. flowerHtpasswd): the entries for {bad or ['(empty)']} are not SHA-1 "
            "(user:{SHA}...), the only hash Envoy Gateway's basic auth accepts: regenerate them with "
            "`htpasswd -nbs <user> <password>` and set the secret again"
        )
    return "\n".join(lines) + "\n"
