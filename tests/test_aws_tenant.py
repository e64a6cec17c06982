"""Issue 15: a stack with the AWS tenant (seed 004) enabled, both environments, up and preview, under mocks.

The tenant's catalog is tenants/podcast-summariser.yaml (the DigitalOcean tenants' format, ``target: aws``);
its data services and Pod Identity roles land beside the EKS cluster and pass the policy pack.
"""

from __future__ import annotations

import functools
import json
import time
from typing import Any

import pytest

from stack_config.base import ConfigError
from stack_config.tenants import TenantEntry
from tests.conftest import AWS_TENANT_ENABLED
from tests.harness import StackRun, deep_merge, run_main
from tests.policy_adapter import PolicyEvaluator, describe, mandatory

RDS = "aws:rds/instance:Instance"
RG = "aws:elasticache/replicationGroup:ReplicationGroup"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TENANT = "platform:aws:Tenant"
ENTRY: dict[str, Any] = {"catalog": "tenants/podcast-summariser.yaml", "imageTag": "1.0.0"}
"""conftest.AWS_TENANT_ENABLED's one tenant entry."""
TIMINGS: dict[tuple[str, bool], float] = {}


def overrides(stack: str) -> dict[str, Any]:
    entry = ENTRY if stack == "production" else {**ENTRY, "cache": {"nodeCount": 1}}
    return {**AWS_TENANT_ENABLED, "tenants": [entry]}


@functools.cache
def evaluated(stack: str, preview: bool) -> StackRun:
    started = time.perf_counter()
    run = run_main(stack, preview=preview, overrides=overrides(stack))
    TIMINGS[(stack, preview)] = time.perf_counter() - started
    return run


@pytest.fixture(scope="module")
def production() -> StackRun:
    return evaluated("production", False)


@pytest.fixture(scope="module")
def staging() -> StackRun:
    return evaluated("staging", False)


def owned(run: StackRun) -> list[Any]:
    """The AWS tenant's resources: its component and everything below it."""
    (root,) = [r for r in run.resources if r.type == TENANT]
    urns, found = {root.urn}, [root]
    for r in run.resources:
        if r.parent in urns:
            urns.add(r.urn)
            found.append(r)
    return found


def test_the_catalog_is_in_the_digitalocean_tenants_format_with_target_aws() -> None:
    entry = TenantEntry.model_validate(ENTRY, context={"environment": "production"})
    assert entry.tenant.target == "aws"
    assert set(entry.apps.catalog.services) == {"api", "transcriber", "summariser"}
    autoscaling = entry.apps.catalog.services["api"].autoscaling
    assert autoscaling is not None and (autoscaling.min_replicas, autoscaling.max_replicas) == (3, 20)


@pytest.mark.parametrize("stack", ["staging", "production"])
@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_the_stack_with_the_aws_tenant_evaluates(stack: str, preview: bool, record_property: Any) -> None:
    run = evaluated(stack, preview)
    mine = owned(run)
    assert {r.type for r in mine} >= {RDS, RG, ASSOCIATION, "aws:s3/bucket:Bucket"}
    record_property(
        "report",
        f"aws-tenant {stack} {'preview' if preview else 'up'}: {len(mine)} resources of the AWS tenant, "
        f"{len(run.resources)} in the stack, evaluated in {TIMINGS[(stack, preview)]:.1f} s",
    )


def test_production_database_is_highly_available_with_a_replica(production: StackRun) -> None:
    instances = {r.name.rsplit("-", 1)[-1]: r for r in owned(production) if r.type == RDS}
    assert set(instances) == {"primary", "replica"}
    assert instances["primary"].inputs["multiAz"] is True
    assert instances["primary"].protect and instances["replica"].protect


def test_staging_database_is_single_without_replica(staging: StackRun) -> None:
    (primary,) = [r for r in owned(staging) if r.type == RDS]
    assert primary.inputs["multiAz"] is False and primary.inputs["deletionProtection"] is False
    (cache,) = [r for r in owned(staging) if r.type == RG]
    assert cache.inputs["numCacheClusters"] == 1


def test_data_services_live_in_the_clusters_private_subnets_and_admit_its_security_group(production: StackRun) -> None:
    cluster = production.one("aws:eks/cluster:Cluster")
    private = {r.id for r in production.of_type("aws:ec2/subnet:Subnet") if "-private-" in r.name}
    subnets = production.one("aws:rds/subnetGroup:SubnetGroup").inputs["subnetIds"]
    assert set(subnets) == private and len(subnets) == 3
    rules = [r for r in owned(production) if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"]
    assert {r.inputs["referencedSecurityGroupId"] for r in rules} == {
        cluster.outputs["vpcConfig"]["clusterSecurityGroupId"]
    }


def test_each_service_account_gets_exactly_its_grants(production: StackRun) -> None:
    associations = {r.inputs["serviceAccount"]: r for r in owned(production) if r.type == ASSOCIATION}
    assert set(associations) == {"api", "transcriber", "summariser"}
    assert {r.inputs["namespace"] for r in associations.values()} == {"podcast-summariser-production"}
    actions = {}
    for policy in (r for r in owned(production) if r.type == ROLE_POLICY):
        service = policy.name.removesuffix("-policy").rsplit("-", 1)[-1]
        statements = json.loads(policy.inputs["policy"])["Statement"]
        actions[service] = sorted({a for s in statements for a in s["Action"]})
    assert actions["api"] == sorted(
        [
            "elasticache:Connect",
            "kms:Decrypt",
            "s3:GetObject",
            "s3:ListBucket",
            "secretsmanager:GetSecretValue",
            # eks.tenantData.podcast-summariser.queueSenders: the API queues episodes for the transcriber.
            "sqs:GetQueueAttributes",
            "sqs:SendMessage",
        ]
    )
    assert "elasticache:Connect" not in actions["transcriber"]
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= set(actions["transcriber"])
    assert "sqs:SendMessage" not in actions["transcriber"]
    assert "s3:PutObject" in actions["transcriber"]
    assert not any(a.startswith("s3:") for a in actions["summariser"])


def test_nothing_of_the_aws_tenant_holds_a_static_key(production: StackRun) -> None:
    types = {r.type for r in owned(production)}
    assert "aws:iam/accessKey:AccessKey" not in types and "aws:iam/user:User" not in types
    assert all("password" not in r.inputs for r in owned(production) if r.type == RDS)
    exported = production.outputs["awsTenants"]["podcast-summariser"]
    assert exported["databaseSecretArn"].startswith("arn:aws:secretsmanager:")


@pytest.mark.parametrize("stack", ["staging", "production"])
@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_the_pack_is_clean_on_the_aws_tenant(stack: str, preview: bool) -> None:
    run = evaluated(stack, preview)
    urns = {r.urn for r in owned(run)}
    found = PolicyEvaluator.for_stack(stack).analyze(run.resources, preview=preview)
    mine = [v for v in mandatory(found) if v.urn in urns]
    assert mine == [], describe(mine)


def test_an_aws_tenant_without_the_cluster_is_refused() -> None:
    config = deep_merge(overrides("staging"), {"eks": {"enabled": False}})
    with pytest.raises(ConfigError, match=r"target aws, but eks\.enabled is false"):
        run_main("staging", overrides=config)


def test_tenant_data_for_an_unknown_tenant_is_refused() -> None:
    config = deep_merge(overrides("staging"), {"eks": {"tenantData": {"nobody": {}}}})
    with pytest.raises(ConfigError, match="not `target: aws` tenants"):
        run_main("staging", overrides=config)
