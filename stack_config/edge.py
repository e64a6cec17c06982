"""Config of the cluster's platform add-ons and of the public edge (load balancer, DNS, TLS)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .base import StrictModel
from .infra import environment_of, to_key

_FQDN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")
_EMAIL = re.compile(r"^[^@\s]+@([a-z0-9-]+\.)+[a-z]{2,63}$", re.IGNORECASE)
_CHART_VERSION = re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+$")


EdgeImplementation = Literal["gateway", "ingress-nginx"]
"""``gateway``: Envoy Gateway behind one shared Gateway API Gateway (docs/kubernetes.md, "The edge").
``ingress-nginx``: the retired controller, kept only for stacks that are migrating away from it."""


class LoadBalancerConfig(StrictModel):
    """The DigitalOcean load balancer the cluster's cloud-controller-manager creates for the edge's Service."""

    size_unit: int = Field(default=1, ge=1, le=100, description="LB size units (~$12/month each). Seed: one LB.")


class EdgeConfig(StrictModel):
    """``platform:edge``: public hostnames, certificates and the load balancer."""

    domain: str = Field(description="Zone hosted on DigitalOcean DNS, e.g. nichediscovery.com (must exist).")
    subdomain: str | None = Field(
        default=None,
        description="Inserted between route hosts and the domain (api.<subdomain>.<domain>). "
        "Default: none (production hostnames). Staging must set one.",
    )
    acme_email: str = Field(description="Let's Encrypt account e-mail (expiry notices).")
    acme_server: Literal["production", "staging"] | None = Field(
        default=None,
        description="Let's Encrypt directory the ClusterIssuer uses. Default: staging in the staging environment "
        "(untrusted certificates, but its churn never eats production's rate limits on the shared domain), "
        "production elsewhere.",
    )
    rate_limit_rpm: int = Field(default=100, ge=1, le=100000, description="Requests/minute per client IP. Seed: 100.")
    dns_ttl: int = Field(default=300, ge=30, le=86400, description="TTL of the A records.")
    load_balancer: LoadBalancerConfig = Field(default_factory=LoadBalancerConfig)
    implementation: EdgeImplementation = Field(
        default="gateway",
        description="Edge that serves the public hostnames (DNS points at its load balancer, its solver issues "
        "certificates). Default: gateway (Envoy Gateway; ingress-nginx is out of maintenance since March 2026).",
    )
    standby: EdgeImplementation | None = Field(
        default=None,
        description="The other edge, kept running beside it during a migration (routes, controller and its own "
        "load balancer, no DNS). Default: none. docs/kubernetes.md, 'Migrating from ingress-nginx'.",
    )

    @model_validator(mode="after")
    def _standby_differs(self) -> EdgeConfig:
        if self.standby is not None and self.standby == self.implementation:
            raise ValueError(
                f"standby {self.standby!r} is the implementation itself: set standby to the other edge "
                "('gateway' or 'ingress-nginx') or remove it"
            )
        return self

    @property
    def implementations(self) -> tuple[EdgeImplementation, ...]:
        """Every edge this stack runs: the serving one first, then the standby."""
        return (self.implementation,) if self.standby is None else (self.implementation, self.standby)

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        if not _FQDN.fullmatch(value):
            raise ValueError("must be a lowercase domain name such as nichediscovery.com")
        return value

    @field_validator("subdomain")
    @classmethod
    def _subdomain(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not _SUBDOMAIN.fullmatch(value):
            raise ValueError("must be lowercase DNS labels such as 'staging'")
        if value is None and environment_of(info) == "staging":
            raise ValueError("staging must set a subdomain (e.g. 'staging') so it never claims production hostnames")
        return value

    @field_validator("acme_server")
    @classmethod
    def _acme_server(cls, value: str | None, info: ValidationInfo) -> str:
        if value is None:
            return "staging" if environment_of(info) == "staging" else "production"
        return value

    @field_validator("acme_email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.fullmatch(value):
            raise ValueError("must be an e-mail address Let's Encrypt can write to")
        return value

    @property
    def base_domain(self) -> str:
        """Domain under which route hosts live: ``<subdomain>.<domain>`` or ``<domain>``."""
        return f"{self.subdomain}.{self.domain}" if self.subdomain else self.domain

    @property
    def acme(self) -> str:
        """The Let's Encrypt directory in effect (``acme_server`` after its per-environment default)."""
        return self.acme_server or "production"

    @property
    def load_balancer_hostname(self) -> str:
        """DNS name of the ingress load balancer itself (``lb.<base domain>``)."""
        return f"lb.{self.base_domain}"


# Kubernetes minors each add-on release supports, copied from the projects' own matrices; a pin is
# accepted only where its range covers cluster.versionPrefix (StackConfig checks it), and a version
# missing here is refused until its range is recorded. docs/kubernetes.md repeats the table.
# - KEDA, keda.sh/docs/<version>/operate/cluster, "Kubernetes Compatibility" (tested window, N-2).
# - cert-manager, cert-manager.io/docs/releases, "Supported Releases" (supported Kubernetes versions).
# - Envoy Gateway, gateway.envoyproxy.io/news/releases/matrix (1.5-1.7); 1.8 and 1.9 from the kind node
#   versions of the release's own CI (.github/workflows/build_and_test.yaml in the v1.9.1 module zip:
#   v1.33.12, v1.34.8, v1.35.5, v1.36.1).
SUPPORTED_KUBERNETES: dict[str, dict[str, tuple[int, int]]] = {
    "keda": {"2.17": (30, 32), "2.18": (31, 33), "2.19": (32, 34), "2.20": (33, 35), "2.21": (34, 36)},
    "cert_manager": {"1.18": (29, 33), "1.19": (31, 35), "1.20": (32, 35), "1.21": (33, 36)},
    "envoy_gateway": {"1.5": (30, 33), "1.6": (30, 33), "1.7": (32, 35), "1.9": (33, 36)},
}
"""chart field -> release minor ("2.20") -> (lowest, highest) Kubernetes 1.x minor supported."""


class ChartVersions(StrictModel):
    """Pinned Helm chart versions (exact: a range would make two `pulumi up` runs deploy different code)."""

    ingress_nginx: str = Field(
        default="4.13.3",
        description="kubernetes.github.io/ingress-nginx chart (retired; only for edge.implementation/standby).",
    )
    # 1.9 is the newest Envoy Gateway line (EOL 2027-02); it bundles Gateway API v1.6.1 (experimental
    # channel CRDs) and is tested on Kubernetes 1.33-1.36. tests/vendor/crds/ holds exactly its CRDs.
    envoy_gateway: str = Field(
        default="v1.9.1",
        description="oci://docker.io/envoyproxy/gateway-helm chart (1.9: Kubernetes 1.33-1.36, Gateway API v1.6.1).",
    )
    # 1.21 supports Kubernetes 1.33-1.36 (1.18, the previous pin, stopped at 1.33). Its breaking
    # changes (tokenrequest RBAC, removed prometheus.servicemonitor values) touch nothing we set.
    cert_manager: str = Field(
        default="v1.21.1", description="charts.jetstack.io cert-manager chart (1.21: Kubernetes 1.33-1.36)."
    )
    # 2.20 is tested on Kubernetes 1.33-1.35 (2.17, the previous pin, on 1.30-1.32). 2.20.2 is the
    # newest chart in kedacore/charts; move to 2.21 (1.34-1.36) before the cluster goes to 1.36.
    keda: str = Field(
        default="2.20.2", description="kedacore.github.io/charts keda chart (2.20: Kubernetes 1.33-1.35)."
    )
    metrics_server: str = Field(default="3.13.0", description="kubernetes-sigs.github.io/metrics-server chart.")

    @field_validator("ingress_nginx", "envoy_gateway", "cert_manager", "keda", "metrics_server")
    @classmethod
    def _exact(cls, value: str) -> str:
        if not _CHART_VERSION.fullmatch(value):
            raise ValueError("must be an exact chart version such as 4.13.3 (no ranges, no 'latest')")
        return value

    def unsupported_at(self, minor: int) -> list[str]:
        """Why each pinned add-on does not support Kubernetes 1.<minor> (empty: all do)."""
        problems = []
        for chart, releases in SUPPORTED_KUBERNETES.items():
            version = getattr(self, chart)
            release = ".".join(version.removeprefix("v").split(".")[:2])
            key = f"charts.{to_key(chart)}"
            if release not in releases:
                problems.append(
                    f"{key} {version} has no recorded Kubernetes support range: add it to SUPPORTED_KUBERNETES "
                    "(stack_config/edge.py) from the project's compatibility matrix, or pin a recorded release"
                )
                continue
            low, high = releases[release]
            if not low <= minor <= high:
                fits = [r for r, (lo, hi) in releases.items() if lo <= minor <= hi]
                problems.append(
                    f"{key} {version} supports Kubernetes 1.{low}-1.{high}, not the cluster's 1.{minor}: "
                    f"pin a {' or '.join(fits) or 'newer'} release"
                )
        return problems


class AddonsConfig(StrictModel):
    """``platform:addons``: cluster add-ons installed with Helm."""

    charts: ChartVersions = Field(default_factory=ChartVersions)
    metrics_server: bool = Field(
        default=False,
        description="Install metrics-server. Default: false, because DOKS ships it in kube-system "
        "(installing a second one fights over the v1beta1.metrics.k8s.io APIService).",
    )
    ingress_replicas: int = Field(
        default=2, ge=1, le=10, description="Edge proxy replicas (Envoy proxies of the Gateway, or ingress-nginx)."
    )

    @field_validator("ingress_replicas")
    @classmethod
    def _ha_ingress(cls, value: int, info: ValidationInfo) -> int:
        if environment_of(info) == "production" and value < 2:
            raise ValueError("production runs at least 2 edge proxies: one is every request's single point")
        return value
