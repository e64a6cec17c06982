"""More systems on one platform: ``platform:tenants`` lists tenant catalogs, each isolated from the others.

A tenant catalog (``tenants/<name>.yaml``) is a workload catalog (stack_config/apps.py: services,
config, secrets, routes) plus the tenant-level sections this module adds by composition:

* ``name``/``displayName``/``target``: who it is and where it runs (``digitalocean`` here; ``aws``
  catalogs share the format and are deployed by the AWS half of the program);
* ``database``: its own database and role on the stack's shared PostgreSQL cluster, an optional read
  replica;
* ``cache``: its own managed Valkey cluster (broker and cache);
* ``buckets``: Spaces buckets with lifecycle rules, an optional CDN and an optional replica in
  another region;
* ``nodePools``: pools only this tenant's pods run on (tainted so nobody else lands there);
* ``alerts``/``dashboards``: the seed's rules and panels, labelled with the tenant;
* ``alertReceiver``: optional webhook of the tenant's own that receives its alerts (besides the platform's
  receivers); the URL is a secret config key, never catalog text (observability/tenants.py);
* ``basicAuthSecret``: the secret config key holding the htpasswd lines of its ``auth: basic`` routes;
* ``backup``: schedule and retention of its off-site dumps under its own prefix.

A stack entry names the catalog and changes only scale (replica ranges, pool sizes, standby nodes),
the release (image tag or digests) and the ConfigMap values that differ per environment (``config``, e.g.
seed 004's ``NODE_ENV: staging``/``production``, which a catalog cannot hold: the same value in every stack,
and "production" in a staging ConfigMap is refused by stack-no-cross-environment-references):
``{catalog, imageTag, services, config, nodePools, cache}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationInfo, field_validator, model_validator

from .apps import REPO_ROOT, AppsConfig
from .backup import BackupConfig
from .base import PROJECT, UNSET, Problem, StrictModel
from .infra import DATABASE_SIZES, CacheConfig, DatabaseMaintenance, NodePool, _one_of, environment_of
from .secrets import SECRETS_BY_KEY
from .stack_files import load_unique

TENANT_SECTIONS = (
    "name",
    "displayName",
    "target",
    "database",
    "cache",
    "buckets",
    "nodePools",
    "alerts",
    "dashboards",
    "alertReceiver",
    "basicAuthSecret",
    "backup",
)
"""Catalog keys that belong to the tenant; every other key is the workload catalog's (stack_config/apps.py)."""

SPACES_REGIONS = frozenset({"nyc3", "sfo2", "sfo3", "ams3", "fra1", "sgp1", "syd1", "blr1", "lon1", "tor1"})
"""Regions with Spaces (DigitalOcean's product page, late 2026; not every droplet region has Spaces)."""

TENANT_SECRET_SOURCES = frozenset({"postgres.replicaUri", "storage.accessKeyId", "storage.secretAccessKey"})
"""Credentials a Tenant produces besides the database and cache URIs (apps.SECRET_SOURCES lists them too)."""

_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,18}[a-z0-9])?$")
_ALERT = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_DURATION = re.compile(r"^[0-9]+[smh]$")

NAMESPACE_PLACEHOLDER = "$namespace"
"""What a catalog writes in every selector of its alerts and panels, as ``namespace="$namespace"``; the renderer
(observability/tenants.py) fills in the tenant's namespace. The tenants share a cluster and metric names: a
selector without it reads every tenant's series."""
NAMESPACE_MATCHER = f'namespace="{NAMESPACE_PLACEHOLDER}"'


def camel(name: str) -> str:
    """``video-analysis`` -> ``videoAnalysis``: the prefix of the tenant's own secret config keys."""
    head, *rest = name.split("-")
    return head + "".join(part.title() for part in rest)


class ReadReplica(StrictModel):
    """A read-only copy of the PostgreSQL cluster for the tenant's read traffic (seed 001)."""

    size: str = Field(default="db-s-1vcpu-2gb", description="Plan of the replica node.")

    _size = field_validator("size")(classmethod(lambda cls, v: _one_of(v, DATABASE_SIZES, "database plan")))


class DedicatedCluster(StrictModel):
    """A PostgreSQL cluster of the tenant's own (``database.cluster: dedicated``)."""

    version: Literal["15", "16", "17"] = Field(default="17", description="Major version.")
    size: str = Field(default="db-s-1vcpu-2gb", description="Plan slug per node.")
    node_count: int = Field(default=1, ge=1, le=3, description="1 primary + standbys; a stack may scale it.")
    maintenance: DatabaseMaintenance = Field(default_factory=DatabaseMaintenance)

    _size = field_validator("size")(classmethod(lambda cls, v: _one_of(v, DATABASE_SIZES, "database plan")))

    @field_validator("node_count")
    @classmethod
    def _standby(cls, value: int, info: ValidationInfo) -> int:
        if environment_of(info) == "production" and value < 2:
            raise ValueError("production needs a standby: set the tenant's database.nodeCount to 2 (or 3)")
        return value


class DatabaseNeeds(StrictModel):
    """The tenant's own database and role. Shared by default: DigitalOcean's smallest PostgreSQL plan runs
    several small databases for the price of one, and a role owns only its own database. Dedicated: a
    cluster of its own (its own maintenance window, size, standby and failure domain) at a cluster's price."""

    cluster: Literal["shared", "dedicated"] = Field(
        default="shared",
        description="shared: a database and role on the stack's PostgreSQL cluster; dedicated: a cluster of its own.",
    )
    dedicated: DedicatedCluster | None = Field(
        default=None, description="The dedicated cluster's plan. Required with cluster: dedicated, refused otherwise."
    )
    pool_size: int = Field(default=10, ge=1, le=100, description="Transaction-pool connections of the tenant.")
    read_replica: ReadReplica | None = Field(default=None, description="Default: none.")

    @model_validator(mode="after")
    def _dedicated_plan(self) -> DatabaseNeeds:
        if (self.cluster == "dedicated") != (self.dedicated is not None):
            raise ValueError("set database.dedicated (its plan) exactly when database.cluster is dedicated")
        return self


class LifecycleRule(StrictModel):
    prefix: str = Field(default="", description="Object key prefix the rule applies to. Default: every object.")
    expire_days: int = Field(ge=1, description="Objects older than this are deleted.")


class Bucket(StrictModel):
    """One Spaces bucket. Private unless ``cdn`` (static assets, world-readable through the CDN)."""

    purpose: str = Field(description="What it holds (tagged on the bucket's docs, shown in reviews).")
    lifecycle: list[LifecycleRule] = Field(default_factory=list, description="Expiry rules. Default: keep forever.")
    versioning: bool = Field(default=False, description="Keep overwritten versions (noncurrent expire in 30 days).")
    cdn: bool = Field(default=False, description="Serve it through DigitalOcean's CDN (objects become public).")
    replica_region: str | None = Field(
        default=None,
        description="Copy every object to a bucket in this Spaces region (Spaces has no replication: a sync job "
        "does it). Default: no copy.",
    )

    @field_validator("replica_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return value if value is None else _one_of(value, SPACES_REGIONS, "Spaces region")

    @model_validator(mode="after")
    def _public_or_replicated(self) -> Bucket:
        if self.cdn and self.replica_region:
            raise ValueError("a CDN bucket holds rebuildable static assets: replicate the private buckets instead")
        return self


class AlertRule(StrictModel):
    """A Prometheus alerting rule; the tenant label is added when rendered."""

    alert: str = Field(description="CamelCase alert name, unique in the tenant.")
    expr: str = Field(description="PromQL.")
    for_: str = Field(default="5m", alias="for", description="How long it must hold: '5m'.")
    severity: Literal["critical", "warning"]
    summary: str

    @field_validator("alert")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _ALERT.fullmatch(value):
            raise ValueError("must be CamelCase letters and digits, e.g. HighErrorRate")
        return value

    @field_validator("for_")
    @classmethod
    def _for(cls, value: str) -> str:
        if not _DURATION.fullmatch(value):
            raise ValueError("must be a Prometheus duration such as '5m'")
        return value


class Panel(StrictModel):
    title: str
    expr: str = Field(description="PromQL of the panel's time series.")
    unit: str = Field(default="short", description="Grafana unit: short, s, percentunit, ...")


class Dashboard(StrictModel):
    title: str
    panels: list[Panel] = Field(min_length=1)


class AlertReceiver(StrictModel):
    """The tenant's own Alertmanager receiver: a generic webhook whose URL is a secret config key."""

    webhook_secret: str = Field(
        description="Secret config key holding the webhook URL, prefixed with the tenant (e.g. rwpAlertWebhookUrl) "
        "and registered in stack_config/secrets.py. The URL itself never appears in a catalog."
    )


class TenantBackup(StrictModel):
    """Off-site dumps of the tenant's database (needs ``platform:backup.enabled``)."""

    schedule: str = Field(
        default="0 * * * *",
        description="Cron, UTC, at least hourly: the platform's PostgresBackupMissing alert pages after 2 hours "
        "without a dump in any namespace. Default: on the hour.",
    )

    # The same rule as the platform's own dumps (stack_config/backup.py).
    _schedule = field_validator("schedule")(classmethod(lambda cls, v: BackupConfig._hourly(v)))


class TenantSpec(StrictModel):
    """The tenant-level sections of a catalog (see module docstring), with the stack's scale applied."""

    name: str = Field(description="Lowercase DNS label of at most 20 characters: namespace and resource names.")
    display_name: str
    target: Literal["digitalocean", "aws"] = Field(default="digitalocean")
    database: DatabaseNeeds | None = Field(default=None, description="Default: no database.")
    cache: CacheConfig | None = Field(default=None, description="Its own Valkey cluster. Default: none.")
    buckets: dict[str, Bucket] = Field(default_factory=dict)
    node_pools: dict[str, NodePool] = Field(
        default_factory=dict, description="Pools of the tenant alone; names are cluster-wide, so prefix them."
    )
    alerts: list[AlertRule] = Field(default_factory=list)
    dashboards: list[Dashboard] = Field(default_factory=list)
    alert_receiver: AlertReceiver | None = Field(
        default=None, description="Its own alert webhook. Default: its alerts reach the platform's receivers only."
    )
    basic_auth_secret: str | None = Field(
        default=None,
        description="Secret config key holding the htpasswd lines of its routes with auth: basic, prefixed with the "
        "tenant (e.g. rwpHtpasswd) and registered in stack_config/secrets.py. Required when a route uses basic auth, "
        "refused when none does. Only the key is checked here: the value (SHA-1 entries, user:{SHA}..., the only "
        "hash Envoy Gateway reads) is known and checked at deploy time. Default: none (no basic-auth routes).",
    )
    backup: TenantBackup | None = Field(default=None, description="Default: no off-site dumps.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError("must be a lowercase DNS label of at most 20 characters, e.g. video-analysis")
        return value

    @field_validator("buckets")
    @classmethod
    def _bucket_names(cls, value: dict[str, Bucket]) -> dict[str, Bucket]:
        bad = sorted(n for n in value if not _NAME.fullmatch(n))
        if bad:
            raise ValueError(f"bucket keys {bad} must be lowercase DNS labels of at most 20 characters")
        return value

    @field_validator("node_pools")
    @classmethod
    def _pools_are_private(cls, value: dict[str, NodePool], info: ValidationInfo) -> dict[str, NodePool]:
        name = info.data.get("name", "")
        for pool_name, pool in value.items():
            if not pool_name.startswith(f"{name}-"):
                raise ValueError(f"node pool {pool_name!r}: prefix it with the tenant, e.g. {name}-{pool_name}")
            if not pool.taints:
                raise ValueError(
                    f"node pool {pool_name!r} needs a taint, or other tenants' pods are scheduled on it "
                    f"(e.g. key: dedicated, value: {pool_name}, effect: NoSchedule)"
                )
        return value

    @field_validator("alerts")
    @classmethod
    def _unique_alerts(cls, value: list[AlertRule]) -> list[AlertRule]:
        names = [a.alert for a in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"alerts {repeated} are defined twice")
        return value


class TenantEntry(StrictModel):
    """One ``platform:tenants`` item: a catalog and this stack's scale."""

    catalog: str = Field(description="Path of the catalog relative to the repository root: tenants/<name>.yaml.")
    tenant: TenantSpec = Field(description="The catalog's tenant sections, with nodePools and cache scaled.")
    apps: AppsConfig = Field(description="The catalog's workloads, with the stack's service overrides.")
    spaces_region: str = Field(
        default="nyc3", description="Spaces region of its buckets (the stack's nyc1 has no Spaces). Default: nyc3."
    )

    _spaces = field_validator("spaces_region")(classmethod(lambda cls, v: _one_of(v, SPACES_REGIONS, "Spaces region")))

    @model_validator(mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        """Stack file shape -> (tenant sections, workload catalog). Unknown keys stay for extra=forbid."""
        if not isinstance(value, dict) or "tenant" in value or "apps" in value:
            return value
        entry = dict(value)
        path = entry.pop("catalog", None)
        loaded = _read_catalog(path)
        tenant = {k: loaded.pop(k) for k in TENANT_SECTIONS if k in loaded}
        pools = entry.pop("nodePools", None) or {}
        catalog_pools = tenant.get("nodePools") or {}
        if not isinstance(pools, dict) or not isinstance(catalog_pools, dict):
            raise ValueError("nodePools: must map pool names to {minNodes, maxNodes, nodeCount}")
        unknown = sorted(set(pools) - set(catalog_pools))
        if unknown:
            raise ValueError(f"nodePools: {unknown} are not pools of {path}: a stack scales the catalog's pools only")
        if pools:
            tenant["nodePools"] = {n: {**spec, **(pools.get(n) or {})} for n, spec in catalog_pools.items()}
        database = entry.pop("database", None)
        if database is not None:
            dedicated = (tenant.get("database") or {}).get("dedicated")
            if not isinstance(database, dict) or set(database) - {"nodeCount"} or not isinstance(dedicated, dict):
                raise ValueError(
                    f"database: a stack sets only nodeCount, of a catalog with a dedicated cluster: {database!r}"
                )
            tenant["database"] = {**tenant["database"], "dedicated": {**dedicated, **database}}
        cache = entry.pop("cache", None)
        if cache is not None:
            if not isinstance(cache, dict) or set(cache) - {"nodeCount"} or "cache" not in tenant:
                raise ValueError(
                    f"cache: a stack sets only nodeCount, of a catalog that has a cache section: {cache!r}"
                )
            tenant["cache"] = {**tenant["cache"], **cache}
        apps = {"catalog": loaded}
        for key in ("imageTag", "imagePullSecret", "services", "config"):
            if key in entry:
                apps[key] = entry.pop(key)
        return {"catalog": path, "tenant": tenant, "apps": apps, **entry}

    @model_validator(mode="after")
    def _consistent(self) -> TenantEntry:
        problems = list(_entry_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def name(self) -> str:
        return self.tenant.name

    def namespace(self, environment: str) -> str:
        return f"{self.tenant.name}-{environment}"


def _read_catalog(path: Any) -> dict[str, Any]:
    if not isinstance(path, str):
        raise ValueError("catalog: must be the path of a tenant catalog, e.g. tenants/video-analysis.yaml")
    file = (REPO_ROOT / path).resolve()
    if not file.is_relative_to(REPO_ROOT / "tenants") or not file.is_file():
        raise ValueError(f"catalog: {path!r} is not a file under tenants/")
    try:
        loaded, duplicates = load_unique(file.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"catalog: {path!r} is not valid YAML: {exc}") from None
    if duplicates:
        repeated = ", ".join(f"{d.path} (lines {d.first_line} and {d.line})" for d in duplicates)
        raise ValueError(f"catalog: {path!r} repeats {repeated}; YAML keeps the last silently: merge them")
    if not isinstance(loaded, dict):
        raise ValueError(f"catalog: {path!r} must hold a mapping")
    return dict(loaded)


def _entry_problems(entry: TenantEntry) -> Iterable[str]:
    tenant, catalog = entry.tenant, entry.apps.catalog
    own_prefix = camel(tenant.name)
    for env_name, source in sorted(catalog.secrets.items()):
        key = source.removeprefix("config.")
        if source.startswith("config.") and not key.startswith(own_prefix):
            # A tenant reads only its own credentials: another system's API key or signing secret never
            # reaches its pods, and rotating one tenant's secret touches no other tenant.
            yield f"secrets.{env_name}: {source} is not this tenant's; register config.{own_prefix}<Name> instead"
        if source == "postgres.replicaUri" and (tenant.database is None or tenant.database.read_replica is None):
            yield f"secrets.{env_name}: {source} needs database.readReplica"
        if source.startswith("storage.") and not tenant.buckets:
            yield f"secrets.{env_name}: {source} needs at least one bucket"
        if source.startswith("postgres.") and tenant.database is None:
            yield f"secrets.{env_name}: {source} needs a database section"
        if source.startswith("cache.") and tenant.cache is None:
            yield f"secrets.{env_name}: {source} needs a cache section"
    if tenant.alert_receiver is not None:
        yield from _own_secret_problems("alertReceiver.webhookSecret", tenant.alert_receiver.webhook_secret, own_prefix)
    yield from _basic_auth_problems(entry, own_prefix)
    yield from _scope_problems(tenant)
    for service_name, service in sorted(catalog.services.items()):
        if service.autoscaling and service.autoscaling.queue and tenant.cache is None:
            yield f"services.{service_name}: scales on a queue, which lives on the tenant's Valkey: add a cache section"
        if "postgres" in service.egress and tenant.database is None:
            yield f"services.{service_name}: egress postgres needs a database section"
        if "cache" in service.egress and tenant.cache is None:
            yield f"services.{service_name}: egress cache needs a cache section"


def _scope_problems(tenant: TenantSpec) -> Iterable[str]:
    """Expressions that never select the tenant's namespace (the droplet loads digitalocean tenants' only).

    A text check, because the program has no PromQL parser: it catches an expression copied from a seed
    unchanged. That EVERY selector carries the matcher is judged by Prometheus's parser in
    tests/observability/test_metric_sources.py.
    """
    if tenant.target != "digitalocean":
        return
    for rule in tenant.alerts:
        if NAMESPACE_MATCHER not in rule.expr:
            yield (
                f"alerts.{rule.alert}.expr: {rule.expr!r} reads every tenant's series: "
                f"add {NAMESPACE_MATCHER} to each selector"
            )
    for dashboard in tenant.dashboards:
        for panel in dashboard.panels:
            if NAMESPACE_MATCHER not in panel.expr:
                yield (
                    f"dashboards.{dashboard.title}.{panel.title}.expr: {panel.expr!r} reads every tenant's series: "
                    f"add {NAMESPACE_MATCHER} to each selector"
                )


def _own_secret_problems(field: str, key: str, own_prefix: str) -> Iterable[str]:
    """A secret config key a tenant section names: the tenant's own, and registered."""
    if not key.startswith(own_prefix):
        # Like secrets: a tenant names only its own keys, so it cannot have its alerts posted to (and so
        # learn) another tenant's or the platform's webhook, nor guard its routes with the platform's
        # flowerHtpasswd (whose users would then log in to the tenant too).
        yield f"{field}: {key!r} is not this tenant's; name it {own_prefix}<Name>"
    elif key not in SECRETS_BY_KEY:
        yield (
            f"{field}: {key!r} is not a registered secret: add "
            f'SecretSpec("{key}", ..., required=False) to stack_config/secrets.py'
        )


def _basic_auth_problems(entry: TenantEntry, own_prefix: str) -> Iterable[str]:
    """Routes with ``auth: basic`` and the htpasswd key go together.

    Checked here, at load, because TenantRoutes (components/gateway_routes.py) refuses a basic route without
    an htpasswd only in the middle of the program, after other resources were registered.
    """
    key = entry.tenant.basic_auth_secret
    basic = [f"{r.host}{r.path}" for r in entry.apps.catalog.routes if r.auth == "basic"]
    if basic and key is None:
        yield (
            f"routes: {basic} use auth: basic but the tenant names no htpasswd: add basicAuthSecret: "
            f"{own_prefix}Htpasswd to the catalog (registered in stack_config/secrets.py), or set auth: none"
        )
    if key is not None and not basic:
        yield (
            f"basicAuthSecret: {key!r} guards nothing: no route uses auth: basic; remove it "
            "(or set auth: basic on the routes it should guard)"
        )
    if key is not None:
        yield from _own_secret_problems("basicAuthSecret", key, own_prefix)


class TenantsProblem(ValueError):
    """Raised by ``check_tenants`` with every cross-tenant problem of a stack."""


def check_tenants(
    entries: list[TenantEntry], platform_tenant: str, platform_pools: Mapping[str, NodePool]
) -> list[TenantEntry]:
    """Rules across tenants and against the platform: unique names, pools, and who may pin where."""
    problems: list[str] = []
    names = [e.name for e in entries]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"tenant {name!r} is listed twice")
    if platform_tenant in names:
        problems.append(f"tenant {platform_tenant!r} is the stack's own tenant (platform:apps): list it once")
    owners: dict[str, str] = {}
    for entry in entries:
        for pool_name in entry.tenant.node_pools:
            if pool_name in platform_pools or pool_name in owners:
                problems.append(f"{entry.name}: node pool {pool_name!r} already exists in the cluster: rename it")
            owners[pool_name] = entry.name
    for index, entry in enumerate(entries):
        if entry.tenant.target == "aws":
            continue  # pinned to EKS's Karpenter pools: stack_config/eks.py, aws_pool_problems
        allowed = {*platform_pools, *entry.tenant.node_pools}
        for service_name, service in sorted(entry.apps.catalog.services.items()):
            if service.node_pool is not None and service.node_pool not in allowed:
                problems.append(
                    f"[{index}] {entry.name}.services.{service_name}: node pool {service.node_pool!r} is neither the "
                    f"platform's ({sorted(platform_pools)}) nor the tenant's own ({sorted(entry.tenant.node_pools)})"
                )
    if problems:
        raise TenantsProblem("; ".join(problems))
    return entries


def tenant_secret_problems(stack: str, entries: Iterable[TenantEntry], is_set: Callable[[str], bool]) -> list[Problem]:
    """A listed tenant's secret that the stack does not set (registered as optional: only listed tenants need them)."""
    return [
        Problem(
            f"{PROJECT}:{key}",
            UNSET,
            f"required secret of a tenant this stack lists ({SECRETS_BY_KEY[key].purpose} Generate: "
            f"{SECRETS_BY_KEY[key].generate}). Set it: {SECRETS_BY_KEY[key].set_command(stack)}",
        )
        for key in required_tenant_secrets(entries)
        if not is_set(key)
    ]


def required_tenant_secrets(entries: Iterable[TenantEntry]) -> list[str]:
    """Secret config keys the listed tenants need (their catalogs name them)."""
    entries = list(entries)
    keys = {
        source.removeprefix("config.")
        for entry in entries
        for source in entry.apps.catalog.secrets.values()
        if source.startswith("config.")
    }
    keys |= {e.tenant.alert_receiver.webhook_secret for e in entries if e.tenant.alert_receiver is not None}
    keys |= {e.tenant.basic_auth_secret for e in entries if e.tenant.basic_auth_secret is not None}
    return sorted(k for k in keys if k in SECRETS_BY_KEY)
