"""Issue 15: the GPU transcriber's Karpenter NodePool: spot first, tainted, capped in GPUs, gone when idle.

The rendered NodePools are judged by the vendored ``karpenter.sh/v1`` CRD (tests/vendor/crds/karpenter/,
vendored by scripts/vendor-crds.sh) through the generic validator (tests/crd_validation.py), not by reading.
Auto Mode's built-in NodeClass takes G instances on spot (the EKS user guide's GPU NodePool for Auto Mode
uses it), so no NodeClass of our own is needed. The CRD's CEL rules are not evaluated.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from components.eks_cluster import EksNodePoolSpec, node_pool_spec
from stack_config.eks import EksNodePool
from tests.conftest import GPU_POOL
from tests.crd_validation import validate
from tests.harness import ROOT, StackRun, deep_merge
from tests.policy_adapter import PolicyEvaluator, describe, mutate

CRD = ROOT / "tests" / "vendor" / "crds" / "karpenter" / "v1.15.2" / "karpenter.sh_nodepools.yaml"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
"""conftest.GPU_POOL's taint."""


def _object(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": name}, "spec": spec}


def _gpu_spec() -> dict[str, Any]:
    return node_pool_spec(
        EksNodePoolSpec(
            cpu_limit=32,
            capacity_types=("spot", "on-demand"),
            instance_categories=("g",),
            labels={"workload": "transcriber"},
            taints=(("nvidia.com/gpu", "true", "NoSchedule"),),
            consolidate_after="1m",
            gpu_limit=4,
        )
    )


@pytest.fixture(scope="module")
def with_gpu(production_aws: StackRun) -> StackRun:
    return production_aws


def test_the_vendored_crd_is_karpenters_v1_nodepool() -> None:
    crd = yaml.safe_load(CRD.read_text())
    assert (crd["spec"]["group"], crd["spec"]["names"]["kind"]) == ("karpenter.sh", "NodePool")
    assert "v1" in [v["name"] for v in crd["spec"]["versions"] if v.get("served")]


def test_gpu_pool_spec_is_valid_against_the_crd() -> None:
    assert validate(NODE_POOL, _object("gpu", _gpu_spec())) == []


def test_the_crd_judge_refuses_what_karpenter_refuses() -> None:
    spec = _gpu_spec()
    spec["disruption"]["consolidationPolicy"] = "WhenIdle"
    assert validate(NODE_POOL, _object("gpu", spec)) != []
    spec = _gpu_spec()
    spec["template"]["spec"]["taints"][0]["effect"] = "NO_SCHEDULE"
    assert validate(NODE_POOL, _object("gpu", spec)) != []
    spec = _gpu_spec()
    spec["limits"]["nvidia.com/gpu"] = "four"
    assert validate(NODE_POOL, _object("gpu", spec)) != []


def test_the_shared_gpu_pool_carries_this_taint() -> None:
    assert GPU_POOL["taints"] == [GPU_TAINT]


def test_gpu_pool_is_spot_first_nvidia_only_tainted_and_capped() -> None:
    spec = _gpu_spec()
    requirements = {r["key"]: r for r in spec["template"]["spec"]["requirements"]}
    # Both capacity types: Karpenter picks spot (cheapest) and falls back to on-demand when spot has none.
    assert requirements["karpenter.sh/capacity-type"]["values"] == ["spot", "on-demand"]
    assert requirements["eks.amazonaws.com/instance-category"]["values"] == ["g"]
    assert requirements["eks.amazonaws.com/instance-gpu-manufacturer"]["values"] == ["nvidia"]
    assert spec["template"]["spec"]["taints"] == [GPU_TAINT]
    assert spec["limits"] == {"cpu": 32, "nvidia.com/gpu": 4}
    # Karpenter has no minimum size: an idle pool's empty nodes are consolidated away, a minute after.
    assert spec["disruption"] == {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "1m"}
    assert spec["template"]["spec"]["nodeClassRef"] == {
        "group": "eks.amazonaws.com",
        "kind": "NodeClass",
        "name": "default",
    }


def test_cpu_pools_carry_no_gpu_limit() -> None:
    spec = node_pool_spec(EksNodePoolSpec(cpu_limit=8))
    assert spec["limits"] == {"cpu": 8}
    assert all("gpu" not in r["key"] for r in spec["template"]["spec"]["requirements"])


def test_a_gpu_pool_with_spot_and_on_demand_is_accepted_in_production() -> None:
    pool = EksNodePool.model_validate(GPU_POOL, context={"environment": "production"})
    assert pool.gpu_limit == 4


@pytest.mark.parametrize(
    ("fields", "phrase"),
    [
        ({"gpuLimit": None}, "needs gpuLimit"),
        ({"instanceCategories": ["g", "c"]}, "mixes GPU and CPU"),
        ({"taints": []}, "NoSchedule taint"),
        ({"taints": [{**GPU_TAINT, "effect": "PreferNoSchedule"}]}, "NoSchedule taint"),
        ({"instanceCategories": ["c"]}, "without GPU instances"),
        ({"gpuLimit": 0}, "greater than or equal to 1"),
        ({"gpuLimit": 65}, "less than or equal to 64"),
    ],
)
def test_bad_gpu_pools_are_refused(fields: dict[str, Any], phrase: str) -> None:
    with pytest.raises(ValidationError, match=phrase):
        EksNodePool.model_validate({**GPU_POOL, **fields}, context={"environment": "staging"})


def test_all_problems_of_a_gpu_pool_are_reported_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        EksNodePool.model_validate({**GPU_POOL, "gpuLimit": None, "taints": []}, context={"environment": "staging"})
    assert "needs gpuLimit" in str(info.value) and "NoSchedule taint" in str(info.value)


def test_every_rendered_node_pool_of_the_program_is_valid_against_the_crd(with_gpu: StackRun) -> None:
    pools = with_gpu.of_type(NODE_POOL)
    assert {p.inputs["metadata"]["name"] for p in pools} == {"general", "scrapers", "gpu"}
    for pool in pools:
        assert validate(NODE_POOL, pool.inputs) == [], pool.name


def test_the_gpu_pool_passes_the_production_policy_pack(with_gpu: StackRun) -> None:
    found = [v for v in PolicyEvaluator.for_stack("production").analyze(with_gpu.resources) if "pool" in v.policy]
    assert found == [], describe(found)


def test_the_pack_fires_on_an_uncapped_gpu_pool(with_gpu: StackRun) -> None:
    records = list(with_gpu.resources)
    i = next(i for i, r in enumerate(records) if r.type == NODE_POOL and r.inputs["metadata"]["name"] == "gpu")
    spec = deep_merge(records[i].inputs["spec"], {"limits": {"nvidia.com/gpu": None}})
    records[i] = mutate(records[i], inputs={**records[i].inputs, "spec": spec})
    assert "eks-gpu-pool-bounded" in {v.policy for v in PolicyEvaluator.for_stack("production").analyze(records)}
