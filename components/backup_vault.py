"""Off-site backup storage on AWS S3: a hardened bucket, its writer identity, optional cross-region replica.

pulumi-aws v7 splits a bucket's settings into side resources, each attached to the bucket by name;
this component creates all of them for each bucket it owns, so no bucket exists without its
hardening. The IAM policy documents are built by pure functions (tested as data) rather than with
``get_policy_document``, so what the tests assert is exactly what is sent to AWS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .aws_kms import customer_key

INFREQUENT_ACCESS_AFTER_DAYS = 30
ARCHIVE_AFTER_DAYS = 90
ARCHIVE_STORAGE_CLASS = "GLACIER_IR"
"""Glacier Instant Retrieval: archive pricing, but a dump is readable in milliseconds, not after a
multi-hour thaw (Flexible Retrieval), so even an old dump fits the 4 h RTO."""
BUCKET_PREFIX_MAX = 37
"""S3 names are at most 63 characters and ``bucket_prefix`` gets a 26-character unique suffix."""


@dataclass(frozen=True)
class BackupVaultArgs:
    aws_region: str
    """Region of the AWS provider this component owns (credentials come from the environment/profile)."""
    retention_days: int
    """Age at which a dump expires."""
    noncurrent_days: int
    """Days an overwritten or deleted version survives."""
    object_lock_mode: str
    """GOVERNANCE or COMPLIANCE default retention."""
    object_lock_days: int
    dedicated_kms_key: bool
    """True: a customer-managed key per bucket. False: SSE-KMS with the account's aws/s3 key."""
    protect: bool
    """Protect buckets and keys from deletion (production)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Default tags of every AWS resource. Default: none."""
    prefix: str = "postgres"
    """Key prefix the writer may put under. Default: postgres."""
    replica_region: str | None = None
    """Second region the bucket replicates to. Default: no replica. Needs dedicated_kms_key."""


def bucket_name_prefix(base: str, role: str) -> str:
    """``bucket_prefix`` of one bucket: ``<base>-`` for the primary, ``<base>-dr-`` for the replica.

    The base is cut (never the role) so the prefix fits S3's name limit whatever the tenant's name.
    """
    suffix = "" if role == "primary" else "-dr"
    room = BUCKET_PREFIX_MAX - len(suffix) - 1
    return f"{base[:room].rstrip('-')}{suffix}-"


def writer_policy(bucket_arn: str, prefix: str, kms_key_arn: str | None, region: str) -> dict[str, Any]:
    """What the backup job may do: put new objects under ``prefix/`` and nothing else.

    No list, get or delete: a stolen key can add junk but cannot read a dump or destroy one (and
    object lock would refuse the delete anyway). ``kms:Decrypt`` is there only because S3 needs it
    to complete a multipart upload under SSE-KMS; it is usable solely through S3, and the writer
    cannot get objects.
    """
    statements: list[dict[str, Any]] = [
        {"Sid": "PutDumpsOnly", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": [f"{bucket_arn}/{prefix}/*"]}
    ]
    if kms_key_arn is not None:
        statements.append(
            {
                "Sid": "EncryptThroughS3Only",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": [kms_key_arn],
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


SSE_HEADER = "s3:x-amz-server-side-encryption"
KMS_KEY_HEADER = "s3:x-amz-server-side-encryption-aws-kms-key-id"
SSE_C_HEADER = "s3:x-amz-server-side-encryption-customer-algorithm"


def bucket_policy(bucket_arn: str, kms_key_arn: str | None) -> dict[str, Any]:
    """TLS 1.2+ only, and no put that asks for any encryption other than the bucket's own key.

    Every encryption Deny fires only when the request *carries* the header it judges (``Null`` false),
    never on its absence. The trap: UploadPart and CompleteMultipartUpload are authorized as
    ``s3:PutObject`` but S3 puts no SSE key in their request context (only CreateMultipartUpload
    carries the header), and an ``...IfExists``/``StringNotEquals`` Deny on an absent key is true, so
    such a Deny refuses every multipart upload (and every put that relies on the default). A request
    without the headers is safe: the bucket's default encryption (SSE-KMS, this key) applies to it.
    What a request can ask for instead, and is refused here: another algorithm (AES256, DSSE),
    customer-provided keys (SSE-C: a dump no one here could read), another KMS key and, with a
    dedicated key, ``aws:kms`` without a key id, which S3 serves with the aws/s3 key, not the default.
    tests/test_iam_simulation.py has a real IAM evaluator judge this against the uploader's requests.
    """
    everything = [bucket_arn, f"{bucket_arn}/*"]
    objects = f"{bucket_arn}/*"
    statements: list[dict[str, Any]] = [
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
        {
            "Sid": "DenyOtherAlgorithms",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {"StringNotEquals": {SSE_HEADER: "aws:kms"}, "Null": {SSE_HEADER: "false"}},
        },
        {
            "Sid": "DenyCustomerProvidedKeys",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {"Null": {SSE_C_HEADER: "false"}},
        },
    ]
    if kms_key_arn is not None:
        statements += [
            {
                "Sid": "DenyOtherKmsKeys",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {"StringNotEquals": {KMS_KEY_HEADER: kms_key_arn}, "Null": {KMS_KEY_HEADER: "false"}},
            },
            {
                # "aws:kms" without a key id is served with the aws/s3 key, not the bucket default.
                "Sid": "DenyKmsWithoutKeyId",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {"Null": {SSE_HEADER: "false", KMS_KEY_HEADER: "true"}},
            },
        ]
    else:
        # The aws/s3 key is the default; a key id can only name some other key.
        statements.append(
            {
                "Sid": "DenyOtherKmsKeys",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {"Null": {KMS_KEY_HEADER: "false"}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def replication_policy(
    *,
    source_arn: str,
    replica_arn: str,
    source_key_arn: str,
    replica_key_arn: str,
    source_region: str,
    replica_region: str,
) -> dict[str, Any]:
    """What S3 itself needs to copy new versions (with their object-lock retention) to the replica."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadSourceConfiguration",
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": [source_arn],
            },
            {
                "Sid": "ReadSourceVersions",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                    "s3:GetObjectRetention",
                    "s3:GetObjectLegalHold",
                ],
                "Resource": [f"{source_arn}/*"],
            },
            {
                "Sid": "WriteReplicas",
                "Effect": "Allow",
                "Action": ["s3:ReplicateObject", "s3:ReplicateTags"],
                "Resource": [f"{replica_arn}/*"],
            },
            {
                "Sid": "DecryptSource",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [source_key_arn],
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{source_region}.amazonaws.com"}},
            },
            {
                "Sid": "EncryptReplica",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": [replica_key_arn],
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{replica_region}.amazonaws.com"}},
            },
        ],
    }


S3_ASSUME_ROLE = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"},
    ],
}


@dataclass(frozen=True)
class _Bucket:
    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning
    kms_key: aws.kms.Key | None


class BackupVault(pulumi.ComponentResource):
    """A per-stack S3 bucket for database dumps that a compromised writer can neither read nor erase.

    Every bucket gets: versioning, default SSE-KMS (bucket key on), the public access block fully on,
    ACLs disabled, a TLS-only policy, lifecycle tiers (infrequent access at 30 days, Glacier Instant
    Retrieval at 90, expiry at ``retention_days``, noncurrent versions too) and object lock. Object
    lock stands in for MFA delete, which only the root user can switch on, by hand, and which no IaC
    tool can manage. The component owns its AWS provider: region from args, credentials from the
    standard chain (``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``...), never from code.
    """

    bucket_name: pulumi.Output[str]
    """Name of the primary bucket."""
    bucket_arn: pulumi.Output[str]
    """ARN of the primary bucket."""
    kms_key_arn: pulumi.Output[str] | None
    """ARN of the primary bucket's dedicated key; None with the aws/s3 key. The uploader names it on every
    put (S3_KMS_KEY_ARN): ``aws:kms`` without a key id would be served with aws/s3 and is refused."""
    prefix: str
    """Key prefix the writer puts dumps under."""
    region: str
    """AWS region of the primary bucket."""
    replica_bucket_name: pulumi.Output[str] | None
    """Name of the replica bucket, when replication is on."""
    writer_access_key_id: pulumi.Output[str]
    """Access key id of the put-only writer (secret)."""
    writer_secret_access_key: pulumi.Output[str]
    """Secret access key of the put-only writer (secret)."""

    def __init__(self, name: str, args: BackupVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if args.replica_region is not None and not args.dedicated_kms_key:
            raise ValueError("replication needs dedicated KMS keys (the aws/s3 key cannot be granted to S3)")
        super().__init__("platform:backup:BackupVault", name, None, opts)
        self._name = name
        self._args = args
        # pulumi-aws v7 takes a per-resource `region`, so one provider serves both regions.
        self._provider = aws.Provider(
            f"{name}-aws",
            region=args.aws_region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=dict(args.tags)) if args.tags else None,
            opts=pulumi.ResourceOptions(parent=self),
        )

        primary = self._hardened_bucket("primary", args.aws_region, infrequent_access_tier=True)
        primary_key_arn = primary.kms_key.arn if primary.kms_key else None

        writer = aws.iam.User(
            f"{name}-writer",
            name=f"{name}-writer",
            path="/backup/",
            tags={"purpose": "put-only writer of database dumps"},
            opts=self._opts(),
        )
        aws.iam.UserPolicy(
            f"{name}-writer-policy",
            user=writer.name,
            policy=pulumi.Output.all(primary.bucket.arn, primary_key_arn).apply(
                lambda v: json.dumps(writer_policy(v[0], args.prefix, v[1], args.aws_region))
            ),
            opts=self._opts(),
        )
        # The key lives only in the (encrypted) state and in the cluster Secret. Rotate it with
        # `pulumi up --replace <urn of this AccessKey>` (docs/disaster-recovery.md).
        access_key = aws.iam.AccessKey(f"{name}-writer-key", user=writer.name, opts=self._opts())

        self.replica_bucket_name = None
        if args.replica_region is not None:
            replica = self._hardened_bucket("replica", args.replica_region, infrequent_access_tier=False)
            self.replica_bucket_name = replica.bucket.bucket
            if primary.kms_key is not None and replica.kms_key is not None:  # always, checked above
                self._replicate(primary, replica, primary.kms_key, replica.kms_key, args.replica_region)

        self.bucket_name = primary.bucket.bucket
        self.bucket_arn = primary.bucket.arn
        self.kms_key_arn = primary_key_arn
        self.prefix = args.prefix
        self.region = args.aws_region
        self.writer_access_key_id = pulumi.Output.secret(access_key.id)
        self.writer_secret_access_key = pulumi.Output.secret(access_key.secret)
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "kms_key_arn": self.kms_key_arn,
                "replica_bucket_name": self.replica_bucket_name,
                "writer_access_key_id": self.writer_access_key_id,
                "writer_secret_access_key": self.writer_secret_access_key,
            }
        )

    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self._provider, **kwargs)

    def _hardened_bucket(self, role: str, region: str, *, infrequent_access_tier: bool) -> _Bucket:
        """One bucket and every side resource that hardens it, keyed by ``role`` (primary/replica)."""
        name, args = f"{self._name}-{role}", self._args
        kms_key = None
        if args.dedicated_kms_key:
            # Losing the key loses every dump: protected like the bucket.
            kms_key = customer_key(
                f"{name}-key",
                f"Encrypts the {role} backup bucket of {self._name}",
                self._opts(protect=args.protect),
                region=region,
            )
            aws.kms.Alias(
                f"{name}-key-alias",
                name=f"alias/{name}",
                target_key_id=kms_key.key_id,
                region=region,
                opts=self._opts(),
            )
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket_prefix=bucket_name_prefix(self._name, role),
            region=region,
            # Object lock can only be switched on when the bucket is created.
            object_lock_enabled=True,
            force_destroy=False,
            opts=self._opts(protect=args.protect),
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            region=region,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self._opts(),
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            region=region,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=self._opts(),
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            region=region,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=self._opts(),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            region=region,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=kms_key.arn if kms_key else None
                    ),
                    # One data key per bucket instead of a KMS call per object: cheaper, same protection.
                    bucket_key_enabled=True,
                )
            ],
            opts=self._opts(),
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            region=region,
            policy=pulumi.Output.all(bucket.arn, kms_key.arn if kms_key else None).apply(
                lambda v: json.dumps(bucket_policy(v[0], v[1]))
            ),
            opts=self._opts(),
        )
        aws.s3.BucketObjectLockConfiguration(
            f"{name}-object-lock",
            bucket=bucket.id,
            region=region,
            object_lock_enabled="Enabled",
            rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                    mode=args.object_lock_mode, days=args.object_lock_days
                )
            ),
            opts=self._opts(depends_on=[versioning]),
        )
        transitions = [
            aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                days=ARCHIVE_AFTER_DAYS, storage_class=ARCHIVE_STORAGE_CLASS
            )
        ]
        if infrequent_access_tier:
            transitions.insert(
                0,
                aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                    days=INFREQUENT_ACCESS_AFTER_DAYS, storage_class="STANDARD_IA"
                ),
            )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            region=region,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="tier-and-expire",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    transitions=transitions,
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.retention_days),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=1
                    ),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="remove-expired-delete-markers",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(expired_object_delete_marker=True),
                ),
            ],
            # S3 rejects noncurrent-version rules until versioning is on.
            opts=self._opts(depends_on=[versioning]),
        )
        return _Bucket(bucket=bucket, versioning=versioning, kms_key=kms_key)

    def _replicate(
        self,
        primary: _Bucket,
        replica: _Bucket,
        primary_key: aws.kms.Key,
        replica_key: aws.kms.Key,
        replica_region: str,
    ) -> None:
        name = f"{self._name}-replication"
        role = aws.iam.Role(
            f"{name}-role",
            path="/backup/",
            assume_role_policy=json.dumps(S3_ASSUME_ROLE),
            opts=self._opts(),
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(primary.bucket.arn, replica.bucket.arn, primary_key.arn, replica_key.arn).apply(
                lambda v: json.dumps(
                    replication_policy(
                        source_arn=v[0],
                        replica_arn=v[1],
                        source_key_arn=v[2],
                        replica_key_arn=v[3],
                        source_region=self._args.aws_region,
                        replica_region=replica_region,
                    )
                )
            ),
            opts=self._opts(),
        )
        aws.s3.BucketReplicationConfig(
            name,
            bucket=primary.bucket.id,
            region=self._args.aws_region,
            role=role.arn,
            rules=[
                aws.s3.BucketReplicationConfigRuleArgs(
                    id="offsite-replica",
                    status="Enabled",
                    filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                    # Deletes are not replicated: a delete in the primary must not reach the copy.
                    delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                        status="Disabled"
                    ),
                    source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                        sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                            status="Enabled"
                        )
                    ),
                    destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                        bucket=replica.bucket.arn,
                        storage_class="STANDARD_IA",
                        encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                            replica_kms_key_id=replica_key.arn
                        ),
                    ),
                )
            ],
            # Replication needs versioning on both sides first.
            opts=self._opts(depends_on=[primary.versioning, replica.versioning]),
        )
