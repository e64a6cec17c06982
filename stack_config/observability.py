"""``platform:observability``: the metrics pipeline into the monitoring droplet and DigitalOcean's
native alerts, the second line that still works when the droplet (or its Alertmanager) does not."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from .base import StrictModel
from .infra import environment_of

_EMAIL = re.compile(r"^[^@\s]+@([a-z0-9-]+\.)+[a-z]{2,63}$", re.IGNORECASE)
_SLACK_CHANNEL = re.compile(r"^#[a-z0-9][a-z0-9._-]{0,79}$")
_CHART_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
UptimeRegion = Literal["us_east", "us_west", "eu_west", "se_asia"]


def _default_regions() -> list[UptimeRegion]:
    return ["us_east", "eu_west"]


class Thresholds(StrictModel):
    """Percent utilisation at which DigitalOcean's monitor alerts notify (averaged over ``window``)."""

    cpu_percent: int = Field(default=85, ge=1, le=100, description="CPU utilisation.")
    memory_percent: int = Field(default=90, ge=1, le=100, description="Memory utilisation.")
    disk_percent: int = Field(default=85, ge=1, le=100, description="Disk utilisation.")

    @field_validator("memory_percent")
    @classmethod
    def _memory_floor(cls, value: int) -> int:
        if value < 50:
            raise ValueError("below 50% alerts all the time (the page cache counts as used memory)")
        return value

    @field_validator("disk_percent")
    @classmethod
    def _disk_headroom(cls, value: int) -> int:
        if value > 95:
            raise ValueError("a disk alert above 95% leaves no time to act (databases turn read-only when full)")
        return value


class ObservabilityConfig(StrictModel):
    """Who DigitalOcean's native alerts notify, when, and the in-cluster metrics and log agents."""

    alert_emails: list[str] = Field(
        default_factory=list,
        description="Addresses DigitalOcean alert notifications go to (must be verified team members "
        "of the DigitalOcean account). Production needs at least one.",
    )
    slack_channel: str | None = Field(
        default=None,
        description="Slack channel (#name) for DigitalOcean alerts, posted through the alertChatWebhookUrl "
        "secret. Default: no Slack notification.",
    )
    window: Literal["5m", "10m", "30m", "1h"] = Field(
        default="10m", description="Averaging window of DigitalOcean's monitor alerts."
    )
    droplet: Thresholds = Field(default_factory=Thresholds, description="Monitoring droplet and cluster nodes.")
    database: Thresholds = Field(default_factory=Thresholds, description="Managed PostgreSQL and Valkey.")
    uptime_regions: list[UptimeRegion] = Field(
        default_factory=_default_regions,
        description="Regions DigitalOcean probes the public API health endpoint from.",
    )
    uptime_latency_ms: int = Field(
        default=2000,
        ge=100,
        le=60000,
        description="Health-check latency that alerts (the seed's 30 s p95 is for "
        "whole requests; the health endpoint must answer fast).",
    )
    certificate_expiry_days: int = Field(
        default=14, ge=1, le=60, description="Alert when the API's TLS certificate expires within this many days."
    )
    agent_chart_version: str = Field(
        default="27.19.0",
        description="prometheus-community/prometheus chart of the in-cluster agent (exact version).",
    )

    log_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="How long Loki on the monitoring droplet keeps the cluster's logs (its compactor deletes "
        "older ones). The seed's ELK stack named none; 30 days matches the metrics retention.",
    )
    log_agent_chart_version: str = Field(
        default="1.2.1",
        description="grafana/alloy chart of the in-cluster log agent (exact version; 1.2.1 ships Alloy v1.10.1).",
    )

    @field_validator("alert_emails")
    @classmethod
    def _emails(cls, value: list[str], info: ValidationInfo) -> list[str]:
        bad = [v for v in value if not _EMAIL.fullmatch(v)]
        if bad:
            raise ValueError(f"not e-mail addresses: {bad}")
        if len(set(value)) != len(value):
            raise ValueError("duplicate addresses")
        if environment_of(info) == "production" and not value:
            raise ValueError(
                "production needs at least one alert e-mail: DigitalOcean's alerts are the fallback "
                "when the monitoring droplet itself is down"
            )
        return value

    @field_validator("slack_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not _SLACK_CHANNEL.fullmatch(value):
            raise ValueError("must be a Slack channel name such as #alerts")
        return value

    @field_validator("uptime_regions")
    @classmethod
    def _regions(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("duplicate regions")
        minimum = 2 if environment_of(info) == "production" else 1
        if len(value) < minimum:
            raise ValueError(
                f"needs at least {minimum} region(s): one probe location cannot tell our outage from its own"
            )
        return value

    @field_validator("agent_chart_version", "log_agent_chart_version")
    @classmethod
    def _exact(cls, value: str) -> str:
        if not _CHART_VERSION.fullmatch(value):
            raise ValueError("must be an exact chart version such as 27.19.0 (no ranges, no 'latest')")
        return value
