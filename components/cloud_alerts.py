"""DigitalOcean-native alerts: the second line of alerting.

Prometheus and Alertmanager run on one droplet; if it dies, nothing they watch can alert. These
alerts are evaluated by DigitalOcean itself: utilisation of the monitoring droplet and of the
managed databases, plus an uptime check of the public API's health endpoint (down, latency,
certificate expiry). The cluster's nodes are watched by Prometheus (KubeNodeNotReady,
ContainerFilesystemFilling); the uptime check notices when the cluster as a whole stops serving.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do

# metric -> (droplet alert type, database alert type)
_UTILISATION: Mapping[str, tuple[str, str]] = {
    "cpu": ("v1/insights/droplet/cpu", "v1/dbaas/alerts/cpu_alerts"),
    "memory": ("v1/insights/droplet/memory_utilization_percent", "v1/dbaas/alerts/memory_utilization_alerts"),
    "disk": ("v1/insights/droplet/disk_utilization_percent", "v1/dbaas/alerts/disk_utilization_alerts"),
}


@dataclass(frozen=True)
class AlertThresholds:
    cpu_percent: int
    memory_percent: int
    disk_percent: int

    def of(self, metric: str) -> int:
        return {"cpu": self.cpu_percent, "memory": self.memory_percent, "disk": self.disk_percent}[metric]


@dataclass(frozen=True)
class CloudAlertsArgs:
    name_prefix: str
    """Prefix of every alert's description, e.g. ``niche-discovery-staging``."""
    monitoring_droplet_id: pulumi.Input[str]
    databases: Mapping[str, pulumi.Input[str]]
    """Database cluster ids keyed by a stable name (``postgres``, ``valkey``)."""
    api_health_url: str
    """https URL of the public API's health endpoint (the uptime check's target)."""
    droplet_thresholds: AlertThresholds
    database_thresholds: AlertThresholds
    window: str
    """Averaging window of the monitor alerts: 5m, 10m, 30m or 1h."""
    emails: Sequence[str] = ()
    """Default: no e-mail notification."""
    slack_channel: str | None = None
    """Default: no Slack notification. Needs ``slack_webhook_url``."""
    slack_webhook_url: pulumi.Input[str] | None = None
    """Secret incoming-webhook URL (the chat receiver's)."""
    uptime_regions: Sequence[str] = ("us_east", "eu_west")
    uptime_latency_ms: int = 2000
    certificate_expiry_days: int = 14


class CloudAlerts(pulumi.ComponentResource):
    """Monitor alerts on the droplet, the cluster nodes and the databases; an uptime check of the API.

    With no e-mail and no Slack channel configured, only the uptime check is created (visible in the
    control panel): an alert policy with nowhere to notify is noise in the account.
    """

    uptime_check_id: pulumi.Output[str]
    """Id of the API health uptime check."""

    def __init__(self, name: str, args: CloudAlertsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:monitoring:CloudAlerts", name, None, opts)
        if args.slack_channel and args.slack_webhook_url is None:
            raise ValueError("slack_channel needs slack_webhook_url")
        if not args.api_health_url.startswith("https://"):
            raise ValueError(f"api_health_url must be https (certificate expiry is checked): {args.api_health_url}")
        notify = bool(args.emails or args.slack_channel)
        # The Slack URL is a credential: keep it secret in state (inputs of these resources).
        slack_url: pulumi.Output[str] | None = (
            pulumi.Output.secret(args.slack_webhook_url)
            if args.slack_channel and args.slack_webhook_url is not None
            else None
        )

        check = do.UptimeCheck(
            f"{name}-api-health",
            name=f"{args.name_prefix} API health",
            target=args.api_health_url,
            type="https",
            regions=list(args.uptime_regions),
            enabled=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        if notify:
            self._alerts(name, args, check, slack_url)
        else:
            pulumi.log.warn(
                f"{name}: no alert e-mails or Slack channel configured: DigitalOcean-native alerts are not "
                "created (set observability.alertEmails)",
                resource=self,
            )
        self.uptime_check_id = check.id
        self.register_outputs({"uptime_check_id": self.uptime_check_id})

    def _alerts(
        self, name: str, args: CloudAlertsArgs, check: do.UptimeCheck, slack_url: pulumi.Output[str] | None
    ) -> None:
        def monitor_targets() -> do.MonitorAlertAlertsArgs:
            slacks = (
                [do.MonitorAlertAlertsSlackArgs(channel=args.slack_channel, url=slack_url)]
                if args.slack_channel and slack_url is not None
                else None
            )
            return do.MonitorAlertAlertsArgs(emails=list(args.emails) or None, slacks=slacks)

        def uptime_targets() -> list[do.UptimeAlertNotificationArgs]:
            slacks = (
                [do.UptimeAlertNotificationSlackArgs(channel=args.slack_channel, url=slack_url)]
                if args.slack_channel and slack_url is not None
                else None
            )
            return [do.UptimeAlertNotificationArgs(emails=list(args.emails) or None, slacks=slacks)]

        for metric, (droplet_type, database_type) in _UTILISATION.items():
            threshold = args.droplet_thresholds.of(metric)
            do.MonitorAlert(
                f"{name}-monitoring-{metric}",
                description=f"{args.name_prefix} monitoring droplet {metric} above {threshold}%",
                type=droplet_type,
                compare="GreaterThan",
                value=threshold,
                window=args.window,
                entities=[args.monitoring_droplet_id],
                alerts=monitor_targets(),
                enabled=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
            db_threshold = args.database_thresholds.of(metric)
            for db_name, db_id in sorted(args.databases.items()):
                do.MonitorAlert(
                    f"{name}-{db_name}-{metric}",
                    description=f"{args.name_prefix} {db_name} {metric} above {db_threshold}%",
                    type=database_type,
                    compare="GreaterThan",
                    value=db_threshold,
                    window=args.window,
                    entities=[db_id],
                    alerts=monitor_targets(),
                    enabled=True,
                    opts=pulumi.ResourceOptions(parent=self),
                )

        do.UptimeAlert(
            f"{name}-api-down",
            name=f"{args.name_prefix} API down",
            check_id=check.id,
            type="down",
            period="2m",
            notifications=uptime_targets(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        do.UptimeAlert(
            f"{name}-api-latency",
            name=f"{args.name_prefix} API health latency above {args.uptime_latency_ms} ms",
            check_id=check.id,
            type="latency",
            comparison="greater_than",
            threshold=args.uptime_latency_ms,
            period="5m",
            notifications=uptime_targets(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        do.UptimeAlert(
            f"{name}-api-certificate",
            name=f"{args.name_prefix} API certificate expires within {args.certificate_expiry_days} days",
            check_id=check.id,
            type="ssl_expiry",
            threshold=args.certificate_expiry_days,
            notifications=uptime_targets(),
            opts=pulumi.ResourceOptions(parent=self),
        )
