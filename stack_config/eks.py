"""Config of the enterprise-scale target (``platform:eks``): an EKS Auto Mode cluster in its own AWS VPC.

Off by default: the seed-scale tenant fits DOKS, and nothing of the tenant runs on EKS yet
(docs/eks.md). The defaults are production-grade (three zones, a NAT gateway per zone, on-demand
pools, private API endpoint), so enabling it in production needs no more than ``enabled`` and the
admin roles; a cheaper staging states its differences, as the stack files do elsewhere.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from guardrails import EKS_MAX_POOL_CPU, EKS_MAX_TOTAL_CPU, EKS_MIN_KUBERNETES_MINOR, per_environment

from .apps import Service
from .backup import AWS_REGIONS
from .base import StrictModel
from .infra import _DNS_LABEL, _LABEL_KEY, _LABEL_VALUE, KUBERNETES_MINORS, _private_network, environment_of

MIN_KUBERNETES_MINOR = EKS_MIN_KUBERNETES_MINOR
"""guardrails.py's floor, shared with the eks-version-floor guard."""

LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
"""The retention periods CloudWatch Logs accepts (0, never expire, is deliberately not offered)."""

RESERVED_POOL_NAMES = frozenset({"system", "general-purpose"})
"""Names Auto Mode owns; a NodePool of ours with one of them would fight EKS over the object."""

CapacityType = Literal["on-demand", "spot"]
InstanceCategory = Literal["c", "m", "r", "t", "g"]
"""c compute, m general, r memory, t burstable, g NVIDIA GPU (G5, G6 ...: Auto Mode ships the driver)."""

_VERSION = re.compile(r"^1\.([0-9]{2})$")
_DURATION = re.compile(r"^(([0-9]+(s|m|h))+|Never)$")
"""Karpenter v1's own pattern for ``consolidateAfter``."""
# ASCII: IAM names are [\w+=,.@-] of ASCII letters and digits only (Python's \w and \d match any script).
_ROLE_ARN = re.compile(r"^arn:aws:iam::[0-9]{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$", re.ASCII)
_SECURITY_GROUP = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")
_PREFIX = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
SEED_BACKUP_RETENTION_DAYS = 7
"""Seed 004: "PostgreSQL: daily automated backups (7-day retention)"."""


def role_key(arn: str) -> str:
    """Stable resource key of an admin role: its name, lowercased to a DNS-label-like slug.

    Keyed by name, not by list position, so reordering ``adminRoleArns`` renames nothing.
    """
    return re.sub(r"[^a-z0-9]+", "-", arn.rsplit("/", 1)[-1].lower()).strip("-")


def _capacity(*types: CapacityType) -> list[CapacityType]:
    return list(types)


def _categories(*categories: InstanceCategory) -> list[InstanceCategory]:
    return list(categories)


class EksTaint(StrictModel):
    key: str = Field(description="Taint key, e.g. workload.")
    value: str = Field(description="Taint value, e.g. scrapers.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = Field(
        description="Kubernetes spelling: Karpenter NodePools take core/v1 taints (the NO_SCHEDULE spelling of "
        "the managed-node-group API does not apply)."
    )


class EksNodePool(StrictModel):
    """One Karpenter NodePool on Auto Mode's built-in NodeClass, keyed by name in ``eks.nodePools``."""

    capacity_types: list[CapacityType] = Field(
        default_factory=lambda: _capacity("on-demand"),
        min_length=1,
        description="EC2 purchase options Karpenter may pick (it prefers the cheapest, i.e. spot, when both are "
        "allowed). Production pools must include on-demand. Default: on-demand only.",
    )
    instance_categories: list[InstanceCategory] = Field(
        default_factory=lambda: _categories("c", "m", "r"),
        min_length=1,
        description="EC2 instance families (c compute, m general, r memory, t burstable). "
        "Default: c, m, r (the built-in pools' choice).",
    )
    cpu_limit: int = Field(
        ge=1,
        description="vCPUs all nodes of this pool may add up to; Karpenter launches nothing beyond it. "
        f"The pool's budget: required, no default; at most {EKS_MAX_POOL_CPU['staging']} in staging, "
        f"{EKS_MAX_POOL_CPU['production']} in production (the eks-node-pool-cpu-limit guard's caps).",
    )
    gpu_limit: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="NVIDIA GPUs all nodes of this pool may add up to (the NodePool's nvidia.com/gpu limit). "
        "Required exactly when instanceCategories is [g]. Default: none (a CPU pool).",
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Node labels. Default: none.")
    taints: list[EksTaint] = Field(default_factory=list, description="Node taints. Default: none.")
    consolidate_after: str = Field(
        default="5m",
        description="How long a node stays empty or underused before Karpenter consolidates it away "
        "('30s', '5m', '1h', or 'Never'). Default: 5m.",
    )

    @field_validator("capacity_types")
    @classmethod
    def _on_demand(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"list each capacity type once, not {value}")
        if environment_of(info) == "production" and "on-demand" not in value:
            raise ValueError(
                "production pools keep on-demand capacity, so a wave of spot reclaims cannot empty the pool: "
                "add on-demand to capacityTypes (spot may stay alongside it)"
            )
        return value

    @model_validator(mode="after")
    def _gpu_pool(self) -> EksNodePool:
        """A GPU pool is GPU-only, capped in GPUs and tainted; a CPU pool has no GPU cap."""
        gpu = "g" in self.instance_categories
        problems = []
        if gpu and self.instance_categories != ["g"]:
            problems.append(
                f"instanceCategories {self.instance_categories} mixes GPU and CPU families: a GPU pool lists only g, "
                "so its cpuLimit and gpuLimit describe the same nodes"
            )
        if gpu and self.gpu_limit is None:
            problems.append("a GPU pool (instanceCategories [g]) needs gpuLimit, its budget in GPUs")
        if not gpu and self.gpu_limit is not None:
            problems.append(f"gpuLimit {self.gpu_limit} is set on a pool without GPU instances: add g or drop it")
        if gpu and not any(t.effect == "NoSchedule" for t in self.taints):
            problems.append(
                "a GPU pool needs a NoSchedule taint (e.g. nvidia.com/gpu=true), or ordinary pods land on GPU nodes "
                "and keep them (and their price) alive"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @field_validator("cpu_limit")
    @classmethod
    def _pool_cap(cls, value: int, info: ValidationInfo) -> int:
        environment = environment_of(info)
        cap = per_environment(EKS_MAX_POOL_CPU, environment)
        if value > cap:
            raise ValueError(
                f"{value} vCPUs is over the {environment or 'production'} cap of {cap} per pool (guardrails.py, "
                "shared with the eks-node-pool-cpu-limit guard): lower cpuLimit, or split the pool"
            )
        return value

    @field_validator("instance_categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"list each instance category once, not {value}")
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k, v in value.items() if not _LABEL_KEY.fullmatch(k) or not _LABEL_VALUE.fullmatch(v)]
        if bad:
            raise ValueError(f"invalid Kubernetes label(s) {bad}: keys/values are <=63 chars of [A-Za-z0-9-_.]")
        restricted = [k for k in value if k.split("/")[0].endswith(("karpenter.sh", "eks.amazonaws.com"))]
        if restricted:
            raise ValueError(f"labels {restricted} are set by Karpenter/EKS themselves; use your own key")
        return value

    @field_validator("consolidate_after")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not _DURATION.fullmatch(value):
            raise ValueError("must be a Go duration of s/m/h units such as '30s', '5m' or '1h', or 'Never'")
        return value


def _default_node_pools() -> dict[str, EksNodePool]:
    # The DOKS layout (seed 000) carried over: a general pool, and scrapers isolated by a taint. Scrapers
    # tolerate interruption (a reclaimed node only delays a crawl), so they may run on spot.
    return {
        "general": EksNodePool(cpu_limit=64, labels={"workload": "general"}),
        "scrapers": EksNodePool(
            capacity_types=["spot", "on-demand"],
            instance_categories=["c", "m"],
            cpu_limit=32,
            labels={"workload": "scrapers"},
            taints=[EksTaint(key="workload", value="scrapers", effect="NoSchedule")],
        ),
    }


class BucketAccess(StrictModel):
    """What one service may do in one of its tenant's buckets, through its Pod Identity role."""

    prefixes: list[str] = Field(
        min_length=1,
        description="Key prefixes without slashes at either end ('transcripts'); the role reaches nothing else.",
    )
    write: bool = Field(default=False, description="Put and delete too, not only get and list. Default: read only.")

    @field_validator("prefixes")
    @classmethod
    def _plain(cls, value: list[str]) -> list[str]:
        bad = [p for p in value if not _PREFIX.fullmatch(p)]
        if bad:
            raise ValueError(
                f"{bad} must be plain key prefixes such as 'transcripts' (letters, digits, - _ . and inner /; "
                "no wildcard, no leading or trailing /)"
            )
        return value


class AwsTenantData(StrictModel):
    """How this stack sizes the AWS data services of one ``target: aws`` tenant, and who may reach its buckets."""

    postgres_instance_class: str = Field(
        default="db.t4g.medium",
        description="RDS instance class of the primary (and replica). Default: db.t4g.medium (2 vCPU, 4 GiB).",
    )
    postgres_storage_gib: int = Field(default=20, ge=20, le=1000, description="Initial gp3 storage. Default: 20.")
    backup_retention_days: int = Field(
        default=7,
        ge=1,
        le=35,
        description="Automated backups and point-in-time recovery, days (RDS allows 1-35). Production: at least 7, "
        "seed 004's retention (the aws-rds-backup-retention guard's floor). Default: 7.",
    )
    cache_node_type: str = Field(
        default="cache.t4g.small",
        description="ElastiCache node type. Default: cache.t4g.small (1.37 GiB; seed 004's cache is 1 GB).",
    )
    bucket_access: dict[str, dict[str, BucketAccess]] = Field(
        default_factory=dict,
        description="service -> bucket -> access, for the services' Pod Identity roles. Default: no service "
        "reaches a bucket.",
    )
    queue_senders: dict[str, list[str]] = Field(
        default_factory=dict,
        description="queue -> services that may send to it (sqs:SendMessage in their Pod Identity roles). A queue "
        "is one the catalog's autoscaling.queue names; its consumer gets receive/delete without being listed here. "
        "Default: nobody sends.",
    )
    queue_visibility_timeout_seconds: int = Field(
        default=900,
        ge=30,
        le=43200,
        description="How long a received queue message stays hidden from other consumers: longer than one unit of "
        "work (a transcription), or it is processed twice. SQS allows up to 43200 (12 h). Default: 900 (15 min).",
    )

    @field_validator("postgres_instance_class")
    @classmethod
    def _db_class(cls, value: str) -> str:
        if not re.fullmatch(r"db\.[a-z0-9]+\.[a-z0-9]+", value):
            raise ValueError("must be an RDS instance class such as db.t4g.medium")
        return value

    @field_validator("cache_node_type")
    @classmethod
    def _cache_type(cls, value: str) -> str:
        if not re.fullmatch(r"cache\.[a-z0-9]+\.[a-z0-9]+", value):
            raise ValueError("must be an ElastiCache node type such as cache.t4g.small")
        return value

    @field_validator("backup_retention_days")
    @classmethod
    def _retention(cls, value: int, info: ValidationInfo) -> int:
        if environment_of(info) == "production" and value < SEED_BACKUP_RETENTION_DAYS:
            raise ValueError(
                f"production keeps at least {SEED_BACKUP_RETENTION_DAYS} days of backups (seed 004; RPO 1 h needs "
                "point-in-time recovery): raise it"
            )
        return value


class EksConfig(StrictModel):
    """EKS Auto Mode in its own VPC: the enterprise-scale target, off until a tenant outgrows DOKS (docs/eks.md)."""

    enabled: bool = Field(
        default=False,
        description="Create the EKS cluster, its VPC and node pools on AWS. Default: off (the seed-scale tenant "
        "fits DOKS; nothing of it runs on EKS yet).",
    )
    aws_region: str = Field(
        default="us-east-1",
        description="AWS region of the cluster and its VPC. Default: us-east-1, nearest to nyc1.",
    )
    kubernetes_version: str = Field(
        default="1.35",
        description="Kubernetes minor ('1.35', the DOKS cluster's minor); EKS applies patches itself. 1.34 or newer "
        "(standard support). Raise it one minor at a time; EKS cannot downgrade. Default: 1.35.",
    )
    vpc_cidr: str = Field(
        default="10.100.0.0/16",
        description="IPv4 range of the AWS VPC, RFC 1918, /16 to /20; pods take their IPs from it. Must not "
        "overlap network.vpcCidr. Default: 10.100.0.0/16.",
    )
    availability_zones: int = Field(
        default=3,
        ge=2,
        le=3,
        description="Zones the subnets span: the first N by name of the region's zones that need no opt-in. "
        "Production: 3. Default: 3.",
    )
    nat_gateways: Literal["single", "per-az"] = Field(
        default="per-az",
        description="single: one NAT gateway for all zones (cheaper; losing its zone cuts all egress). per-az: one "
        "per zone (required in production). Default: per-az.",
    )
    public_access_cidrs: list[str] = Field(
        default_factory=list,
        description="Networks admitted to the public API endpoint. Default: empty, which disables the public "
        "endpoint (the API is reachable from inside the VPC only). Never 0.0.0.0/0 or ::/0.",
    )
    admin_role_arns: list[str] = Field(
        default_factory=list,
        description="IAM roles (arn:aws:iam::<account>:role/<name>) granted cluster-admin through EKS access "
        "entries. Not the deploy role itself: as cluster creator it is admin already. Default: none (only "
        "the identity that creates the cluster is admin).",
    )
    deploy_role_arn: str | None = Field(
        default=None,
        description="IAM role that runs `pulumi up` (CI's deploy role, docs/ci.md); it gets a cluster-admin access "
        "entry, as the cluster creator gets none (bootstrap admin is off, so whoever created the cluster is not "
        "silently its only admin). Required when enabled. Default: none.",
    )
    preview_role_arn: str | None = Field(
        default=None,
        description="Read-only IAM role of pull-request previews and the drift check (docs/ci.md); it gets a "
        "view-only access entry plus read access to the NodePools. Required when enabled. Default: none.",
    )
    api_ingress_cidrs: list[str] = Field(
        default_factory=list,
        description="Networks admitted on 443 to the private API endpoint through the cluster security group: a "
        "VPN, or a peered network with the self-hosted runners the workflows use (docs/eks.md). Default: none.",
    )
    api_ingress_security_group_ids: list[str] = Field(
        default_factory=list,
        description="Security groups (sg-...) admitted on 443 to the private API endpoint, e.g. of self-hosted "
        "runners inside the cluster's VPC. Default: none.",
    )
    deletion_protection: bool | None = Field(
        default=None,
        description="EKS deletion protection of the cluster, apart from the stack-wide protect flag so the removal "
        "steps in docs/eks.md can be followed (switch it off, `pulumi up`, then remove). Default: on in "
        "production, off elsewhere.",
    )
    log_retention_days: int = Field(
        default=90,
        description="Retention of the control-plane logs in CloudWatch, one of the periods CloudWatch accepts "
        "(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...). Default: 90.",
    )
    max_total_cpu: int | None = Field(
        default=None,
        ge=1,
        description="Budget cap: the cpuLimit of all node pools together may not exceed it. At most, and by "
        f"default, the environment's cap: {EKS_MAX_TOTAL_CPU['staging']} vCPUs in staging, "
        f"{EKS_MAX_TOTAL_CPU['production']} in production (the stack-eks-cpu-budget guard's).",
    )
    tenant_data: dict[str, AwsTenantData] = Field(
        default_factory=dict,
        description="AWS data sizing and bucket access of each `target: aws` tenant (platform:tenants), keyed by "
        "tenant name. A listed aws tenant without an entry gets the defaults. Default: none.",
    )
    node_pools: dict[str, EksNodePool] = Field(
        default_factory=_default_node_pools,
        description="Karpenter NodePools keyed by name (besides Auto Mode's built-in system pool). Default: "
        "general (on-demand, 64 vCPUs) and scrapers (spot + on-demand, 32 vCPUs, tainted).",
    )

    @field_validator("aws_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in AWS_REGIONS:
            raise ValueError(f"'{value}' is not an AWS region (the set comes from pulumi-aws's Region enum)")
        return value

    @field_validator("kubernetes_version")
    @classmethod
    def _version(cls, value: str) -> str:
        match = _VERSION.fullmatch(value)
        if not match:
            raise ValueError("must be a Kubernetes minor such as '1.35' (EKS picks the patch)")
        if int(match.group(1)) < MIN_KUBERNETES_MINOR:
            raise ValueError(
                f"{value} is out of EKS standard support and would bill extended support: "
                f"set eks.kubernetesVersion to 1.{MIN_KUBERNETES_MINOR} or newer"
            )
        if int(match.group(1)) > KUBERNETES_MINORS[1]:
            raise ValueError(
                f"Kubernetes {value} does not exist yet (newest: 1.{KUBERNETES_MINORS[1]}): use a released minor"
            )
        return value

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc(cls, value: str) -> str:
        net = _private_network(value, "vpcCidr")
        if not 16 <= net.prefixlen <= 20:
            raise ValueError(
                f"prefix /{net.prefixlen} is outside /16 to /20: EKS pods take VPC addresses, so smaller ranges "
                "run out of pod IPs (and AWS allows nothing larger than /16)"
            )
        return value

    @field_validator("availability_zones")
    @classmethod
    def _zones(cls, value: int, info: ValidationInfo) -> int:
        if environment_of(info) == "production" and value != 3:
            raise ValueError("production spans 3 zones, so losing one keeps two thirds of capacity: set it to 3")
        return value

    @field_validator("nat_gateways")
    @classmethod
    def _nat(cls, value: str, info: ValidationInfo) -> str:
        if environment_of(info) == "production" and value != "per-az":
            raise ValueError(
                "production needs one NAT gateway per zone, so losing a zone does not cut every node's egress: "
                "set eks.natGateways to per-az"
            )
        return value

    @field_validator("public_access_cidrs")
    @classmethod
    def _public(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                net = ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(f"{cidr!r} is not a CIDR ({exc})") from None
            if net.prefixlen == 0:
                raise ValueError(
                    f"{cidr} opens the Kubernetes API to the whole internet: list the admin and CI egress "
                    "networks instead, or leave the list empty to keep the endpoint private"
                )
        return value

    @field_validator("admin_role_arns")
    @classmethod
    def _admins(cls, value: list[str]) -> list[str]:
        bad = [arn for arn in value if not _ROLE_ARN.fullmatch(arn)]
        if bad:
            raise ValueError(f"{bad} must be IAM role ARNs of the form arn:aws:iam::<12-digit account>:role/<name>")
        keys = [role_key(arn) for arn in value]
        clashing = sorted({k for k in keys if keys.count(k) > 1})
        if clashing:
            raise ValueError(
                f"roles named {clashing} appear more than once (access entries are keyed by role name): "
                "list each role once, or rename one"
            )
        return value

    @field_validator("deploy_role_arn", "preview_role_arn")
    @classmethod
    def _ci_role(cls, value: str | None) -> str | None:
        if value is not None and not _ROLE_ARN.fullmatch(value):
            raise ValueError(
                f"{value!r} must be an IAM role ARN of the form arn:aws:iam::<12-digit account>:role/<name>"
            )
        return value

    @field_validator("api_ingress_cidrs")
    @classmethod
    def _ingress_cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                net = ipaddress.IPv4Network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(f"{cidr!r} is not an IPv4 CIDR ({exc})") from None
            if net.prefixlen == 0:
                raise ValueError(f"{cidr} admits every address: list the VPN or runner networks instead")
        if len(set(value)) != len(value):
            raise ValueError(f"list each network once, not {value}")
        return value

    @field_validator("api_ingress_security_group_ids")
    @classmethod
    def _ingress_groups(cls, value: list[str]) -> list[str]:
        bad = [g for g in value if not _SECURITY_GROUP.fullmatch(g)]
        if bad:
            raise ValueError(f"{bad} are not security group ids (sg- and 8 or 17 hex digits)")
        if len(set(value)) != len(value):
            raise ValueError(f"list each security group once, not {value}")
        return value

    @field_validator("max_total_cpu")
    @classmethod
    def _total_cap(cls, value: int | None, info: ValidationInfo) -> int | None:
        environment = environment_of(info)
        cap = per_environment(EKS_MAX_TOTAL_CPU, environment)
        if value is not None and value > cap:
            raise ValueError(
                f"{value} vCPUs is over the {environment or 'production'} cap of {cap} (guardrails.py, shared "
                "with the stack-eks-cpu-budget guard): lower it, or raise the cap there once the budget owner agrees"
            )
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            allowed = ", ".join(map(str, sorted(LOG_RETENTION_DAYS)))
            raise ValueError(f"CloudWatch accepts only these retention periods: {allowed}")
        return value

    @field_validator("node_pools")
    @classmethod
    def _pools(cls, value: dict[str, EksNodePool], info: ValidationInfo) -> dict[str, EksNodePool]:
        bad = [name for name in value if not _DNS_LABEL.fullmatch(name)]
        if bad:
            raise ValueError(f"pool names must be lowercase DNS labels: {bad}")
        reserved = sorted(RESERVED_POOL_NAMES & set(value))
        if reserved:
            raise ValueError(f"{reserved} are Auto Mode's built-in pools, managed by EKS: rename the pool")
        if not any(all(t.effect == "PreferNoSchedule" for t in p.taints) for p in value.values()):
            raise ValueError("at least one pool must be untainted, or ordinary workloads have nowhere to run")
        total = sum(p.cpu_limit for p in value.values())
        cap = info.data.get("max_total_cpu") or per_environment(EKS_MAX_TOTAL_CPU, environment_of(info))
        if total > cap:
            raise ValueError(
                f"the pools' cpuLimit add up to {total} vCPUs, over eks.maxTotalCpu ({cap}): lower a pool's "
                "cpuLimit, or raise maxTotalCpu once the budget owner agrees"
            )
        return value

    @model_validator(mode="after")
    def _reachable_and_administered(self) -> EksConfig:
        """An enabled cluster must be reachable by the identities that run Pulumi, and admit them.

        Checked here, before anything is created: without a network path or an access entry, `pulumi up`
        creates the cluster, then fails on the NodePools ("cluster unreachable", 401), and every re-run
        fails the same way (issue 18, items 1, 3 and 5).
        """
        if not self.enabled:
            return self
        problems = []
        if not (self.public_access_cidrs or self.api_ingress_cidrs or self.api_ingress_security_group_ids):
            problems.append(
                "eks.enabled = true with no network path to the Kubernetes API: the endpoint is private and its "
                "security group admits only itself, so `pulumi up` would create the cluster and then fail on the "
                "NodePools. GitHub-hosted runners have no fixed address: run the workflows on self-hosted runners "
                "(docs/ci.md, PULUMI_RUNNER) and set eks.apiIngressCidrs (their VPN or peered network) or "
                "eks.apiIngressSecurityGroupIds, or set eks.publicAccessCidrs to their static egress addresses"
            )
        if self.deploy_role_arn is None:
            problems.append(
                "eks.deployRoleArn is unset: name the IAM role `pulumi up` runs as (CI's deploy role); it gets the "
                "cluster-admin access entry the NodePools are applied with"
            )
        if self.preview_role_arn is None:
            problems.append(
                "eks.previewRoleArn is unset: name the read-only role of pull-request previews and the drift check; "
                "it gets a view-only access entry, without which every preview of this stack fails"
            )
        ci = [arn for arn in (self.deploy_role_arn, self.preview_role_arn) if arn is not None]
        if len({role_key(a) for a in ci}) != len(ci):
            problems.append(
                "eks.deployRoleArn and eks.previewRoleArn name the same role: give previews a read-only one"
            )
        clash = sorted({role_key(a) for a in ci} & {role_key(a) for a in self.admin_role_arns})
        if clash:
            problems.append(
                f"roles {clash} are in eks.adminRoleArns and are also the deploy or preview role: list each role once "
                "(access entries are one per role; a second fails with ResourceInUseException)"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def deletion_protected(self, production: bool) -> bool:
        """``deletionProtection`` as set, else on in production only."""
        return production if self.deletion_protection is None else self.deletion_protection


def aws_tenant_problems(eks: EksConfig, aws_tenants: list[str]) -> list[str]:
    """``target: aws`` tenants need the EKS cluster, and ``eks.tenantData`` names only such tenants."""
    problems = []
    if aws_tenants and not eks.enabled:
        problems.append(
            f"tenants {aws_tenants} target aws, but eks.enabled is false: enable the EKS cluster, or list them "
            "in a stack that has one"
        )
    stray = sorted(set(eks.tenant_data) - set(aws_tenants))
    if stray:
        problems.append(f"eks.tenantData lists {stray}, which are not `target: aws` tenants of this stack")
    return problems


def catalog_queues(services: Mapping[str, Service]) -> dict[str, list[str]]:
    """Each queue a catalog's ``autoscaling.queue`` names -> the services that consume it (on AWS: one SQS
    queue each, components/aws_tenant.py)."""
    queues: dict[str, list[str]] = {}
    for name, service in sorted(services.items()):
        if service.autoscaling is not None and service.autoscaling.queue is not None:
            queues.setdefault(service.autoscaling.queue.name, []).append(name)
    return queues


def queue_sender_problems(
    tenant: str, data: AwsTenantData, queues: Mapping[str, list[str]], services: list[str]
) -> list[str]:
    """``eks.tenantData.<tenant>.queueSenders`` against the catalog: ``queues`` maps each queue the catalog's
    ``autoscaling.queue`` names to its consumers, ``services`` are the catalog's services. All problems at once."""
    problems = []
    where = f"eks.tenantData.{tenant}.queueSenders"
    for queue, senders in sorted(data.queue_senders.items()):
        if queue not in queues:
            problems.append(
                f"{where}.{queue}: no service of the catalog scales on a queue named {queue!r} "
                f"(queues: {sorted(queues)}); name one of those, or add autoscaling.queue to the consuming service"
            )
        unknown = sorted(set(senders) - set(services))
        if unknown:
            problems.append(f"{where}.{queue}: {unknown} are not services of the catalog ({sorted(services)})")
        if len(set(senders)) != len(senders):
            problems.append(f"{where}.{queue}: list each sender once, not {senders}")
    return problems


def aws_pool_problems(eks: EksConfig, pins: Mapping[str, tuple[str | None, int]]) -> list[str]:
    """Services of ``target: aws`` tenants against ``eks.nodePools``: ``pins`` maps ``<tenant>.services.<name>`` to
    its (nodePool, gpus). A pin names an EKS pool; GPUs come only from a GPU pool (capped in GPUs, tainted) and
    a GPU pool takes only GPU work (a CPU pod there would hold a GPU node up for nothing)."""
    problems = []
    for where, (pool_name, gpus) in sorted(pins.items()):
        pool = eks.node_pools.get(pool_name) if pool_name is not None else None
        if pool_name is not None and pool is None:
            problems.append(f"{where}: nodePool {pool_name!r} is not one of eks.nodePools ({sorted(eks.node_pools)})")
            continue
        gpu_limit = pool.gpu_limit if pool is not None else None
        if gpus and gpu_limit is None:
            problems.append(
                f"{where}: gpus {gpus} needs nodePool set to a GPU pool of eks.nodePools (one with gpuLimit), "
                f"not {pool_name!r}"
            )
        elif gpu_limit is not None and gpus > gpu_limit:
            problems.append(f"{where}: gpus {gpus} per pod exceeds nodePool {pool_name!r}'s gpuLimit {gpu_limit}")
        if gpu_limit is not None and not gpus:
            problems.append(f"{where}: nodePool {pool_name!r} is a GPU pool: request gpus, or pin to a CPU pool")
    return problems
