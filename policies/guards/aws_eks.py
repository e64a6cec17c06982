"""EKS guards for the enterprise-scale target: a private, encrypted, audited control plane and capped compute.

Several EKS defaults are the unsafe choice when an input is left unset (public endpoint open to
0.0.0.0/0, extended support billed silently, aws-auth ConfigMap authentication), so these guards read
a missing value as that default, and only an unknown value (a preview) as "cannot judge yet".
"""

from __future__ import annotations

import ipaddress
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pulumi_policy import Severity

from ._base import Context, StackResource, as_list, dig, is_unknown, number, resource_guard, stack_guard, truthy

PROJECT_DIR = Path(__file__).resolve().parents[2]
"""The Pulumi project the pack sits in: ``guardrails.py`` (limits shared with the config models) lives there.
The pack runs with only ``policies/`` on ``sys.path``; appending never shadows a module of its virtualenv."""
if str(PROJECT_DIR) not in sys.path:
    sys.path.append(str(PROJECT_DIR))

from guardrails import EKS_MAX_POOL_CPU, EKS_MAX_TOTAL_CPU, EKS_MIN_KUBERNETES_MINOR  # noqa: E402

GROUP = "aws-eks"

CLUSTER = "aws:eks/cluster:Cluster"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"

_MINOR = re.compile(r"^1\.(\d+)$")


def _world(cidr: Any) -> bool:
    try:
        return ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0
    except ValueError:
        return False


@resource_guard(
    "eks-endpoint-not-public",
    types=(CLUSTER,),
    description="The EKS API endpoint is private, or public only to listed networks (never the whole internet).",
    severity=Severity.CRITICAL,
    remediation="Leave eks.publicAccessCidrs empty (private endpoint only) or list the admin and CI egress "
    "networks; never 0.0.0.0/0 or ::/0.",
    group=GROUP,
)
def eks_endpoint_not_public(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    public = dig(props, "vpcConfig", "endpointPublicAccess")
    if is_unknown(public) or truthy(public) is False:
        return
    # Unset means public (the EKS default), and public without CIDRs means 0.0.0.0/0.
    cidrs = dig(props, "vpcConfig", "publicAccessCidrs")
    if is_unknown(cidrs) or any(is_unknown(c) for c in as_list(cidrs)):
        return
    if not as_list(cidrs):
        yield "the public endpoint is on without publicAccessCidrs, so EKS admits 0.0.0.0/0."
    elif any(_world(c) for c in as_list(cidrs)):
        yield f"publicAccessCidrs {cidrs} admit the whole internet."


@resource_guard(
    "eks-secrets-encrypted",
    types=(CLUSTER,),
    description="Kubernetes Secrets are envelope-encrypted with a KMS key.",
    severity=Severity.HIGH,
    remediation='Set encryption_config with resources ["secrets"] and provider.key_arn of a customer-managed '
    "KMS key (EksCluster does it). It can be added later, never removed.",
    group=GROUP,
)
def eks_secrets_encrypted(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    config = props.get("encryptionConfig")
    if is_unknown(config):
        return
    resources = dig(config, "resources")
    if is_unknown(resources) or any(is_unknown(r) for r in as_list(resources)):
        return
    if "secrets" not in as_list(resources):
        yield "encryptionConfig does not cover secrets: they sit in etcd under AWS's key only."
    elif dig(config, "provider", "keyArn") is None:
        yield "encryptionConfig names no KMS key (provider.keyArn)."


@resource_guard(
    "eks-control-plane-logs",
    types=(CLUSTER,),
    description="The control plane sends its API, audit and authenticator logs to CloudWatch.",
    severity=Severity.MEDIUM,
    remediation="Add the missing types to enabled_cluster_log_types (EksCluster enables all five).",
    group=GROUP,
    config={
        "requiredLogTypes": {
            "type": "array",
            "items": {"type": "string", "enum": ["api", "audit", "authenticator", "controllerManager", "scheduler"]},
            "description": "Log types every cluster must enable.",
            "default": ["api", "audit", "authenticator"],
        }
    },
)
def eks_control_plane_logs(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    enabled = props.get("enabledClusterLogTypes")
    if is_unknown(enabled) or any(is_unknown(t) for t in as_list(enabled)):
        return
    missing = [t for t in cfg["requiredLogTypes"] if t not in as_list(enabled)]
    if missing:
        yield f"control-plane log types {missing} are off: who did what to the cluster goes unrecorded."


@resource_guard(
    "eks-api-authentication",
    types=(CLUSTER,),
    description="Cluster access is managed by EKS access entries only (authentication mode API, no aws-auth).",
    severity=Severity.HIGH,
    remediation='Set access_config.authentication_mode = "API" and grant access with AccessEntry + '
    "AccessPolicyAssociation (eks.adminRoleArns).",
    group=GROUP,
)
def eks_api_authentication(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    mode = dig(props, "accessConfig", "authenticationMode")
    if not is_unknown(mode) and mode != "API":
        yield (
            f"authentication mode is {mode or 'unset (CONFIG_MAP)'}: access lives in the aws-auth ConfigMap, "
            "outside IAM and audit, and one bad edit locks everyone out."
        )


@resource_guard(
    "eks-version-floor",
    types=(CLUSTER,),
    description="The cluster pins a Kubernetes minor that is still in EKS standard support.",
    severity=Severity.HIGH,
    remediation="Set eks.kubernetesVersion to the floor or newer, one minor at a time.",
    group=GROUP,
    config={
        "minVersion": {
            "type": "string",
            "pattern": r"^1\.\d+$",
            "description": "Oldest Kubernetes minor allowed, e.g. 1.34.",
            "default": f"1.{EKS_MIN_KUBERNETES_MINOR}",
        }
    },
)
def eks_version_floor(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    version = props.get("version")
    if is_unknown(version):
        return
    floor = int(cfg["minVersion"].split(".")[1])
    match = _MINOR.match(str(version or ""))
    if match is None:
        yield f"version {version!r} is not a pinned minor: EKS takes the newest at creation, then it ages unnoticed."
    elif int(match.group(1)) < floor:
        yield f"Kubernetes {version} is older than {cfg['minVersion']} (out of standard support)."


@resource_guard(
    "eks-standard-support",
    types=(CLUSTER,),
    description="The cluster's upgrade policy is STANDARD, so extended support (6x the control-plane price) "
    "is never billed silently.",
    severity=Severity.MEDIUM,
    remediation='Set upgrade_policy.support_type = "STANDARD" and keep eks.kubernetesVersion current.',
    group=GROUP,
)
def eks_standard_support(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    support = dig(props, "upgradePolicy", "supportType")
    if not is_unknown(support) and support != "STANDARD":
        yield f"support type is {support or 'unset (EXTENDED)'}."


@resource_guard(
    "aws-log-group-retention",
    types=(LOG_GROUP,),
    description="CloudWatch log groups expire their events (no never-expiring, ever-growing bill).",
    severity=Severity.MEDIUM,
    remediation="Set retention_in_days to one of CloudWatch's periods (eks.logRetentionDays for the control plane).",
    group=GROUP,
)
def log_group_retention(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    retention = props.get("retentionInDays")
    if is_unknown(retention):
        return
    if not number(retention):
        yield "retentionInDays is unset or 0: events are kept forever."


def cpu_cores(quantity: Any) -> float | None:
    """A Kubernetes CPU quantity in cores ("64", 64, "500m"), None when unknown or unreadable."""
    if isinstance(quantity, str) and quantity.endswith("m") and not is_unknown(quantity):
        millis = number(quantity[:-1])
        return None if millis is None else millis / 1000
    return number(quantity)


@resource_guard(
    "eks-node-pool-cpu-limit",
    types=(NODE_POOL,),
    description="Every Karpenter NodePool caps the CPU its nodes may add up to.",
    severity=Severity.HIGH,
    remediation="Set eks.nodePools.<name>.cpuLimit (spec.limits.cpu) within the cap, or raise the cap in "
    "policies/config/<stack>.json after the budget owner agrees.",
    group=GROUP,
    config={
        "maxCpu": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "Largest spec.limits.cpu of one NodePool, in vCPUs.",
            # Defaults are production's caps (the loosest); each stack's policy config sets its own,
            # equal to the config models' (guardrails.py, tests/test_guardrails.py).
            "default": EKS_MAX_POOL_CPU["production"],
        }
    },
)
def node_pool_cpu_limit(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    limit = dig(props, "spec", "limits", "cpu")
    if is_unknown(limit):
        return
    cores = cpu_cores(limit)
    if cores is None:
        yield "spec.limits.cpu is not set: Karpenter may launch nodes without bound."
    elif cores > cfg["maxCpu"]:
        yield f"spec.limits.cpu is {cores:g} vCPUs, over the cap of {cfg['maxCpu']:g}."


def allows_on_demand(requirements: list[Any]) -> bool | None:
    """Whether the requirements admit on-demand capacity; None when a relevant value is unknown."""
    for requirement in requirements:
        key = dig(requirement, "key")
        if is_unknown(key):
            return None
        if key != "karpenter.sh/capacity-type":
            continue
        operator, values = dig(requirement, "operator"), dig(requirement, "values")
        if is_unknown(operator) or is_unknown(values) or any(is_unknown(v) for v in as_list(values)):
            return None
        if operator == "In" and "on-demand" not in as_list(values):
            return False
        if operator == "NotIn" and "on-demand" in as_list(values):
            return False
    # No capacity-type requirement: Karpenter launches on-demand.
    return True


@resource_guard(
    "eks-node-pool-on-demand",
    types=(NODE_POOL,),
    description="Production NodePools may use on-demand capacity (spot alone can be reclaimed all at once).",
    severity=Severity.HIGH,
    remediation="Add on-demand to eks.nodePools.<name>.capacityTypes (spot may stay alongside it).",
    group=GROUP,
    config={
        "productionOnly": {
            "type": "boolean",
            "description": "Apply only to production stacks.",
            "default": True,
        }
    },
)
def node_pool_on_demand(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    if cfg["productionOnly"] and not ctx.production:
        return
    requirements = dig(props, "spec", "template", "spec", "requirements")
    if is_unknown(requirements):
        return
    if allows_on_demand(as_list(requirements)) is False:
        yield "the pool's karpenter.sh/capacity-type requirement excludes on-demand."


@stack_guard(
    "stack-eks-cpu-budget",
    description="All Karpenter NodePools together stay within the stack's vCPU budget, and no EKS cluster runs "
    "the uncapped built-in general-purpose pool.",
    severity=Severity.HIGH,
    remediation="Lower the pools' cpuLimit, or raise maxTotalCpu in policies/config/<stack>.json after the budget "
    'owner agrees; keep compute_config.node_pools to ["system"].',
    group=GROUP,
    config={
        "maxTotalCpu": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "Largest sum of spec.limits.cpu over all NodePools, in vCPUs.",
            "default": EKS_MAX_TOTAL_CPU["production"],
        }
    },
)
def eks_cpu_budget(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    total = 0.0
    for r in resources:
        if r.type == NODE_POOL:
            # A pool without a known limit is eks-node-pool-cpu-limit's finding, not counted twice here.
            total += cpu_cores(dig(r.props, "spec", "limits", "cpu")) or 0
        elif r.type == CLUSTER:
            built_in = dig(r.props, "computeConfig", "nodePools")
            if not is_unknown(built_in) and "general-purpose" in as_list(built_in):
                yield (
                    f"cluster {r.name!r} enables the built-in general-purpose pool, which has no CPU limit.",
                    r.urn,
                )
    if total > cfg["maxTotalCpu"]:
        yield f"NodePools may reach {total:g} vCPUs together; the budget is {cfg['maxTotalCpu']:g}.", None


GUARDS = [
    eks_endpoint_not_public,
    eks_secrets_encrypted,
    eks_control_plane_logs,
    eks_api_authentication,
    eks_version_floor,
    eks_standard_support,
    log_group_retention,
    node_pool_cpu_limit,
    node_pool_on_demand,
    eks_cpu_budget,
]
