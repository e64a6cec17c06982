"""Issue 18 item 9: one set of limits for config and pack; every config the models accept passes the pack.

``guardrails.py`` defines the limits once; the config models, the guards' defaults and each stack's policy
config must agree with it, and the program built from a config *at* every limit must pass the backup and
EKS guards with the stack's own policy config, while one step past a limit is refused by both.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import guardrails
from policies.guards import aws_backups, aws_eks
from stack_config.backup import BackupConfig
from stack_config.eks import EksConfig, EksNodePool
from tests.harness import ROOT, StackRun, run_main
from tests.policy_adapter import PolicyEvaluator, describe, mandatory, mutate, violations

STACKS = ("staging", "production")
GUARD_NAMES = {g.name for g in (*aws_backups.GUARDS, *aws_eks.GUARDS)}
"""The guards whose limits guardrails.py defines (and the rest of their groups)."""


def policy_config(stack: str) -> dict[str, Any]:
    return dict(json.loads((ROOT / "policies" / "config" / f"{stack}.json").read_text()))


def at_the_limits(stack: str) -> dict[str, Any]:
    """Config overrides that sit exactly on every shared limit of ``stack``'s environment."""
    pool_cap, total_cap = guardrails.EKS_MAX_POOL_CPU[stack], guardrails.EKS_MAX_TOTAL_CPU[stack]
    return {
        "backup": {"noncurrentDays": guardrails.BACKUP_MAX_NONCURRENT_DAYS},
        "eks": {
            "enabled": True,
            "kubernetesVersion": f"1.{guardrails.EKS_MIN_KUBERNETES_MINOR}",
            "deployRoleArn": "arn:aws:iam::123456789012:role/platform-deploy",
            "previewRoleArn": "arn:aws:iam::123456789012:role/platform-preview",
            "apiIngressCidrs": ["10.200.0.0/24"],
            "maxTotalCpu": total_cap,
            "nodePools": {
                "general": {"cpuLimit": pool_cap},
                "batch": {"cpuLimit": total_cap - pool_cap, "labels": {"workload": "batch"}},
            },
        },
    }


@pytest.fixture(scope="module", params=STACKS)
def limit_run(request: pytest.FixtureRequest) -> StackRun:
    return run_main(request.param, overrides=at_the_limits(request.param))


def test_each_stacks_policy_config_repeats_the_shared_limits() -> None:
    for stack in STACKS:
        config = policy_config(stack)
        assert config["eks-version-floor"]["minVersion"] == f"1.{guardrails.EKS_MIN_KUBERNETES_MINOR}"
        assert config["eks-node-pool-cpu-limit"]["maxCpu"] == guardrails.EKS_MAX_POOL_CPU[stack]
        assert config["stack-eks-cpu-budget"]["maxTotalCpu"] == guardrails.EKS_MAX_TOTAL_CPU[stack]
        # Not set per stack: the guard's default is the shared limit.
        assert "maxNoncurrentDays" not in config.get("aws-s3-lifecycle-expiry", {})


def test_the_guards_defaults_are_the_shared_limits() -> None:
    schema = {g.name: g.config for g in (*aws_backups.GUARDS, *aws_eks.GUARDS)}
    assert schema["aws-s3-lifecycle-expiry"]["maxNoncurrentDays"]["default"] == guardrails.BACKUP_MAX_NONCURRENT_DAYS
    assert schema["eks-version-floor"]["minVersion"]["default"] == f"1.{guardrails.EKS_MIN_KUBERNETES_MINOR}"
    assert schema["eks-node-pool-cpu-limit"]["maxCpu"]["default"] == guardrails.EKS_MAX_POOL_CPU["production"]
    assert schema["stack-eks-cpu-budget"]["maxTotalCpu"]["default"] == guardrails.EKS_MAX_TOTAL_CPU["production"]


def test_a_config_at_every_limit_passes_the_backup_and_eks_guards(limit_run: StackRun, record_property: Any) -> None:
    found = [
        v for v in PolicyEvaluator.for_stack(limit_run.stack).analyze(limit_run.resources) if v.policy in GUARD_NAMES
    ]
    record_property(
        "report",
        f"[guardrails] {limit_run.stack} at the shared limits: {len(mandatory(found))} mandatory backup/EKS violations",
    )
    assert mandatory(found) == [], "\n" + describe(mandatory(found))


def test_the_limit_run_really_sits_on_the_limits(limit_run: StackRun) -> None:
    pools = {r.name.rsplit("-", 1)[-1]: r.inputs["spec"]["limits"]["cpu"] for r in limit_run.of_type(aws_eks.NODE_POOL)}
    assert max(pools.values()) == guardrails.EKS_MAX_POOL_CPU[limit_run.stack]
    assert sum(pools.values()) == guardrails.EKS_MAX_TOTAL_CPU[limit_run.stack]
    lifecycles = limit_run.of_type(aws_backups.LIFECYCLE)
    assert lifecycles
    for lifecycle in lifecycles:
        days = lifecycle.inputs["rules"][0]["noncurrentVersionExpiration"]["noncurrentDays"]
        assert days == guardrails.BACKUP_MAX_NONCURRENT_DAYS


def refused(model: type[BaseModel], data: dict[str, Any], environment: str) -> bool:
    try:
        model.model_validate(data, context={"environment": environment})
    except ValidationError:
        return True
    return False


def test_one_step_past_a_limit_is_refused_by_config_and_by_the_pack(limit_run: StackRun) -> None:
    stack = limit_run.stack
    past_days = guardrails.BACKUP_MAX_NONCURRENT_DAYS + 1
    past_pool = guardrails.EKS_MAX_POOL_CPU[stack] + 1
    past_total = guardrails.EKS_MAX_TOTAL_CPU[stack] + 1
    assert refused(BackupConfig, {"noncurrentDays": past_days}, stack)
    assert refused(EksNodePool, {"cpuLimit": past_pool}, stack)
    assert refused(EksConfig, {"maxTotalCpu": past_total}, stack)

    config = policy_config(stack)
    lifecycle = limit_run.of_type(aws_backups.LIFECYCLE)[0]
    rules = json.loads(json.dumps(lifecycle.inputs["rules"]))
    rules[0]["noncurrentVersionExpiration"]["noncurrentDays"] = past_days
    assert violations("aws-s3-lifecycle-expiry", mutate(lifecycle, inputs={**lifecycle.inputs, "rules": rules}))
    pool = limit_run.of_type(aws_eks.NODE_POOL)[0]
    spec = {**pool.inputs["spec"], "limits": {"cpu": past_pool}}
    bigger = mutate(pool, inputs={**pool.inputs, "spec": spec})
    assert violations("eks-node-pool-cpu-limit", bigger, config["eks-node-pool-cpu-limit"])
