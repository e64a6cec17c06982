"""Config of the off-site backups (``platform:backup``): an S3 bucket on AWS and the hourly dump job.

Seed 000 sets the targets: RPO 1 hour (so the dump runs at least hourly) and RTO 4 hours (so recent
dumps stay in an instantly readable storage class). DigitalOcean's own daily backups and 7-day
point-in-time recovery live in the same provider account; this copy is what survives losing it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

import cronsim
import pulumi_aws as aws
from pydantic import Field, ValidationInfo, field_validator

from guardrails import BACKUP_MAX_NONCURRENT_DAYS

from .base import StrictModel
from .infra import environment_of

AWS_REGIONS = frozenset(r.value for r in aws.Region)
"""From the installed SDK's enum, so a new region needs no edit here."""

ARCHIVE_AFTER_DAYS = 90
"""Lifecycle tier: dumps move to Glacier Instant Retrieval at 90 days (seed 002); it bills 90 days minimum."""

_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class BackupConfig(StrictModel):
    """Hourly ``pg_dump`` of the application database to a hardened, versioned, locked S3 bucket."""

    enabled: bool = Field(default=True, description="Create the bucket, writer identity and CronJob. Production: on.")
    aws_region: str = Field(
        default="us-east-1",
        description="AWS region of the bucket (and of the AWS provider). Default: us-east-1, nearest to nyc1.",
    )
    kms_key: Literal["dedicated", "aws-managed"] = Field(
        default="aws-managed",
        description="SSE-KMS key: a dedicated customer-managed key (rotated yearly; required in production) "
        "or the account's aws/s3 key. Default: aws-managed.",
    )
    replica_region: str | None = Field(
        default=None,
        description="Second AWS region the bucket replicates to (production option, seed 002). Default: none.",
    )
    retention_days: int = Field(
        default=365,
        ge=2 * ARCHIVE_AFTER_DAYS,
        le=3650,
        description="Age at which a dump expires. Dumps go to infrequent access at 30 days and to Glacier "
        "Instant Retrieval at 90 (which bills 90 days minimum, hence >= 180). Default: 365 (seed 002).",
    )
    noncurrent_days: int = Field(
        default=30,
        ge=1,
        # The aws-s3-lifecycle-expiry guard's cap too (guardrails.py): one limit for config and pack.
        le=BACKUP_MAX_NONCURRENT_DAYS,
        description=f"Days an overwritten or deleted version is kept before it expires, at most "
        f"{BACKUP_MAX_NONCURRENT_DAYS}. Default: 30.",
    )
    schedule: str = Field(
        default="0 * * * *",
        description="Cron schedule of the dump (UTC). Must run at least hourly (RPO 1 h). Default: on the hour.",
    )
    object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = Field(
        default="GOVERNANCE",
        description="Default object-lock retention mode. COMPLIANCE: nobody, not even the account root, can "
        "delete a dump before objectLockDays. Default: GOVERNANCE (privileged users may override).",
    )
    object_lock_days: int = Field(
        default=7, ge=1, description="Default object-lock retention of each dump, in days. Default: 7."
    )
    image: str = Field(
        default="registry.digitalocean.com/nichediscovery/pg-backup:17-1",
        description="Pinned image of the backup job, built from images/pg-backup (postgresql-client 17, boto3, "
        "the scripts). A tag other than latest, or a digest.",
    )

    @field_validator("enabled")
    @classmethod
    def _enabled(cls, value: bool, info: ValidationInfo) -> bool:
        if environment_of(info) == "production" and not value:
            raise ValueError("production keeps off-site backups on (RPO 1 h): set backup.enabled to true")
        return value

    @field_validator("aws_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in AWS_REGIONS:
            raise ValueError(f"'{value}' is not an AWS region (the set comes from pulumi-aws's Region enum)")
        return value

    @field_validator("replica_region")
    @classmethod
    def _replica(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        if value not in AWS_REGIONS:
            raise ValueError(f"'{value}' is not an AWS region (the set comes from pulumi-aws's Region enum)")
        if value == info.data.get("aws_region"):
            raise ValueError("the replica must be in a different region from backup.awsRegion, or it adds nothing")
        if info.data.get("kms_key") != "dedicated":
            raise ValueError(
                "replication needs dedicated KMS keys (S3 cannot be granted the aws/s3 key): "
                "set backup.kmsKey to dedicated as well"
            )
        return value

    @field_validator("schedule")
    @classmethod
    def _hourly(cls, value: str) -> str:
        # ASCII first: a cron field of Arabic-Indic (or any non-ASCII) digits is no cron field.
        if not value.isascii() or len(value.split()) != 5:
            raise ValueError(
                "must be a 5-field cron expression in ASCII (minute hour day month weekday), e.g. '0 * * * *'"
            )
        try:
            cronsim.CronSim(value, datetime(2026, 1, 1))
        except cronsim.CronSimError as exc:
            raise ValueError(
                f"is not a valid cron expression ({exc}; minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-7, "
                "ranges low-high): e.g. '0 * * * *' or '15 * * * *'"
            ) from None
        # With every field but the minute '*', a valid expression runs at least once in every hour.
        if any(f not in ("*", "*/1") for f in value.split()[1:]):
            raise ValueError(
                "must run at least once an hour (RPO 1 h): hour, day, month and weekday fields '*', "
                "e.g. '0 * * * *' or '15 * * * *'"
            )
        return value

    @field_validator("kms_key")
    @classmethod
    def _kms(cls, value: str, info: ValidationInfo) -> str:
        if environment_of(info) == "production" and value != "dedicated":
            raise ValueError(
                "production encrypts backups with its own KMS key (auditable, revocable, rotated): "
                "set backup.kmsKey to dedicated"
            )
        return value

    @field_validator("object_lock_days")
    @classmethod
    def _lock(cls, value: int, info: ValidationInfo) -> int:
        retention = info.data.get("retention_days")
        if retention is not None and value >= retention:
            raise ValueError(
                f"object lock ({value} days) must be shorter than backup.retentionDays ({retention}), "
                "or expired dumps can never be removed"
            )
        return value

    @field_validator("image")
    @classmethod
    def _pinned(cls, value: str) -> str:
        name, _, digest = value.partition("@")
        last = name.rsplit("/", 1)[-1]
        tag = last.partition(":")[2] if ":" in last else None
        pinned_by_digest = bool(_DIGEST.fullmatch(digest))
        pinned_by_tag = tag is not None and bool(_TAG.fullmatch(tag)) and tag != "latest"
        if " " in value or (digest and not pinned_by_digest) or not (pinned_by_digest or pinned_by_tag):
            raise ValueError(
                "must be pinned: 'registry/pg-backup:<version>' (not latest) or '...@sha256:<digest>'. "
                "A floating tag changes what runs without a deploy"
            )
        return value
