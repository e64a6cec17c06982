"""platform:observability: every validator fires on bad input and names the exact key."""

from __future__ import annotations

from typing import Any

import pytest

from stack_config import ConfigError, StackConfig, load
from stack_config.observability import ObservabilityConfig
from tests.harness import TEST_SECRETS, deep_merge, run, stack_file_config


def problems_for(stack: str, overrides: dict[str, Any]) -> ConfigError:
    base = {k.removeprefix("platform:"): v for k, v in stack_file_config(stack).items()}
    with pytest.raises(ConfigError) as info:
        run(load, stack=stack, config=deep_merge(base, overrides), secrets=TEST_SECRETS)
    return info.value


BAD = [
    ("staging", {"alertEmails": ["not-an-address"]}, "alertEmails", "not e-mail addresses"),
    ("staging", {"alertEmails": ["a@example.com", "a@example.com"]}, "alertEmails", "duplicate"),
    ("production", {"alertEmails": []}, "alertEmails", "at least one alert e-mail"),
    ("staging", {"slackChannel": "alerts"}, "slackChannel", "#alerts"),
    ("staging", {"uptimeRegions": ["us_east", "us_east"]}, "uptimeRegions", "duplicate"),
    ("staging", {"uptimeRegions": []}, "uptimeRegions", "at least 1"),
    ("production", {"uptimeRegions": ["us_east"]}, "uptimeRegions", "at least 2"),
    ("staging", {"uptimeRegions": ["mars"]}, "uptimeRegions.0", "us_east"),
    ("staging", {"droplet": {"diskPercent": 99}}, "droplet.diskPercent", "no time to act"),
    ("staging", {"database": {"memoryPercent": 30}}, "database.memoryPercent", "page cache"),
    ("staging", {"database": {"cpuPercent": 0}}, "database.cpuPercent", "greater than or equal to 1"),
    ("staging", {"window": "2m"}, "window", "5m"),
    ("staging", {"uptimeLatencyMs": 10}, "uptimeLatencyMs", "100"),
    ("staging", {"agentChartVersion": "27.x"}, "agentChartVersion", "exact chart version"),
    ("staging", {"logAgentChartVersion": "latest"}, "logAgentChartVersion", "exact chart version"),
    ("staging", {"logRetentionDays": 0}, "logRetentionDays", "greater than or equal to 1"),
    ("staging", {"alertEmail": ["a@example.com"]}, "alertEmail", "unknown key"),
]


@pytest.mark.parametrize(("stack", "override", "key", "phrase"), BAD, ids=[f"{b[2]}:{b[3]}" for b in BAD])
def test_bad_observability_config_is_refused_naming_the_key(
    stack: str, override: dict[str, Any], key: str, phrase: str
) -> None:
    error = problems_for(stack, {"observability": override})
    matching = [p for p in error.problems if p.key == f"platform:observability.{key}"]
    assert matching, [p.key for p in error.problems]
    assert phrase in matching[0].message


def test_defaults_are_valid_outside_production() -> None:
    config = ObservabilityConfig()
    assert config.uptime_regions == ["us_east", "eu_west"]
    assert config.agent_chart_version == "27.19.0"
    assert config.log_agent_chart_version == "1.2.1"
    assert config.log_retention_days == 30


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_committed_stacks_notify_someone(stack: str) -> None:
    raw = {k.removeprefix("platform:"): v for k, v in stack_file_config(stack).items()}
    config = StackConfig.model_validate(raw, context={"environment": stack})
    assert config.observability.alert_emails
