"""prometheus.yml of the monitoring server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from .cloud_init import MonitoringHost, MonitoringSecrets


def render_prometheus_config(host: MonitoringHost, secrets: MonitoringSecrets) -> str:
    config: dict = {
        "global": {
            "scrape_interval": "15s",
            "evaluation_interval": "15s",
            "external_labels": {"tenant": host.tenant, "environment": host.environment},
        },
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": ["localhost:9093"]}]}]},
        "scrape_configs": [
            {"job_name": "prometheus", "static_configs": [{"targets": ["localhost:9090"]}]},
            {"job_name": "node", "static_configs": [{"targets": ["localhost:9100"]}]},
            {"job_name": "alertmanager", "static_configs": [{"targets": ["localhost:9093"]}]},
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)
