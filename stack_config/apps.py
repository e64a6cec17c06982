"""The tenant's in-cluster services, as data: a workload catalog file plus per-stack differences.

``platform:apps`` names a catalog (``tenants/<tenant>.yaml``) that describes every service once
(image, ports, probes, resources, autoscaling, which secrets and which networks it needs), and
holds only what the stack changes: the image tag (or digests), ConfigMap values and replica counts.
So another tenant's services are another catalog file, not new code.

The catalog is read from the repository when the config is validated (a local file, never the
network) and validated with the same strict models, so an error in it is reported at its path
under ``platform:apps.catalog``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationInfo, field_validator, model_validator

from .base import StrictModel
from .credentials import credential_shape, names_credential
from .infra import environment_of
from .secrets import SECRETS_BY_KEY, ExternalSecretsConfig
from .stack_files import load_unique

REPO_ROOT = Path(__file__).resolve().parent.parent
"""Catalog paths are relative to the repository root (where Pulumi.yaml lives)."""

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_CPU = re.compile(r"^([0-9]+m|[0-9]+(\.[0-9]{1,3})?)$")
_MEMORY = re.compile(r"^[0-9]+(Ki|Mi|Gi)$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_IMAGE_REPO = re.compile(r"^[a-z0-9]+([._/-][a-z0-9]+)*$")

SECRET_SOURCES = frozenset(
    {
        "postgres.pooledUri",
        "postgres.directUri",
        "cache.uri",
        "cache.celeryBrokerUri",
        # Produced by a Tenant (components/tenant.py) for the catalogs that declare the need.
        "postgres.replicaUri",
        "storage.accessKeyId",
        "storage.secretAccessKey",
    }
)
"""Credentials the platform itself produces; ``config.<secretKey>`` names one from stack_config/secrets.py."""

INGRESS_SOURCE = "ingress"
"""``allowFrom`` entry meaning the ingress controller (for services behind a route)."""

_MEMORY_UNITS = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}


def cpu_millis(quantity: str) -> int:
    """``250m`` -> 250, ``1`` -> 1000, ``0.5`` -> 500."""
    return int(quantity[:-1]) if quantity.endswith("m") else round(float(quantity) * 1000)


def memory_mib(quantity: str) -> float:
    """``512Mi`` -> 512, ``1Gi`` -> 1024."""
    return int(quantity[:-2]) * _MEMORY_UNITS[quantity[-2:]]


def credential_problem(key: str, value: str) -> str | None:
    """Why a plain (ConfigMap/env) value must be a Secret instead, or None when it is harmless."""
    if names_credential(key):
        return f"{key} names a credential"
    shape = credential_shape(value)
    if shape:
        return f"{key} holds {shape}"
    return None


class Quantities(StrictModel):
    cpu: str = Field(description="CPU in cores or millicores: '250m', '1'.")
    memory: str = Field(description="Memory in Ki/Mi/Gi: '256Mi'.")

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: str) -> str:
        if not _CPU.fullmatch(value) or cpu_millis(value) <= 0:
            raise ValueError("must be a positive CPU quantity such as '250m' or '1'")
        return value

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        if not _MEMORY.fullmatch(value) or memory_mib(value) <= 0:
            raise ValueError("must be a positive memory quantity in Ki, Mi or Gi, such as '256Mi'")
        return value


class Resources(StrictModel):
    """Both are required: a pod without requests cannot be scheduled or autoscaled sensibly, one without
    limits can starve its neighbours."""

    requests: Quantities
    limits: Quantities

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> Resources:
        if cpu_millis(self.limits.cpu) < cpu_millis(self.requests.cpu):
            raise ValueError(f"limits.cpu {self.limits.cpu} is below requests.cpu {self.requests.cpu}")
        if memory_mib(self.limits.memory) < memory_mib(self.requests.memory):
            raise ValueError(f"limits.memory {self.limits.memory} is below requests.memory {self.requests.memory}")
        return self


class HttpGet(StrictModel):
    path: str = Field(description="Request path, e.g. /health.")
    port: int | None = Field(default=None, ge=1, le=65535, description="Default: the service's port.")


class Probe(StrictModel):
    """Exactly one of ``httpGet`` (web services) or ``exec`` (workers, e.g. ``celery inspect ping``)."""

    http_get: HttpGet | None = None
    exec: list[str] | None = Field(default=None, description="Command run in the container; exit 0 = healthy.")
    initial_delay_seconds: int = Field(default=10, ge=0, le=600)
    period_seconds: int = Field(default=10, ge=1, le=300)
    timeout_seconds: int = Field(default=5, ge=1, le=120)
    failure_threshold: int = Field(default=3, ge=1, le=20)

    @model_validator(mode="after")
    def _one_kind(self) -> Probe:
        if (self.http_get is None) == (self.exec is None):
            raise ValueError("set exactly one of httpGet or exec")
        if self.exec is not None and not self.exec:
            raise ValueError("exec needs a command")
        return self


class QueueTrigger(StrictModel):
    """Scale on the length of a Celery queue (a Redis list on the Valkey broker), via KEDA."""

    name: str = Field(description="Celery queue name = Redis list name.")
    tasks_per_replica: int = Field(
        default=10, ge=1, description="Target average queued tasks per replica (KEDA listLength). Seed: 10."
    )
    activation_tasks: int = Field(
        default=0, ge=0, description="Queue length below which the workload is not scaled up from its minimum."
    )


class RequestRateTrigger(StrictModel):
    """Scale on HTTP requests per second per replica, via KEDA's Prometheus scaler.

    The rate is read from the monitoring host's Prometheus (the in-cluster agent is agent-mode and has
    no query API), from the ``http_requests_total`` counter the service exposes on its metrics port.
    """

    average_per_replica: int = Field(
        ge=1, le=100_000, description="Target average requests per second per replica. Seed (api-service): 100."
    )
    counter: str = Field(
        default="http_requests_total",
        pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$",
        description="Prometheus counter of served requests (the seed's dashboards use http_requests_total).",
    )


class ScalingPolicy(StrictModel):
    type: Literal["Percent", "Pods"]
    value: int = Field(ge=1, le=1000)
    period_seconds: int = Field(ge=1, le=1800)


class ScalingRules(StrictModel):
    """One direction of an HPA ``behavior`` (autoscaling/v2 HPAScalingRules)."""

    stabilization_window_seconds: int = Field(ge=0, le=3600)
    select_policy: Literal["Max", "Min"] = Field(default="Max", description="Which policy wins when several apply.")
    policies: list[ScalingPolicy] = Field(min_length=1)


DEFAULT_SCALE_UP = ScalingRules(
    stabilization_window_seconds=30,
    policies=[
        ScalingPolicy(type="Percent", value=100, period_seconds=30),
        ScalingPolicy(type="Pods", value=4, period_seconds=60),
    ],
)
"""Used when a service's catalog entry sets no ``scaleUp``: fast (double every 30 s, or 4 pods a minute)."""
DEFAULT_SCALE_DOWN = ScalingRules(
    stabilization_window_seconds=300, policies=[ScalingPolicy(type="Percent", value=50, period_seconds=60)]
)
"""The seed's API scale-down: at most half a minute after 5 quiet minutes, so a burst does not thrash."""


class Autoscaling(StrictModel):
    """Resource targets (CPU/memory), a request rate and/or a queue.

    Only CPU/memory: an HPA (metrics-server provides the metrics). With a request rate or a queue: a KEDA
    ScaledObject that carries every trigger (KEDA's cpu/memory triggers included), because KEDA owns the
    HPA behind it and a second HPA on the same Deployment would fight it over the replica count.
    """

    min_replicas: int = Field(
        ge=0,
        description="Floor. 0 (scale to zero when idle) only for a queue-driven worker: KEDA wakes it when tasks "
        "arrive, and the node pool under it can empty (a GPU node costs by the hour).",
    )
    max_replicas: int = Field(ge=1, description="Ceiling.")
    cpu_percent: int | None = Field(default=None, ge=1, le=100, description="Average CPU utilisation target.")
    memory_percent: int | None = Field(default=None, ge=1, le=100, description="Average memory utilisation target.")
    requests_per_second: RequestRateTrigger | None = None
    queue: QueueTrigger | None = None
    scale_up: ScalingRules = Field(
        default=DEFAULT_SCALE_UP, description="HPA scale-up behaviour. Default: 100%/30 s or 4 pods/60 s, 30 s window."
    )
    scale_down: ScalingRules = Field(
        default=DEFAULT_SCALE_DOWN, description="HPA scale-down behaviour. Default: 50%/60 s after a 300 s window."
    )

    @model_validator(mode="after")
    def _shape(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) must be <= maxReplicas ({self.max_replicas})")
        if not any((self.cpu_percent, self.memory_percent, self.requests_per_second, self.queue)):
            raise ValueError("set at least one of cpuPercent, memoryPercent, requestsPerSecond or queue")
        if self.min_replicas == 0 and self.queue is None:
            # An HPA never goes below 1, and KEDA's cpu/memory/request-rate triggers read metrics of running
            # pods: with none running nothing would ever wake the workload. A queue is read from the broker.
            raise ValueError(
                "minReplicas 0 (scale to zero) needs a queue trigger, which KEDA reads from the broker while no "
                "pod runs; set autoscaling.queue or minReplicas >= 1"
            )
        return self

    @property
    def keda(self) -> bool:
        """Whether KEDA scales this workload (a ScaledObject) rather than a plain HPA."""
        return self.requests_per_second is not None or self.queue is not None


class Mount(StrictModel):
    """A writable scratch directory (``emptyDir``) or the tenant's ConfigMap as files (read-only).

    The root filesystem is read-only, so every directory an image writes to must be mounted here
    (``/tmp`` always is).
    """

    path: str = Field(description="Absolute directory in the container, e.g. /app/logs.")
    source: Literal["emptyDir", "config"] = Field(
        description="emptyDir: writable, lives as long as the pod. config: the app-config ConfigMap, read-only."
    )
    size_limit: str = Field(default="256Mi", description="emptyDir only: the pod is evicted beyond it.")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not re.fullmatch(r"(/[A-Za-z0-9._-]+)+", value) or ".." in value.split("/"):
            raise ValueError("must be an absolute directory such as /app/logs (no trailing slash, no '..')")
        if value == "/tmp" or value.startswith(("/etc/ssl/platform", "/proc", "/sys", "/dev")):  # noqa: S108
            raise ValueError(f"{value} is mounted by the platform or the runtime; choose another directory")
        return value

    @field_validator("size_limit")
    @classmethod
    def _size(cls, value: str) -> str:
        if not _MEMORY.fullmatch(value) or memory_mib(value) <= 0:
            raise ValueError("must be a positive quantity in Ki, Mi or Gi, such as '256Mi'")
        return value


class Service(StrictModel):
    """One service of the tenant: becomes a Workload (Deployment, Service, autoscaler, PDB, NetworkPolicy)."""

    image: str = Field(description="Repository under the catalog's registry, without tag: 'api'.")
    port: int | None = Field(
        default=None, ge=1024, le=65535, description="Container HTTP port. None: no HTTP Service port (a worker)."
    )
    service_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port of the Service that clients (and routes) call; it forwards to the container port. "
        "Default: the container port.",
    )
    command: list[str] | None = Field(default=None, description="Default: the image's entrypoint.")
    args: list[str] | None = Field(default=None, description="Default: the image's command.")
    replicas: int = Field(default=1, ge=1, le=100, description="Fixed count when not autoscaled.")
    resources: Resources
    liveness: Probe
    readiness: Probe
    autoscaling: Autoscaling | None = None
    env: dict[str, str] = Field(default_factory=dict, description="Plain, non-secret environment.")
    secret_env: list[str] = Field(default_factory=list, description="Names from the catalog's secrets this needs.")
    egress: list[Literal["postgres", "cache", "internet"]] = Field(default_factory=list)
    internet_ports: list[int] = Field(
        default_factory=lambda: [80, 443],
        description="TCP ports open towards the internet (with egress 'internet'), e.g. upstream proxies' "
        "ports. Default: 80 and 443.",
    )
    mounts: list[Mount] = Field(default_factory=list, description="Writable and config directories the image needs.")
    allow_from: list[str] = Field(
        default_factory=list, description="Who may connect to the port: 'ingress' and/or other service names."
    )
    node_pool: str | None = Field(
        default=None, description="Pin to this node pool (nodeSelector, plus a toleration when it is tainted)."
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1024,
        le=65535,
        description="Prometheus /metrics port, named 'metrics' on the pod and the Service; must differ from "
        "port so the edge never routes it. None: not scraped.",
    )
    uid: int = Field(default=10001, ge=10000, le=2147483647, description="Non-root UID/GID the container runs as.")
    gpus: int = Field(
        default=0,
        ge=0,
        le=8,
        description="NVIDIA GPUs per pod (nvidia.com/gpu, request = limit). Needs nodePool: the GPU pool, whose "
        "taint the pods then tolerate. Default: none.",
    )

    @field_validator("env")
    @classmethod
    def _plain_env(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if not _ENV_NAME.fullmatch(key):
                raise ValueError(f"{key!r} is not an environment variable name ([A-Z_][A-Z0-9_]*)")
            problem = credential_problem(key, item)
            if problem:
                raise ValueError(f"{problem}: declare it under the catalog's secrets and list it in secretEnv")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Service:
        for which, probe in (("liveness", self.liveness), ("readiness", self.readiness)):
            if probe.http_get is not None and probe.http_get.port is None and self.port is None:
                raise ValueError(f"{which}.httpGet needs a port: set the probe's port or the service's port")
        if self.allow_from and self.port is None:
            raise ValueError("allowFrom needs a port to admit connections to")
        if self.service_port is not None and self.port is None:
            raise ValueError("servicePort needs a (container) port to forward to")
        if self.metrics_port is not None and self.metrics_port in (self.port, self.service_port):
            raise ValueError(
                f"metricsPort {self.metrics_port} is the HTTP port: serve /metrics on a port of its own, "
                "which the edge never routes and only the monitoring namespace may reach"
            )
        if self.internet_ports != [80, 443] and "internet" not in self.egress:
            raise ValueError("internetPorts only applies with 'internet' in egress")
        if not self.internet_ports or len(set(self.internet_ports)) != len(self.internet_ports):
            raise ValueError(f"internetPorts {self.internet_ports} must list distinct ports")
        bad = [p for p in self.internet_ports if not 1 <= p <= 65535 or p == 25]
        if bad:
            raise ValueError(f"internetPorts {bad}: ports are 1-65535, and 25 (SMTP) is never opened")
        paths = [m.path for m in self.mounts]
        if len(set(paths)) != len(paths):
            raise ValueError(f"mounts repeat a path: {sorted(paths)}")
        scaling = self.autoscaling
        if scaling and scaling.requests_per_second and self.metrics_port is None:
            raise ValueError("autoscaling.requestsPerSecond reads the service's metrics: set metricsPort")
        if scaling and scaling.min_replicas == 0 and self.port is not None:
            raise ValueError(
                f"autoscaling.minReplicas 0 on a service with port {self.port}: requests to zero pods fail (KEDA "
                "wakes a workload on queued work, it does not hold requests); keep minReplicas >= 1"
            )
        if self.gpus and self.node_pool is None:
            raise ValueError(
                f"gpus {self.gpus} without nodePool: GPU pools are tainted (only GPU work lands there), so pin the "
                "service to the GPU pool, whose taint it then tolerates"
            )
        return self

    @property
    def client_port(self) -> int | None:
        """The Service port clients and routes call."""
        return self.service_port or self.port


class Route(StrictModel):
    """One ingress path. Hosts are labels under the stack's domain (``api`` -> api[.sub].domain)."""

    host: str = Field(description="DNS label under the stack's domain, e.g. 'api'.")
    path: str = Field(default="/", description="Path prefix.")
    service: str = Field(description="Catalog service that serves it.")
    auth: Literal["none", "basic"] = Field(
        default="none",
        description="basic: HTTP basic auth at the edge, from the flowerHtpasswd secret for the platform's own apps "
        "(platform:apps) and from the secret its catalog's basicAuthSecret names for a tenant.",
    )

    @field_validator("host")
    @classmethod
    def _label(cls, value: str) -> str:
        if not _DNS_LABEL.fullmatch(value):
            raise ValueError("must be a lowercase DNS label such as 'api'")
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/'")
        if value.rstrip("/").startswith("/metrics") or value.rstrip("/") in ("/docs", "/redoc", "/openapi.json"):
            raise ValueError(
                f"{value} is internal (metrics, API docs): it is never routed from the internet; "
                "route the public prefixes only, e.g. /v1/ and /health"
            )
        return value


class Catalog(StrictModel):
    """A tenant's workload catalog (``tenants/<tenant>.yaml``)."""

    registry: str = Field(description="Image registry and namespace, e.g. registry.digitalocean.com/nichediscovery.")
    config: dict[str, str] = Field(default_factory=dict, description="ConfigMap defaults (non-secret).")
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="Secret env var -> source: postgres.pooledUri, cache.uri, ... or config.<secretKey>.",
    )
    services: dict[str, Service]
    routes: list[Route] = Field(default_factory=list)

    @field_validator("registry")
    @classmethod
    def _registry(cls, value: str) -> str:
        host, _, path = value.partition("/")
        if "." not in host or not path or not _IMAGE_REPO.fullmatch(path) or ":" in value:
            raise ValueError("must be <registry host>/<namespace> without a tag, e.g. registry.digitalocean.com/acme")
        return value

    @field_validator("config")
    @classmethod
    def _config(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_config_map(value)

    @field_validator("secrets")
    @classmethod
    def _secret_sources(cls, value: dict[str, str]) -> dict[str, str]:
        for name, source in value.items():
            if not _ENV_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not an environment variable name ([A-Z_][A-Z0-9_]*)")
            key = source.removeprefix("config.")
            if source.startswith("config.") and key not in SECRETS_BY_KEY:
                raise ValueError(f"{name}: {source} is not a registered secret (stack_config/secrets.py)")
            if not source.startswith("config.") and source not in SECRET_SOURCES:
                raise ValueError(
                    f"{name}: unknown source {source!r}; use one of {sorted(SECRET_SOURCES)} or config.<key>"
                )
        return value

    @field_validator("services")
    @classmethod
    def _services(cls, value: dict[str, Service], info: ValidationInfo) -> dict[str, Service]:
        secrets = info.data.get("secrets") or {}
        for name, service in value.items():
            if not _DNS_LABEL.fullmatch(name) or len(name) > 40:
                raise ValueError(f"service name {name!r} must be a lowercase DNS label of at most 40 characters")
            missing = sorted(set(service.secret_env) - set(secrets))
            if missing:
                raise ValueError(f"{name}.secretEnv names {missing}, which the catalog's secrets do not define")
            unknown = sorted(s for s in service.allow_from if s != INGRESS_SOURCE and s not in value)
            if unknown:
                raise ValueError(
                    f"{name}.allowFrom names {unknown}: use '{INGRESS_SOURCE}' or a service of this catalog"
                )
        return value

    @model_validator(mode="after")
    def _routes(self) -> Catalog:
        for route in self.routes:
            target = self.services.get(route.service)
            if target is None:
                raise ValueError(f"route {route.host}{route.path} points at unknown service {route.service!r}")
            if target.port is None or INGRESS_SOURCE not in target.allow_from:
                raise ValueError(
                    f"route {route.host}{route.path}: service {route.service} needs a port and "
                    f"'{INGRESS_SOURCE}' in allowFrom"
                )
        return self


def _check_config_map(value: dict[str, str]) -> dict[str, str]:
    for key, item in value.items():
        if not _ENV_NAME.fullmatch(key):
            raise ValueError(f"{key!r} is not an environment variable name ([A-Z_][A-Z0-9_]*)")
        problem = credential_problem(key, item)
        if problem:
            raise ValueError(
                f"{problem}; ConfigMaps are readable by anyone who can read the namespace: "
                "put it in the catalog's secrets instead"
            )
    return value


class ServiceOverride(StrictModel):
    """What a stack may change about one service (everything else is the catalog's)."""

    replicas: int | None = Field(default=None, ge=1, le=100)
    min_replicas: int | None = Field(default=None, ge=1)
    max_replicas: int | None = Field(default=None, ge=1)
    image_tag: str | None = Field(default=None, description="Default: apps.imageTag.")
    image_digest: str | None = Field(default=None, description="sha256:<64 hex>; wins over any tag.")

    @field_validator("image_tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        return value if value is None else _image_tag(value)

    @field_validator("image_digest")
    @classmethod
    def _digest(cls, value: str | None) -> str | None:
        if value is not None and not _DIGEST.fullmatch(value):
            raise ValueError("must be sha256:<64 lowercase hex digits>")
        return value


def _image_tag(value: str) -> str:
    if value == "latest":
        raise ValueError("'latest' is not a pinned image: use a version or commit tag (or an imageDigest)")
    if not _TAG.fullmatch(value):
        raise ValueError("must be a Docker tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})")
    return value


class AppsConfig(StrictModel):
    """``platform:apps``: which catalog this stack runs, and how this stack differs."""

    catalog: Catalog = Field(
        description="Path of the tenant's catalog file relative to the repository root (tenants/<tenant>.yaml), "
        "or the catalog inline. The catalog's own fields are listed below it."
    )
    image_tag: str = Field(description="Tag of every image (not 'latest'); per-service imageTag/imageDigest win.")
    image_pull_secret: str | None = Field(
        default=None,
        description="Pull secret present in the namespace (DOKS registry integration provisions "
        "'registry-<registry name>'). Default: none (public images or node-level credentials).",
    )
    config: dict[str, str] = Field(default_factory=dict, description="ConfigMap values that differ in this stack.")
    services: dict[str, ServiceOverride] = Field(default_factory=dict, description="Per-service overrides.")
    external_secrets: ExternalSecretsConfig = Field(
        default_factory=ExternalSecretsConfig,
        description="Where the catalog's config.<key> secrets come from: Pulumi secret config (default) or AWS "
        "Secrets Manager through the External Secrets Operator (rotation without a commit).",
    )

    @field_validator("catalog", mode="before")
    @classmethod
    def _load_catalog(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return value  # an inline catalog (small tenants, tests)
        if not isinstance(value, str):
            raise ValueError("must be the path of a catalog file, e.g. tenants/niche-discovery.yaml")
        path = (REPO_ROOT / value).resolve()
        if not path.is_relative_to(REPO_ROOT) or not path.is_file():
            raise ValueError(f"catalog file {value!r} not found under the repository root")
        try:
            loaded, duplicates = load_unique(path.read_text())
        except yaml.YAMLError as exc:
            raise ValueError(f"catalog file {value!r} is not valid YAML: {exc}") from None
        if duplicates:
            repeated = ", ".join(f"{d.path} (lines {d.first_line} and {d.line})" for d in duplicates)
            raise ValueError(f"catalog file {value!r} repeats {repeated}; YAML keeps the last silently: merge them")
        if not isinstance(loaded, dict):
            raise ValueError(f"catalog file {value!r} must hold a mapping")
        return loaded

    _image_tag = field_validator("image_tag")(classmethod(lambda cls, v: _image_tag(v)))

    @field_validator("config")
    @classmethod
    def _config(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_config_map(value)

    @field_validator("services")
    @classmethod
    def _overrides(cls, value: dict[str, ServiceOverride], info: ValidationInfo) -> dict[str, ServiceOverride]:
        catalog: Catalog | None = info.data.get("catalog")
        if catalog is None:
            return value
        unknown = sorted(set(value) - set(catalog.services))
        if unknown:
            raise ValueError(f"overrides for services the catalog does not define: {unknown}")
        production = environment_of(info) == "production"
        for name, override in value.items():
            merged = _apply(catalog.services[name], override)
            if (override.min_replicas or override.max_replicas) and catalog.services[name].autoscaling is None:
                raise ValueError(f"{name}: minReplicas/maxReplicas only apply to an autoscaled service")
            if merged.autoscaling and merged.autoscaling.min_replicas > merged.autoscaling.max_replicas:
                raise ValueError(
                    f"{name}: minReplicas ({merged.autoscaling.min_replicas}) must be <= "
                    f"maxReplicas ({merged.autoscaling.max_replicas})"
                )
            # A service the catalog runs redundantly stays redundant in production (singletons such as
            # Flower are singletons by design and keep their catalog count).
            if production and merged.port is not None and _floor(merged) < min(2, _floor(catalog.services[name])):
                raise ValueError(
                    f"{name}: production serves it with at least 2 replicas, so a node drain or a rollout never "
                    "takes it offline"
                )
        return value

    def resolved_services(self) -> dict[str, Service]:
        """The catalog's services with this stack's overrides applied."""
        return {
            name: _apply(service, self.services.get(name, ServiceOverride()))
            for name, service in self.catalog.services.items()
        }

    def image_of(self, name: str) -> str:
        """Full image reference of a service: digest if pinned, else tag."""
        service = self.catalog.services[name]
        override = self.services.get(name, ServiceOverride())
        repository = f"{self.catalog.registry}/{service.image}"
        if override.image_digest:
            return f"{repository}@{override.image_digest}"
        return f"{repository}:{override.image_tag or self.image_tag}"

    def store_managed_keys(self) -> frozenset[str]:
        """Secret config keys the external store supplies when it is on (none when it is off)."""
        if not self.external_secrets.enabled:
            return frozenset()
        return frozenset(
            source.removeprefix("config.") for source in self.catalog.secrets.values() if source.startswith("config.")
        )

    def config_map(self) -> dict[str, str]:
        """The ConfigMap's data: catalog defaults overlaid with this stack's values."""
        return {**self.catalog.config, **self.config}


def _floor(service: Service) -> int:
    return service.autoscaling.min_replicas if service.autoscaling else service.replicas


def _apply(service: Service, override: ServiceOverride) -> Service:
    update: dict[str, Any] = {}
    if override.replicas is not None:
        update["replicas"] = override.replicas
    if service.autoscaling and (override.min_replicas is not None or override.max_replicas is not None):
        scaling = service.autoscaling.model_copy(
            update={
                k: v
                for k, v in (("min_replicas", override.min_replicas), ("max_replicas", override.max_replicas))
                if v is not None
            }
        )
        update["autoscaling"] = scaling
    return service.model_copy(update=update) if update else service
