"""Issue 15: the AWS data side's IAM policies judged by a real IAM evaluator (@cloud-copilot/iam-simulate).

What is evaluated is what the program registers: the media bucket's policy and each Pod Identity role's
trust and inline policy, taken from the components run under the mocks of tests/harness.py. The expected
decisions are written here, never taken from a mock. The last round's bug (a bucket policy that denied
every upload) is pinned by the multipart cases: UploadPart carries no SSE header, and must be allowed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.aws_cache import connect_statements
from components.aws_media_bucket import AwsMediaBucket, AwsMediaBucketArgs, object_statements
from components.aws_pod_identity import AwsPodIdentity, AwsPodIdentityArgs, secret_read_statements
from tests.harness import StackRun, component_run
from tests.iam_simulator import (
    ACCOUNT,
    ALLOWED,
    DEFAULT_KEY_POLICY,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    TLS,
    Case,
    evaluate,
    node_ready,
    table,
)

pytestmark = pytest.mark.skipif(node_ready() is not None, reason=str(node_ready()))

REGION = "us-east-1"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-0123-AbCdEf"
OTHER_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:other-tenant-XyZ"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
CACHE = f"arn:aws:elasticache:{REGION}:{ACCOUNT}:replicationgroup:psm-cache-0000"
CACHE_USER = f"arn:aws:elasticache:{REGION}:{ACCOUNT}:user:psm-cache-app"
OTHER_CACHE_USER = f"arn:aws:elasticache:{REGION}:{ACCOUNT}:user:someone-else"
HTTP = {"aws:SecureTransport": "false"}
OLD_TLS = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.0"}


def _build() -> None:
    media = AwsMediaBucket("psm-media", AwsMediaBucketArgs(protect=False))
    writer = media.arn.apply(lambda arn: object_statements(arn, ["audio", "transcripts"], write=True))
    reader = media.arn.apply(lambda arn: object_statements(arn, ["transcripts"], write=False))
    AwsPodIdentity("psm-transcriber", AwsPodIdentityArgs("c", "podcast-summariser", "transcriber", writer))
    AwsPodIdentity(
        "psm-api",
        AwsPodIdentityArgs(
            "c",
            "podcast-summariser",
            "api",
            media.arn.apply(
                lambda arn: [
                    *object_statements(arn, ["transcripts"], write=False),
                    *secret_read_statements(SECRET, KEY, REGION),
                    *connect_statements(CACHE, CACHE_USER),
                ]
            ),
        ),
    )
    del reader


@pytest.fixture(scope="module")
def built() -> StackRun:
    return component_run(_build)


def _policy(run: StackRun, role: str) -> dict[str, Any]:
    return json.loads(run.one("aws:iam/rolePolicy:RolePolicy", f"{role}-policy").inputs["policy"])


def _role_arn(run: StackRun, role: str) -> str:
    return str(run.one("aws:iam/role:Role", f"{role}-role").outputs["arn"])


def _cases(run: StackRun) -> list[Case]:
    bucket_policy = json.loads(run.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    bucket = run.one("aws:s3/bucket:Bucket").outputs["arn"]
    writer = {"transcriber": _policy(run, "psm-transcriber")}
    api = {"api": _policy(run, "psm-api")}
    writer_arn, api_arn = _role_arn(run, "psm-transcriber"), _role_arn(run, "psm-api")

    def s3(  # noqa: PLR0917 - one row of the table, positional on purpose
        name: str, who: str, policies: dict[str, Any], action: str, key: str | None, ctx: dict[str, Any], want: str
    ) -> Case:
        resource = f"{bucket}/{key}" if key is not None else bucket
        return Case(name, action, resource, who, ACCOUNT, policies, bucket_policy, ctx, want)

    listing = {**TLS, "s3:prefix": "transcripts/ep-1"}
    return [
        s3("transcriber puts a transcript", writer_arn, writer, "s3:PutObject", "transcripts/ep-1.json", TLS, ALLOWED),
        s3("transcriber puts audio", writer_arn, writer, "s3:PutObject", "audio/ep-1.mp3", TLS, ALLOWED),
        # Multipart parts carry no SSE header: a Deny on its absence would refuse them (the backup bug).
        s3("transcriber uploads a part", writer_arn, writer, "s3:PutObject", "audio/ep-2.mp3", TLS, ALLOWED),
        s3("transcriber over plain HTTP", writer_arn, writer, "s3:PutObject", "audio/ep-1.mp3", HTTP, EXPLICIT_DENY),
        s3("transcriber over TLS 1.0", writer_arn, writer, "s3:PutObject", "audio/ep-1.mp3", OLD_TLS, EXPLICIT_DENY),
        s3("transcriber outside its prefixes", writer_arn, writer, "s3:PutObject", "embeddings/x", TLS, IMPLICIT_DENY),
        s3("transcriber deletes bucket policy", writer_arn, writer, "s3:DeleteBucketPolicy", None, TLS, IMPLICIT_DENY),
        s3("api reads a transcript", api_arn, api, "s3:GetObject", "transcripts/ep-1.json", TLS, ALLOWED),
        s3("api cannot write transcripts", api_arn, api, "s3:PutObject", "transcripts/ep-1.json", TLS, IMPLICIT_DENY),
        s3("api cannot read raw audio", api_arn, api, "s3:GetObject", "audio/ep-1.mp3", TLS, IMPLICIT_DENY),
        s3("api lists transcripts", api_arn, api, "s3:ListBucket", None, listing, ALLOWED),
        s3("api lists the whole bucket", api_arn, api, "s3:ListBucket", None, {**TLS, "s3:prefix": ""}, IMPLICIT_DENY),
        Case("api reads its database secret", "secretsmanager:GetSecretValue", SECRET, api_arn, ACCOUNT, api),
        Case(
            "api reads another secret",
            "secretsmanager:GetSecretValue",
            OTHER_SECRET,
            api_arn,
            ACCOUNT,
            api,
            expected=IMPLICIT_DENY,
        ),
        Case(
            "api decrypts through Secrets Manager",
            "kms:Decrypt",
            KEY,
            api_arn,
            ACCOUNT,
            api,
            # The RDS key has AWS's default key policy (the account's IAM policies decide): KMS needs one.
            resource_policy=DEFAULT_KEY_POLICY,
            context={"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"},
        ),
        Case(
            "api decrypts directly",
            "kms:Decrypt",
            KEY,
            api_arn,
            ACCOUNT,
            api,
            resource_policy=DEFAULT_KEY_POLICY,
            expected=IMPLICIT_DENY,
        ),
        Case("api connects to its cache", "elasticache:Connect", CACHE, api_arn, ACCOUNT, api),
        Case("api connects as the app user", "elasticache:Connect", CACHE_USER, api_arn, ACCOUNT, api),
        Case(
            "api connects as another user",
            "elasticache:Connect",
            OTHER_CACHE_USER,
            api_arn,
            ACCOUNT,
            api,
            expected=IMPLICIT_DENY,
        ),
        Case(
            "transcriber cannot read secrets",
            "secretsmanager:GetSecretValue",
            SECRET,
            writer_arn,
            ACCOUNT,
            writer,
            expected=IMPLICIT_DENY,
        ),
    ]


def test_every_policy_decides_as_written(built: StackRun, record_property: Any) -> None:
    decisions = evaluate(_cases(built))
    for line in table("aws-data", decisions):
        record_property("report", line)
    errors = [(d.case.name, d.errors) for d in decisions if d.errors]
    assert errors == []
    wrong = [(d.case.name, d.case.expected, d.decision) for d in decisions if not d.as_expected]
    assert wrong == []


def test_trust_policy_admits_pod_identity_and_nothing_else(built: StackRun) -> None:
    role = built.one("aws:iam/role:Role", "psm-api-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    arn = role.outputs["arn"]
    cases = [
        Case("pod identity assumes", "sts:AssumeRole", arn, "pods.eks.amazonaws.com", ACCOUNT, {}, trust),
        Case("pod identity tags the session", "sts:TagSession", arn, "pods.eks.amazonaws.com", ACCOUNT, {}, trust),
        Case(
            "EC2 cannot assume", "sts:AssumeRole", arn, "ec2.amazonaws.com", ACCOUNT, {}, trust, expected=IMPLICIT_DENY
        ),
        Case(
            "a user cannot assume",
            "sts:AssumeRole",
            arn,
            f"arn:aws:iam::{ACCOUNT}:user/someone",
            ACCOUNT,
            {},
            trust,
            expected=IMPLICIT_DENY,
        ),
    ]
    decisions = evaluate(cases)
    assert [(d.case.name, d.decision) for d in decisions] == [(c.name, c.expected) for c in cases]
