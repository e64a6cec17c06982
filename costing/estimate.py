"""Price an inventory of resources: one line per billable thing, at minimum and at full scale.

The inventory is what the program registers, as a policy sees it: type token, name, URN, camelCase
props (inputs, plus state once created), dependencies. ``make cost`` builds it from the in-process
evaluation, the budget guard from CrossGuard's ``StackValidationArgs``, so both price a stack with the
same rules. Every custom resource ends up in exactly one of three states:

* ``priced`` - a rule and the price table give its monthly cost (min and max);
* ``free`` - its type costs nothing by itself (a VPC, a firewall, a Kubernetes object that runs on the
  nodes already priced); listed per type, never dropped;
* ``unpriced`` - no rule, no price row, a usage-based charge, or a value unknown at preview. Listed
  with the reason, never counted as zero without saying so.

Pure Python (the policy pack's virtualenv has nothing else).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .prices import PRICES, S3_MIN_DAYS, Confidence, Price, weakest

Status = Literal["priced", "free", "unpriced"]

# Type tokens the rules read.
DO_CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
DO_NODE_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
DO_DATABASE = "digitalocean:index/databaseCluster:DatabaseCluster"
DO_DATABASE_REPLICA = "digitalocean:index/databaseReplica:DatabaseReplica"
DO_DROPLET = "digitalocean:index/droplet:Droplet"
DO_VOLUME = "digitalocean:index/volume:Volume"
DO_LOAD_BALANCER = "digitalocean:index/loadBalancer:LoadBalancer"
DO_SPACES = "digitalocean:index/spacesBucket:SpacesBucket"
K8S_SERVICE = "kubernetes:core/v1:Service"
K8S_PVC = "kubernetes:core/v1:PersistentVolumeClaim"
K8S_CRONJOB = "kubernetes:batch/v1:CronJob"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
HELM_RELEASE_V4 = "kubernetes:helm.sh/v4:Chart"
KARPENTER_POOL = "kubernetes:karpenter.sh/v1:NodePool"
ENVOY_PROXY = "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy"
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
S3_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
S3_LIFECYCLE_V2 = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
S3_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
S3_VERSIONING_V2 = "aws:s3/bucketVersioningV2:BucketVersioningV2"
KMS_KEY = "aws:kms/key:Key"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"

LB_SIZE_UNIT = "service.beta.kubernetes.io/do-loadbalancer-size-unit"
LB_NAME = "service.beta.kubernetes.io/do-loadbalancer-name"

FREE_TYPES: dict[str, str] = {
    "digitalocean:index/vpc:Vpc": "VPCs are free",
    "digitalocean:index/firewall:Firewall": "cloud firewalls are free",
    "digitalocean:index/databaseFirewall:DatabaseFirewall": "part of the database cluster",
    "digitalocean:index/databaseDb:DatabaseDb": "part of the database cluster",
    "digitalocean:index/databaseUser:DatabaseUser": "part of the database cluster",
    "digitalocean:index/databaseConnectionPool:DatabaseConnectionPool": "part of the database cluster",
    "digitalocean:index/project:Project": "projects are free",
    "digitalocean:index/projectResources:ProjectResources": "projects are free",
    "digitalocean:index/dnsRecord:DnsRecord": "DigitalOcean DNS is free",
    "digitalocean:index/domain:Domain": "DigitalOcean DNS is free",
    "digitalocean:index/certificate:Certificate": "Let's Encrypt certificates are free",
    "digitalocean:index/monitorAlert:MonitorAlert": "monitoring alerts are free",
    "digitalocean:index/uptimeCheck:UptimeCheck": "uptime checks are free (unverified)",
    "digitalocean:index/uptimeAlert:UptimeAlert": "uptime alerts are free (unverified)",
    "digitalocean:index/reservedIp:ReservedIp": "free while assigned to a droplet",
    "digitalocean:index/reservedIpAssignment:ReservedIpAssignment": "free",
    "digitalocean:index/volumeAttachment:VolumeAttachment": "free",
    "digitalocean:index/tag:Tag": "free",
    "digitalocean:index/sshKey:SshKey": "free",
    "digitalocean:index/spacesKey:SpacesKey": "access keys are free",
    "digitalocean:index/spacesBucketPolicy:SpacesBucketPolicy": "part of the Spaces subscription",
    "digitalocean:index/cdn:Cdn": "Spaces CDN egress counts against the subscription's transfer (unverified)",
    "aws:kms/alias:Alias": "free",
    "aws:s3/bucketPolicy:BucketPolicy": "bucket settings are free",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "bucket settings are free",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "bucket settings are free",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": "bucket settings are free",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "bucket settings",
    S3_VERSIONING: "priced with the bucket's storage",
    S3_VERSIONING_V2: "priced with the bucket's storage",
    S3_LIFECYCLE: "priced with the bucket's storage",
    S3_LIFECYCLE_V2: "priced with the bucket's storage",
    S3_REPLICATION: "priced with the replica bucket (storage, transfer)",
    "aws:ec2/vpc:Vpc": "VPCs are free",
    "aws:ec2/subnet:Subnet": "free",
    "aws:ec2/routeTable:RouteTable": "free",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "free",
    "aws:ec2/internetGateway:InternetGateway": "free (traffic is billed as data transfer)",
    "aws:ec2/securityGroup:SecurityGroup": "free",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "free",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "free",
    "aws:eks/accessEntry:AccessEntry": "free",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "free",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "free",
    "aws:rds/subnetGroup:SubnetGroup": "free",
    "aws:rds/parameterGroup:ParameterGroup": "free",
    "aws:elasticache/subnetGroup:SubnetGroup": "free",
    "aws:elasticache/user:User": "free",
    "aws:elasticache/userGroup:UserGroup": "free",
    # SQS bills requests, not queues: the first million a month are free. A long-polling consumer (20 s waits)
    # makes about 130,000 a month when idle, KEDA's length check (every 15 s) about 175,000; seed 004's episode
    # volume keeps the total inside the free tier.
    "aws:sqs/queue:Queue": "billed per request; inside the free tier (1M requests/month) at seed 004's volume",
    "aws:sqs/queuePolicy:QueuePolicy": "queue settings are free",
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": "queue settings are free",
    # SNS bills deliveries, not topics: the first 1,000 e-mails a month are free, and an alarm mails twice per
    # incident (ALARM, OK). Its KMS key is priced (aws:kms/key:Key); the key policy is a setting of the key.
    "aws:sns/topic:Topic": "billed per delivery; alarm e-mails stay inside the free 1,000/month",
    "aws:sns/topicPolicy:TopicPolicy": "topic settings are free",
    "aws:sns/topicSubscription:TopicSubscription": "free (deliveries are billed on the topic)",
    "aws:kms/keyPolicy:KeyPolicy": "key settings are free",
}
"""Types that cost nothing by themselves, with the reason shown in the table."""

FREE_PREFIXES: dict[str, str] = {
    "aws:iam/": "IAM is free",
    "kubernetes:": "runs on the cluster's nodes (priced with the pools)",
    "pulumi:providers:": "a provider, not a cloud resource",
}


@dataclass(frozen=True)
class Item:
    """One resource of the inventory."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    dependencies: tuple[str, ...] = ()
    custom: bool | None = None
    """Whether it is a cloud resource; None: decide from the type token (components have no module path)."""

    @property
    def is_custom(self) -> bool:
        if self.custom is not None:
            return self.custom
        parts = self.type.split(":")
        return len(parts) == 3 and ("/" in parts[1] or parts[:2] == ["pulumi", "providers"])


@dataclass(frozen=True)
class Line:
    """One row of the estimate."""

    resource: str
    """What is billed, e.g. ``niche-discovery-production-general`` (a pool) or ``... storage``."""
    kind: str
    """Short type name (``KubernetesNodePool``) or what the charge is (``load balancer``)."""
    unit: str
    """Size or unit, e.g. ``s-2vcpu-4gb`` or ``2 size units``."""
    count: str
    """How many: ``2``, or ``2-10`` for an autoscaling pool."""
    min_usd: float | None
    max_usd: float | None
    status: Status
    confidence: Confidence | None = None
    price_keys: tuple[str, ...] = ()
    note: str = ""
    urn: str = ""


@dataclass(frozen=True)
class Estimate:
    lines: tuple[Line, ...]

    @property
    def priced(self) -> list[Line]:
        return [line for line in self.lines if line.status == "priced"]

    @property
    def unpriced(self) -> list[Line]:
        return [line for line in self.lines if line.status == "unpriced"]

    @property
    def free(self) -> list[Line]:
        return [line for line in self.lines if line.status == "free"]

    @property
    def min_total(self) -> float:
        return round(sum(line.min_usd or 0.0 for line in self.priced), 2)

    @property
    def max_total(self) -> float:
        return round(sum(line.max_usd or 0.0 for line in self.priced), 2)

    def biggest(self, scale: Literal["min", "max"], count: int = 3) -> list[Line]:
        """The most expensive priced lines at one scale, most expensive first."""
        key = (lambda line: line.min_usd or 0.0) if scale == "min" else (lambda line: line.max_usd or 0.0)
        return sorted(self.priced, key=lambda line: (-key(line), line.resource))[:count]


# ------------------------------------------------------------------------------------------------
# Reading props (values unknown at preview are strings the engine sends; anything non-numeric is unknown)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _known(value):
        try:
            return float(value)
        except ValueError:
            return None
    return None


_UNKNOWN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
"""The engine's sentinels for values unknown at preview are UUIDs (pulumi_policy.proxy, pulumi.runtime.rpc)."""


def _known(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and _UNKNOWN.match(value))


def _text(value: Any) -> str | None:
    """A known, non-empty string."""
    return value if isinstance(value, str) and value and _known(value) else None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _short(type_token: str) -> str:
    return type_token.rsplit(":", 1)[-1]


class _Prices:
    """The price table plus optional live overrides, remembering which rows were used."""

    def __init__(self, table: Mapping[str, Price], live: Mapping[str, float] | None) -> None:
        self.table = table
        self.live = dict(live or {})

    def get(self, key: str) -> Price | None:
        row = self.table.get(key)
        if key in self.live:
            base = row or Price(key, 0.0, "node-month", "", "", "confirmed")
            return Price(key, self.live[key], base.unit, "digitalocean.get_sizes() (live)", "now", "confirmed")
        return row


@dataclass
class _Context:
    items: Sequence[Item]
    prices: _Prices
    by_urn: dict[str, Item] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_urn = {i.urn: i for i in self.items}

    def of_type(self, *types: str) -> list[Item]:
        return [i for i in self.items if i.type in types]


def _range(low: float, high: float) -> str:
    return f"{low:g}" if low == high else f"{low:g}-{high:g}"


def _unpriced(item: Item, kind: str, unit: str, count: str, note: str) -> Line:
    return Line(item.name, kind, unit, count, None, None, "unpriced", note=note, urn=item.urn)


def _per_unit(  # noqa: PLR0917 - one row, its label and a count range read best positionally
    ctx: _Context, item: Item, key: str, kind: str, unit: str, low: float, high: float, *, resource: str = ""
) -> Line:
    """``low``-``high`` units of one price row."""
    price = ctx.prices.get(key)
    name = resource or item.name
    if price is None:
        return Line(
            name, kind, unit, _range(low, high), None, None, "unpriced", note=f"no price row {key!r}", urn=item.urn
        )
    return Line(
        name,
        kind,
        unit,
        _range(low, high),
        round(price.usd * low, 2),
        round(price.usd * high, 2),
        "priced",
        price.confidence,
        (key,),
        urn=item.urn,
    )


# ------------------------------------------------------------------------------------------------
# DigitalOcean rules


def _pool_counts(pool: Mapping[str, Any]) -> tuple[float, float] | None:
    if _truthy(pool.get("autoScale")):
        low, high = _number(pool.get("minNodes")), _number(pool.get("maxNodes"))
    else:
        low = high = _number(pool.get("nodeCount"))
    if low is None or high is None:
        return None
    return low, high


def _pool_line(ctx: _Context, item: Item, pool: Mapping[str, Any], resource: str) -> Line:
    size, counts = _text(pool.get("size")), _pool_counts(pool)
    kind = "DOKS node pool"
    if size is None or counts is None:
        return _unpriced(item, kind, str(size), "?", "size or node count unknown at preview")
    return _per_unit(ctx, item, f"do.droplet.{size}", kind, size, *counts, resource=resource)


def _do_cluster(ctx: _Context, item: Item) -> list[Line]:
    ha = _truthy(item.props.get("ha"))
    key = "do.doks.ha-control-plane" if ha else "do.doks.control-plane"
    unit = "HA control plane" if ha else "control plane"
    lines = [_per_unit(ctx, item, key, "DOKS control plane", unit, 1, 1)]
    pool = item.props.get("nodePool")
    if isinstance(pool, Mapping):
        lines.append(_pool_line(ctx, item, pool, f"{item.name} / {pool.get('name') or 'default'} pool"))
    return lines


def _do_node_pool(ctx: _Context, item: Item) -> list[Line]:
    return [_pool_line(ctx, item, item.props, item.name)]


def _do_database(ctx: _Context, item: Item) -> list[Line]:
    size, nodes = _text(item.props.get("size")), _number(item.props.get("nodeCount"))
    engine = _text(item.props.get("engine")) or "?"
    kind = {"pg": "PostgreSQL", "valkey": "Valkey", "redis": "Redis", "mysql": "MySQL"}.get(engine, engine)
    if size is None or nodes is None:
        return [_unpriced(item, kind, str(size), "?", "plan or node count unknown at preview")]
    line = _per_unit(ctx, item, f"do.db.{size}", kind, size, nodes, nodes)
    if nodes > 1:
        line = replace(line, note=f"primary + {nodes - 1:g} standby, priced per node")
    lines = [line]
    storage = item.props.get("storageSizeMib")
    if storage is not None:
        lines.append(
            _unpriced(
                item, kind, f"storageSizeMib {storage}", "1", "storage beyond the plan's: no price row (check the plan)"
            )
        )
    return lines


def _do_database_replica(ctx: _Context, item: Item) -> list[Line]:
    # A read-only replica is billed as one more node of its own plan (DigitalOcean's pricing page).
    size = _text(item.props.get("size"))
    if size is None:
        return [_unpriced(item, "PostgreSQL replica", "?", "1", "plan unknown at preview")]
    return [_per_unit(ctx, item, f"do.db.{size}", "PostgreSQL replica", size, 1, 1)]


def _do_droplet(ctx: _Context, item: Item) -> list[Line]:
    size = _text(item.props.get("size"))
    if size is None:
        return [_unpriced(item, "droplet", "?", "1", "size unknown at preview")]
    lines = [_per_unit(ctx, item, f"do.droplet.{size}", "droplet", size, 1, 1)]
    if _truthy(item.props.get("backups")):
        base, share = ctx.prices.get(f"do.droplet.{size}"), ctx.prices.get("do.droplet.backups-weekly")
        if base is None or share is None:
            lines.append(_unpriced(item, "droplet backups", size, "1", "no price row for the droplet or backups"))
        else:
            usd = round(base.usd * share.usd, 2)
            lines.append(
                Line(
                    f"{item.name} backups",
                    "droplet backups",
                    f"{share.usd:.0%} of {size}",
                    "1",
                    usd,
                    usd,
                    "priced",
                    weakest([base.confidence, share.confidence]),
                    (base.key, share.key),
                    urn=item.urn,
                )
            )
    return lines


def _do_volume(ctx: _Context, item: Item) -> list[Line]:
    size = _number(item.props.get("size"))
    if size is None:
        return [_unpriced(item, "volume", "?", "1", "size unknown at preview")]
    line = _per_unit(ctx, item, "do.volume.gib", "volume", f"{size:g} GiB", size, size)
    return [replace(line, count="1")]


def _lb_line(ctx: _Context, item: Item, annotations: Mapping[str, Any], where: str) -> Line:
    units = _number(annotations.get(LB_SIZE_UNIT, "1"))
    name = _text(annotations.get(LB_NAME)) or f"{item.name} load balancer"
    if units is None:
        return _unpriced(item, "load balancer", "? size units", "1", "size unit unknown at preview")
    line = _per_unit(ctx, item, "do.lb.size-unit", "load balancer", f"{units:g} size unit(s)", units, units)
    return replace(line, resource=name, count="1", note=where)


def _load_balancer_services(value: Any, path: str = "") -> Iterable[tuple[str, Mapping[str, Any]]]:
    """Every ``service`` object of type LoadBalancer in Helm values, with its path and annotations."""
    if isinstance(value, Mapping):
        if value.get("type") == "LoadBalancer":
            annotations = value.get("annotations")
            yield path or "service", annotations if isinstance(annotations, Mapping) else {}
        for key, inner in value.items():
            yield from _load_balancer_services(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _load_balancer_services(inner, f"{path}[{index}]")


UNSEEN = (
    "props unknown: on a first preview the cluster's Kubernetes provider is not configured yet, so nothing "
    "of this object is known; it may create a load balancer or volumes"
)


def _helm_release(ctx: _Context, item: Item) -> list[Line]:
    if not item.props:
        return [_unpriced(item, "Helm release", "?", "1", UNSEEN)]
    # A chart's Service of type LoadBalancer makes the cloud-controller-manager create a DigitalOcean LB.
    return [
        _lb_line(ctx, item, annotations, f"created by the cluster's CCM for Helm values {path}")
        for path, annotations in _load_balancer_services(item.props.get("values"))
    ]


def _envoy_proxy(ctx: _Context, item: Item) -> list[Line]:
    # Envoy Gateway creates one Service per Gateway from this template, of type LoadBalancer unless it
    # says otherwise (the shared Gateway is the only one using it): the CCM makes it a DigitalOcean LB.
    if not item.props:
        return [_unpriced(item, "EnvoyProxy", "?", "1", UNSEEN)]
    kubernetes = ((item.props.get("spec") or {}).get("provider") or {}).get("kubernetes") or {}
    service = kubernetes.get("envoyService") or {}
    if service.get("type", "LoadBalancer") != "LoadBalancer":
        return []
    annotations = service.get("annotations")
    where = "created by the cluster's CCM for the Gateway's Envoy Service"
    return [_lb_line(ctx, item, annotations if isinstance(annotations, Mapping) else {}, where)]


def _k8s_service(ctx: _Context, item: Item) -> list[Line]:
    if not item.props:
        return [_unpriced(item, "Service", "?", "1", UNSEEN)]
    spec, metadata = item.props.get("spec"), item.props.get("metadata")
    if isinstance(spec, Mapping) and spec.get("type") == "LoadBalancer":
        annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
        return [_lb_line(ctx, item, annotations or {}, "created by the cluster's CCM for this Service")]
    return []


_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(Mi|Gi|Ti)?$")


def _k8s_pvc(ctx: _Context, item: Item) -> list[Line]:
    if not item.props:
        return [_unpriced(item, "volume (PVC)", "?", "1", UNSEEN)]
    spec = item.props.get("spec")
    request = spec.get("resources", {}).get("requests", {}).get("storage") if isinstance(spec, Mapping) else None
    match = _QUANTITY.match(str(request or ""))
    if not match:
        return [_unpriced(item, "volume (PVC)", str(request), "1", "storage request unknown")]
    gib = float(match.group(1)) * {"Mi": 1 / 1024, "Gi": 1.0, "Ti": 1024.0, None: 1 / 1024**3}[match.group(2)]
    line = _per_unit(ctx, item, "do.volume.gib", "volume (PVC)", f"{gib:g} GiB", gib, gib)
    return [replace(line, count="1", note="DigitalOcean block storage class assumed")]


def _do_load_balancer(ctx: _Context, item: Item) -> list[Line]:
    units = _number(item.props.get("sizeUnit") or 1)
    if units is None:
        return [_unpriced(item, "load balancer", "?", "1", "size unit unknown at preview")]
    line = _per_unit(ctx, item, "do.lb.size-unit", "load balancer", f"{units:g} size unit(s)", units, units)
    return [replace(line, count="1")]


def _do_spaces(ctx: _Context, item: Item) -> list[Line]:
    line = _per_unit(ctx, item, "do.spaces.base", "Spaces", "subscription (250 GiB)", 1, 1)
    return [replace(line, note="one subscription per account: shared by every bucket")]


# ------------------------------------------------------------------------------------------------
# AWS rules


_CRON_ITEM = re.compile(r"^(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?$")


def _runs_per_day(schedule: str | None) -> float | None:
    """Runs a day of a 5-field cron schedule, for the shapes a backup uses (else None)."""
    fields = (schedule or "").split()
    if len(fields) != 5 or fields[2:] != ["*", "*", "*"]:
        return None
    minute, hour = fields[0], fields[1]

    def count(field: str, span: int) -> float | None:
        total = 0.0
        for item in field.split(","):
            match = _CRON_ITEM.fullmatch(item)
            if match is None:
                return None
            first, last, step = match.group(2), match.group(3), int(match.group(4) or 1)
            if match.group(1) == "*":
                low, high = 0, span - 1
            else:
                low = int(first)
                high = int(last) if last else (span - 1 if match.group(4) else low)
            total += len(range(low, high + 1, step))
        return total

    per_hour, hours = count(minute, 60), count(hour, 24)
    return per_hour * hours if per_hour is not None and hours is not None else None


def _refers(user: Item, prop_value: Any, target: Item, target_props: tuple[str, ...]) -> bool:
    """``user`` points at ``target``: by a known value (name/ARN) when there is one, else by dependency."""
    known = {target.props.get(p) for p in target_props} - {None}
    if isinstance(prop_value, str) and prop_value in known:
        return True
    return target.urn in user.dependencies


def _bucket_writes_per_day(ctx: _Context, bucket: Item) -> float | str | None:
    """Objects a day written by the CronJobs that use the bucket (by its name in their env, or dependency).

    None: no writer; a string: why the writers' rate is unknown.
    """
    total, found = 0.0, False
    name = bucket.props.get("bucket")
    for job in ctx.of_type(K8S_CRONJOB):
        uses = bucket.urn in job.dependencies or (isinstance(name, str) and name in repr(job.props))
        if not uses:
            continue
        if not job.props:
            return f"the schedule of its writer {job.name} is unknown (a first preview: its cluster does not exist yet)"
        schedule = _text((job.props.get("spec") or {}).get("schedule"))
        runs = _runs_per_day(schedule)
        if runs is None:
            return f"cannot count the runs of its writer's schedule {schedule!r}"
        total, found = total + runs, True
    return total if found else None


@dataclass(frozen=True)
class _Lifecycle:
    transitions: tuple[tuple[float, str], ...]
    expiration_days: float | None
    noncurrent_days: float | None


def _lifecycle_of(ctx: _Context, bucket: Item) -> _Lifecycle | None:
    for config in ctx.of_type(S3_LIFECYCLE, S3_LIFECYCLE_V2):
        if not _refers(config, config.props.get("bucket"), bucket, ("bucket", "id")):
            continue
        for rule in config.props.get("rules") or []:
            if not isinstance(rule, Mapping) or rule.get("status") != "Enabled" or not rule.get("transitions"):
                continue
            transitions = tuple(
                sorted(
                    (_number(t.get("days")) or 0.0, str(t.get("storageClass")))
                    for t in rule["transitions"]
                    if isinstance(t, Mapping)
                )
            )
            expiration = rule.get("expiration")
            expiration = expiration if isinstance(expiration, Mapping) else {}
            noncurrent = rule.get("noncurrentVersionExpiration")
            return _Lifecycle(
                transitions,
                _number(expiration.get("days")),
                _number(noncurrent.get("noncurrentDays")) if isinstance(noncurrent, Mapping) else None,
            )
    return None


def _versioned(ctx: _Context, bucket: Item) -> bool:
    for config in ctx.of_type(S3_VERSIONING, S3_VERSIONING_V2):
        status = (config.props.get("versioningConfiguration") or {}).get("status")
        if status == "Enabled" and _refers(config, config.props.get("bucket"), bucket, ("bucket", "id")):
            return True
    return _truthy(bucket.props.get("objectLockEnabled"))  # object lock implies versioning


def storage_days(
    initial_class: str,
    transitions: Sequence[tuple[float, str]],
    expiration_days: float | None,
    noncurrent_days: float | None = None,
) -> list[tuple[str, float]] | None:
    """Billed days an object spends in each storage class over its life (None: it never expires).

    Minimum storage durations are billed even when an object moves on earlier; an expired version of a
    versioned bucket stays ``noncurrent_days`` more in its last class.
    """
    if expiration_days is None:
        return None
    segments: list[tuple[str, float]] = []
    start, current = 0.0, initial_class
    for day, storage_class in sorted(transitions):
        if day >= expiration_days:
            break
        if day > start:
            segments.append((current, day - start))
        start, current = max(start, day), storage_class
    segments.append((current, max(expiration_days - start, 0.0) + (noncurrent_days or 0.0)))
    return [(cls, max(days, float(S3_MIN_DAYS.get(cls, 0)))) for cls, days in segments if days > 0]


def _bucket_storage(ctx: _Context, bucket: Item, writes: float, initial_class: str, resource: str) -> Line:
    lifecycle = _lifecycle_of(ctx, bucket)
    kind = "S3 storage"
    if lifecycle is None:
        return _unpriced(bucket, kind, "?", "?", "no lifecycle expiration: storage grows without bound")
    nonc = lifecycle.noncurrent_days if _versioned(ctx, bucket) else None
    segments = storage_days(initial_class, lifecycle.transitions, lifecycle.expiration_days, nonc)
    low_row, high_row = ctx.prices.get("assume.backup-dump-gib.min"), ctx.prices.get("assume.backup-dump-gib.max")
    if segments is None or low_row is None or high_row is None:
        return _unpriced(bucket, kind, "?", "?", "objects never expire: storage grows without bound")
    per_gib, keys, confidences = 0.0, [low_row.key, high_row.key], [low_row.confidence]
    for storage_class, days in segments:
        row = ctx.prices.get(f"aws.s3.{storage_class}")
        if row is None:
            return _unpriced(bucket, kind, storage_class, "?", f"no price row for storage class {storage_class}")
        per_gib += writes * days * row.usd  # steady state: GiB stored per GiB written a day, times its price
        keys.append(row.key)
        confidences.append(row.confidence)
    objects = writes * sum(days for _, days in segments)
    plan = " > ".join(f"{cls} {days:g}d" for cls, days in segments)
    return Line(
        resource,
        kind,
        f"{low_row.usd:g}-{high_row.usd:g} GiB/dump; {plan}",
        f"{objects:,.0f} dumps",
        round(per_gib * low_row.usd, 2),
        round(per_gib * high_row.usd, 2),
        "priced",
        weakest(confidences),
        tuple(dict.fromkeys(keys)),
        note=f"{writes:g} dumps a day kept by the lifecycle rule (steady state)",
        urn=bucket.urn,
    )


def _aws_buckets(ctx: _Context) -> list[Line]:
    """Storage of every bucket: written ones from their writers, replicas from their source."""
    buckets = ctx.of_type(S3_BUCKET, S3_BUCKET_V2)
    lines: list[Line] = []
    writes = {b.urn: _bucket_writes_per_day(ctx, b) for b in buckets}
    replicas: dict[str, tuple[Item, str]] = {}
    for config in ctx.of_type(S3_REPLICATION):
        sources = [b for b in buckets if _refers(config, config.props.get("bucket"), b, ("bucket", "id"))]
        sources = [b for b in sources if writes.get(b.urn)] or sources[:1]
        for rule in config.props.get("rules") or []:
            destination = rule.get("destination") if isinstance(rule, Mapping) else None
            if not isinstance(destination, Mapping) or not sources:
                continue
            for b in buckets:
                if b.urn != sources[0].urn and _refers(config, destination.get("bucket"), b, ("arn",)):
                    replicas[b.urn] = (sources[0], str(destination.get("storageClass") or "STANDARD"))
    for bucket in buckets:
        name = f"{bucket.name} storage"
        if bucket.urn in replicas:
            source, storage_class = replicas[bucket.urn]
            daily = writes.get(source.urn)
            if not isinstance(daily, float):
                reason = f"replica of {source.name}: {daily or 'no writer found to size it from'}"
                lines.append(_unpriced(bucket, "S3 storage", "replica", "?", reason))
                continue
            lines.append(_bucket_storage(ctx, bucket, daily, storage_class, name))
            transfer = ctx.prices.get("aws.s3.replication-transfer")
            low, high = ctx.prices.get("assume.backup-dump-gib.min"), ctx.prices.get("assume.backup-dump-gib.max")
            if transfer and low and high:
                monthly = daily * 30.42
                lines.append(
                    Line(
                        f"{bucket.name} replication",
                        "S3 replication transfer",
                        f"{monthly:,.0f} dumps/month",
                        "1",
                        round(monthly * low.usd * transfer.usd, 2),
                        round(monthly * high.usd * transfer.usd, 2),
                        "priced",
                        weakest([transfer.confidence, low.confidence]),
                        (transfer.key, low.key, high.key),
                        note=f"from {source.name}",
                        urn=bucket.urn,
                    )
                )
        elif isinstance(daily := writes.get(bucket.urn), float):
            lines.append(_bucket_storage(ctx, bucket, daily, "STANDARD", name))
        else:
            reason = daily or "usage-based: no writer found to size it from"
            lines.append(_unpriced(bucket, "S3 storage", "?", "?", reason))
    return lines


def _kms_key(ctx: _Context, item: Item) -> list[Line]:
    line = _per_unit(ctx, item, "aws.kms.key", "KMS key", "customer-managed key", 1, 1)
    if _truthy(item.props.get("enableKeyRotation")):
        line = replace(line, note="+$1/month for each of the first two yearly rotations")
    return [line]


def _fixed(kind: str, key: str, unit: str, note: str = "") -> Any:
    def rule(ctx: _Context, item: Item) -> list[Line]:
        line = _per_unit(ctx, item, key, kind, unit, 1, 1)
        return [replace(line, note=note)] if note else [line]

    return rule


def _karpenter_pool(ctx: _Context, item: Item) -> list[Line]:
    spec = item.props.get("spec")
    cpu = _number(((spec or {}).get("limits") or {}).get("cpu")) if isinstance(spec, Mapping) else None
    if cpu is None:
        return [_unpriced(item, "EKS node pool", "no CPU limit", "0-?", "no CPU cap: the pool can grow without bound")]
    line = _per_unit(ctx, item, "aws.eks.auto-mode-vcpu", "EKS node pool", f"{cpu:g} vCPU cap", 0, cpu)
    lines = [replace(line, count=f"0-{cpu:g} vCPU", note="scales to zero; on-demand price as ceiling")]
    gpus = _number(((spec or {}).get("limits") or {}).get("nvidia.com/gpu")) if isinstance(spec, Mapping) else None
    if gpus:
        # A GPU instance's price is mostly its GPU: priced per GPU on top of the vCPU line (a slight overcount).
        gpu = _per_unit(
            ctx,
            item,
            "aws.eks.auto-mode-gpu",
            "EKS GPU node pool",
            f"{gpus:g} GPU cap",
            0,
            gpus,
            resource=f"{item.name} GPUs",
        )
        lines.append(replace(gpu, count=f"0-{gpus:g} GPU", note="scales to zero; on-demand price as ceiling"))
    return lines


def _rds_instance(ctx: _Context, item: Item) -> list[Line]:
    """An RDS instance: twice for Multi-AZ (the standby is billed like the primary), its gp3 storage, and the
    Secrets Manager secret RDS keeps the master password in. A replica's storage follows its source."""
    cls = _text(item.props.get("instanceClass"))
    if cls is None:
        return [_unpriced(item, "RDS instance", "?", "?", "instance class unknown at preview")]
    copies = 2 if _truthy(item.props.get("multiAz")) else 1
    lines = [_per_unit(ctx, item, f"aws.rds.{cls}", "RDS instance", cls, copies, copies)]
    storage = _number(item.props.get("allocatedStorage"))
    ceiling = _number(item.props.get("maxAllocatedStorage")) or storage
    if storage is not None and ceiling is not None:
        lines.append(
            _per_unit(
                ctx,
                item,
                "aws.rds.gp3",
                "RDS storage",
                "GiB gp3",
                storage * copies,
                ceiling * copies,
                resource=f"{item.name} storage",
            )
        )
    if _truthy(item.props.get("manageMasterUserPassword")):
        lines.append(
            _per_unit(
                ctx,
                item,
                "aws.secretsmanager.secret",
                "Secrets Manager",
                "master secret",
                1,
                1,
                resource=f"{item.name} secret",
            )
        )
    return lines


def _elasticache_group(ctx: _Context, item: Item) -> list[Line]:
    node = _text(item.props.get("nodeType"))
    count = _number(item.props.get("numCacheClusters"))
    if node is None or count is None:
        return [_unpriced(item, "ElastiCache", "?", "?", "node type or count unknown at preview")]
    return [_per_unit(ctx, item, f"aws.elasticache.valkey.{node}", "ElastiCache (Valkey)", node, count, count)]


def _log_group(ctx: _Context, item: Item) -> list[Line]:
    return [_unpriced(item, "CloudWatch logs", "per GB ingested", "1", "usage-based ($0.50/GB ingested, unverified)")]


RULES: dict[str, Any] = {
    DO_CLUSTER: _do_cluster,
    DO_NODE_POOL: _do_node_pool,
    DO_DATABASE: _do_database,
    DO_DATABASE_REPLICA: _do_database_replica,
    ENVOY_PROXY: _envoy_proxy,
    DO_DROPLET: _do_droplet,
    DO_VOLUME: _do_volume,
    DO_LOAD_BALANCER: _do_load_balancer,
    DO_SPACES: _do_spaces,
    HELM_RELEASE: _helm_release,
    K8S_SERVICE: _k8s_service,
    K8S_PVC: _k8s_pvc,
    KARPENTER_POOL: _karpenter_pool,
    KMS_KEY: _kms_key,
    EKS_CLUSTER: _fixed("EKS control plane", "aws.eks.cluster", "standard support"),
    NAT_GATEWAY: _fixed("NAT gateway", "aws.ec2.nat-gateway", "per gateway", "+ $0.045/GB processed (usage)"),
    EIP: _fixed("public IPv4", "aws.ec2.public-ipv4", "per address"),
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _fixed(
        "CloudWatch alarm", "aws.cloudwatch.alarm", "standard resolution", "the account's first 10 are free"
    ),
    "aws:rds/instance:Instance": _rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": _elasticache_group,
}
"""Per-type pricing rules (buckets are priced together, see ``_aws_buckets``)."""


def _free_reason(type_token: str) -> str | None:
    if type_token in FREE_TYPES:
        return FREE_TYPES[type_token]
    return next((reason for prefix, reason in FREE_PREFIXES.items() if type_token.startswith(prefix)), None)


def estimate(items: Iterable[Item], live_prices: Mapping[str, float] | None = None) -> Estimate:
    """Price an inventory. ``live_prices`` (price key -> USD) override table rows, e.g. from get_sizes()."""
    inventory = [i for i in items if i.is_custom]
    ctx = _Context(inventory, _Prices(PRICES, live_prices))
    lines: list[Line] = []
    free: dict[str, list[Item]] = {}
    for item in inventory:
        if item.type in (S3_BUCKET, S3_BUCKET_V2):
            continue
        rule = RULES.get(item.type)
        priced = rule(ctx, item) if rule else []
        lines.extend(priced)
        if priced:
            continue
        reason = _free_reason(item.type)
        if reason is None:
            lines.append(_unpriced(item, _short(item.type), "?", "1", f"no price rule for {item.type}"))
        else:
            free.setdefault(item.type, []).append(item)
    lines.extend(_aws_buckets(ctx))
    for type_token, group in sorted(free.items()):
        reason = _free_reason(type_token) or ""
        lines.append(Line(_short(type_token), _short(type_token), "-", str(len(group)), 0.0, 0.0, "free", note=reason))
    return Estimate(tuple(lines))
