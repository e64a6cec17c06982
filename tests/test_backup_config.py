"""``platform:backup``: every validator fires on bad input and names its exact key."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from stack_config import StackConfig
from stack_config.backup import BackupConfig
from stack_config.base import Problem, problems_from_validation_error
from tests.harness import deep_merge, stack_file_config


def validate(stack: str, backup: dict[str, Any]) -> StackConfig:
    raw = {k.removeprefix("platform:"): v for k, v in stack_file_config(stack).items()}
    raw = deep_merge(raw, {"backup": backup})
    return StackConfig.model_validate(raw, context={"environment": raw["environment"]})


def problems(stack: str, backup: dict[str, Any]) -> list[Problem]:
    with pytest.raises(ValidationError) as info:
        validate(stack, backup)
    return problems_from_validation_error(info.value, stack)


# (stack, backup overrides, the key that must be named, a phrase the message must contain)
BAD = [
    ("production", {"enabled": False}, "platform:backup.enabled", "RPO 1 h"),
    ("staging", {"awsRegion": "us-east-9"}, "platform:backup.awsRegion", "not an AWS region"),
    ("production", {"replicaRegion": "mars-1"}, "platform:backup.replicaRegion", "not an AWS region"),
    ("production", {"replicaRegion": "us-east-1"}, "platform:backup.replicaRegion", "different region"),
    ("staging", {"retentionDays": 30}, "platform:backup.retentionDays", "180"),
    ("staging", {"schedule": "0 * * *"}, "platform:backup.schedule", "5-field"),
    ("staging", {"schedule": "0 */2 * * *"}, "platform:backup.schedule", "at least once an hour"),
    ("staging", {"schedule": "0 3 * * *"}, "platform:backup.schedule", "at least once an hour"),
    ("staging", {"schedule": "75 * * * *"}, "platform:backup.schedule", "0-59"),
    ("production", {"kmsKey": "aws-managed"}, "platform:backup.kmsKey", "dedicated"),
    ("staging", {"replicaRegion": "us-west-2"}, "platform:backup.replicaRegion", "dedicated KMS keys"),
    ("staging", {"objectLockDays": 200}, "platform:backup.objectLockDays", "shorter than backup.retentionDays"),
    ("staging", {"objectLockMode": "FOREVER"}, "platform:backup.objectLockMode", "GOVERNANCE"),
    ("staging", {"image": "registry.digitalocean.com/niche-discovery/pg-backup"}, "platform:backup.image", "pinned"),
    ("staging", {"image": "ghcr.io/acme/pg-backup:latest"}, "platform:backup.image", "pinned"),
    ("staging", {"image": "ghcr.io/acme/pg-backup@sha256:abc"}, "platform:backup.image", "pinned"),
    ("staging", {"bucket": "mine"}, "platform:backup.bucket", "unknown key"),
]


@pytest.mark.parametrize(("stack", "backup", "key", "phrase"), BAD, ids=[f"{b[2]}={b[1]}" for b in BAD])
def test_bad_backup_config_is_refused_naming_the_key(stack: str, backup: dict, key: str, phrase: str) -> None:
    found = {p.key: p.message for p in problems(stack, backup)}
    assert key in found, found
    assert phrase in found[key]


@pytest.mark.parametrize(
    "schedule", ["0 * * * *", "15 * * * *", "*/30 * * * *", "0,30 * * * *", "5-10 * * * *", "0 */1 * * *"]
)
def test_schedules_at_least_hourly_are_accepted(schedule: str) -> None:
    assert validate("staging", {"schedule": schedule}).backup.schedule == schedule


@pytest.mark.parametrize(
    "image",
    [
        "registry.digitalocean.com/nichediscovery/pg-backup:17-1",
        "localhost:5000/pg-backup:1.2.3",
        "ghcr.io/acme/pg-backup@sha256:" + "a" * 64,
        "ghcr.io/acme/pg-backup:17@sha256:" + "b" * 64,
    ],
)
def test_pinned_images_are_accepted(image: str) -> None:
    assert validate("staging", {"image": image}).backup.image == image


def test_defaults_back_up_hourly_to_us_east_1_for_a_year() -> None:
    defaults = BackupConfig()
    assert (defaults.enabled, defaults.schedule, defaults.aws_region) == (True, "0 * * * *", "us-east-1")
    assert defaults.retention_days == 365
    assert defaults.replica_region is None


def test_production_differs_from_staging_as_committed() -> None:
    staging, production = validate("staging", {}).backup, validate("production", {}).backup
    assert (staging.kms_key, production.kms_key) == ("aws-managed", "dedicated")
    assert (staging.replica_region, production.replica_region) == (None, "us-west-2")
    assert (staging.object_lock_mode, production.object_lock_mode) == ("GOVERNANCE", "COMPLIANCE")
    assert staging.retention_days < production.retention_days


def test_production_without_a_backup_section_is_refused() -> None:
    raw = {k.removeprefix("platform:"): v for k, v in stack_file_config("production").items()}
    raw.pop("backup")
    with pytest.raises(ValidationError) as info:
        StackConfig.model_validate(raw, context={"environment": "production"})
    found = problems_from_validation_error(info.value, "production")
    assert [p.key.startswith("platform:backup.") and "dedicated" in p.message for p in found] == [True]
