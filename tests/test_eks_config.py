"""``platform:eks``: every validator fires on bad input, names its exact key, and says how to fix it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from guardrails import EKS_MAX_TOTAL_CPU
from stack_config import ConfigError, StackConfig, load
from stack_config.base import Problem, problems_from_validation_error
from stack_config.eks import EksConfig, aws_tenant_problems, role_key
from tests.harness import TEST_SECRETS, deep_merge, run, stack_file_config

ADMIN = "arn:aws:iam::123456789012:role/platform-admins"
DEPLOY = "arn:aws:iam::123456789012:role/platform-deploy"
PREVIEW = "arn:aws:iam::123456789012:role/platform-preview"
CI = {"deployRoleArn": DEPLOY, "previewRoleArn": PREVIEW}
"""The two CI roles an enabled cluster needs (issue 18, items 3 and 5)."""
ENABLED = {"enabled": True, **CI, "apiIngressCidrs": ["10.200.0.0/24"]}
"""Enabled with everything the shipped workflows need: the CI roles and a network path."""


def validate(stack: str, eks: dict[str, Any]) -> StackConfig:
    raw = {k.removeprefix("platform:"): v for k, v in stack_file_config(stack).items()}
    raw = deep_merge(raw, {"eks": eks})
    return StackConfig.model_validate(raw, context={"environment": raw["environment"]})


def problems(stack: str, eks: dict[str, Any]) -> list[Problem]:
    with pytest.raises(ValidationError) as info:
        validate(stack, eks)
    return problems_from_validation_error(info.value, stack)


def pool(**fields: Any) -> dict[str, Any]:
    return {"cpuLimit": 16, **fields}


def pools(**fields: Any) -> dict[str, Any]:
    """``nodePools`` holding one pool ``p`` with ``fields`` (replaces the default pools)."""
    return {"nodePools": {"p": pool(**fields)}}


# (stack, eks overrides, the key that must be named, a phrase the message must contain)
BAD = [
    ("staging", {"awsRegion": "us-east-9"}, "platform:eks.awsRegion", "not an AWS region"),
    ("staging", {"kubernetesVersion": "1.34.2"}, "platform:eks.kubernetesVersion", "minor such as '1.35'"),
    ("staging", {"kubernetesVersion": "v1.34"}, "platform:eks.kubernetesVersion", "minor such as '1.35'"),
    ("staging", {"kubernetesVersion": "1.33"}, "platform:eks.kubernetesVersion", "out of EKS standard support"),
    ("staging", {"vpcCidr": "8.8.0.0/16"}, "platform:eks.vpcCidr", "RFC 1918"),
    ("staging", {"vpcCidr": "10.100.0.1/16"}, "platform:eks.vpcCidr", "CIDR"),
    ("staging", {"vpcCidr": "10.100.0.0/22"}, "platform:eks.vpcCidr", "/16 to /20"),
    ("staging", {"vpcCidr": "10.96.0.0/12"}, "platform:eks.vpcCidr", "/16 to /20"),
    ("staging", {"vpcCidr": "10.110.0.0/16"}, "platform:eks", "overlaps network.vpcCidr"),
    ("staging", {"availabilityZones": 1}, "platform:eks.availabilityZones", "greater than or equal to 2"),
    ("staging", {"availabilityZones": 4}, "platform:eks.availabilityZones", "less than or equal to 3"),
    ("production", {"availabilityZones": 2}, "platform:eks.availabilityZones", "set it to 3"),
    ("production", {"natGateways": "single"}, "platform:eks.natGateways", "set eks.natGateways to per-az"),
    ("staging", {"natGateways": "none"}, "platform:eks.natGateways", "'single' or 'per-az'"),
    ("staging", {"publicAccessCidrs": ["0.0.0.0/0"]}, "platform:eks.publicAccessCidrs", "whole internet"),
    ("staging", {"publicAccessCidrs": ["::/0"]}, "platform:eks.publicAccessCidrs", "leave the list empty"),
    ("staging", {"publicAccessCidrs": ["203.0.113.7/24"]}, "platform:eks.publicAccessCidrs", "not a CIDR"),
    ("staging", {"adminRoleArns": ["arn:aws:iam::123:role/x"]}, "platform:eks.adminRoleArns", "12-digit account"),
    (
        "staging",
        {"adminRoleArns": ["arn:aws:iam::123456789012:user/alice"]},
        "platform:eks.adminRoleArns",
        "must be IAM role ARNs",
    ),
    (
        "staging",
        {"adminRoleArns": [ADMIN, "arn:aws:iam::210987654321:role/team/Platform-Admins"]},
        "platform:eks.adminRoleArns",
        "more than once",
    ),
    ("staging", {"logRetentionDays": 45}, "platform:eks.logRetentionDays", "only these retention periods"),
    ("staging", {"logRetentionDays": 0}, "platform:eks.logRetentionDays", "only these retention periods"),
    ("staging", {"maxTotalCpu": 0}, "platform:eks.maxTotalCpu", "greater than or equal to 1"),
    ("staging", {"maxTotalCpu": 64}, "platform:eks.nodePools", "add up to 96 vCPUs, over eks.maxTotalCpu (64)"),
    ("staging", {"nodePools": {"General_Pool": pool()}}, "platform:eks.nodePools", "DNS labels"),
    ("staging", {"nodePools": {"system": pool()}}, "platform:eks.nodePools", "built-in pools"),
    ("staging", {"nodePools": {}}, "platform:eks.nodePools", "untainted"),
    (
        "staging",
        pools(taints=[{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]),
        "platform:eks.nodePools",
        "untainted",
    ),
    (
        "staging",
        pools(taints=[{"key": "dedicated", "value": "x", "effect": "NO_SCHEDULE"}]),
        "platform:eks.nodePools.p.taints.0.effect",
        "'NoSchedule', 'PreferNoSchedule' or 'NoExecute'",
    ),
    ("staging", {"nodePools": {"p": {}}}, "platform:eks.nodePools.p.cpuLimit", "required"),
    ("staging", pools(cpuLimit=0), "platform:eks.nodePools.p.cpuLimit", "greater than or equal to 1"),
    ("production", pools(capacityTypes=["spot"]), "platform:eks.nodePools.p.capacityTypes", "add on-demand"),
    ("staging", pools(capacityTypes=[]), "platform:eks.nodePools.p.capacityTypes", "at least 1 item"),
    ("staging", pools(capacityTypes=["spot", "spot"]), "platform:eks.nodePools.p.capacityTypes", "once"),
    ("staging", pools(capacityTypes=["reserved"]), "platform:eks.nodePools.p.capacityTypes.0", "'on-demand'"),
    ("staging", pools(instanceCategories=["p"]), "platform:eks.nodePools.p.instanceCategories.0", "'c', 'm'"),
    ("staging", pools(instanceCategories=["g"]), "platform:eks.nodePools.p", "needs gpuLimit"),
    ("staging", pools(gpuLimit=2), "platform:eks.nodePools.p", "without GPU instances"),
    ("staging", pools(instanceCategories=["g", "c"], gpuLimit=2), "platform:eks.nodePools.p", "mixes GPU and CPU"),
    ("staging", pools(instanceCategories=["g"], gpuLimit=2), "platform:eks.nodePools.p", "NoSchedule taint"),
    ("staging", pools(gpuLimit=0), "platform:eks.nodePools.p.gpuLimit", "greater than or equal to 1"),
    (
        "production",
        {"tenantData": {"t": {"backupRetentionDays": 3}}},
        "platform:eks.tenantData.t.backupRetentionDays",
        "at least 7 days",
    ),
    (
        "staging",
        {"tenantData": {"t": {"backupRetentionDays": 36}}},
        "platform:eks.tenantData.t.backupRetentionDays",
        "35",
    ),
    (
        "staging",
        {"tenantData": {"t": {"postgresInstanceClass": "t4g.medium"}}},
        "platform:eks.tenantData.t.postgresInstanceClass",
        "RDS instance class",
    ),
    (
        "staging",
        {"tenantData": {"t": {"cacheNodeType": "db.t4g.small"}}},
        "platform:eks.tenantData.t.cacheNodeType",
        "ElastiCache node type",
    ),
    (
        "staging",
        {"tenantData": {"t": {"bucketAccess": {"api": {"media": {"prefixes": ["/audio"]}}}}}},
        "platform:eks.tenantData.t.bucketAccess.api.media.prefixes",
        "plain key prefixes",
    ),
    (
        "staging",
        {"tenantData": {"t": {"bucketAccess": {"api": {"media": {"prefixes": []}}}}}},
        "platform:eks.tenantData.t.bucketAccess.api.media.prefixes",
        "at least 1 item",
    ),
    ("staging", pools(instanceCategories=["m", "m"]), "platform:eks.nodePools.p.instanceCategories", "once"),
    ("staging", pools(labels={"bad key!": "x"}), "platform:eks.nodePools.p.labels", "invalid Kubernetes label"),
    (
        "staging",
        pools(labels={"karpenter.sh/nodepool": "other"}),
        "platform:eks.nodePools.p.labels",
        "set by Karpenter/EKS",
    ),
    ("staging", pools(consolidateAfter="5 minutes"), "platform:eks.nodePools.p.consolidateAfter", "Go duration"),
    ("staging", {"clusterName": "x"}, "platform:eks.clusterName", "unknown key"),
]


@pytest.mark.parametrize(("stack", "eks", "key", "phrase"), BAD, ids=[f"{b[2]}={b[1]}" for b in BAD])
def test_bad_eks_config_is_refused_naming_the_key(stack: str, eks: dict, key: str, phrase: str) -> None:
    found = {p.key: p.message for p in problems(stack, eks)}
    assert key in found, found
    assert phrase in found[key]


def test_every_problem_is_reported_at_once_with_value_and_fix() -> None:
    base = {k.removeprefix("platform:"): v for k, v in stack_file_config("production").items()}
    bad = {
        "enabled": True,
        "natGateways": "single",
        "availabilityZones": 2,
        "kubernetesVersion": "1.29",
        "publicAccessCidrs": ["0.0.0.0/0"],
        "nodePools": {"batch": pool(capacityTypes=["spot"])},
    }
    with pytest.raises(ConfigError) as info:
        run(load, stack="production", config=deep_merge(base, {"eks": bad}), secrets=TEST_SECRETS)
    error = info.value
    assert {p.key for p in error.problems} == {
        "platform:eks.natGateways",
        "platform:eks.availabilityZones",
        "platform:eks.kubernetesVersion",
        "platform:eks.publicAccessCidrs",
        "platform:eks.nodePools.batch.capacityTypes",
    }
    rendered = error.render()
    assert rendered.startswith("Stack 'production' has 5 configuration problems; nothing was created.")
    assert 'platform:eks.natGateways = "single"' in rendered
    assert "set eks.natGateways to per-az" in rendered
    assert 'platform:eks.kubernetesVersion = "1.29"' in rendered
    assert "set eks.kubernetesVersion to 1.34 or newer" in rendered


def test_eks_is_off_by_default_and_the_committed_stacks_leave_it_off() -> None:
    assert EksConfig().enabled is False
    for stack in ("staging", "production"):
        assert "platform:eks" not in stack_file_config(stack)
        assert validate(stack, {}).eks.enabled is False


def test_defaults_are_production_grade() -> None:
    eks = validate("production", {**ENABLED, "adminRoleArns": [ADMIN]}).eks
    assert (eks.availability_zones, eks.nat_gateways) == (3, "per-az")
    assert eks.public_access_cidrs == []
    assert (eks.kubernetes_version, eks.vpc_cidr, eks.log_retention_days) == ("1.35", "10.100.0.0/16", 90)
    assert all("on-demand" in p.capacity_types for p in eks.node_pools.values())
    assert sum(p.cpu_limit for p in eks.node_pools.values()) <= EKS_MAX_TOTAL_CPU["production"]
    assert eks.max_total_cpu is None  # the environment's cap (guardrails.py)


def test_default_pools_mirror_the_doks_layout() -> None:
    pools = EksConfig().node_pools
    assert set(pools) == {"general", "scrapers"}
    assert pools["general"].taints == []
    assert [(t.key, t.value, t.effect) for t in pools["scrapers"].taints] == [("workload", "scrapers", "NoSchedule")]
    assert pools["scrapers"].capacity_types == ["spot", "on-demand"]


def test_staging_may_be_smaller_and_cheaper() -> None:
    eks = validate(
        "staging",
        {
            "enabled": True,
            **CI,
            "availabilityZones": 2,
            "natGateways": "single",
            "publicAccessCidrs": ["203.0.113.0/24"],
            "nodePools": {"general": pool(capacityTypes=["spot"], instanceCategories=["t"])},
        },
    ).eks
    assert (eks.availability_zones, eks.nat_gateways) == (2, "single")
    assert eks.node_pools["general"].capacity_types == ["spot"]


@pytest.mark.parametrize("duration", ["30s", "5m", "1h30m", "Never"])
def test_karpenter_durations_are_accepted(duration: str) -> None:
    assert validate("staging", pools(consolidateAfter=duration)).eks.node_pools["p"].consolidate_after == duration


def test_a_prefer_no_schedule_pool_counts_as_untainted() -> None:
    soft = [{"key": "dedicated", "value": "x", "effect": "PreferNoSchedule"}]
    assert validate("staging", pools(taints=soft)).eks.node_pools["p"].taints[0].effect == "PreferNoSchedule"


@pytest.mark.parametrize(
    ("arn", "key"),
    [
        (ADMIN, "platform-admins"),
        (
            "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0a1b",
            "awsreservedsso-admin-0a1b",
        ),
        ("arn:aws:iam::123456789012:role/team/Deployer.CI", "deployer-ci"),
    ],
)
def test_admin_roles_are_keyed_by_their_name(arn: str, key: str) -> None:
    assert role_key(arn) == key
    assert validate("staging", {"adminRoleArns": [arn]}).eks.admin_role_arns == [arn]


# --- Issue 18: a cluster CI can reach and administer, and a protection switch of its own

PATH = {"apiIngressCidrs": ["10.200.0.0/24"]}
CI_BAD = [
    ({"enabled": True, **CI}, "platform:eks", "no network path to the Kubernetes API"),
    ({"enabled": True, **PATH, "previewRoleArn": PREVIEW}, "platform:eks", "eks.deployRoleArn is unset"),
    ({"enabled": True, **PATH, "deployRoleArn": DEPLOY}, "platform:eks", "eks.previewRoleArn is unset"),
    ({**ENABLED, "previewRoleArn": DEPLOY}, "platform:eks", "name the same role"),
    ({**ENABLED, "adminRoleArns": [DEPLOY]}, "platform:eks", "also the deploy or preview role"),
    ({**ENABLED, "deployRoleArn": "arn:aws:iam::1:role/x"}, "platform:eks.deployRoleArn", "12-digit account"),
    ({**ENABLED, "previewRoleArn": "platform-preview"}, "platform:eks.previewRoleArn", "IAM role ARN"),
    ({**ENABLED, "apiIngressCidrs": ["0.0.0.0/0"]}, "platform:eks.apiIngressCidrs", "admits every address"),
    ({**ENABLED, "apiIngressCidrs": ["10.200.0.1/24"]}, "platform:eks.apiIngressCidrs", "not an IPv4 CIDR"),
    ({**ENABLED, "apiIngressCidrs": ["10.1.0.0/24", "10.1.0.0/24"]}, "platform:eks.apiIngressCidrs", "once"),
    ({**ENABLED, "apiIngressSecurityGroupIds": ["sg-123"]}, "platform:eks.apiIngressSecurityGroupIds", "sg-"),
]


@pytest.mark.parametrize(("eks", "key", "phrase"), CI_BAD, ids=[c[2] for c in CI_BAD])
def test_an_unreachable_or_unadministered_cluster_is_refused(eks: dict[str, Any], key: str, phrase: str) -> None:
    found = {p.key: p.message for p in problems("staging", eks)}
    assert key in found, found
    assert phrase in found[key]


@pytest.mark.parametrize(
    "path",
    [
        {"apiIngressCidrs": ["10.200.0.0/24"]},
        {"apiIngressSecurityGroupIds": ["sg-0123456789abcdef0"]},
        {"publicAccessCidrs": ["203.0.113.0/24"]},
    ],
)
def test_any_declared_path_is_enough(path: dict[str, Any]) -> None:
    assert validate("staging", {"enabled": True, **CI, **path}).eks.enabled


def test_a_disabled_cluster_needs_no_path_or_roles() -> None:
    assert validate("staging", {"enabled": False}).eks.deploy_role_arn is None


def test_deletion_protection_defaults_to_production_and_can_be_switched_off() -> None:
    assert validate("production", ENABLED).eks.deletion_protected(production=True) is True
    assert validate("staging", ENABLED).eks.deletion_protected(production=False) is False
    off = validate("production", {**ENABLED, "deletionProtection": False}).eks
    assert off.deletion_protected(production=True) is False


def test_aws_tenants_need_the_cluster_and_tenant_data_names_only_them() -> None:
    disabled = EksConfig.model_validate({"tenantData": {"ghost": {}}}, context={"environment": "staging"})
    assert aws_tenant_problems(disabled, []) == [
        "eks.tenantData lists ['ghost'], which are not `target: aws` tenants of this stack"
    ]
    (problem,) = aws_tenant_problems(EksConfig.model_validate({}, context={"environment": "staging"}), ["psm"])
    assert "eks.enabled is false" in problem
    enabled = EksConfig.model_validate({**ENABLED, "tenantData": {"psm": {}}}, context={"environment": "staging"})
    assert aws_tenant_problems(enabled, ["psm"]) == []


def test_gpu_pools_may_be_spot_first_in_production() -> None:
    gpu = pool(
        capacityTypes=["spot", "on-demand"],
        instanceCategories=["g"],
        gpuLimit=4,
        taints=[{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
    )
    config = validate("production", {"nodePools": {"general": pool(), "gpu": gpu}})
    assert config.eks.node_pools["gpu"].gpu_limit == 4
