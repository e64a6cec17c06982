"""The public edge of a tenant: its routes on the running edge(s), and the serving LB read back for DNS.

Edges (``implementations``, the serving one first; docs/kubernetes.md, "The edge"):

* ``gateway``: the tenant's HTTPRoutes on the shared Gateway (``TenantRoutes``); TLS, headers, rate
  limit and client addresses are the Gateway's (components/gateway.py);
* ``ingress-nginx`` (retired; only while migrating): Ingresses, one per (host, auth) group of routes,
  because ingress-nginx annotations (basic auth) apply to a whole Ingress. All Ingresses of a host
  share one certificate Secret ``<host>-tls``; only the first one carries the cert-manager
  annotation, so exactly one Certificate exists per host. Every Ingress forces HTTPS and applies the
  per-client rate limit; the controller adds the security headers and HSTS (``PlatformAddons``).

Each edge's proxies are admitted into the tenant's namespace by a NetworkPolicy of their own
(``allow-edge-<implementation>``, to the pods' port named ``http`` only; ``TenantRoutes`` makes the
Gateway's), so the standby edge of a migration reaches the backends too.

The load balancer is created by the cluster's cloud-controller-manager for the serving edge's
Service (``PlatformAddons``); this component never creates a second one. It looks it up by its
stable name once the edge is deployed (``edge_ready``), then points the A records at it, adds it to
the stack's Project (CCM load balancers land in the default project) and exports its address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_digitalocean as do
import pulumi_kubernetes as k8s

from .workload import NetworkPeer

if TYPE_CHECKING:
    from .gateway import GatewayRef

BASIC_AUTH_SECRET = "ingress-basic-auth"  # noqa: S105 - an object name
GATEWAY = "gateway"
INGRESS_NGINX = "ingress-nginx"
INGRESS_NAMESPACE = "ingress-nginx"
INGRESS_NGINX_PEER = NetworkPeer(
    namespace_labels={"kubernetes.io/metadata.name": INGRESS_NAMESPACE},
    pod_labels={"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
)
"""The ingress-nginx controller pods as a NetworkPolicy peer."""


@dataclass(frozen=True)
class EdgeRoute:
    host: str
    """DNS label under the base domain (``api``)."""
    path: str
    service: str
    port: int
    auth: str = "none"
    """``basic``: HTTP basic auth against ``basic_auth_htpasswd``."""


@dataclass(frozen=True)
class EdgeArgs:
    namespace: pulumi.Input[str]
    """Namespace of the backends (routes live beside their Services)."""
    tenant: str
    """Tenant name (its namespace's ``app.kubernetes.io/part-of`` label)."""
    domain: str
    """Zone on DigitalOcean DNS that holds the records."""
    base_domain: str
    """``<subdomain>.<domain>`` or ``<domain>``: hosts are ``<route host>.<base_domain>``."""
    routes: Sequence[EdgeRoute]
    cluster_issuer: str
    ingress_class: str
    rate_limit_rpm: int
    load_balancer_name: str
    """Stable name of the serving edge's load balancer."""
    load_balancer_hostname: str
    """Gets an A record too (the LB Service's ``do-loadbalancer-hostname``)."""
    edge_ready: pulumi.Input[Any]
    """Gate of the read-back: unknown until the serving edge (and so its LB) exists."""
    project_id: pulumi.Input[str]
    implementations: Sequence[str] = (INGRESS_NGINX,)
    """Edges running, the serving one first. Default: ingress-nginx alone."""
    ingress_release: k8s.helm.v3.Release | None = None
    """The ingress-nginx release (its admission webhook admits the Ingresses). Required with ingress-nginx."""
    gateway: GatewayRef | None = None
    """The shared Gateway. Required with ``gateway``."""
    edge_dependencies: Sequence[pulumi.Resource] = ()
    """What routes wait for (the edge controllers and their CRDs)."""
    extra_hosts: Sequence[str] = ()
    """FQDNs of other tenants' routes on the same load balancer: A records only."""
    basic_auth_htpasswd: pulumi.Input[str] | None = None
    """Required when a route uses basic auth."""
    dns_ttl: int = 300


class Edge(pulumi.ComponentResource):
    """A tenant's routes on the running edge(s), DNS records and project membership for the CCM's LB."""

    load_balancer_ip: pulumi.Output[str]
    """Public IPv4 of the ingress load balancer."""
    load_balancer_urn: pulumi.Output[str]
    """DigitalOcean URN of the load balancer."""
    urls: dict[str, str]
    """https URL of each public host, keyed by route host label."""

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:edge:Edge", name, None, opts)
        problems = edge_problems(args)
        if problems:
            raise ValueError("edge: " + "; ".join(problems))

        if INGRESS_NGINX in args.implementations and args.ingress_release is not None:
            self._ingresses(name, args, args.ingress_release)
            admit_edge(
                f"{name}-allow-ingress-nginx",
                args.namespace,
                INGRESS_NGINX,
                INGRESS_NGINX_PEER,
                self,
                [args.ingress_release],
            )
        if GATEWAY in args.implementations and args.gateway is not None:
            # Imported here: gateway_routes imports EdgeRoute from this module.
            from .gateway_routes import TenantRoutes, TenantRoutesArgs  # noqa: PLC0415 - a cycle

            TenantRoutes(
                f"{name}-routes",
                TenantRoutesArgs(
                    namespace=args.namespace,
                    tenant=args.tenant,
                    routes=args.routes,
                    base_domain=args.base_domain,
                    gateway=args.gateway,
                    basic_auth_htpasswd=args.basic_auth_htpasswd,
                    depends_on=args.edge_dependencies,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

        # Looked up only once the serving edge is deployed: during a first preview the gate is unknown,
        # so the apply never runs and the invoke is never sent for a load balancer that does not exist.
        lb_name = pulumi.Output.from_input(args.edge_ready).apply(lambda _ready: args.load_balancer_name)
        lb = do.get_load_balancer_output(name=lb_name, opts=pulumi.InvokeOutputOptions(parent=self))
        self.load_balancer_ip = lb.ip
        self.load_balancer_urn = lb.load_balancer_urn

        hosts = sorted({r.host for r in args.routes})
        names = {host: f"{host}.{args.base_domain}" for host in hosts}
        for fqdn in args.extra_hosts:
            names.setdefault(relative_name(fqdn, args.base_domain), fqdn)
        names["lb"] = args.load_balancer_hostname
        for key, fqdn in sorted(names.items()):
            do.DnsRecord(
                f"{name}-dns-{key}",
                domain=args.domain,
                type="A",
                name=relative_name(fqdn, args.domain),
                value=self.load_balancer_ip,
                ttl=args.dns_ttl,
                opts=pulumi.ResourceOptions(parent=self),
            )

        do.ProjectResources(
            f"{name}-project-lb",
            project=args.project_id,
            resources=[self.load_balancer_urn],
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.urls = {host: f"https://{names[host]}" for host in hosts}
        self.register_outputs(
            {"load_balancer_ip": self.load_balancer_ip, "load_balancer_urn": self.load_balancer_urn, "urls": self.urls}
        )

    def _ingresses(self, name: str, args: EdgeArgs, ingress_release: k8s.helm.v3.Release) -> None:
        """ingress-nginx Ingresses, one per (host, auth) group (module docstring)."""
        auth_secret = None
        if args.basic_auth_htpasswd is not None and any(r.auth == "basic" for r in args.routes):
            auth_secret = k8s.core.v1.Secret(
                f"{name}-basic-auth",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=BASIC_AUTH_SECRET, namespace=args.namespace),
                type="Opaque",
                string_data={"auth": pulumi.Output.secret(args.basic_auth_htpasswd)},
                opts=pulumi.ResourceOptions(parent=self),
            )

        groups: dict[tuple[str, str], list[EdgeRoute]] = {}
        for route in args.routes:
            groups.setdefault((route.host, route.auth), []).append(route)
        issued: set[str] = set()
        # A host's unauthenticated Ingress comes first and is the one that issues its certificate.
        for (host, auth), routes in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] != "none")):
            fqdn = f"{host}.{args.base_domain}"
            annotations = ingress_annotations(
                rate_limit_rpm=args.rate_limit_rpm,
                basic_auth=auth == "basic",
                cluster_issuer=None if host in issued else args.cluster_issuer,
            )
            issued.add(host)
            ingress_name = host if auth == "none" else f"{host}-{auth}-auth"
            k8s.networking.v1.Ingress(
                f"{name}-{ingress_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=ingress_name, namespace=args.namespace, annotations=annotations
                ),
                spec=k8s.networking.v1.IngressSpecArgs(
                    ingress_class_name=args.ingress_class,
                    tls=[k8s.networking.v1.IngressTLSArgs(hosts=[fqdn], secret_name=f"{host}-tls")],
                    rules=[
                        k8s.networking.v1.IngressRuleArgs(
                            host=fqdn,
                            http=k8s.networking.v1.HTTPIngressRuleValueArgs(
                                paths=[
                                    k8s.networking.v1.HTTPIngressPathArgs(
                                        path=route.path,
                                        path_type="Prefix",
                                        backend=k8s.networking.v1.IngressBackendArgs(
                                            service=k8s.networking.v1.IngressServiceBackendArgs(
                                                name=route.service,
                                                port=k8s.networking.v1.ServiceBackendPortArgs(number=route.port),
                                            )
                                        ),
                                    )
                                    for route in routes
                                ]
                            ),
                        )
                    ],
                ),
                # The controller's admission webhook must be up before it can admit an Ingress.
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[ingress_release, *([auth_secret] if auth_secret else [])]
                ),
            )


def admit_edge(  # noqa: PLR0917 - one call per edge; the arguments read in order
    resource_name: str,
    namespace: pulumi.Input[str],
    implementation: str,
    peer: NetworkPeer,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.networking.v1.NetworkPolicy:
    """Admit an edge's proxies to every pod's port named ``http`` (never ``metrics``) in the namespace."""
    from_peer = k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(peer.namespace_labels or {})),
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(peer.pod_labels or {})),
    )
    return k8s.networking.v1.NetworkPolicy(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=f"allow-edge-{implementation}", namespace=namespace),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(),
            policy_types=["Ingress"],
            ingress=[
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=[from_peer],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port="http")],
                )
            ],
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )


def edge_problems(args: EdgeArgs) -> list[str]:
    """Everything wrong with the edge's arguments, all at once (nothing is registered when any is)."""
    problems = []
    if any(r.auth == "basic" for r in args.routes) and args.basic_auth_htpasswd is None:
        problems.append("a route uses basic auth but no htpasswd was given")
    if not args.load_balancer_hostname.endswith(f".{args.domain}"):
        problems.append(f"{args.load_balancer_hostname} is not under the zone {args.domain}")
    if INGRESS_NGINX in args.implementations and args.ingress_release is None:
        problems.append("ingress-nginx runs but no ingress_release was given")
    if GATEWAY in args.implementations and args.gateway is None:
        problems.append("the gateway edge runs but no gateway was given")
    problems += [
        f"extra host {fqdn} is not under the base domain {args.base_domain}"
        for fqdn in args.extra_hosts
        if not fqdn.endswith(f".{args.base_domain}")
    ]
    return problems


def relative_name(fqdn: str, zone: str) -> str:
    """Record name inside its zone: ``api.staging.example.com`` in ``example.com`` -> ``api.staging``."""
    if not fqdn.endswith(f".{zone}"):
        raise ValueError(f"{fqdn} is not inside {zone}")
    return fqdn[: -len(zone) - 1]


def ingress_annotations(*, rate_limit_rpm: int, basic_auth: bool, cluster_issuer: str | None) -> Mapping[str, str]:
    """ingress-nginx annotations: HTTPS only, per-client rate limit, optional basic auth and certificate."""
    annotations = {
        "nginx.ingress.kubernetes.io/ssl-redirect": "true",
        "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
        # Seed: 100 requests/minute per client (the real client address arrives by PROXY protocol).
        "nginx.ingress.kubernetes.io/limit-rpm": str(rate_limit_rpm),
        "nginx.ingress.kubernetes.io/limit-burst-multiplier": "2",
        "nginx.ingress.kubernetes.io/proxy-body-size": "10m",
        "nginx.ingress.kubernetes.io/proxy-connect-timeout": "5",
        "nginx.ingress.kubernetes.io/proxy-read-timeout": "60",
        "nginx.ingress.kubernetes.io/proxy-send-timeout": "60",
    }
    if basic_auth:
        annotations |= {
            "nginx.ingress.kubernetes.io/auth-type": "basic",
            "nginx.ingress.kubernetes.io/auth-secret": BASIC_AUTH_SECRET,
            "nginx.ingress.kubernetes.io/auth-realm": "Administrators only",
        }
    if cluster_issuer is not None:
        annotations["cert-manager.io/cluster-issuer"] = cluster_issuer
    return annotations
