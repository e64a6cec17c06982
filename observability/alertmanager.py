"""alertmanager.yml: critical alerts page (and are posted to chat), warnings go to chat.

A tenant with a receiver of its own (catalog ``alertReceiver``, observability/tenants.py) gets a route
matching ``tenant="<name>"`` ahead of the platform's, with ``continue``: its alerts reach its webhook AND
still page/chat the platform team, who run the cluster, database and queues those alerts often come from.
Other tenants' alerts never match it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from .tenants import TENANT_LABEL

if TYPE_CHECKING:
    from .cloud_init import MonitoringSecrets

_CHAT_TITLE = (
    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] '
    "{{ .CommonLabels.alertname }}"
)
_CHAT_TEXT = (
    "{{ range .Alerts }}*{{ .Labels.severity }}* {{ .Annotations.summary }}\n{{ .Annotations.description }}\n{{ end }}"
)


def tenant_receiver_name(tenant: str) -> str:
    return f"tenant-{tenant}"


def render_alertmanager_config(secrets: MonitoringSecrets, environment: str) -> str:
    """The routing tree and receivers; the receiver URLs are secrets (this text must stay secret)."""
    tenant_routes = [
        {
            "receiver": tenant_receiver_name(tenant),
            "matchers": [f'{TENANT_LABEL}="{tenant}"'],
            "group_by": ["alertname", TENANT_LABEL],
            # continue: the platform's routes below still see it (paging for critical, chat).
            "continue": True,
        }
        for tenant in secrets.tenant_webhook_urls
    ]
    tenant_receivers = [
        {
            # A generic Alertmanager webhook, like the platform's paging receiver.
            "name": tenant_receiver_name(tenant),
            "webhook_configs": [{"url": url, "send_resolved": True}],
        }
        for tenant, url in secrets.tenant_webhook_urls.items()
    ]
    config: dict[str, Any] = {
        "route": {
            "receiver": "chat",
            "group_by": ["alertname", "namespace", "job"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                *tenant_routes,
                # continue: a page is also posted to chat, so the team sees what is being handled.
                {"receiver": "paging", "matchers": ['severity="critical"'], "repeat_interval": "1h", "continue": True},
                {"receiver": "chat", "matchers": ['severity=~"critical|warning"']},
            ],
        },
        # A critical alert silences the warning about the same thing (e.g. disk 97% vs 85%).
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["namespace", "instance", "persistentvolumeclaim", "name"],
            }
        ],
        "receivers": [
            {
                # A generic Alertmanager webhook (Opsgenie, Grafana OnCall, PagerDuty's Alertmanager
                # integration URL all accept this payload).
                "name": "paging",
                "webhook_configs": [{"url": secrets.paging_webhook_url, "send_resolved": True}],
            },
            {
                # Slack-compatible incoming webhook (Slack, Mattermost): they reject the raw
                # webhook payload, so this uses slack_configs.
                "name": "chat",
                "slack_configs": [
                    {
                        "api_url": secrets.chat_webhook_url,
                        "send_resolved": True,
                        "title": f"[{environment}] " + _CHAT_TITLE,
                        "text": _CHAT_TEXT,
                    }
                ],
            },
            *tenant_receivers,
        ],
    }
    return yaml.safe_dump(config, sort_keys=False, width=10_000)


def alertmanager_args(data_dir: str) -> str:
    """``/etc/default/prometheus-alertmanager``: data on the volume, no cluster gossip (one instance)."""
    return f'ARGS="--storage.path={data_dir}/alertmanager --cluster.listen-address="\n'
