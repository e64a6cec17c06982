"""AWS S3 guards for the off-site backup bucket: private, versioned, encrypted, expiring, complete.

pulumi-aws v7 configures a bucket through side resources (BucketVersioning,
BucketServerSideEncryptionConfiguration, BucketPublicAccessBlock, BucketLifecycleConfiguration):
each is checked on its own, and a stack guard checks that every bucket has all four.
"""

from __future__ import annotations

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

from guardrails import BACKUP_MAX_NONCURRENT_DAYS  # noqa: E402

GROUP = "aws-backups"

BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"

PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


@resource_guard(
    "aws-s3-public-access-blocked",
    types=(PUBLIC_ACCESS_BLOCK,),
    description="S3 public access blocks set all four flags.",
    severity=Severity.CRITICAL,
    remediation="Set block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets to True.",
    group=GROUP,
)
def s3_public_access_blocked(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    off = [f for f in PUBLIC_ACCESS_FLAGS if not is_unknown(props.get(f)) and truthy(props.get(f)) is not True]
    if off:
        yield f"{', '.join(off)} not true."


@resource_guard(
    "aws-s3-versioning-enabled",
    types=(VERSIONING,),
    description="Backup buckets keep object versions (an overwritten or deleted backup is recoverable).",
    severity=Severity.HIGH,
    remediation='Set versioning_configuration.status = "Enabled".',
    group=GROUP,
)
def s3_versioning_enabled(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    status = dig(props, "versioningConfiguration", "status")
    if not is_unknown(status) and status != "Enabled":
        yield f"versioning status is {status!r}, not 'Enabled'."


@resource_guard(
    "aws-s3-encryption",
    types=(ENCRYPTION,),
    description="Buckets encrypt objects at rest with an allowed algorithm.",
    severity=Severity.HIGH,
    remediation='Add a rule with apply_server_side_encryption_by_default.sse_algorithm "aws:kms" (or "AES256").',
    group=GROUP,
    config={
        "algorithms": {
            "type": "array",
            "items": {"type": "string", "enum": ["AES256", "aws:kms", "aws:kms:dsse"]},
            "description": "Accepted sse_algorithm values.",
            "default": ["aws:kms", "aws:kms:dsse", "AES256"],
        }
    },
)
def s3_encryption(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    rules = props.get("rules")
    if is_unknown(rules):
        return
    algorithms = [dig(r, "applyServerSideEncryptionByDefault", "sseAlgorithm") for r in as_list(rules)]
    if any(is_unknown(a) for a in algorithms):
        return
    if not any(a in cfg["algorithms"] for a in algorithms):
        yield f"no rule uses an allowed algorithm {cfg['algorithms']} (found {algorithms})."


@resource_guard(
    "aws-s3-lifecycle-expiry",
    types=(LIFECYCLE,),
    description="Backup buckets expire old objects and noncurrent versions (retention is bounded and costs stay flat).",
    severity=Severity.MEDIUM,
    remediation="Add an Enabled rule with expiration.days and noncurrent_version_expiration.noncurrent_days.",
    group=GROUP,
    config={
        "maxNoncurrentDays": {
            "type": "integer",
            "minimum": 1,
            "description": "Longest a noncurrent version may be kept.",
            # The config's own cap (backup.noncurrentDays): a value config accepts never fails here.
            "default": BACKUP_MAX_NONCURRENT_DAYS,
        }
    },
)
def s3_lifecycle_expiry(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    rules = props.get("rules")
    if is_unknown(rules):
        return
    if any(is_unknown(dig(r, "status")) for r in as_list(rules)):
        return
    enabled = [r for r in as_list(rules) if dig(r, "status") == "Enabled"]
    if not any(dig(r, "expiration") for r in enabled):
        yield "no Enabled rule expires current objects."
    days = [number(dig(r, "noncurrentVersionExpiration", "noncurrentDays")) for r in enabled]
    known = [d for d in days if d is not None]
    if not any(dig(r, "noncurrentVersionExpiration") for r in enabled):
        yield "no Enabled rule expires noncurrent versions (versioning would keep them forever)."
    elif known and min(known) > cfg["maxNoncurrentDays"]:
        yield f"noncurrent versions are kept {min(known):g} days (max {cfg['maxNoncurrentDays']:g})."


@resource_guard(
    "aws-s3-no-force-destroy",
    types=(BUCKET,),
    description="Production buckets cannot be deleted with their objects (forceDestroy is off).",
    severity=Severity.HIGH,
    remediation="Leave force_destroy unset (False) in production.",
    group=GROUP,
    config={
        "productionOnly": {
            "type": "boolean",
            "description": "Apply only to production stacks.",
            "default": True,
        }
    },
)
def s3_no_force_destroy(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    if (ctx.production or not cfg["productionOnly"]) and truthy(props.get("forceDestroy")) is True:
        yield "forceDestroy is true: a `pulumi destroy` deletes every backup."


def _bucket_ids(bucket: StackResource) -> set[str]:
    return {v for v in (bucket.props.get("id"), bucket.props.get("bucket")) if isinstance(v, str) and not is_unknown(v)}


def configures(side: StackResource, bucket: StackResource) -> bool:
    value = side.props.get("bucket")
    ids = _bucket_ids(bucket)
    if isinstance(value, str) and not is_unknown(value) and ids:
        return value in ids
    return side.depends_on(bucket)


@stack_guard(
    "stack-s3-bucket-complete",
    description="Every S3 bucket has its versioning, encryption, public-access-block and lifecycle resources.",
    severity=Severity.HIGH,
    remediation="Create the four side resources for the bucket (the backup component does it for its bucket).",
    group=GROUP,
)
def s3_bucket_complete(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    names = {
        VERSIONING: "BucketVersioning",
        ENCRYPTION: "BucketServerSideEncryptionConfiguration",
        PUBLIC_ACCESS_BLOCK: "BucketPublicAccessBlock",
        LIFECYCLE: "BucketLifecycleConfiguration",
    }
    for bucket in resources:
        if bucket.type != BUCKET:
            continue
        missing = [
            label
            for token, label in names.items()
            if not any(r.type == token and configures(r, bucket) for r in resources)
        ]
        if missing:
            yield f"bucket {bucket.name!r} has no {', '.join(missing)}.", bucket.urn


GUARDS = [
    s3_public_access_blocked,
    s3_versioning_enabled,
    s3_encryption,
    s3_lifecycle_expiry,
    s3_no_force_destroy,
    s3_bucket_complete,
]
