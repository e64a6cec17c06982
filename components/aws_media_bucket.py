"""The tenant's media bucket on S3 (seed 004: audio, transcripts, embeddings), hardened by its side resources.

pulumi-aws v7 configures a bucket through separate resources; this component creates all of them, so no
bucket exists without versioning, encryption, a public access block, owner-enforced ownership, a
lifecycle and a TLS-only policy. Nobody gets a key: pods reach the bucket through Pod Identity roles
scoped to a prefix (``object_statements``), judged by a real IAM evaluator in tests/test_aws_iam.py.

Lifecycle (seed 004): objects move to Standard-IA after 30 days and to Glacier Instant Retrieval after 90.
Instant Retrieval, not Flexible: a transcript of an old episode is still served on request, which a
multi-hour restore would break. Raw audio under ``audio/`` is a working copy (the seed calls it temp):
it expires. Overwritten or deleted versions expire after ``noncurrent_days``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

INFREQUENT_ACCESS_AFTER_DAYS = 30
ARCHIVE_AFTER_DAYS = 90
ARCHIVE_STORAGE_CLASS = "GLACIER_IR"
BUCKET_PREFIX_MAX = 37
"""S3 names are at most 63 characters and ``bucket_prefix`` adds a 26-character unique suffix."""


@dataclass(frozen=True)
class AwsMediaBucketArgs:
    protect: bool
    """Protect the bucket from deletion (production); unprotected buckets still refuse to delete objects."""
    audio_prefix: str = "audio"
    """Prefix of raw audio, which expires. Default: audio."""
    audio_expiry_days: int = 14
    """Days raw audio is kept. Default: 14 (it is re-downloadable from the podcast's feed)."""
    noncurrent_days: int = 30
    """Days an overwritten or deleted version survives. Default: 30."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags. Default: none."""


def bucket_name_prefix(base: str) -> str:
    """``bucket_prefix`` of the bucket, cut so the name fits S3's 63 characters."""
    return f"{base[: BUCKET_PREFIX_MAX - 1].rstrip('-')}-"


def bucket_policy(bucket_arn: str) -> dict[str, Any]:
    """HTTPS only, TLS 1.2 or newer; nothing else is denied.

    Deliberately no encryption-header conditions: the bucket's default encryption applies to every put,
    and a Deny on an absent SSE header refuses every put that relies on it (the backup bucket's bug, see
    components/backup_vault.py). What a request may do is decided by the pod's identity policy.
    """
    everything = [bucket_arn, f"{bucket_arn}/*"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": everything,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyOldTls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": everything,
                "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
            },
        ],
    }


def object_statements(bucket_arn: str, prefixes: Sequence[str], *, write: bool) -> list[dict[str, Any]]:
    """Read (and with ``write``, put and delete) objects under ``prefixes`` only, and list just those prefixes."""
    if not prefixes:
        raise ValueError("name at least one prefix: a role over the whole bucket is not least privilege")
    bad = [p for p in prefixes if not p or "*" in p or p.startswith("/") or p.endswith("/")]
    if bad:
        raise ValueError(f"prefixes {bad} must be plain paths such as 'audio' (no wildcard, no leading/trailing /)")
    actions = ["s3:GetObject", *(["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"] if write else [])]
    return [
        {
            "Sid": "ObjectsUnderPrefixes",
            "Effect": "Allow",
            "Action": actions,
            "Resource": [f"{bucket_arn}/{p}/*" for p in sorted(prefixes)],
        },
        {
            "Sid": "ListPrefixes",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": [f"{p}/*" for p in sorted(prefixes)]}},
        },
    ]


class AwsMediaBucket(pulumi.ComponentResource):
    """A private, versioned, encrypted, TLS-only S3 bucket with the seed's 30 d IA / 90 d archive tiers."""

    bucket: pulumi.Output[str]
    """Bucket name."""
    arn: pulumi.Output[str]
    """Bucket ARN (for Pod Identity policies)."""

    def __init__(self, name: str, args: AwsMediaBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:aws:MediaBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket_prefix=bucket_name_prefix(name),
            force_destroy=False,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            # ACLs off: access is decided by policies alone.
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            # SSE-S3: encrypted at rest with no KMS request per object (media is read often) and no KMS grant
            # in every pod role. The data that needs a customer key (the database) has one.
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    ),
                )
            ],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="tiering",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    transitions=[
                        aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                            days=INFREQUENT_ACCESS_AFTER_DAYS, storage_class="STANDARD_IA"
                        ),
                        aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                            days=ARCHIVE_AFTER_DAYS, storage_class=ARCHIVE_STORAGE_CLASS
                        ),
                    ],
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="audio-working-copies",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=f"{args.audio_prefix}/"),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.audio_expiry_days),
                ),
            ],
            # The lifecycle reads versioning: configure it second.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps(bucket_policy(arn))),
            # With the public access block in place first, S3 judges the policy against it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[block]),
        )
        self.bucket = bucket.bucket
        self.arn = bucket.arn
        self.register_outputs({"bucket": self.bucket, "arn": self.arn})
