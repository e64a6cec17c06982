"""alertmanager.yml: critical alerts page, warnings go to chat."""

from __future__ import annotations

from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from .cloud_init import MonitoringSecrets


def render_alertmanager_config(secrets: MonitoringSecrets) -> str:
    config = {
        "route": {
            "receiver": "chat",
            "group_by": ["alertname", "namespace"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [{"receiver": "paging", "matchers": ['severity="critical"'], "repeat_interval": "1h"}],
        },
        "receivers": [
            {"name": "paging", "webhook_configs": [{"url": secrets.paging_webhook_url, "send_resolved": True}]},
            {"name": "chat", "webhook_configs": [{"url": secrets.chat_webhook_url, "send_resolved": True}]},
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)
