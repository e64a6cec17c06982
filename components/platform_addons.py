"""Cluster add-ons installed with Helm: ingress-nginx (and so the load balancer), cert-manager, KEDA.

The load balancer
-----------------
On DOKS the cloud-controller-manager (CCM) creates and owns the DigitalOcean load balancer of
every ``LoadBalancer`` Service, and reverts changes made elsewhere. So this component does not
create a ``digitalocean.LoadBalancer``: it configures the CCM's through the ingress-nginx
Service's ``service.beta.kubernetes.io/do-loadbalancer-*`` annotations, and ``Edge`` reads the result
back by its (stable) name. The annotations:

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

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .workload import NetworkPeer

INGRESS_NAMESPACE = "ingress-nginx"
INGRESS_CLASS = "nginx"
LB_ANNOTATION = "service.beta.kubernetes.io/do-loadbalancer-"

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
"""Added to every response by ingress-nginx (the seed's nginx.conf headers; HSTS is set separately).
The seed's X-XSS-Protection is left out: modern browsers ignore it and it can open leaks."""


@dataclass(frozen=True)
class PlatformAddonsArgs:
    load_balancer_name: str
    """Stable DigitalOcean name of the ingress load balancer (what ``Edge`` looks up)."""
    load_balancer_hostname: str
    """DNS name of the load balancer (see module docstring: PROXY protocol hairpin)."""
    load_balancer_size_unit: int
    acme_email: str
    ingress_nginx_version: str
    cert_manager_version: str
    keda_version: str
    metrics_server_version: str
    ingress_replicas: int = 2
    """Default: two controllers, spread over nodes."""
    metrics_server: bool = False
    """Default: rely on the metrics-server DOKS ships (see module docstring)."""


class PlatformAddons(pulumi.ComponentResource):
    """ingress-nginx + cert-manager (with a Let's Encrypt ClusterIssuer) + KEDA, chart versions pinned."""

    ingress_release: k8s.helm.v3.Release
    """The ingress-nginx release; its status is known only once the CCM's load balancer exists."""
    keda: list[pulumi.Resource]
    """What a ScaledObject/TriggerAuthentication must wait for (KEDA and its CRDs)."""
    cluster_issuer: str
    """Name of the Let's Encrypt ClusterIssuer for Ingress annotations."""
    ingress_class: str
    """IngressClass of the controller."""
    ingress_controller: NetworkPeer
    """The controller's pods as a NetworkPolicy peer (for namespaces that admit it)."""

    def __init__(self, name: str, args: PlatformAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:addons:PlatformAddons", name, None, opts)

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

        cert_manager = k8s.helm.v3.Release(
            f"{name}-cert-manager",
            name="cert-manager",
            chart="cert-manager",
            version=args.cert_manager_version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo="https://charts.jetstack.io"),
            namespace="cert-manager",
            create_namespace=True,
            atomic=True,
            values=cert_manager_values(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.cluster_issuer = "letsencrypt-prod"
        k8s.apiextensions.CustomResource(
            f"{name}-letsencrypt",
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=self.cluster_issuer),
            spec=cluster_issuer_spec(args.acme_email),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cert_manager, self.ingress_release]),
        )

        keda = k8s.helm.v3.Release(
            f"{name}-keda",
            name="keda",
            chart="keda",
            version=args.keda_version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo="https://kedacore.github.io/charts"),
            namespace="keda",
            create_namespace=True,
            atomic=True,
            values=keda_values(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.keda = [keda]

        if args.metrics_server:
            k8s.helm.v3.Release(
                f"{name}-metrics-server",
                name="metrics-server",
                chart="metrics-server",
                version=args.metrics_server_version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo="https://kubernetes-sigs.github.io/metrics-server"),
                namespace="kube-system",
                atomic=True,
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.ingress_class = INGRESS_CLASS
        self.ingress_controller = NetworkPeer(
            namespace_labels={"kubernetes.io/metadata.name": INGRESS_NAMESPACE},
            pod_labels={"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
        )
        self.register_outputs({"ingress_release_status": self.ingress_release.status})


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


def cert_manager_values() -> dict[str, Any]:
    return {
        # The chart owns the CRDs (keep them on uninstall: deleting CRDs deletes every Certificate).
        "crds": {"enabled": True, "keep": True},
        "prometheus": {"enabled": True},
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
    }


def keda_values() -> dict[str, Any]:
    return {
        "crds": {"install": True},
        "resources": {
            "operator": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
            "metricServer": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        },
    }


def cluster_issuer_spec(email: str) -> dict[str, Any]:
    """Let's Encrypt production with HTTP-01 through ingress-nginx (DNS names need no API token)."""
    return {
        "acme": {
            "server": "https://acme-v02.api.letsencrypt.org/directory",
            "email": email,
            "privateKeySecretRef": {"name": "letsencrypt-prod-account-key"},
            "solvers": [{"http01": {"ingress": {"ingressClassName": INGRESS_CLASS}}}],
        }
    }
