"""The platform's shared edge on Gateway API: Envoy Gateway, one Gateway per stack, its policies.

Why Envoy Gateway (docs/kubernetes.md, "The edge", has the comparison): it implements every
behaviour of the seed's edge natively (per-client rate limit, basic auth and OIDC, response headers,
PROXY protocol), configures its load balancer declaratively through the Service it creates, and
runs the same way on EKS. DOKS's managed Cilium Gateway has no rate limit or auth of its own.

What this component creates, in the controller's namespace:

* the ``gateway-helm`` release (controller and the CRDs it pins: Gateway API v1.6.1, experimental
  channel, and ``gateway.envoyproxy.io``);
* an ``EnvoyProxy`` that shapes the proxies' Deployment and their ``LoadBalancer`` Service. The
  DigitalOcean load balancer stays the cloud-controller-manager's: it is configured by the Service's
  ``do-loadbalancer-*`` annotations (``load_balancer_annotations``) and read back by name (``Edge``);
* the ``GatewayClass`` (parameterised by that EnvoyProxy) and the shared ``Gateway``: one HTTPS
  listener per public host (cert-manager's gateway-shim issues ``<host>-tls`` for each from the
  Gateway's ``cert-manager.io/cluster-issuer`` annotation) admitting routes only from the stack's
  tenant namespaces, and one HTTP listener admitting routes only from its own namespace, where the
  single route is a redirect to HTTPS (cert-manager's HTTP-01 solver routes land there too);
* a ``ClientTrafficPolicy`` on the Gateway: PROXY protocol (must match the LB's
  ``enable-proxy-protocol``: both sides or neither, or every connection fails), TLS 1.2+, the
  security headers on every response (``lateResponseHeaders`` also covers redirects, 429s and 401s);
* a ``BackendTrafficPolicy`` on the Gateway: the per-client rate limit (local, ``sourceCIDR``
  ``Distinct``: one bucket per client address, the address the PROXY header carried), the seed's
  ``least_conn`` and ``max_fails=3 fail_timeout=30s`` as LeastRequest and passive health checks.

Traps written down here:

* Envoy Gateway applies a Gateway-level rate limit per route and per proxy replica (a client may get
  ``replicas`` x the limit on one route): the same as ingress-nginx's per-pod ``limit-rpm`` it replaces.
* Helm installs ``crds/`` only on first install, never on upgrade: a chart upgrade that moves the
  Gateway API bundle needs the CRDs applied first (docs/kubernetes.md, "Upgrading Envoy Gateway").
* The Gateway waits for ``Programmed`` (``pulumi.com/waitFor``), which Envoy Gateway sets once the
  Service has an address, i.e. once the CCM's load balancer exists: that is what makes the
  Gateway a safe gate for ``Edge``'s read-back by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .workload import NetworkPeer

GATEWAY_NAMESPACE = "envoy-gateway-system"
GATEWAY_NAME = "edge"
GATEWAY_CLASS = "envoy"
ENVOY_PROXY = "edge-proxy"
CHART = "oci://docker.io/envoyproxy/gateway-helm"
GATEWAY_API = "gateway.networking.k8s.io/v1"
ENVOY_API = "gateway.envoyproxy.io/v1alpha1"
LB_ANNOTATION = "service.beta.kubernetes.io/do-loadbalancer-"
HTTP_LISTENER = "http"
TENANT_LABEL = "app.kubernetes.io/part-of"
"""Namespace label whose value names the tenant; HTTPS listeners admit routes only from the stack's tenants."""

PROXY_POD_LABELS = {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy"}
"""Labels Envoy Gateway puts on every proxy pod (internal/infrastructure/kubernetes/proxy/resource.go)."""

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}
"""Set on every response (the seed's nginx.conf headers plus HSTS). The seed's X-XSS-Protection is left
out: modern browsers ignore it and it can open leaks."""


def listener_name(fqdn: str) -> str:
    """Section name of a host's HTTPS listener: ``api.example.com`` -> ``https-api-example-com``."""
    return "https-" + fqdn.replace(".", "-")


def proxy_peer() -> NetworkPeer:
    """The Envoy proxies as a NetworkPolicy peer (tenant namespaces admit them to their routed ports)."""
    return NetworkPeer(
        namespace_labels={"kubernetes.io/metadata.name": GATEWAY_NAMESPACE},
        pod_labels={**PROXY_POD_LABELS, "gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME},
    )


@dataclass(frozen=True)
class GatewayRef:
    """How a route names the shared Gateway: parentRefs by name, namespace and per-host listener."""

    name: str
    namespace: str
    listeners: Mapping[str, str] = field(default_factory=dict)
    """FQDN -> section name of its HTTPS listener."""

    def section_for(self, fqdn: str) -> str:
        if fqdn not in self.listeners:
            raise ValueError(
                f"host {fqdn!r} has no HTTPS listener on Gateway {self.namespace}/{self.name} "
                f"(listeners: {sorted(self.listeners)}): pass it in the Gateway's hosts"
            )
        return self.listeners[fqdn]

    def parent_ref(self, fqdn: str) -> dict[str, str]:
        return {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": self.name,
            "namespace": self.namespace,
            "sectionName": self.section_for(fqdn),
        }


@dataclass(frozen=True)
class SharedGatewayArgs:
    chart_version: str
    hosts: Sequence[str]
    """FQDNs served over HTTPS (one listener and one certificate each)."""
    tenants: Sequence[str]
    """Values of ``TENANT_LABEL`` whose namespaces may attach routes."""
    cluster_issuer: str
    """ClusterIssuer named on the Gateway (cert-manager's gateway-shim issues the listeners' certificates)."""
    load_balancer_name: str
    load_balancer_hostname: str
    """DNS name of the load balancer (PROXY protocol hairpin: platform_addons docstring)."""
    load_balancer_size_unit: int
    rate_limit_rpm: int
    replicas: int = 2
    """Default: two proxies, spread over nodes."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the routes' objects must wait for besides the controller (e.g. cert-manager for the annotation)."""
    envoy_service: Mapping[str, Any] | None = None
    """The proxies' Service (EnvoyProxy ``envoyService``) in full, for clusters whose load balancer is not
    DigitalOcean's (EKS: components/eks_addons.py); the ``load_balancer_*`` fields are then unused. It must
    send the PROXY protocol: the ClientTrafficPolicy requires it. Default: the CCM's, from those fields."""


class SharedGateway(pulumi.ComponentResource):
    """Envoy Gateway and the stack's one Gateway (module docstring)."""

    release: k8s.helm.v3.Release
    """The controller release (and so the Gateway API and Envoy Gateway CRDs)."""
    gateway: k8s.apiextensions.CustomResource
    """The Gateway; created once Programmed, i.e. once the CCM's load balancer exists."""
    ref: GatewayRef
    """What TenantRoutes attach to."""

    def __init__(self, name: str, args: SharedGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:edge:SharedGateway", name, None, opts)
        hosts = sorted(set(args.hosts))
        if not hosts:
            raise ValueError("the shared Gateway needs at least one host: a tenant route's host under the base domain")
        if not args.tenants:
            raise ValueError("the shared Gateway admits routes from no tenant: pass the stack's tenant names")

        self.release = k8s.helm.v3.Release(
            f"{name}-envoy-gateway",
            name="envoy-gateway",
            chart=CHART,
            version=args.chart_version,
            namespace=GATEWAY_NAMESPACE,
            create_namespace=True,
            atomic=True,
            values=envoy_gateway_values(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        after_controller = pulumi.ResourceOptions(parent=self, depends_on=[self.release, *args.depends_on])

        proxy = custom(
            f"{name}-proxy",
            ENVOY_API,
            "EnvoyProxy",
            ENVOY_PROXY,
            GATEWAY_NAMESPACE,
            envoy_proxy_spec(args),
            after_controller,
        )
        gateway_class = k8s.apiextensions.CustomResource(
            f"{name}-class",
            api_version=GATEWAY_API,
            kind="GatewayClass",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=GATEWAY_CLASS),
            spec={
                "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                "parametersRef": {
                    "group": "gateway.envoyproxy.io",
                    "kind": "EnvoyProxy",
                    "name": ENVOY_PROXY,
                    "namespace": GATEWAY_NAMESPACE,
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release, proxy]),
        )
        self.gateway = k8s.apiextensions.CustomResource(
            f"{name}-gateway",
            api_version=GATEWAY_API,
            kind="Gateway",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=GATEWAY_NAME,
                namespace=GATEWAY_NAMESPACE,
                annotations={
                    "cert-manager.io/cluster-issuer": args.cluster_issuer,
                    # Created = Programmed = the Service has the CCM load balancer's address (docstring).
                    "pulumi.com/waitFor": "condition=Programmed",
                },
            ),
            spec=gateway_spec(hosts, args.tenants),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway_class, *args.depends_on]),
        )
        self.ref = GatewayRef(GATEWAY_NAME, GATEWAY_NAMESPACE, {h: listener_name(h) for h in hosts})
        target = [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY_NAME}]
        on_gateway = pulumi.ResourceOptions(parent=self, depends_on=[self.release])

        custom(
            f"{name}-https-redirect",
            GATEWAY_API,
            "HTTPRoute",
            "https-redirect",
            GATEWAY_NAMESPACE,
            redirect_route_spec(),
            on_gateway,
        )
        custom(
            f"{name}-client-traffic",
            ENVOY_API,
            "ClientTrafficPolicy",
            "edge-clients",
            GATEWAY_NAMESPACE,
            {**client_traffic_spec(), "targetRefs": target},
            on_gateway,
        )
        custom(
            f"{name}-backend-traffic",
            ENVOY_API,
            "BackendTrafficPolicy",
            "edge-backends",
            GATEWAY_NAMESPACE,
            {**backend_traffic_spec(args.rate_limit_rpm), "targetRefs": target},
            on_gateway,
        )
        self.register_outputs({"gateway": self.gateway.id})


def custom(  # noqa: PLR0917 - a thin constructor; each call site reads as one line of a manifest
    resource_name: str,
    api_version: str,
    kind: str,
    object_name: str,
    namespace: pulumi.Input[str],
    spec: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=api_version,
        kind=kind,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=namespace),
        spec=dict(spec),
        opts=opts,
    )


def load_balancer_annotations(name: str, hostname: str, size_unit: int) -> dict[str, str]:
    """``do-loadbalancer-*`` annotations of the proxies' Service: the CCM's load balancer, declared.

    Unlike ingress-nginx's, TLS terminates at Envoy and port 80 reaches Envoy too (its HTTP listener
    redirects and serves HTTP-01 challenges), so the LB forwards TCP on both ports with the PROXY
    protocol. The health check is the CCM's default, which is the right one here: HTTP ``/healthz`` on
    the Service's health-check node port (externalTrafficPolicy: Local), which answers 200 only on
    nodes running a proxy, without PROXY protocol (CCM v0.1.68 ``buildHealthCheck``; its protocol,
    path and port annotations apply only with ``override-health-check``, so none is set). Only the
    timing and thresholds are tuned.
    """
    values = {
        "name": name,
        "type": "REGIONAL",
        "size-unit": str(size_unit),
        "protocol": "tcp",
        "enable-proxy-protocol": "true",
        "hostname": hostname,
        "healthcheck-check-interval-seconds": "10",
        "healthcheck-response-timeout-seconds": "5",
        "healthcheck-unhealthy-threshold": "3",
        "healthcheck-healthy-threshold": "2",
    }
    return {LB_ANNOTATION + key: value for key, value in values.items()}


def envoy_gateway_values() -> dict[str, Any]:
    """Chart values: nothing beyond the controller's resources (the chart ships no values.schema.json)."""
    return {
        "deployment": {
            "envoyGateway": {
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1024Mi"}}
            }
        }
    }


def envoy_proxy_spec(args: SharedGatewayArgs) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "provider": {
            "type": "Kubernetes",
            "kubernetes": {
                "envoyService": dict(args.envoy_service)
                if args.envoy_service is not None
                else {
                    "type": "LoadBalancer",
                    # Client address preserved to the node, and a health check that skips proxy-less nodes.
                    "externalTrafficPolicy": "Local",
                    "annotations": load_balancer_annotations(
                        args.load_balancer_name, args.load_balancer_hostname, args.load_balancer_size_unit
                    ),
                },
                "envoyDeployment": {
                    "replicas": args.replicas,
                    "container": {
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}
                    },
                    "pod": {
                        "topologySpreadConstraints": [
                            {
                                "maxSkew": 1,
                                "topologyKey": "kubernetes.io/hostname",
                                "whenUnsatisfiable": "ScheduleAnyway",
                                "labelSelector": {"matchLabels": dict(PROXY_POD_LABELS)},
                            }
                        ]
                    },
                },
            },
        }
    }
    if args.replicas > 1:
        # One proxy may go at a time; with a single proxy a PDB would block every node drain instead.
        spec["provider"]["kubernetes"]["envoyPDB"] = {"minAvailable": 1}
    return spec


def gateway_spec(hosts: Sequence[str], tenants: Sequence[str]) -> dict[str, Any]:
    tenant_namespaces = {
        "from": "Selector",
        "selector": {"matchExpressions": [{"key": TENANT_LABEL, "operator": "In", "values": sorted(set(tenants))}]},
    }
    listeners: list[dict[str, Any]] = [
        {
            "name": HTTP_LISTENER,
            "protocol": "HTTP",
            "port": 80,
            # Only this namespace's routes: the redirect, and cert-manager's HTTP-01 solver routes.
            "allowedRoutes": {"namespaces": {"from": "Same"}, "kinds": [{"kind": "HTTPRoute"}]},
        }
    ]
    for fqdn in hosts:
        listeners.append(
            {
                "name": listener_name(fqdn),
                "protocol": "HTTPS",
                "port": 443,
                "hostname": fqdn,
                "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": f"{fqdn}-tls"}]},
                "allowedRoutes": {"namespaces": tenant_namespaces, "kinds": [{"kind": "HTTPRoute"}]},
            }
        )
    return {"gatewayClassName": GATEWAY_CLASS, "listeners": listeners}


def redirect_route_spec() -> dict[str, Any]:
    """Port 80's only route: every request answered with a permanent redirect to https."""
    return {
        "parentRefs": [{"name": GATEWAY_NAME, "sectionName": HTTP_LISTENER}],
        "rules": [
            {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}
        ],
    }


def client_traffic_spec() -> dict[str, Any]:
    return {
        # The LB sends a PROXY header on every connection (load_balancer_annotations); not optional, so a
        # connection that bypasses the LB cannot forge a client address.
        "proxyProtocol": {"optional": False},
        "tls": {"minVersion": "1.2"},
        "headers": {
            "lateResponseHeaders": {"set": [{"name": k, "value": v} for k, v in SECURITY_HEADERS.items()]},
            # Envoy's own x-envoy-* headers reveal the proxy; the seed's nginx had server_tokens off.
            "enableEnvoyHeaders": False,
        },
    }


def backend_traffic_spec(rate_limit_rpm: int) -> dict[str, Any]:
    return {
        "rateLimit": {
            "type": "Local",
            "local": {
                "rules": [
                    {
                        # One bucket per client address (Distinct over every address).
                        "clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": "0.0.0.0/0"}}],
                        "limit": {"requests": rate_limit_rpm, "unit": "Minute"},
                    }
                ]
            },
        },
        # Seed: upstream least_conn; max_fails=3 fail_timeout=30s; proxy_connect_timeout 5s; read 60s.
        "loadBalancer": {"type": "LeastRequest"},
        "healthCheck": {"passive": {"consecutive5XxErrors": 3, "interval": "30s", "baseEjectionTime": "30s"}},
        "timeout": {"tcp": {"connectTimeout": "5s"}, "http": {"requestTimeout": "60s"}},
    }
