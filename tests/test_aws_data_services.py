"""Issue 15: the AWS data services under mocks, for intent: each secure by default, HA only in production.

Every component's registered resources also go through the platform's policy pack (the production
configuration): a component that passes these tests passes the guards of policies/guards/aws_data.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from components.aws_cache import APP_ACCESS, DISABLED_DEFAULT_USER, AwsCache, AwsCacheArgs, connect_statements
from components.aws_media_bucket import (
    ARCHIVE_STORAGE_CLASS,
    AwsMediaBucket,
    AwsMediaBucketArgs,
    bucket_name_prefix,
    bucket_policy,
    object_statements,
)
from components.aws_names import bounded
from components.aws_pod_identity import (
    AwsPodIdentity,
    AwsPodIdentityArgs,
    policy_document,
    secret_read_statements,
    trust_policy,
    wildcards,
)
from components.aws_postgres import CURRENT_MAJOR, AwsPostgres, AwsPostgresArgs, parameters
from tests.harness import UNKNOWN, StackRun, component_run
from tests.policy_adapter import PolicyEvaluator, describe, mutate

RDS = "aws:rds/instance:Instance"
RG = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_USER = "aws:elasticache/user:User"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
CLUSTER_SG = "sg-0123456789abcdef0"
SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]


def postgres(highly_available: bool) -> Callable[[], None]:
    def build() -> None:
        AwsPostgres(
            "psm-pg",
            AwsPostgresArgs(
                vpc_id="vpc-1",
                subnet_ids=SUBNETS,
                client_security_groups={"eks-cluster": CLUSTER_SG},
                backup_retention_days=7,
                highly_available=highly_available,
                protect=highly_available,
            ),
        )

    return build


def cache(highly_available: bool) -> Callable[[], None]:
    def build() -> None:
        AwsCache(
            "psm-cache",
            AwsCacheArgs(
                subnet_ids=SUBNETS,
                vpc_id="vpc-1",
                client_security_groups={"eks-cluster": CLUSTER_SG},
                highly_available=highly_available,
                protect=highly_available,
            ),
        )

    return build


@pytest.fixture(scope="module")
def pg_staging() -> StackRun:
    return component_run(postgres(False))


@pytest.fixture(scope="module")
def pg_production() -> StackRun:
    return component_run(postgres(True), stack="production")


@pytest.fixture(scope="module")
def cache_staging() -> StackRun:
    return component_run(cache(False))


@pytest.fixture(scope="module")
def cache_production() -> StackRun:
    return component_run(cache(True), stack="production")


@pytest.fixture(scope="module")
def media() -> StackRun:
    return component_run(lambda: AwsMediaBucket("psm-media", AwsMediaBucketArgs(protect=True)), stack="production")


# --- RDS PostgreSQL


def test_postgres_never_sees_a_password_rds_keeps_it_in_secrets_manager(pg_production: StackRun) -> None:
    primary = pg_production.one(RDS, "psm-pg-primary")
    assert "password" not in primary.inputs
    assert primary.inputs["manageMasterUserPassword"] is True
    key = pg_production.one("aws:kms/key:Key").outputs["arn"]
    assert primary.inputs["masterUserSecretKmsKeyId"] == key


def test_postgres_is_private_encrypted_with_its_key_and_current(pg_staging: StackRun) -> None:
    primary = pg_staging.one(RDS, "psm-pg-primary")
    key = pg_staging.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert primary.inputs["publiclyAccessible"] is False
    assert primary.inputs["storageEncrypted"] is True
    assert primary.inputs["kmsKeyId"] == key.outputs["arn"]
    assert primary.inputs["performanceInsightsEnabled"] is True
    assert primary.inputs["performanceInsightsKmsKeyId"] == key.outputs["arn"]
    assert primary.inputs["engineVersion"] == CURRENT_MAJOR
    assert primary.inputs["backupRetentionPeriod"] == 7
    assert primary.inputs["skipFinalSnapshot"] is False


def test_postgres_forces_tls(pg_staging: StackRun) -> None:
    group = pg_staging.one("aws:rds/parameterGroup:ParameterGroup")
    assert {p["name"]: p["value"] for p in group.inputs["parameters"]}["rds.force_ssl"] == "1"
    assert group.inputs["family"] == f"postgres{CURRENT_MAJOR}"
    assert parameters()["rds.force_ssl"] == "1"


def test_postgres_admits_only_the_cluster_on_5432(pg_staging: StackRun) -> None:
    (rule,) = pg_staging.of_type(INGRESS)
    assert (rule.inputs["referencedSecurityGroupId"], rule.inputs["fromPort"], rule.inputs["toPort"]) == (
        CLUSTER_SG,
        5432,
        5432,
    )
    assert "cidrIpv4" not in rule.inputs
    assert pg_staging.one(SG).inputs["egress"] == []
    subnets = pg_staging.one("aws:rds/subnetGroup:SubnetGroup")
    assert subnets.inputs["subnetIds"] == SUBNETS


def test_staging_postgres_is_single_az_without_replica_or_deletion_protection(pg_staging: StackRun) -> None:
    (primary,) = pg_staging.of_type(RDS)
    assert primary.inputs["multiAz"] is False
    assert primary.inputs["deletionProtection"] is False
    assert not primary.protect


def test_production_postgres_is_multi_az_protected_with_a_promotable_replica(pg_production: StackRun) -> None:
    primary = pg_production.one(RDS, "psm-pg-primary")
    replica = pg_production.one(RDS, "psm-pg-replica")
    assert primary.inputs["multiAz"] is True
    assert primary.inputs["deletionProtection"] is True and replica.inputs["deletionProtection"] is True
    assert primary.protect and replica.protect
    assert replica.inputs["replicateSourceDb"] == primary.outputs["arn"]
    # Promotable as a complete primary: encrypted with the same key, backed up, and private.
    assert replica.inputs["kmsKeyId"] == primary.inputs["kmsKeyId"]
    assert replica.inputs["backupRetentionPeriod"] == 7
    assert replica.inputs["publiclyAccessible"] is False
    assert "manageMasterUserPassword" not in replica.inputs


def test_postgres_exposes_the_managed_secret_arn() -> None:
    seen: dict[str, Any] = {}

    def build() -> None:
        pg = AwsPostgres(
            "psm-pg",
            AwsPostgresArgs("vpc-1", SUBNETS, {"eks-cluster": CLUSTER_SG}, 7, highly_available=False, protect=False),
        )
        pg.master_secret_arn.apply(lambda arn: seen.setdefault("arn", arn))

    component_run(build)
    assert seen["arn"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!")


@pytest.mark.parametrize(
    ("subnets", "groups", "message"),
    [(["subnet-a"], {"eks-cluster": CLUSTER_SG}, "at least two zones"), (SUBNETS, {}, "client security groups")],
)
def test_postgres_refuses_one_zone_or_no_client(subnets: list[str], groups: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        component_run(
            lambda: AwsPostgres(
                "x", AwsPostgresArgs("vpc-1", subnets, groups, 7, highly_available=False, protect=False)
            )
        )


def test_postgres_registers_in_a_first_preview() -> None:
    run = component_run(postgres(True), preview=True, stack="production")
    assert run.one(RDS, "psm-pg-replica").inputs["replicateSourceDb"] == UNKNOWN


# --- ElastiCache for Valkey


def test_cache_is_valkey_with_tls_required_and_kms_at_rest(cache_staging: StackRun) -> None:
    group = cache_staging.one(RG)
    assert group.inputs["engine"] == "valkey"
    assert group.inputs["transitEncryptionEnabled"] is True
    assert group.inputs["transitEncryptionMode"] == "required"
    assert group.inputs["atRestEncryptionEnabled"] is True
    assert group.inputs["kmsKeyId"] == cache_staging.one("aws:kms/key:Key").outputs["arn"]
    assert "authToken" not in group.inputs


def test_cache_authenticates_with_iam_and_the_default_user_is_off(cache_staging: StackRun) -> None:
    users = {u.inputs["userName"]: u for u in cache_staging.of_type(CACHE_USER)}
    default = users.pop("default")
    assert default.inputs["accessString"] == DISABLED_DEFAULT_USER
    assert default.inputs["accessString"].startswith("off ")
    ((name, app),) = users.items()
    assert app.inputs["authenticationMode"] == {"type": "iam"}
    # IAM authentication requires the user id and the user name to be equal.
    assert app.inputs["userId"] == name
    assert app.inputs["accessString"] == APP_ACCESS
    group = cache_staging.one("aws:elasticache/userGroup:UserGroup")
    assert sorted(group.inputs["userIds"]) == sorted([default.inputs["userId"], app.inputs["userId"]])
    assert cache_staging.one(RG).inputs["userGroupIds"] == [group.inputs["userGroupId"]]


def test_cache_admits_only_the_cluster_on_6379(cache_staging: StackRun) -> None:
    (rule,) = cache_staging.of_type(INGRESS)
    assert (rule.inputs["referencedSecurityGroupId"], rule.inputs["fromPort"]) == (CLUSTER_SG, 6379)


def test_cache_high_availability_only_in_production(cache_staging: StackRun, cache_production: StackRun) -> None:
    staging, production = cache_staging.one(RG), cache_production.one(RG)
    assert (staging.inputs["numCacheClusters"], staging.inputs["multiAzEnabled"]) == (1, False)
    assert production.inputs["numCacheClusters"] == 2
    assert production.inputs["multiAzEnabled"] is True and production.inputs["automaticFailoverEnabled"] is True
    assert production.protect and not staging.protect


def test_cache_connect_grant_names_the_group_and_the_user() -> None:
    (statement,) = connect_statements("arn:rg", "arn:user")
    assert statement["Action"] == ["elasticache:Connect"] and statement["Resource"] == ["arn:rg", "arn:user"]


# --- Media bucket


def test_media_bucket_has_every_hardening_side_resource(media: StackRun) -> None:
    types = {r.type.rsplit(":", 1)[-1] for r in media.resources}
    assert {
        "BucketVersioning",
        "BucketServerSideEncryptionConfiguration",
        "BucketPublicAccessBlock",
        "BucketOwnershipControls",
        "BucketLifecycleConfiguration",
        "BucketPolicy",
    } <= types
    block = media.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    assert (
        media.one("aws:s3/bucketVersioning:BucketVersioning").inputs["versioningConfiguration"]["status"] == "Enabled"
    )
    bucket = media.one("aws:s3/bucket:Bucket")
    assert bucket.protect and bucket.inputs["forceDestroy"] is False


def test_media_lifecycle_is_the_seeds_30_day_ia_and_90_day_archive(media: StackRun) -> None:
    rules = {
        r["id"]: r
        for r in media.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    }
    tiers = [(t["days"], t["storageClass"]) for t in rules["tiering"]["transitions"]]
    assert tiers == [(30, "STANDARD_IA"), (90, ARCHIVE_STORAGE_CLASS)]
    assert rules["tiering"]["noncurrentVersionExpiration"]["noncurrentDays"] == 30
    assert rules["audio-working-copies"]["filter"]["prefix"] == "audio/"
    assert rules["audio-working-copies"]["expiration"]["days"] == 14


def test_media_bucket_policy_denies_only_insecure_transport(media: StackRun) -> None:
    policy = json.loads(media.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    assert {s["Effect"] for s in policy["Statement"]} == {"Deny"}
    conditions = [s["Condition"] for s in policy["Statement"]]
    assert conditions == [{"Bool": {"aws:SecureTransport": "false"}}, {"NumericLessThan": {"s3:TlsVersion": "1.2"}}]
    assert policy == bucket_policy(media.one("aws:s3/bucket:Bucket").outputs["arn"])


def test_bucket_prefix_fits_s3_names() -> None:
    assert len(bucket_name_prefix("x" * 80)) <= 37
    assert bucket_name_prefix("psm-media") == "psm-media-"


@pytest.mark.parametrize("prefixes", [[], ["*"], ["audio/"], ["/audio"], [""]])
def test_object_grants_refuse_whole_bucket_or_wildcard_prefixes(prefixes: list[str]) -> None:
    with pytest.raises(ValueError, match="prefix"):
        object_statements("arn:aws:s3:::b", prefixes, write=False)


def test_read_grant_cannot_write() -> None:
    (objects, listing) = object_statements("arn:aws:s3:::b", ["transcripts"], write=False)
    assert objects["Action"] == ["s3:GetObject"]
    assert objects["Resource"] == ["arn:aws:s3:::b/transcripts/*"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["transcripts/*"]}}


# --- Pod Identity


def test_pod_identity_role_trusts_only_the_pod_identity_service() -> None:
    (statement,) = trust_policy()["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession"]


def test_pod_identity_associates_the_role_with_one_service_account() -> None:
    statements = secret_read_statements("arn:aws:secretsmanager:us-east-1:1:secret:s", "arn:aws:kms:k", "us-east-1")
    run = component_run(
        lambda: AwsPodIdentity("psm-api", AwsPodIdentityArgs("psm-eks", "podcast-summariser", "api", statements))
    )
    association = run.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    role = run.one("aws:iam/role:Role")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("podcast-summariser", "api")
    assert association.inputs["roleArn"] == role.outputs["arn"]
    assert json.loads(role.inputs["assumeRolePolicy"]) == trust_policy()
    assert json.loads(run.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])["Statement"] == statements
    assert run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []


@pytest.mark.parametrize(
    "statement",
    [
        {"Sid": "A", "Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::b/p/*"]},
        {"Sid": "R", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"},
        {"Sid": "B", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]},
        {"Sid": "N", "Effect": "Allow", "NotAction": ["iam:*"], "Resource": ["arn:aws:s3:::b/p/x"]},
    ],
)
def test_pod_identity_refuses_wildcards(statement: dict[str, Any]) -> None:
    assert wildcards([statement])
    with pytest.raises(ValueError, match="least privilege"):
        policy_document([statement])


def test_object_paths_under_a_named_prefix_are_not_wildcards() -> None:
    assert wildcards(object_statements("arn:aws:s3:::b", ["a", "b"], write=True)) == []


# --- The policy pack on what the components register


@pytest.mark.parametrize("fixture", ["pg_production", "cache_production", "media"])
def test_production_components_pass_the_policy_pack(fixture: str, request: pytest.FixtureRequest) -> None:
    run: StackRun = request.getfixturevalue(fixture)
    found = [
        v
        for v in PolicyEvaluator.for_stack("production").analyze(run.resources)
        if v.policy.startswith(("aws-", "stack-pod"))
    ]
    assert found == [], describe(found)


def test_the_pack_fires_on_a_public_unencrypted_database(pg_production: StackRun) -> None:
    records = list(pg_production.resources)
    i = next(i for i, r in enumerate(records) if r.name == "psm-pg-primary")
    inputs = {**records[i].inputs, "publiclyAccessible": True, "storageEncrypted": False, "password": "hunter2"}
    records[i] = mutate(records[i], inputs=inputs)
    policies = {v.policy for v in PolicyEvaluator.for_stack("production").analyze(records)}
    assert {"aws-rds-not-public", "aws-rds-encrypted", "aws-rds-managed-password"} <= policies


# --- Physical names within AWS's limits


@pytest.mark.parametrize("limit", [36, 37, 40])
def test_long_names_are_shortened_deterministically_and_stay_distinct(limit: int) -> None:
    long_a = "niche-discovery-production-podcast-summariser-aws-transcriber"
    long_b = "niche-discovery-production-podcast-summariser-aws-summariser"
    a, b = bounded(long_a, limit), bounded(long_b, limit)
    assert len(a) <= limit and len(b) <= limit and a != b
    assert a == bounded(long_a, limit)
    assert a[0].isalpha() and not a.endswith("-") and "--" not in a
    assert bounded("Short_Name", limit) == "short-name"


def test_aws_names_fit_their_limits(pg_production: StackRun, cache_production: StackRun) -> None:
    for instance in pg_production.of_type(RDS):
        assert len(instance.inputs["identifierPrefix"]) <= 37
    ids = [cache_production.one(RG).inputs["replicationGroupId"]]
    ids += [u.inputs["userId"] for u in cache_production.of_type(CACHE_USER)]
    ids.append(cache_production.one("aws:elasticache/userGroup:UserGroup").inputs["userGroupId"])
    assert all(len(i) <= 40 and not i.endswith("-") for i in ids), ids
    long = "niche-discovery-production-podcast-summariser-aws-transcriber"
    run = component_run(lambda: AwsPodIdentity(long, AwsPodIdentityArgs("c", "ns", "sa", [])))
    assert len(run.one("aws:iam/role:Role").inputs["namePrefix"]) <= 38
