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
from .secrets import SECRETS_BY_KEY
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

SECRET_SOURCES = frozenset({"postgres.pooledUri", "postgres.directUri", "cache.uri", "cache.celeryBrokerUri"})
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


class Autoscaling(StrictModel):
    """Either resource targets (an HPA on CPU/memory, which metrics-server provides) or a queue (KEDA)."""

    min_replicas: int = Field(ge=1, description="Floor (KEDA never scales these workloads to zero).")
    max_replicas: int = Field(ge=1, description="Ceiling.")
    cpu_percent: int | None = Field(default=None, ge=1, le=100, description="Average CPU utilisation target.")
    memory_percent: int | None = Field(default=None, ge=1, le=100, description="Average memory utilisation target.")
    queue: QueueTrigger | None = None

    @model_validator(mode="after")
    def _shape(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) must be <= maxReplicas ({self.max_replicas})")
        resource = self.cpu_percent is not None or self.memory_percent is not None
        if resource == (self.queue is not None):
            raise ValueError(
                "set either cpuPercent/memoryPercent (HPA) or queue (KEDA): "
                "one autoscaler per workload, or the two fight over the replica count"
            )
        return self


class Service(StrictModel):
    """One service of the tenant: becomes a Workload (Deployment, Service, autoscaler, PDB, NetworkPolicy)."""

    image: str = Field(description="Repository under the catalog's registry, without tag: 'api'.")
    port: int | None = Field(default=None, ge=1024, le=65535, description="HTTP port. None: no Service (a worker).")
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
    allow_from: list[str] = Field(
        default_factory=list, description="Who may connect to the port: 'ingress' and/or other service names."
    )
    node_pool: str | None = Field(
        default=None, description="Pin to this node pool (nodeSelector, plus a toleration when it is tainted)."
    )
    metrics_port: int | None = Field(
        default=None, ge=1024, le=65535, description="Prometheus metrics port. None: not scraped."
    )
    uid: int = Field(default=10001, ge=10000, le=2147483647, description="Non-root UID/GID the container runs as.")

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
        return self


class Route(StrictModel):
    """One ingress path. Hosts are labels under the stack's domain (``api`` -> api[.sub].domain)."""

    host: str = Field(description="DNS label under the stack's domain, e.g. 'api'.")
    path: str = Field(default="/", description="Path prefix.")
    service: str = Field(description="Catalog service that serves it.")
    auth: Literal["none", "basic"] = Field(
        default="none", description="basic: HTTP basic auth from the flowerHtpasswd secret at the ingress."
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
