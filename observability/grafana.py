"""Grafana: provisioned Prometheus data source and dashboards (files, so they are versioned here).

Dashboards are provisioned from ``DASHBOARDS_DIR`` and are read-only in the UI (``allowUiUpdates``
off): a change is a pull request, not a click that the next droplet replacement loses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from .agent import JOB_CADVISOR, JOB_KUBE_STATE_METRICS, JOB_KUBELET, JOB_POSTGRES, JOB_VALKEY
from .loki import render_loki_datasource
from .tenants import TENANT_DASHBOARDS_DIR

DATASOURCE_UID = "prometheus"
DASHBOARDS_DIR = "/var/lib/grafana-dashboards"
"""Outside Grafana's data directory: the files come from user-data, the volume holds only state."""

_DATASOURCE = {"type": "prometheus", "uid": DATASOURCE_UID}


@dataclass(frozen=True)
class Panel:
    title: str
    type: str
    exprs: Sequence[tuple[str, str]]
    """(PromQL, legend) pairs."""
    grid: tuple[int, int, int, int]
    """(h, w, x, y)"""
    unit: str | None = None

    def as_dict(self, panel_id: int) -> dict[str, Any]:
        h, w, x, y = self.grid
        panel: dict[str, Any] = {
            "id": panel_id,
            "title": self.title,
            "type": self.type,
            "datasource": _DATASOURCE,
            "targets": [
                {"refId": chr(ord("A") + i), "datasource": _DATASOURCE, "expr": expr, "legendFormat": legend}
                for i, (expr, legend) in enumerate(self.exprs)
            ],
            "gridPos": {"h": h, "w": w, "x": x, "y": y},
        }
        defaults: dict[str, Any] = {"color": {"mode": "palette-classic"}}
        if self.unit:
            defaults["unit"] = self.unit
        panel["fieldConfig"] = {"defaults": defaults, "overrides": []}
        return panel


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    tags: Sequence[str]
    panels: Sequence[Panel]
    refresh: str = "30s"
    time_from: str = "now-1h"

    def as_dict(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "title": self.title,
            "tags": list(self.tags),
            "timezone": "browser",
            "schemaVersion": 39,
            "editable": False,
            "refresh": self.refresh,
            "time": {"from": self.time_from, "to": "now"},
            "templating": {"list": []},
            "panels": [p.as_dict(i) for i, p in enumerate(self.panels, start=1)],
        }


# The seed's "Niche Discovery Engine Overview": same six panels, ids, layout and units. Queries
# are the seed's except where they had the label-matching bug fixed in rules.py (scraping
# success rate) or summed per-pod series without aggregating them.
OVERVIEW = Dashboard(
    uid="niche-discovery-overview",
    title="Niche Discovery Engine Overview",
    tags=("niche-discovery", "overview"),
    panels=(
        Panel(
            "API Request Rate", "stat", [("sum(rate(http_requests_total[5m]))", "Requests/sec")], (8, 6, 0, 0), "reqps"
        ),
        Panel(
            "Response Time",
            "stat",
            [
                (
                    "histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket[5m])) by (le))",
                    "95th percentile",
                )
            ],
            (8, 6, 6, 0),
            "s",
        ),
        Panel("Active Workers", "stat", [("sum(celery_workers_active)", "Active Workers")], (8, 6, 12, 0)),
        Panel("Queue Length", "timeseries", [("max by (queue) (celery_queue_length)", "{{queue}}")], (8, 6, 18, 0)),
        Panel(
            "Niches Discovered",
            "timeseries",
            [("sum(increase(niches_discovered_total[1h]))", "Niches per hour")],
            (8, 12, 0, 8),
        ),
        Panel(
            "Scraping Success Rate",
            "timeseries",
            [
                (
                    'sum by (platform) (rate(scraping_requests_total{status="success"}[5m]))'
                    " / sum by (platform) (rate(scraping_requests_total[5m]))",
                    "{{platform}}",
                )
            ],
            (8, 12, 12, 8),
            "percentunit",
        ),
    ),
)

_KSM = f'job="{JOB_KUBE_STATE_METRICS}"'
CLUSTER = Dashboard(
    uid="cluster-overview",
    title="Kubernetes Cluster Overview",
    tags=("kubernetes", "overview"),
    panels=(
        Panel(
            "Nodes Ready",
            "stat",
            [(f'sum(kube_node_status_condition{{{_KSM},condition="Ready",status="true"}})', "ready")],
            (6, 6, 0, 0),
        ),
        Panel(
            "Pods Not Running",
            "stat",
            [(f'sum(kube_pod_status_phase{{{_KSM},phase=~"Pending|Failed|Unknown"}})', "pods")],
            (6, 6, 6, 0),
        ),
        Panel(
            "Container Restarts (1h)",
            "stat",
            [(f"sum(increase(kube_pod_container_status_restarts_total{{{_KSM}}}[1h]))", "restarts")],
            (6, 6, 12, 0),
        ),
        Panel(
            "Crash-looping Containers",
            "stat",
            [(f'sum(kube_pod_container_status_waiting_reason{{{_KSM},reason="CrashLoopBackOff"}})', "containers")],
            (6, 6, 18, 0),
        ),
        Panel(
            "CPU by Namespace",
            "timeseries",
            [
                (
                    "sum by (namespace) "
                    f'(rate(container_cpu_usage_seconds_total{{job="{JOB_CADVISOR}",container!=""}}[5m]))',
                    "{{namespace}}",
                )
            ],
            (8, 12, 0, 6),
            "cores",
        ),
        Panel(
            "Memory by Namespace",
            "timeseries",
            [
                (
                    f'sum by (namespace) (container_memory_working_set_bytes{{job="{JOB_CADVISOR}",container!=""}})',
                    "{{namespace}}",
                )
            ],
            (8, 12, 12, 6),
            "bytes",
        ),
        Panel(
            "PVC Usage",
            "timeseries",
            [
                (
                    f'1 - kubelet_volume_stats_available_bytes{{job="{JOB_KUBELET}"}}'
                    f' / kubelet_volume_stats_capacity_bytes{{job="{JOB_KUBELET}"}}',
                    "{{namespace}}/{{persistentvolumeclaim}}",
                )
            ],
            (8, 12, 0, 14),
            "percentunit",
        ),
        Panel(
            "Node Disk Usage",
            "timeseries",
            [
                (
                    f'sum by (instance) (container_fs_usage_bytes{{job="{JOB_CADVISOR}",id="/"}})'
                    f' / sum by (instance) (container_fs_limit_bytes{{job="{JOB_CADVISOR}",id="/"}})',
                    "{{instance}}",
                )
            ],
            (8, 12, 12, 14),
            "percentunit",
        ),
    ),
)

_DB = f'job=~"{JOB_POSTGRES}|{JOB_VALKEY}"'
DATABASES = Dashboard(
    uid="databases-overview",
    title="Managed Databases Overview",
    tags=("databases", "overview"),
    panels=(
        Panel("Endpoints Up", "stat", [(f"up{{{_DB}}}", "{{job}} {{instance}}")], (6, 8, 0, 0)),
        Panel(
            "CPU Used",
            "timeseries",
            [(f'100 - cpu_usage_idle{{{_DB},cpu="cpu-total"}}', "{{job}} {{instance}}")],
            (6, 8, 8, 0),
            "percent",
        ),
        Panel(
            "Memory Used",
            "timeseries",
            [(f"mem_used_percent{{{_DB}}}", "{{job}} {{instance}}")],
            (6, 8, 16, 0),
            "percent",
        ),
        Panel(
            "Disk Used",
            "timeseries",
            [(f"disk_used_percent{{{_DB}}}", "{{job}} {{instance}}")],
            (8, 8, 0, 6),
            "percent",
        ),
        Panel(
            "PostgreSQL Connections",
            "timeseries",
            [(f'sum by (db) (postgresql_numbackends{{job="{JOB_POSTGRES}"}})', "{{db}}")],
            (8, 8, 8, 6),
        ),
        Panel(
            "PostgreSQL Transactions",
            "timeseries",
            [
                (f'sum(rate(postgresql_xact_commit{{job="{JOB_POSTGRES}"}}[5m]))', "commits/s"),
                (f'sum(rate(postgresql_xact_rollback{{job="{JOB_POSTGRES}"}}[5m]))', "rollbacks/s"),
            ],
            (8, 8, 16, 6),
            "ops",
        ),
        Panel(
            "Valkey Memory vs maxmemory",
            "timeseries",
            [
                (
                    f'redis_used_memory{{job="{JOB_VALKEY}"}} / (redis_maxmemory{{job="{JOB_VALKEY}"}} > 0)',
                    "{{instance}}",
                )
            ],
            (8, 8, 0, 14),
            "percentunit",
        ),
        Panel(
            "Valkey Clients",
            "timeseries",
            [(f'redis_clients{{job="{JOB_VALKEY}"}}', "{{instance}}")],
            (8, 8, 8, 14),
        ),
        Panel(
            "Valkey Commands",
            "timeseries",
            [(f'rate(redis_total_commands_processed{{job="{JOB_VALKEY}"}}[5m])', "{{instance}}")],
            (8, 8, 16, 14),
            "ops",
        ),
    ),
)

DASHBOARDS: tuple[Dashboard, ...] = (OVERVIEW, CLUSTER, DATABASES)


def render_dashboards() -> dict[str, str]:
    """``{file name: JSON}`` of every dashboard."""
    return {f"{d.uid}.json": json.dumps(d.as_dict(), indent=2, sort_keys=True) + "\n" for d in DASHBOARDS}


def render_datasources(prometheus_url: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": 1,
            "datasources": [
                {
                    "name": "Prometheus",
                    "uid": DATASOURCE_UID,
                    "type": "prometheus",
                    "access": "proxy",
                    "url": prometheus_url,
                    "isDefault": True,
                    "editable": False,
                },
                # Central logs (observability/loki.py): search them under Explore -> Loki.
                render_loki_datasource(),
            ],
        },
        sort_keys=False,
    )


def render_dashboard_provider(with_tenants: bool = False) -> str:
    """File providers: the platform's dashboards, and (with tenants) one folder per tenant."""
    providers: list[dict[str, Any]] = [
        {
            "name": "platform",
            "folder": "Platform",
            "type": "file",
            "disableDeletion": True,
            "allowUiUpdates": False,
            "updateIntervalSeconds": 60,
            "options": {"path": DASHBOARDS_DIR},
        }
    ]
    if with_tenants:
        # foldersFromFilesStructure: each <name>/ directory becomes a Grafana folder named after the
        # tenant (Grafana refuses `folder` with it). A directory outside DASHBOARDS_DIR: see
        # TENANT_DASHBOARDS_DIR for why not a subdirectory.
        providers.append(
            {
                "name": "tenants",
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": TENANT_DASHBOARDS_DIR, "foldersFromFilesStructure": True},
            }
        )
    return yaml.safe_dump({"apiVersion": 1, "providers": providers}, sort_keys=False)


def render_grafana_ini(data_dir: str, admin_password: str, port: int) -> str:
    # admin_password only seeds a brand-new database; the install script resets it on every boot
    # so rotating the secret (which replaces the droplet, keeping the volume) takes effect.
    return (
        f"[paths]\ndata = {data_dir}/grafana\nprovisioning = /etc/grafana/provisioning\n\n"
        f"[server]\nhttp_port = {port}\n\n"
        f"[security]\nadmin_user = admin\nadmin_password = {admin_password}\n"
        "disable_gravatar = true\ncookie_samesite = strict\n\n"
        "[users]\nallow_sign_up = false\n\n"
        "[auth.anonymous]\nenabled = false\n\n"
        "[analytics]\nreporting_enabled = false\ncheck_for_updates = false\n"
    )
