"""DigitalOcean guards: DOKS upgrades and pools, managed databases, droplets, firewalls, tags, regions."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import Severity

from ._base import ENVIRONMENT, Context, applies, as_list, dig, is_unknown, number, resource_guard, truthy

GROUP = "digitalocean"

CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
NODE_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
DATABASE = "digitalocean:index/databaseCluster:DatabaseCluster"
DATABASE_FIREWALL = "digitalocean:index/databaseFirewall:DatabaseFirewall"
DROPLET = "digitalocean:index/droplet:Droplet"
FIREWALL = "digitalocean:index/firewall:Firewall"
VOLUME = "digitalocean:index/volume:Volume"
VOLUME_ATTACHMENT = "digitalocean:index/volumeAttachment:VolumeAttachment"

TAGGED = (
    DROPLET,
    VOLUME,
    DATABASE,
    CLUSTER,
    NODE_POOL,
    "digitalocean:index/databaseReplica:DatabaseReplica",
    "digitalocean:index/volumeSnapshot:VolumeSnapshot",
)
"""Resources whose ``tags`` label them (a Firewall's or MonitorAlert's ``tags`` select targets instead)."""

SPACES_BUCKET = "digitalocean:index/spacesBucket:SpacesBucket"
REGIONAL = (
    "digitalocean:index/vpc:Vpc",
    CLUSTER,
    DATABASE,
    "digitalocean:index/databaseReplica:DatabaseReplica",
    DROPLET,
    VOLUME,
    "digitalocean:index/reservedIp:ReservedIp",
    "digitalocean:index/loadBalancer:LoadBalancer",
    SPACES_BUCKET,
)

PRODUCTION_ONLY = {
    "type": "boolean",
    "description": "Apply only to production stacks (the config's environment).",
    "default": True,
}


def is_world(cidr: Any) -> bool:
    """Whether a source admits the whole internet (a /0 of either family)."""
    if not isinstance(cidr, str) or is_unknown(cidr):
        return False
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


def covers_port(port_range: Any, port: int) -> bool | None:
    """Whether a DigitalOcean port range ("22", "1-65535", "all", unset) includes ``port``."""
    if is_unknown(port_range):
        return None
    if port_range in (None, "", "all", "0"):
        return True
    text = str(port_range)
    low, _, high = text.partition("-")
    try:
        return int(low) <= port <= int(high or low)
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------------
# DOKS


@resource_guard(
    "do-k8s-auto-upgrade",
    types=(CLUSTER,),
    description="DOKS clusters take patch upgrades automatically, inside a declared maintenance window.",
    severity=Severity.MEDIUM,
    remediation="Set cluster.autoUpgrade: true and cluster.maintenance {day, startTime} in the stack config.",
    group=GROUP,
)
def k8s_auto_upgrade(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    auto = props.get("autoUpgrade")
    if not is_unknown(auto) and truthy(auto) is not True:
        yield "autoUpgrade is not true (security patches wait for a manual upgrade)."
    policy = props.get("maintenancePolicy")
    if is_unknown(policy):
        return
    if not dig(policy, "day") or not dig(policy, "startTime"):
        yield "maintenancePolicy needs both day and startTime."


@resource_guard(
    "do-k8s-surge-upgrade",
    types=(CLUSTER,),
    description="DOKS upgrades add a node before draining one (surgeUpgrade), so capacity never drops.",
    severity=Severity.MEDIUM,
    remediation="Leave cluster.surgeUpgrade at its default (true).",
    group=GROUP,
)
def k8s_surge_upgrade(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    # DigitalOcean's default is true, so only an explicit false is a violation.
    if truthy(props.get("surgeUpgrade")) is False:
        yield "surgeUpgrade is false: upgrades drain nodes without replacement capacity."


@resource_guard(
    "do-k8s-ha-control-plane",
    types=(CLUSTER,),
    description="Production DOKS clusters run the highly-available control plane.",
    severity=Severity.HIGH,
    remediation="Set cluster.ha: true in Pulumi.production.yaml (~$40/month).",
    group=GROUP,
    config={"productionOnly": PRODUCTION_ONLY},
)
def k8s_ha_control_plane(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    ha = props.get("ha")
    if applies(cfg) and not is_unknown(ha) and truthy(ha) is not True:
        yield "ha is not true: a control-plane failure stops every deployment and autoscaling decision."


def _pool_problems(pool: dict[str, Any], cap: float, count_ignored: bool) -> Iterable[str]:
    auto = truthy(pool.get("autoScale"))
    low, high, count = number(pool.get("minNodes")), number(pool.get("maxNodes")), pool.get("nodeCount")
    if auto:
        if low is None and not is_unknown(pool.get("minNodes")):
            yield "is autoscaled without minNodes."
        if high is None and not is_unknown(pool.get("maxNodes")):
            yield "is autoscaled without maxNodes."
        if low is not None and low < 1:
            yield f"has minNodes {low:g} (DOKS needs >= 1)."
        if low is not None and high is not None and low > high:
            yield f"has minNodes {low:g} > maxNodes {high:g}."
        if high is not None and high > cap:
            yield f"has maxNodes {high:g} above the cap of {cap:g}."
        if count is not None and not is_unknown(count) and not count_ignored:
            yield "pins nodeCount although it is autoscaled (every run fights the autoscaler)."
    else:
        fixed = number(count)
        if fixed is not None and fixed > cap:
            yield f"has nodeCount {fixed:g} above the cap of {cap:g}."


@resource_guard(
    "do-node-pool-bounds",
    types=(NODE_POOL, CLUSTER),
    description="Node pools autoscale within bounds (1 <= min <= max <= cap) and never pin nodeCount when autoscaled.",
    severity=Severity.MEDIUM,
    remediation="Fix minNodes/maxNodes in the stack config; leave nodeCount unset on autoscaled pools "
    '(or ignore_changes=["nodeCount"]).',
    group=GROUP,
    config={
        "maxNodesPerPool": {
            "type": "integer",
            "minimum": 1,
            "description": "Largest size any single pool may reach.",
            "default": 10,
        }
    },
)
def node_pool_bounds(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    cap = float(cfg["maxNodesPerPool"])
    if ctx.type == CLUSTER:
        pool = props.get("nodePool")
        if isinstance(pool, dict):
            ignored = "nodePool.nodeCount" in ctx.ignore_changes
            yield from (f"the default pool {p}" for p in _pool_problems(pool, cap, ignored))
        return
    yield from (f"the pool {p}" for p in _pool_problems(props, cap, "nodeCount" in ctx.ignore_changes))


# ------------------------------------------------------------------------------------------------
# Managed databases


@resource_guard(
    "do-db-standby",
    types=(DATABASE,),
    description="Production databases of the listed engines run a standby node (nodeCount >= 2).",
    severity=Severity.CRITICAL,
    remediation="Set postgres.nodeCount: 2 (plan >= 2 GB RAM) in Pulumi.production.yaml.",
    group=GROUP,
    config={
        "engines": {
            "type": "array",
            "items": {"type": "string", "enum": ["pg", "mysql", "valkey", "redis", "mongodb", "kafka", "opensearch"]},
            "description": "Engines that must have a standby.",
            "default": ["pg"],
        },
        "minNodes": {"type": "integer", "minimum": 2, "maximum": 3, "description": "Nodes required.", "default": 2},
        "productionOnly": PRODUCTION_ONLY,
    },
)
def db_standby(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    engine = props.get("engine")
    if not applies(cfg) or is_unknown(engine) or engine not in cfg["engines"]:
        return
    nodes = number(props.get("nodeCount"))
    if nodes is not None and nodes < cfg["minNodes"]:
        needed = cfg["minNodes"]
        yield f"the {engine} cluster has {nodes:g} node(s): a failed primary means an outage (needs {needed:g})."


@resource_guard(
    "do-db-private-network",
    types=(DATABASE,),
    description="Managed databases live on the stack's VPC (privateNetworkUuid set).",
    severity=Severity.HIGH,
    remediation="Pass the Network's vpc_id as private_network_uuid (it forces replacement: set it at creation).",
    group=GROUP,
)
def db_private_network(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    if not props.get("privateNetworkUuid"):
        yield "privateNetworkUuid is not set: the cluster lands on the region's default VPC."


@resource_guard(
    "do-db-maintenance-window",
    types=(DATABASE,),
    description="Managed databases declare a maintenance window (day and hour).",
    severity=Severity.LOW,
    remediation="Set <database>.maintenance {day, hour} in the stack config.",
    group=GROUP,
)
def db_maintenance_window(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    windows = props.get("maintenanceWindows")
    if is_unknown(windows):
        return
    if not any(dig(w, "day") and dig(w, "hour") for w in as_list(windows)):
        yield "no maintenanceWindows entry with both day and hour: DigitalOcean picks the time."


@resource_guard(
    "do-db-firewall-no-public",
    types=(DATABASE_FIREWALL,),
    description="Database firewalls admit named sources only: at least one rule, never 0.0.0.0/0 or ::/0.",
    severity=Severity.CRITICAL,
    remediation="Use TrustedSources (k8s cluster ids, droplet ids); never an ip_addr rule with a /0 range.",
    group=GROUP,
)
def db_firewall_no_public(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    rules = props.get("rules")
    if is_unknown(rules):
        return
    if not as_list(rules):
        yield "the firewall has no rules, which leaves the database open to every address."
    for rule in as_list(rules):
        if dig(rule, "type") == "ip_addr" and is_world(dig(rule, "value")):
            yield f"an ip_addr rule admits {dig(rule, 'value')} (the whole internet)."


# ------------------------------------------------------------------------------------------------
# Droplets and firewalls


@resource_guard(
    "do-droplet-monitoring",
    types=(DROPLET,),
    description="Droplets run DigitalOcean's metrics agent (monitoring: true), which memory/disk alerts need.",
    severity=Severity.LOW,
    remediation="Set monitoring=True on the droplet.",
    group=GROUP,
)
def droplet_monitoring(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    value = props.get("monitoring")
    if not is_unknown(value) and truthy(value) is not True:
        yield "monitoring is not true."


@resource_guard(
    "do-droplet-backups",
    types=(DROPLET,),
    description="Production droplets have DigitalOcean backups enabled.",
    severity=Severity.MEDIUM,
    remediation="Set monitoring.backups: true in Pulumi.production.yaml.",
    group=GROUP,
    config={"productionOnly": PRODUCTION_ONLY},
)
def droplet_backups(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    value = props.get("backups")
    if applies(cfg) and not is_unknown(value) and truthy(value) is not True:
        yield "backups is not true."


@resource_guard(
    "do-firewall-no-world-admin-ports",
    types=(FIREWALL,),
    description="Cloud firewalls never open SSH (or another admin port) to 0.0.0.0/0 or ::/0.",
    severity=Severity.CRITICAL,
    remediation="Restrict the rule's source_addresses to monitoring.adminCidrs (or reach the host via the console).",
    group=GROUP,
    config={
        "adminPorts": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "Ports that must never be reachable from the whole internet.",
            "default": [22, 3389],
        }
    },
)
def firewall_no_world_admin_ports(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    for rule in as_list(props.get("inboundRules")):
        if dig(rule, "protocol") != "tcp":
            continue
        sources = [s for s in as_list(dig(rule, "sourceAddresses")) if is_world(s)]
        if not sources:
            continue
        for port in cfg["adminPorts"]:
            if covers_port(dig(rule, "portRange"), int(port)):
                yield f"tcp port {int(port)} is open to {', '.join(sources)}."


@resource_guard(
    "do-firewall-explicit-targets",
    types=(FIREWALL,),
    description="Cloud firewalls target droplets by id or a dedicated role tag, never a stack-wide tag "
    "(every droplet of the stack, DOKS nodes included, carries those).",
    severity=Severity.HIGH,
    remediation="Drop the tenant/env:/managed-by: tags from the Firewall's `tags` (they select targets); "
    "use droplet_ids or a role tag such as `monitoring`.",
    group=GROUP,
    config={
        "sharedTags": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Tags every resource of the stack carries (the tenant name).",
            "default": [],
        },
        "sharedPrefixes": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Prefixes of stack-wide tags.",
            "default": ["env:", "managed-by:"],
        },
    },
)
def firewall_explicit_targets(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    shared = [
        t
        for t in as_list(props.get("tags"))
        if isinstance(t, str)
        and not is_unknown(t)
        and (t in cfg["sharedTags"] or any(t.startswith(p) for p in cfg["sharedPrefixes"]))
    ]
    if shared:
        yield f"the firewall targets every droplet tagged {shared}, not only its own."


# ------------------------------------------------------------------------------------------------
# Tags and regions


def _tags_of(props: dict[str, Any], ctx: Context) -> list[Any] | None:
    tags = props.get("tags")
    return None if is_unknown(tags) else as_list(tags)


@resource_guard(
    "do-required-tags",
    types=TAGGED,
    description="DigitalOcean resources carry the required tags, including env:<environment>.",
    severity=Severity.LOW,
    remediation="Pass the stack's tags ([tenant, env:<environment>, managed-by:pulumi]) to the component.",
    group=GROUP,
    config={
        "requiredTags": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Tags every taggable resource must carry.",
            "default": ["managed-by:pulumi"],
        },
        "envTag": {
            "type": "boolean",
            "description": "Also require env:<environment>.",
            "default": True,
        },
        "environment": ENVIRONMENT,
    },
)
def required_tags(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    required = list(cfg["requiredTags"])
    if cfg["envTag"]:
        required.append(f"env:{cfg['environment']}")
    groups = [("the resource", _tags_of(props, ctx))]
    if ctx.type == CLUSTER and isinstance(props.get("nodePool"), dict):
        groups.append(("the default pool", _tags_of(props["nodePool"], ctx)))
    for where, tags in groups:
        if tags is None or any(is_unknown(t) for t in tags):
            continue
        missing = [t for t in required if t not in tags]
        if missing:
            yield f"{where} lacks tags {missing}."


@resource_guard(
    "do-region-allowed",
    types=REGIONAL,
    description="Regional DigitalOcean resources are created only in the allowed regions.",
    severity=Severity.MEDIUM,
    remediation="Set `platform:region` to an allowed region, or extend allowedRegions in the stack's policy config.",
    group=GROUP,
    config={
        "allowedRegions": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Region slugs resources may use.",
            "default": ["nyc1", "nyc3", "ams3", "fra1", "lon1", "tor1", "sfo3", "sgp1", "blr1", "syd1"],
        },
        "allowedSpacesRegions": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Region slugs Spaces buckets may use (Spaces is not in every region: nyc1 has none, "
            "and a bucket's cross-region copy is elsewhere on purpose). Empty: allowedRegions applies.",
            "default": [],
        },
    },
)
def region_allowed(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    region = props.get("region")
    allowed = cfg["allowedRegions"]
    if ctx.type == SPACES_BUCKET and cfg["allowedSpacesRegions"]:
        allowed = cfg["allowedSpacesRegions"]
    if isinstance(region, str) and not is_unknown(region) and region not in allowed:
        yield f"region {region!r} is not in {allowed}."


GUARDS = [
    k8s_auto_upgrade,
    k8s_surge_upgrade,
    k8s_ha_control_plane,
    node_pool_bounds,
    db_standby,
    db_private_network,
    db_maintenance_window,
    db_firewall_no_public,
    droplet_monitoring,
    droplet_backups,
    firewall_no_world_admin_ports,
    firewall_explicit_targets,
    required_tags,
    region_allowed,
]
