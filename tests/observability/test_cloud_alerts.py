"""CloudAlerts: DigitalOcean-native alerts on the droplet and the databases, an uptime check of
the API with down/latency/certificate alerts; the Slack webhook stays secret."""

from __future__ import annotations

import pytest

from components import AlertThresholds, CloudAlerts, CloudAlertsArgs
from tests.harness import TEST_SECRETS, StackRun, component_run

MONITOR = "digitalocean:index/monitorAlert:MonitorAlert"
UPTIME_CHECK = "digitalocean:index/uptimeCheck:UptimeCheck"
UPTIME_ALERT = "digitalocean:index/uptimeAlert:UptimeAlert"
SLACK_URL = TEST_SECRETS["alertChatWebhookUrl"]


def alerts(emails: tuple[str, ...] = ("ops@example.com",), slack: str | None = "#alerts") -> CloudAlerts:
    return CloudAlerts(
        "alerts",
        CloudAlertsArgs(
            name_prefix="niche-discovery-staging",
            monitoring_droplet_id="12345",
            databases={"postgres": "pg-1", "valkey": "valkey-1"},
            api_health_url="https://api.staging.nichediscovery.com/health",
            droplet_thresholds=AlertThresholds(cpu_percent=85, memory_percent=90, disk_percent=85),
            database_thresholds=AlertThresholds(cpu_percent=80, memory_percent=90, disk_percent=75),
            window="10m",
            emails=emails,
            slack_channel=slack,
            slack_webhook_url=SLACK_URL if slack else None,
        ),
    )


@pytest.fixture(scope="module")
def run() -> StackRun:
    return component_run(alerts)


def by_entity(run: StackRun) -> dict[tuple[str, str], dict]:
    return {(r.inputs["entities"][0], r.inputs["type"]): r.inputs for r in run.of_type(MONITOR)}


def test_droplet_cpu_memory_and_disk_are_watched(run: StackRun) -> None:
    monitors = by_entity(run)
    assert monitors[("12345", "v1/insights/droplet/cpu")]["value"] == 85
    assert monitors[("12345", "v1/insights/droplet/memory_utilization_percent")]["value"] == 90
    assert monitors[("12345", "v1/insights/droplet/disk_utilization_percent")]["value"] == 85


@pytest.mark.parametrize("database", ["pg-1", "valkey-1"])
def test_each_database_is_watched_with_dbaas_alert_types(run: StackRun, database: str) -> None:
    monitors = by_entity(run)
    assert monitors[(database, "v1/dbaas/alerts/cpu_alerts")]["value"] == 80
    assert monitors[(database, "v1/dbaas/alerts/memory_utilization_alerts")]["value"] == 90
    assert monitors[(database, "v1/dbaas/alerts/disk_utilization_alerts")]["value"] == 75


def test_monitor_alerts_compare_greater_than_over_the_window(run: StackRun) -> None:
    for monitor in run.of_type(MONITOR):
        assert monitor.inputs["compare"] == "GreaterThan"
        assert monitor.inputs["window"] == "10m"
        assert monitor.inputs["alerts"]["emails"] == ["ops@example.com"]


def test_uptime_check_probes_the_api_health_endpoint(run: StackRun) -> None:
    check = run.one(UPTIME_CHECK).inputs
    assert check["target"] == "https://api.staging.nichediscovery.com/health"
    assert check["type"] == "https"
    assert check["regions"] == ["us_east", "eu_west"]


def test_uptime_alerts_cover_down_latency_and_certificate_expiry(run: StackRun) -> None:
    by_type = {r.inputs["type"]: r.inputs for r in run.of_type(UPTIME_ALERT)}
    assert set(by_type) == {"down", "latency", "ssl_expiry"}
    assert by_type["latency"]["threshold"] == 2000
    assert by_type["latency"]["comparison"] == "greater_than"
    assert by_type["ssl_expiry"]["threshold"] == 14


def test_the_slack_webhook_is_a_secret_input_everywhere(run: StackRun) -> None:
    for resource in [*run.of_type(MONITOR), *run.of_type(UPTIME_ALERT)]:
        key = "alerts" if resource.type == MONITOR else "notifications"
        assert key in resource.secret_inputs, resource.name
        assert SLACK_URL in str(resource.inputs[key])


def test_without_anyone_to_notify_only_the_uptime_check_exists() -> None:
    quiet = component_run(lambda: alerts(emails=(), slack=None))
    assert quiet.of_type(MONITOR) == []
    assert quiet.of_type(UPTIME_ALERT) == []
    assert len(quiet.of_type(UPTIME_CHECK)) == 1


def test_plain_http_health_url_is_refused() -> None:
    with pytest.raises(Exception, match="must be https"):
        component_run(
            lambda: CloudAlerts(
                "bad",
                CloudAlertsArgs(
                    name_prefix="p",
                    monitoring_droplet_id="1",
                    databases={},
                    api_health_url="http://api.example.com/health",
                    droplet_thresholds=AlertThresholds(85, 90, 85),
                    database_thresholds=AlertThresholds(85, 90, 85),
                    window="10m",
                ),
            )
        )


def test_each_stack_alerts_on_its_own_api(up_run: StackRun) -> None:
    target = up_run.one(UPTIME_CHECK).inputs["target"]
    expected = "api.staging.nichediscovery.com" if up_run.stack == "staging" else "api.nichediscovery.com"
    assert target == f"https://{expected}/health"
    assert len(up_run.of_type(MONITOR)) == 9
