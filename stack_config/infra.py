"""Config sections for the DigitalOcean infrastructure layer (network, cluster, data, monitoring host).

Defaults are the seed's values where they are still right, today's practice where the seed is
outdated (each such default says why). Per-environment rules read the stack's environment from
the validation context, so one model serves both stacks and each rule reports at the exact key.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

import pulumi_digitalocean as do
from pydantic import Field, ValidationInfo, field_validator, model_validator

from .base import StrictModel

Environment = Literal["staging", "production"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

# Closed sets come from the installed SDK's own enums, so an SDK upgrade that adds a region or a
# size widens them without an edit here, and a typo fails at config time, not at the API.
REGIONS = frozenset(r.value for r in do.Region)
DROPLET_SIZES = frozenset(s.value for s in do.DropletSlug)
DATABASE_SIZES = frozenset(s.value for s in do.DatabaseSlug)

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
# Patterns spell digits [0-9], never \d: in Python \d also matches Arabic-Indic and other Unicode digits,
# which int() then happily converts, so a version written in Arabic-Indic digits would pass.

KUBERNETES_MINORS = (33, 37)
"""Kubernetes 1.x minors a prefix may name: 1.33, the oldest DigitalOcean still offers, to 1.37, the newest
upstream release (late 2026). A higher prefix names a version that does not exist yet: raise the ceiling
when a new minor ships (DigitalOcean offers it weeks later; the deploy resolves the prefix and fails
if it offers none)."""

NODE_POOL_CEILING = 100
"""Sanity ceiling of one pool's size: far above any budget cap (policies/config/<stack>.json holds the real
ones, 10 per pool in production), low enough that a typo such as 10^12 is refused here, not by the pack."""
_DB_RAM_GB = re.compile(r"-([0-9]+)gb$")


def environment_of(info: ValidationInfo) -> str | None:
    """The stack's environment, passed in by the loader as validation context."""
    return (info.context or {}).get("environment")


def database_ram_gb(slug: str) -> int:
    """RAM of a managed-database plan, read from its slug (``db-s-2vcpu-4gb`` -> 4)."""
    match = _DB_RAM_GB.search(slug)
    return int(match.group(1)) if match else 0


def _one_of(value: str, allowed: frozenset[str], what: str) -> str:
    if value not in allowed:
        close = sorted(a for a in allowed if a.split("-")[:2] == value.split("-")[:2])[:5]
        hint = f" Close matches: {', '.join(close)}." if close else ""
        raise ValueError(f"'{value}' is not a valid {what} (the set comes from pulumi-digitalocean's enums).{hint}")
    return value


def _private_network(value: str, what: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{what} must be an IPv4 network in CIDR form such as 10.20.0.0/16 ({exc})") from None
    if not net.is_private or net.subnet_of(ipaddress.IPv4Network("100.64.0.0/10")):
        raise ValueError(f"{what} must be an RFC 1918 private range (10/8, 172.16/12, 192.168/16)")
    return net


class TenantConfig(StrictModel):
    """Who this stack deploys. The platform is multi-tenant; the Niche Discovery Engine is one tenant."""

    name: str = Field(description="Short DNS-label name used as the prefix of every resource name and tag.")
    display_name: str = Field(
        min_length=1,
        max_length=80,
        description="Human-readable name, used in project descriptions and dashboards (1 to 80 characters).",
    )

    @field_validator("name")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not _DNS_LABEL.fullmatch(value) or len(value) > 30:
            raise ValueError("must be a lowercase DNS label of at most 30 characters, e.g. 'niche-discovery'")
        return value

    @field_validator("display_name")
    @classmethod
    def _display(cls, value: str) -> str:
        if not value.strip() or not value.isprintable():
            raise ValueError("must be printable text, not blank, e.g. 'Niche Discovery Engine'")
        return value


class NetworkConfig(StrictModel):
    """The stack's VPC. Staging and production get disjoint ranges so they can be peered later."""

    vpc_cidr: str = Field(description="VPC IP range, RFC 1918, /16 to /24. Forces replacement of everything in it.")
    # Required, not "DigitalOcean chooses": on a VPC-native cluster pods reach the databases and the
    # monitoring droplet from pod-subnet addresses, so the firewalls must name that range, and a
    # range chosen at creation is unknown to the program. Both force a new cluster when changed.
    cluster_subnet: str = Field(
        description="Pod CIDR of the VPC-native cluster, RFC 1918, /16 to /20, disjoint from the VPC and the "
        "service subnet (and from the other stack's ranges). Database and droplet firewalls admit it.",
    )
    service_subnet: str = Field(
        description="Service (ClusterIP) CIDR of the cluster, RFC 1918, /16 to /24, disjoint from the VPC and pods.",
    )

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_range(cls, value: str) -> str:
        net = _private_network(value, "vpcCidr")
        if not 16 <= net.prefixlen <= 24:
            raise ValueError(f"prefix /{net.prefixlen} is outside DigitalOcean's allowed /16 to /24 for a VPC")
        return value

    @field_validator("cluster_subnet", "service_subnet")
    @classmethod
    def _subnet(cls, value: str, info: ValidationInfo) -> str:
        key = to_key(info.field_name or "subnet")
        net = _private_network(value, key)
        # Our bounds, not a documented DigitalOcean rule (docs/kubernetes.md, "Pod traffic"): at most
        # a /16, DigitalOcean's largest VPC size (a bigger range only collides sooner); at least the
        # sizes of DigitalOcean's API example, a /20 of pods and a /24 of services.
        low, high = (16, 20) if info.field_name == "cluster_subnet" else (16, 24)
        if not low <= net.prefixlen <= high:
            raise ValueError(f"{value}: {key} must be a /{low} to /{high} (e.g. 10.111.0.0/{low})")
        for other_name in ("vpc_cidr", "cluster_subnet"):
            other = info.data.get(other_name)
            if other and other_name != info.field_name and net.overlaps(ipaddress.IPv4Network(other)):
                raise ValueError(f"{value} overlaps {to_key(other_name)} {other}; pick a disjoint range")
        return value


def to_key(field_name: str) -> str:
    head, *rest = field_name.split("_")
    return head + "".join(part.title() for part in rest)


class ClusterMaintenance(StrictModel):
    """Weekly window for control-plane and node upgrades (only used while autoUpgrade is on)."""

    day: Literal["any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = Field(
        default="sunday", description="Day of the window ('any' lets DigitalOcean pick). Default: sunday (seed)."
    )
    start_time: str = Field(default="02:00", description="UTC start, HH:MM. Default: 02:00 (seed).")

    @field_validator("start_time")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.fullmatch(value):
            raise ValueError("must be a 24-hour UTC time HH:MM, e.g. 02:00")
        return value


class Taint(StrictModel):
    key: str
    value: str
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = Field(
        description="Kubernetes spelling (DigitalOcean uses it too; EKS would want NO_SCHEDULE)."
    )


class NodePool(StrictModel):
    """One worker pool, keyed by name in ``cluster.pools`` so reordering never renames anything."""

    size: str = Field(description="Droplet size slug of every node.")
    auto_scale: bool = Field(default=True, description="Let DOKS's built-in cluster autoscaler size the pool.")
    min_nodes: int | None = Field(default=None, description="Autoscaling floor (>= 1). Required when autoScale.")
    max_nodes: int | None = Field(
        default=None, ge=1, le=NODE_POOL_CEILING, description="Autoscaling ceiling (<= 100). Required when autoScale."
    )
    node_count: int | None = Field(
        default=None,
        ge=1,
        le=NODE_POOL_CEILING,
        description="Fixed size (1 to 100). Only for pools with autoScale false (else it fights the autoscaler).",
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Kubernetes node labels.")
    taints: list[Taint] = Field(default_factory=list, description="Kubernetes node taints.")

    _size = field_validator("size")(classmethod(lambda cls, v: _one_of(v, DROPLET_SIZES, "droplet size")))

    @field_validator("min_nodes")
    @classmethod
    def _min(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return value
        if value < 1:
            raise ValueError("DOKS needs at least 1 node in an autoscaling pool (scale-to-zero is not supported)")
        if environment_of(info) == "production" and value < 2:
            raise ValueError("production pools need minNodes >= 2 so one node loss or drain keeps capacity")
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k, v in value.items() if not _LABEL_KEY.fullmatch(k) or not _LABEL_VALUE.fullmatch(v)]
        if bad:
            raise ValueError(f"invalid Kubernetes label(s) {bad}: keys/values are <=63 chars of [A-Za-z0-9-_.]")
        return value

    @model_validator(mode="after")
    def _scaling_shape(self) -> NodePool:
        if self.auto_scale:
            if self.min_nodes is None or self.max_nodes is None:
                raise ValueError("an autoscaling pool needs both minNodes and maxNodes")
            if self.node_count is not None:
                raise ValueError(
                    "remove nodeCount from an autoscaling pool: setting it makes every run fight the autoscaler"
                )
            if self.min_nodes > self.max_nodes:
                raise ValueError(f"minNodes ({self.min_nodes}) must be <= maxNodes ({self.max_nodes})")
        else:
            if self.node_count is None or self.node_count < 1:
                raise ValueError("a fixed-size pool (autoScale false) needs nodeCount >= 1")
            if self.min_nodes is not None or self.max_nodes is not None:
                raise ValueError("minNodes/maxNodes only apply with autoScale true")
        return self


class SystemPool(StrictModel):
    """The cluster's embedded default pool. Changing its size replaces the whole cluster, so it is small,
    fixed, and runs only system add-ons; real workloads go to the keyed pools."""

    size: str = Field(default="s-2vcpu-4gb", description="Droplet size. Changing it REPLACES THE CLUSTER.")
    node_count: int = Field(default=2, ge=1, le=5, description="Fixed node count (no autoscaling here).")

    _size = field_validator("size")(classmethod(lambda cls, v: _one_of(v, DROPLET_SIZES, "droplet size")))


def _default_pools() -> dict[str, NodePool]:
    # Seed 000: a general pool 2-10 and a tainted scraper pool 2-8 on s-2vcpu-4gb.
    return {
        "general": NodePool(size="s-2vcpu-4gb", min_nodes=2, max_nodes=10, labels={"workload": "general"}),
        "scrapers": NodePool(
            size="s-2vcpu-4gb",
            min_nodes=2,
            max_nodes=8,
            labels={"workload": "scrapers"},
            taints=[Taint(key="workload", value="scrapers", effect="NoSchedule")],
        ),
    }


class ClusterConfig(StrictModel):
    """DigitalOcean Kubernetes. The seed's hand-deployed cluster-autoscaler is obsolete: DOKS runs its own."""

    version_prefix: str = Field(
        default="1.35.",
        description="Kubernetes minor as a prefix ('1.35.'), resolved to the newest patch at deploy time. "
        "The seed's 1.24 is long out of support. A lower prefix than the running one forces a new cluster.",
    )
    auto_upgrade: bool = Field(default=True, description="Patch upgrades inside the maintenance window.")
    surge_upgrade: bool = Field(default=True, description="Add a node before draining one during upgrades.")
    ha: bool = Field(default=False, description="Highly-available control plane (~$40/month). Required in production.")
    maintenance: ClusterMaintenance = Field(default_factory=ClusterMaintenance)
    system_pool: SystemPool = Field(default_factory=SystemPool)
    pools: dict[str, NodePool] = Field(default_factory=_default_pools, description="Worker pools keyed by name.")
    registry_integration: bool = Field(
        default=True, description="Let nodes pull from the account's DigitalOcean Container Registry without a secret."
    )
    api_allowed_cidrs: list[str] = Field(
        default_factory=list,
        description="If set, the control-plane firewall admits only these CIDRs. Default: open API endpoint "
        "(GitHub-hosted runners have no fixed addresses); the API still requires a valid token.",
    )

    @field_validator("version_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        match = re.fullmatch(r"1\.([0-9]{2})\.", value)
        if not match:
            raise ValueError("must be a minor prefix with a trailing dot, e.g. '1.35.' (not a full slug)")
        low, high = KUBERNETES_MINORS
        if int(match.group(1)) < low:
            raise ValueError(f"DigitalOcean no longer offers Kubernetes minors below 1.{low}; use '1.35.' or newer")
        if int(match.group(1)) > high:
            raise ValueError(
                f"Kubernetes {value[:-1]} does not exist yet (newest: 1.{high}); use a released minor such as '1.35.'"
            )
        return value

    @field_validator("ha")
    @classmethod
    def _ha(cls, value: bool, info: ValidationInfo) -> bool:
        if environment_of(info) == "production" and not value:
            raise ValueError("production needs the HA control plane: set cluster.ha to true")
        prefix = info.data.get("version_prefix")
        if prefix and not value and int(prefix.split(".")[1]) >= 36:
            raise ValueError("from Kubernetes 1.36 DOKS always runs the HA control plane; set cluster.ha to true")
        return value

    @field_validator("auto_upgrade", "surge_upgrade")
    @classmethod
    def _upgrades(cls, value: bool, info: ValidationInfo) -> bool:
        if environment_of(info) == "production" and not value:
            raise ValueError(
                "production keeps patch upgrades automatic and surged (inside the maintenance window); set it to true"
            )
        return value

    @field_validator("pools")
    @classmethod
    def _pools(cls, value: dict[str, NodePool]) -> dict[str, NodePool]:
        bad = [name for name in value if not _DNS_LABEL.fullmatch(name)]
        if bad:
            raise ValueError(f"pool names must be lowercase DNS labels: {bad}")
        if not any(not any(t.effect != "PreferNoSchedule" for t in p.taints) for p in value.values()):
            raise ValueError("at least one pool must be untainted, or ordinary workloads have nowhere to run")
        return value

    @field_validator("api_allowed_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        return [_any_network(v, "apiAllowedCidrs") for v in value]


def _any_network(value: str, what: str) -> str:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{what}: {value!r} is not a CIDR ({exc})") from None
    if net.prefixlen == 0:
        raise ValueError(f"{what}: {value} admits the whole internet; list the admin networks instead")
    return value


class DatabaseMaintenance(StrictModel):
    day: Weekday = Field(default="sunday", description="Day of the weekly maintenance window. Default: sunday (seed).")
    hour: str = Field(default="02:00", description="UTC start, HH:MM. Default: 02:00 (seed).")

    @field_validator("hour")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.fullmatch(value):
            raise ValueError("must be a 24-hour UTC time HH:MM, e.g. 02:00")
        return value


class PostgresConfig(StrictModel):
    """Managed PostgreSQL. Backups (daily) and 7-day point-in-time recovery are automatic on DigitalOcean."""

    version: Literal["15", "16", "17"] = Field(
        default="17", description="Major version. The seed's 14 is end-of-life; 15-17 are supported."
    )
    size: str = Field(default="db-s-1vcpu-2gb", description="Plan slug per node. Seed production: db-s-2vcpu-4gb.")
    node_count: int = Field(default=1, ge=1, le=3, description="1 primary + standbys. Production needs >= 2.")
    storage_size_mib: int | None = Field(
        default=None,
        ge=10 * 1024,
        le=16 * 1024 * 1024,
        description="Disk size in MiB, 10 GiB (10240) to 16 TiB (16777216). Default: the plan's included storage.",
    )
    database: str = Field(
        default="niche_discovery",
        description="Application database name. Default: seed 000's POSTGRES_DB. Renaming it replaces (drops) "
        "the database, so where the cluster is protected the rename is refused: rename in SQL first "
        "(components/postgres.py).",
    )
    user: str = Field(default="app", description="Application role (its password is generated by DigitalOcean).")
    pool_size: int = Field(default=20, ge=1, le=100, description="Server connections of the transaction pool.")
    maintenance: DatabaseMaintenance = Field(default_factory=DatabaseMaintenance)

    _size = field_validator("size")(classmethod(lambda cls, v: _one_of(v, DATABASE_SIZES, "database plan")))

    @field_validator("node_count")
    @classmethod
    def _standby(cls, value: int, info: ValidationInfo) -> int:
        if environment_of(info) == "production" and value < 2:
            raise ValueError("production needs a standby: set postgres.nodeCount to 2 (or 3)")
        size = info.data.get("size")
        if value >= 2 and size and database_ram_gb(size) < 2:
            raise ValueError(f"a standby needs a plan with >= 2 GB RAM; '{size}' has less (use db-s-2vcpu-4gb)")
        return value

    @field_validator("database", "user")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
            raise ValueError("must be a lowercase SQL identifier ([a-z_][a-z0-9_]*, <= 63 chars)")
        return value


class CacheConfig(StrictModel):
    """Managed Valkey: DigitalOcean discontinued managed Redis on 2025-06-30; Valkey is its wire-compatible
    successor. It is the Celery broker, so by default it never evicts (evicting a queued task is data loss)."""

    version: Literal["8"] = Field(default="8", description="Valkey major version.")
    size: str = Field(default="db-s-1vcpu-2gb", description="Plan slug per node. Seed: db-s-1vcpu-2gb.")
    node_count: int = Field(default=1, ge=1, le=3, description="1 primary + standbys.")
    eviction_policy: Literal[
        "noeviction", "allkeys_lru", "allkeys_random", "volatile_lru", "volatile_random", "volatile_ttl"
    ] = Field(default="noeviction", description="Must stay noeviction while the cache is also the Celery broker.")
    maintenance: DatabaseMaintenance = Field(default_factory=DatabaseMaintenance)

    _size = field_validator("size")(classmethod(lambda cls, v: _one_of(v, DATABASE_SIZES, "database plan")))

    @field_validator("node_count")
    @classmethod
    def _broker_standby(cls, value: int, info: ValidationInfo) -> int:
        # The pack's do-db-standby holds production's Valkey to 2 nodes as well; the config says it first.
        if environment_of(info) == "production" and value < 2:
            raise ValueError(
                "production runs the Celery broker with a standby (a lost primary stops every queue): "
                "set cache.nodeCount to 2 (or 3)"
            )
        return value

    @field_validator("eviction_policy")
    @classmethod
    def _broker_safe(cls, value: str) -> str:
        if value != "noeviction":
            raise ValueError(
                "the cache is the Celery broker: any eviction policy other than noeviction can drop queued tasks"
            )
        return value


class MonitoringConfig(StrictModel):
    """The monitoring droplet (Prometheus, Alertmanager, Grafana) with its data on an attached volume."""

    size: str = Field(default="s-2vcpu-4gb", description="Droplet size (seed: s-2vcpu-4gb).")
    image: Literal["ubuntu-24-04-x64", "ubuntu-22-04-x64"] = Field(
        default="ubuntu-24-04-x64", description="Ubuntu LTS image. The seed's 20.04 is out of standard support."
    )
    volume_size_gib: int = Field(default=50, ge=10, le=16384, description="Data volume size (seed: 50 GiB).")
    retention_days: int = Field(default=30, ge=1, le=3650, description="Prometheus TSDB retention.")
    backups: bool = Field(default=False, description="Weekly droplet backups. Required in production.")
    admin_cidrs: list[str] = Field(
        default_factory=list,
        description="Networks allowed to reach SSH (22) and Grafana (3000). Empty: no admin access from outside.",
    )

    _size = field_validator("size")(classmethod(lambda cls, v: _one_of(v, DROPLET_SIZES, "droplet size")))

    @field_validator("backups")
    @classmethod
    def _backups(cls, value: bool, info: ValidationInfo) -> bool:
        if environment_of(info) == "production" and not value:
            raise ValueError("production droplets keep backups on: set monitoring.backups to true")
        return value

    @field_validator("admin_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        return [_any_network(v, "adminCidrs") for v in value]
