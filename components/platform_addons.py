"""Cluster add-ons installed with Helm: the edge (and so the load balancer), cert-manager, KEDA.

The edge
--------
``implementations`` lists the edges the stack runs, the serving one first: ``gateway`` (Envoy
Gateway and the shared Gateway, ``SharedGateway`` in components/gateway.py: the default) and/or
``ingress-nginx`` (retired upstream in March 2026; kept only while a stack migrates away, see
docs/kubernetes.md). The ClusterIssuer's HTTP-01 solver follows the serving edge, because that is
where DNS points and so where Let's Encrypt's validation requests arrive: while ingress-nginx still
serves, even the Gateway's certificates are validated through it, so the Gateway has valid
certificates before DNS moves to it.

The load balancer
-----------------
On DOKS the cloud-controller-manager (CCM) creates and owns the DigitalOcean load balancer of
every ``LoadBalancer`` Service, and reverts changes made elsewhere. So this component does not
create a ``digitalocean.LoadBalancer``: it configures the CCM's through the edge Service's
``service.beta.kubernetes.io/do-loadbalancer-*`` annotations (the Envoy proxies' Service through
the ``EnvoyProxy`` resource, see components/gateway.py), and ``Edge`` reads the result back by its
(stable) name. The ingress-nginx annotations:

* ``name`` stable, so the read-back and the console find it; ``size-unit`` from config;
  ``type: REGIONAL`` (HTTP features such as the redirect need it; newer CCMs default to the
  network LB);
* port 80 as ``http`` with ``redirect-http-to-https``; 443 as TLS passthrough (certificates are
  cert-manager's, in the cluster, so no DigitalOcean certificate id to rotate);
* ``enable-proxy-protocol`` with ingress-nginx ``use-proxy-protocol``: both sides or neither, or
  every request fails. It gives the rate limit the real client address;
* ``hostname``: with the PROXY protocol, kube-proxy would short-circuit in-cluster calls to the LB's
  IP past the LB (no PROXY header: broken requests, e.g. cert-manager's HTTP-01 self-check); a
  hostname makes them go through the LB;
* health check over HTTP on ``/healthz``; with ``externalTrafficPolicy: Local`` the CCM points it at
  the Service's health-check node port, which answers 200 only on nodes running a controller pod.

metrics-server
--------------
DOKS installs metrics-server in ``kube-system`` itself, so it is off by default here (a second one
fights over the ``v1beta1.metrics.k8s.io`` APIService); ``metrics_server=True`` is for clusters that
lack it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .edge import INGRESS_NAMESPACE, INGRESS_NGINX_PEER
from .gateway import (
    GATEWAY_NAME,
    GATEWAY_NAMESPACE,
    HTTP_LISTENER,
    GatewayRef,
    SharedGateway,
    SharedGatewayArgs,
)
from .gateway import proxy_peer as gateway_proxy_peer
from .workload import NetworkPeer

INGRESS_CLASS = "nginx"
ACME_SERVERS = {
    "production": "https://acme-v02.api.letsencrypt.org/directory",
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}
"""Let's Encrypt's directories (letsencrypt.org/docs/staging-environment)."""
LB_ANNOTATION = "service.beta.kubernetes.io/do-loadbalancer-"

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
"""Added to every response by ingress-nginx (the seed's nginx.conf headers; HSTS is set separately).
The seed's X-XSS-Protection is left out: modern browsers ignore it and it can open leaks."""


GATEWAY = "gateway"
INGRESS_NGINX = "ingress-nginx"


def load_balancer_name(prefix: str, implementation: str) -> str:
    """Stable DigitalOcean name of an edge's load balancer (two edges run side by side in a migration)."""
    return f"{prefix}-{'gateway' if implementation == GATEWAY else 'ingress'}"


@dataclass(frozen=True)
class PlatformAddonsArgs:
    load_balancer_name: str
    """Stable DigitalOcean name of the ingress-nginx load balancer (what ``Edge`` looks up)."""
    load_balancer_hostname: str
    """DNS name of the load balancer (see module docstring: PROXY protocol hairpin)."""
    load_balancer_size_unit: int
    acme_email: str
    ingress_nginx_version: str
    cert_manager_version: str
    keda_version: str
    metrics_server_version: str
    ingress_replicas: int = 2
    """Default: two edge proxies, spread over nodes."""
    metrics_server: bool = False
    """Default: rely on the metrics-server DOKS ships (see module docstring)."""
    implementations: Sequence[str] = (INGRESS_NGINX,)
    """Edges to run, the serving one first (module docstring). Default: ingress-nginx alone."""
    envoy_gateway_version: str = ""
    """Required with ``gateway``."""
    gateway_load_balancer_name: str = ""
    """Stable DigitalOcean name of the Gateway's load balancer. Required with ``gateway``."""
    gateway_hosts: Sequence[str] = ()
    """FQDNs of every tenant's public routes: one HTTPS listener each. Required with ``gateway``."""
    gateway_tenants: Sequence[str] = ()
    """Tenants whose namespaces may attach routes to the Gateway. Required with ``gateway``."""
    rate_limit_rpm: int = 100
    """Requests per minute per client address at the Gateway (ingress-nginx takes it per Ingress)."""
    acme_server: str = "production"
    """Let's Encrypt directory: ``production`` or ``staging``. Default: production."""


class PlatformAddons(pulumi.ComponentResource):
    """The edge(s) + cert-manager (with a Let's Encrypt ClusterIssuer) + KEDA, chart versions pinned."""

    ingress_release: k8s.helm.v3.Release | None
    """The ingress-nginx release (None without ingress-nginx); its status is known once its LB exists."""
    gateway: GatewayRef | None
    """The shared Gateway TenantRoutes attach to (None without ``gateway``)."""
    edge_ready: pulumi.Output[Any]
    """Known only once the serving edge's load balancer exists: the gate of ``Edge``'s read-back."""
    edge_resources: list[pulumi.Resource]
    """What routes of the serving and standby edges wait for (controllers and their CRDs)."""
    keda: list[pulumi.Resource]
    """What a ScaledObject/TriggerAuthentication must wait for (KEDA and its CRDs)."""
    cluster_issuer: str
    """Name of the Let's Encrypt ClusterIssuer for Ingress annotations."""
    ingress_class: str
    """IngressClass of the controller."""
    ingress_controller: NetworkPeer
    """The serving edge's proxy pods as a NetworkPolicy peer (for namespaces that admit it)."""

    def __init__(self, name: str, args: PlatformAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:addons:PlatformAddons", name, None, opts)
        serving = args.implementations[0]
        if GATEWAY in args.implementations and not (
            args.envoy_gateway_version and args.gateway_load_balancer_name and args.gateway_hosts
        ):
            raise ValueError(
                "the gateway edge needs envoy_gateway_version, gateway_load_balancer_name and gateway_hosts"
            )
        if args.acme_server not in ACME_SERVERS:
            raise ValueError(f"acme_server {args.acme_server!r}: use one of {sorted(ACME_SERVERS)}")
        self.cluster_issuer = cluster_issuer_name(args.acme_server)

        shared: SharedGateway | None = None
        if GATEWAY in args.implementations:
            shared = SharedGateway(
                f"{name}-gateway",
                SharedGatewayArgs(
                    chart_version=args.envoy_gateway_version,
                    hosts=args.gateway_hosts,
                    tenants=args.gateway_tenants,
                    cluster_issuer=self.cluster_issuer,
                    load_balancer_name=args.gateway_load_balancer_name,
                    load_balancer_hostname=args.load_balancer_hostname,
                    load_balancer_size_unit=args.load_balancer_size_unit,
                    rate_limit_rpm=args.rate_limit_rpm,
                    replicas=args.ingress_replicas,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.ingress_release = None
        if INGRESS_NGINX in args.implementations:
            self.ingress_release = k8s.helm.v3.Release(
                f"{name}-ingress-nginx",
                name="ingress-nginx",
                chart="ingress-nginx",
                version=args.ingress_nginx_version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo="https://kubernetes.github.io/ingress-nginx"),
                namespace=INGRESS_NAMESPACE,
                create_namespace=True,
                atomic=True,
                # Helm waits until the LoadBalancer Service has an address, i.e. the CCM created the LB:
                # that is what makes the release's status a safe gate for Edge's read-back.
                skip_await=False,
                timeout=900,
                values=ingress_nginx_values(args),
                opts=pulumi.ResourceOptions(parent=self),
            )
        edges: list[pulumi.Resource] = [r for r in (shared and shared.release, self.ingress_release) if r is not None]

        # cert-manager starts its gateway-shim only if the Gateway API CRDs (Envoy Gateway's chart
        # installs them) exist when it starts: the controller release comes first.
        cert_manager_with_issuer(
            name,
            self,
            version=args.cert_manager_version,
            gateway_api=shared is not None,
            issuer=self.cluster_issuer,
            email=args.acme_email,
            serving=serving,
            acme_server=args.acme_server,
            after=[shared.release] if shared else [],
            edges=edges,
        )
        self.keda = [keda_release(name, self, args.keda_version)]
        if args.metrics_server:
            metrics_server_release(name, self, args.metrics_server_version)

        self.gateway = shared.ref if shared else None
        self.edge_resources = edges
        if serving == GATEWAY:
            assert shared is not None
            # The Gateway's id exists once it is Programmed: its Service has the CCM load balancer's address.
            self.edge_ready = shared.gateway.id
            self.ingress_controller = gateway_proxy_peer()
        else:
            assert self.ingress_release is not None
            self.edge_ready = self.ingress_release.status
            self.ingress_controller = INGRESS_NGINX_PEER
        self.ingress_class = INGRESS_CLASS
        self.register_outputs({"edge_ready": self.edge_ready})


# Shared with EksAddons (components/eks_addons.py): the same charts, values and child names on any cluster.


def cert_manager_with_issuer(
    name: str,
    parent: pulumi.Resource,
    *,
    version: str,
    gateway_api: bool,
    issuer: str,
    email: str,
    serving: str,
    acme_server: str,
    after: Sequence[pulumi.Resource],
    edges: Sequence[pulumi.Resource],
) -> k8s.helm.v3.Release:
    """cert-manager (after ``after``: the Gateway API CRDs) and the Let's Encrypt ClusterIssuer ``issuer``."""
    cert_manager = k8s.helm.v3.Release(
        f"{name}-cert-manager",
        name="cert-manager",
        chart="cert-manager",
        version=version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo="https://charts.jetstack.io"),
        namespace="cert-manager",
        create_namespace=True,
        atomic=True,
        values=cert_manager_values(gateway_api=gateway_api),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(after)),
    )
    k8s.apiextensions.CustomResource(
        f"{name}-letsencrypt",
        api_version="cert-manager.io/v1",
        kind="ClusterIssuer",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=issuer),
        spec=cluster_issuer_spec(email, serving, issuer, ACME_SERVERS[acme_server]),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[cert_manager, *edges]),
    )
    return cert_manager


def cluster_issuer_name(acme_server: str) -> str:
    """Name of the Let's Encrypt ClusterIssuer for a directory of ``ACME_SERVERS``."""
    return f"letsencrypt-{'prod' if acme_server == 'production' else 'staging'}"


def keda_release(
    name: str, parent: pulumi.Resource, version: str, after: Sequence[pulumi.Resource] = ()
) -> k8s.helm.v3.Release:
    """KEDA with its CRDs (what a ScaledObject/TriggerAuthentication waits for); ``after``: what its pods need to
    exist first (on EKS, the operator's Pod Identity association, read only at pod creation)."""
    return k8s.helm.v3.Release(
        f"{name}-keda",
        name="keda",
        chart="keda",
        version=version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo="https://kedacore.github.io/charts"),
        namespace="keda",
        create_namespace=True,
        atomic=True,
        values=keda_values(),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(after)),
    )


def metrics_server_release(name: str, parent: pulumi.Resource, version: str) -> k8s.helm.v3.Release:
    """metrics-server in ``kube-system``: only where the cluster ships none (two fight over the APIService)."""
    return k8s.helm.v3.Release(
        f"{name}-metrics-server",
        name="metrics-server",
        chart="metrics-server",
        version=version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo="https://kubernetes-sigs.github.io/metrics-server"),
        namespace="kube-system",
        atomic=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def load_balancer_annotations(args: PlatformAddonsArgs) -> dict[str, str]:
    """The ``do-loadbalancer-*`` annotations that configure the CCM's load balancer (module docstring)."""
    values = {
        "name": args.load_balancer_name,
        "type": "REGIONAL",
        "size-unit": str(args.load_balancer_size_unit),
        "protocol": "http",
        "tls-ports": "443",
        "tls-passthrough": "true",
        "redirect-http-to-https": "true",
        "enable-proxy-protocol": "true",
        "hostname": args.load_balancer_hostname,
        "healthcheck-protocol": "http",
        "healthcheck-path": "/healthz",
        "healthcheck-check-interval-seconds": "10",
        "healthcheck-response-timeout-seconds": "5",
        "healthcheck-unhealthy-threshold": "3",
        "healthcheck-healthy-threshold": "2",
    }
    return {LB_ANNOTATION + key: value for key, value in values.items()}


def ingress_nginx_values(args: PlatformAddonsArgs) -> dict[str, Any]:
    return {
        "controller": {
            "replicaCount": args.ingress_replicas,
            "ingressClassResource": {"name": INGRESS_CLASS, "default": True},
            "config": {
                # Must match the LB's enable-proxy-protocol annotation (module docstring).
                "use-proxy-protocol": "true",
                "use-forwarded-headers": "false",
                "server-tokens": "false",
                "ssl-protocols": "TLSv1.2 TLSv1.3",
                "hsts": "true",
                "hsts-max-age": "31536000",
                "hsts-include-subdomains": "true",
                "limit-req-status-code": "429",
                # Annotation snippets run arbitrary nginx config from any Ingress author (CVE-2023-5044 &c).
                "allow-snippet-annotations": "false",
            },
            "addHeaders": SECURITY_HEADERS,
            "service": {
                "type": "LoadBalancer",
                "externalTrafficPolicy": "Local",
                "annotations": load_balancer_annotations(args),
            },
            "metrics": {"enabled": True},
            "minAvailable": 1,
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {
                        "matchLabels": {
                            "app.kubernetes.io/name": "ingress-nginx",
                            "app.kubernetes.io/component": "controller",
                        }
                    },
                }
            ],
            "admissionWebhooks": {"enabled": True},
        },
        "defaultBackend": {"enabled": False},
    }


def cert_manager_values(*, gateway_api: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        # The chart owns the CRDs (keep them on uninstall: deleting CRDs deletes every Certificate).
        "crds": {"enabled": True, "keep": True},
        "prometheus": {"enabled": True},
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
    }
    if gateway_api:
        # Off by default in 1.21: without it the Gateway's cert-manager.io/cluster-issuer annotation is
        # ignored and no listener ever gets a certificate (cert-manager.io/docs/usage/gateway).
        values["config"] = {
            "apiVersion": "controller.config.cert-manager.io/v1alpha1",
            "kind": "ControllerConfiguration",
            "enableGatewayAPI": True,
        }
    return values


def keda_values() -> dict[str, Any]:
    return {
        "crds": {"install": True},
        "resources": {
            "operator": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
            "metricServer": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        },
    }


def cluster_issuer_spec(email: str, serving: str, name: str, server: str) -> dict[str, Any]:
    """Let's Encrypt production with HTTP-01 through the serving edge (DNS names need no API token).

    The solver follows the edge DNS points at (module docstring): the Gateway's HTTP listener, whose
    namespace the solver's HTTPRoute lands in (cert-manager creates it beside the Certificate, i.e.
    beside the Gateway), or an ingress-nginx Ingress.
    """
    if serving == GATEWAY:
        solver: dict[str, Any] = {
            "gatewayHTTPRoute": {
                "parentRefs": [
                    {
                        "group": "gateway.networking.k8s.io",
                        "kind": "Gateway",
                        "name": GATEWAY_NAME,
                        "namespace": GATEWAY_NAMESPACE,
                        "sectionName": HTTP_LISTENER,
                    }
                ]
            }
        }
    else:
        solver = {"ingress": {"ingressClassName": INGRESS_CLASS}}
    return {
        "acme": {
            "server": server,
            "email": email,
            "privateKeySecretRef": {"name": f"{name}-account-key"},
            "solvers": [{"http01": solver}],
        }
    }
