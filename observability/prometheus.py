"""prometheus.yml and daemon flags of the monitoring server.

The seed's global settings (15 s scrape and evaluation) and its ``rule_files`` idea are kept.
The seed's Kubernetes scrape jobs moved to the in-cluster agent (``agent.py``): the droplet is
outside the cluster and outside the databases' firewalls, so here it scrapes only itself and
receives everything else by remote write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from .cloud_init import MonitoringHost

RULES_DIR = "/etc/prometheus/rules"
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
NODE_EXPORTER_PORT = 9100
GRAFANA_PORT = 3000


def render_prometheus_config(host: MonitoringHost) -> str:
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": "15s",
            "evaluation_interval": "15s",
            # Remote-written series carry the agent's own external labels (cluster, tenant,
            # environment); these label the droplet's own series the same way.
            "external_labels": {"tenant": host.tenant, "environment": host.environment},
        },
        "rule_files": [f"{RULES_DIR}/*.yml"],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"localhost:{ALERTMANAGER_PORT}"]}]}]},
        "scrape_configs": [
            {"job_name": "prometheus", "static_configs": [{"targets": [f"localhost:{PROMETHEUS_PORT}"]}]},
            {"job_name": "alertmanager", "static_configs": [{"targets": [f"localhost:{ALERTMANAGER_PORT}"]}]},
            {
                "job_name": "node",
                "static_configs": [
                    {"targets": [f"localhost:{NODE_EXPORTER_PORT}"], "labels": {"instance": f"{host.name}"}}
                ],
            },
            {"job_name": "grafana", "static_configs": [{"targets": [f"localhost:{GRAFANA_PORT}"]}]},
        ],
    }
    return yaml.safe_dump(config, sort_keys=False, width=10_000)


def prometheus_args(host: MonitoringHost, data_dir: str) -> str:
    """``/etc/default/prometheus`` (Debian/Ubuntu's unit runs ``prometheus $ARGS``)."""
    # Retention by size too: the volume filling up would stop ingestion altogether. 80% of the
    # volume leaves room for the WAL, Alertmanager and Grafana.
    size_gb = max(1, int(host.volume_size_gib * 0.8))
    flags = [
        f"--storage.tsdb.path={data_dir}/prometheus",
        f"--storage.tsdb.retention.time={host.retention_days}d",
        f"--storage.tsdb.retention.size={size_gb}GB",
        # The in-cluster agent pushes here; the cloud firewall admits only the VPC and the cluster.
        "--web.enable-remote-write-receiver",
    ]
    return f'ARGS="{" ".join(flags)}"\n'
