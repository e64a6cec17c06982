"""Issue 15: the AWS side of seed 004 priced by the repo's estimator (costing/), against the seed's table.

The estimator prices what the program registers; these tests pin the AWS data rules on hand-made items
and check that nothing of the AWS tenant is left unpriced. The figures are printed under "reported figures".
"""

from __future__ import annotations

from typing import Any

import pytest

from costing import PRICES, Item, estimate
from costing.evaluate import items_of
from tests.harness import StackRun
from tests.test_aws_tenant import evaluated, owned

STACK = "urn:pulumi:production::platform"
RDS = "aws:rds/instance:Instance"
RG = "aws:elasticache/replicationGroup:ReplicationGroup"
SEED_AWS_SIDE_USD = {
    "Backend (Railway)": 100,
    "Database (Neon)": 50,
    "Cache (Upstash)": 50,
    "S3": 30,
    "GPU (spot)": 100,
}
"""The lines of seed 004's $600/month table that the AWS side replaces (Vercel, Pinecone, Datadog stay out)."""


def item(type_token: str, name: str, props: dict[str, Any]) -> Item:
    return Item(type_token, name, f"{STACK}::{type_token}::{name}", props)


def test_a_multi_az_primary_bills_two_instances_two_volumes_and_its_secret() -> None:
    props = {
        "instanceClass": "db.t4g.medium",
        "multiAz": True,
        "allocatedStorage": 20,
        "maxAllocatedStorage": 100,
        "manageMasterUserPassword": True,
    }
    lines = {line.kind: line for line in estimate([item(RDS, "pg", props)]).priced}
    assert lines["RDS instance"].min_usd == pytest.approx(2 * PRICES["aws.rds.db.t4g.medium"].usd, abs=0.01)
    assert lines["RDS storage"].min_usd == pytest.approx(40 * PRICES["aws.rds.gp3"].usd, abs=0.01)
    assert lines["RDS storage"].max_usd == pytest.approx(200 * PRICES["aws.rds.gp3"].usd, abs=0.01)
    assert lines["Secrets Manager"].min_usd == PRICES["aws.secretsmanager.secret"].usd


def test_a_replica_bills_one_instance() -> None:
    (line,) = estimate([item(RDS, "replica", {"instanceClass": "db.t4g.medium", "multiAz": False})]).priced
    assert line.min_usd == pytest.approx(PRICES["aws.rds.db.t4g.medium"].usd, abs=0.01)


def test_a_valkey_pair_bills_two_nodes() -> None:
    (line,) = estimate([item(RG, "cache", {"nodeType": "cache.t4g.small", "numCacheClusters": 2})]).priced
    assert line.min_usd == pytest.approx(2 * PRICES["aws.elasticache.valkey.cache.t4g.small"].usd, abs=0.01)


def test_an_unknown_instance_class_is_unpriced_not_zero() -> None:
    result = estimate([item(RDS, "pg", {"instanceClass": "db.x99.huge"})])
    assert [line.kind for line in result.unpriced] == ["RDS instance"]


def test_a_gpu_pool_is_priced_per_gpu_up_to_its_cap() -> None:
    spec = {"limits": {"cpu": 32, "nvidia.com/gpu": 4}}
    lines = {
        line.kind: line
        for line in estimate([item("kubernetes:karpenter.sh/v1:NodePool", "gpu", {"spec": spec})]).priced
    }
    assert lines["EKS GPU node pool"].min_usd == 0
    assert lines["EKS GPU node pool"].max_usd == pytest.approx(4 * PRICES["aws.eks.auto-mode-gpu"].usd, abs=0.01)


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_nothing_of_the_aws_tenant_is_unpriced(stack: str, record_property: Any) -> None:
    run: StackRun = evaluated(stack, False)
    urns = {r.urn for r in owned(run)}
    result = estimate(items_of(run))
    # Media storage is usage-based (nothing in the program says how much audio arrives): listed, not zero.
    assert [(line.kind, line.status) for line in result.unpriced if line.urn in urns] == [("S3 storage", "unpriced")]
    mine = [line for line in result.priced if line.urn in urns]
    low, high = sum(line.min_usd or 0 for line in mine), sum(line.max_usd or 0 for line in mine)
    record_property("report", f"aws-tenant cost {stack}: data services ${low:,.0f}-{high:,.0f}/month (estimator)")
    for line in mine:
        record_property(
            "report", f"aws-tenant cost {stack}: {line.kind} {line.unit} x{line.count} ${line.min_usd:,.2f}"
        )
    assert low > 0
