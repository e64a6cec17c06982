"""Alerting rules of the monitoring server: the seed's eight, corrected, plus platform rules.

Each rule file is one group, written to ``/etc/prometheus/rules/<group>.yml`` and checked by
``promtool check rules``; ``tests/observability/rules_test.yml`` unit-tests them with synthetic
series (``promtool test rules``).

Where the seed's expression was wrong, the rule keeps the seed's alert name and a comment next to
it says what was wrong. Job names (``managed-postgres``, ``kube-state-metrics`` ...) are the ones
the in-cluster agent gives its scrape jobs (``observability/agent.py``): series arrive here by
remote write with those labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .agent import (
    JOB_CADVISOR,
    JOB_KUBE_STATE_METRICS,
    JOB_KUBELET,
    JOB_POSTGRES,
    JOB_VALKEY,
    JOB_WORKERS,
)

BACKUP_CRONJOB_REGEX = ".*pg-backup.*"
"""CronJob names the backup alert watches (the DR issue's backup CronJob matches it)."""
BACKUP_MAX_AGE_SECONDS = 7200
"""No successful backup for this long pages: twice the seed's 1-hour RPO."""

# Filesystems that are not disks: their "free space" is RAM or a read-only image, never an alert.
_PSEUDO_FS = "tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|fuse.lxcfs|iso9660"


@dataclass(frozen=True)
class Rule:
    alert: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str
    extra_labels: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity, **self.extra_labels},
            "annotations": {"summary": self.summary, "description": self.description},
        }


# --- The seed's eight rules ("ALERTING RULES"), names kept -------------------------------------
SEED_RULES: tuple[Rule, ...] = (
    # Seed: rate(x{status=~"5.."}) / rate(x) matches series label-for-label, so each 5xx series
    # was divided by itself (ratio 1: any single 5xx fired it). Aggregate both sides first.
    Rule(
        "HighErrorRate",
        'sum by (job) (rate(http_requests_total{status=~"5.."}[5m]))\n'
        "  / sum by (job) (rate(http_requests_total[5m])) > 0.1",
        "5m",
        "critical",
        "High error rate detected on {{ $labels.job }}",
        "Error rate is {{ $value | humanizePercentage }} for the last 5 minutes",
    ),
    # Seed expression kept; grouped by job too so two services are not averaged into one.
    Rule(
        "HighResponseTime",
        "histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m]))) > 30",
        "5m",
        "warning",
        "High response time detected on {{ $labels.job }}",
        "95th percentile response time is {{ $value }}s",
    ),
    # Seed: same label-matching bug as HighErrorRate, inverted: every success series divided by
    # itself is 1, so the rule could never fire. Aggregate per platform first.
    Rule(
        "LowScrapingSuccessRate",
        'sum by (platform) (rate(scraping_requests_total{status="success"}[10m]))\n'
        "  / sum by (platform) (rate(scraping_requests_total[10m])) < 0.9",
        "10m",
        "warning",
        "Low scraping success rate for {{ $labels.platform }}",
        "Scraping success rate is {{ $value | humanizePercentage }} for {{ $labels.platform }}",
    ),
    Rule(
        "HighQueueBacklog",
        "celery_queue_length > 1000",
        "5m",
        "warning",
        "High queue backlog",
        "Queue {{ $labels.queue }} has {{ $value }} pending tasks",
    ),
    # Seed: pg_up comes from a postgres_exporter sidecar, which managed PostgreSQL does not have.
    # DigitalOcean's metrics endpoint is scraped instead; a failed scrape (endpoint down or the
    # database unreachable from the cluster) is the signal.
    Rule(
        "DatabaseConnectionFailure",
        f'up{{job="{JOB_POSTGRES}"}} == 0',
        "2m",
        "critical",
        "Database connection failure",
        "Unable to reach PostgreSQL {{ $labels.instance }} (its metrics endpoint does not answer the cluster)",
    ),
    # Seed: rate() is per second, so "< 10" compared niches/second with a per-hour target and
    # fired permanently. increase() over 1h is niches per hour; sum() adds up all workers.
    Rule(
        "LowDiscoveryRate",
        "sum(increase(niches_discovered_total[1h])) < 10",
        "30m",
        "warning",
        "Low niche discovery rate",
        "Only {{ $value | humanize }} niches discovered in the last hour (expected: >10/hour)",
    ),
    # Seed: rate() over 1h is restarts per second (5/s is 18,000/h): it never fired. increase()
    # counts restarts in the hour, which is what the description says.
    Rule(
        "PodRestartingFrequently",
        "increase(kube_pod_container_status_restarts_total[1h]) > 5",
        "10m",
        "warning",
        "Pod {{ $labels.pod }} restarting frequently",
        "Pod {{ $labels.pod }} in namespace {{ $labels.namespace }} has restarted {{ $value | humanize }} "
        "times in the last hour",
    ),
    # Seed: matched tmpfs/overlay/squashfs too (snap images are always 100% full, tmpfs is RAM),
    # and read-only filesystems that cannot fill.
    Rule(
        "LowDiskSpace",
        f'(node_filesystem_avail_bytes{{fstype!~"{_PSEUDO_FS}"}}\n'
        f'  / node_filesystem_size_bytes{{fstype!~"{_PSEUDO_FS}"}}) * 100 < 10\n'
        "and node_filesystem_readonly == 0",
        "5m",
        "critical",
        "Low disk space on {{ $labels.instance }}",
        "Disk usage is above 90% on {{ $labels.instance }} ({{ $labels.mountpoint }})",
    ),
)

CLUSTER_RULES: tuple[Rule, ...] = (
    Rule(
        "KubeNodeNotReady",
        f'kube_node_status_condition{{job="{JOB_KUBE_STATE_METRICS}",condition="Ready",status="true"}} == 0',
        "10m",
        "critical",
        "Node {{ $labels.node }} is not ready",
        "Node {{ $labels.node }} has not been Ready for 10 minutes; its pods are being evicted.",
    ),
    Rule(
        "KubePodCrashLooping",
        f'max_over_time(kube_pod_container_status_waiting_reason{{job="{JOB_KUBE_STATE_METRICS}",'
        'reason="CrashLoopBackOff"}[5m]) >= 1',
        "15m",
        "warning",
        "Pod {{ $labels.namespace }}/{{ $labels.pod }} is crash-looping",
        "Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} has been in "
        "CrashLoopBackOff for 15 minutes.",
    ),
    Rule(
        "KubePersistentVolumeFillingUp",
        f'kubelet_volume_stats_available_bytes{{job="{JOB_KUBELET}"}}\n'
        f'  / kubelet_volume_stats_capacity_bytes{{job="{JOB_KUBELET}"}} < 0.15',
        "5m",
        "warning",
        "PVC {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is filling up",
        "Only {{ $value | humanizePercentage }} of the volume is free.",
    ),
    Rule(
        "KubePersistentVolumeFull",
        f'kubelet_volume_stats_available_bytes{{job="{JOB_KUBELET}"}}\n'
        f'  / kubelet_volume_stats_capacity_bytes{{job="{JOB_KUBELET}"}} < 0.03',
        "1m",
        "critical",
        "PVC {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is full",
        "Only {{ $value | humanizePercentage }} of the volume is free: writes are about to fail.",
    ),
    Rule(
        "ContainerFilesystemFilling",
        f'sum by (instance) (container_fs_usage_bytes{{job="{JOB_CADVISOR}",id="/"}})\n'
        f'  / sum by (instance) (container_fs_limit_bytes{{job="{JOB_CADVISOR}",id="/"}}) > 0.85',
        "15m",
        "warning",
        "Node {{ $labels.instance }} disk is filling up",
        "The node's root filesystem is {{ $value | humanizePercentage }} full (images, logs, emptyDirs).",
    ),
    Rule(
        "CertificateExpiringSoon",
        "certmanager_certificate_expiration_timestamp_seconds - time() < 14 * 86400",
        "1h",
        "warning",
        "Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in under 14 days",
        "It expires in {{ $value | humanizeDuration }} and has not been renewed; check cert-manager.",
    ),
    Rule(
        "CertificateExpiryImminent",
        "certmanager_certificate_expiration_timestamp_seconds - time() < 3 * 86400",
        "10m",
        "critical",
        "Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in under 3 days",
        "It expires in {{ $value | humanizeDuration }}; clients will see TLS errors after that.",
    ),
)

# Metric names of DigitalOcean's managed-database endpoints (Telegraf's Prometheus output:
# ``<plugin>_<field>``). ``up`` of the scrape job is the one signal that does not depend on them.
DATA_RULES: tuple[Rule, ...] = (
    Rule(
        "CacheUnreachable",
        f'up{{job="{JOB_VALKEY}"}} == 0',
        "2m",
        "critical",
        "Valkey (Celery broker) unreachable",
        "The metrics endpoint of Valkey {{ $labels.instance }} does not answer the cluster: task queues "
        "and the cache are likely down.",
    ),
    Rule(
        "ManagedDatabaseDiskFilling",
        f'disk_used_percent{{job=~"{JOB_POSTGRES}|{JOB_VALKEY}"}} > 85',
        "10m",
        "warning",
        "Managed database {{ $labels.instance }} disk is {{ $value | humanize }}% full",
        "Resize the cluster's storage before it reaches 100% (the database turns read-only).",
    ),
    Rule(
        "ManagedDatabaseMemoryHigh",
        f'mem_used_percent{{job=~"{JOB_POSTGRES}|{JOB_VALKEY}"}} > 90',
        "15m",
        "warning",
        "Managed database {{ $labels.instance }} memory is {{ $value | humanize }}% used",
        "Sustained memory pressure: consider the next plan size.",
    ),
    Rule(
        "PostgresDeadlocks",
        f'increase(postgresql_deadlocks{{job="{JOB_POSTGRES}"}}[10m]) > 0',
        "0m",
        "warning",
        "Deadlocks in PostgreSQL database {{ $labels.db }}",
        "{{ $value | humanize }} deadlocks in 10 minutes.",
    ),
    # The broker runs with noeviction: at maxmemory Valkey refuses writes, so Celery can no longer
    # enqueue. Warn well before that.
    Rule(
        "CacheMemoryNearLimit",
        f'redis_used_memory{{job="{JOB_VALKEY}"}} / (redis_maxmemory{{job="{JOB_VALKEY}"}} > 0) > 0.85',
        "10m",
        "critical",
        "Valkey memory at {{ $value | humanizePercentage }} of maxmemory",
        "With noeviction the broker rejects writes when full: new tasks cannot be queued.",
    ),
    Rule(
        "CacheRejectedConnections",
        f'increase(redis_rejected_connections{{job="{JOB_VALKEY}"}}[10m]) > 0',
        "0m",
        "warning",
        "Valkey rejected client connections",
        "{{ $value | humanize }} connections rejected in 10 minutes (connection limit reached).",
    ),
)

BACKUP_RULES: tuple[Rule, ...] = (
    # kube-state-metrics exports last_successful_time only once a run succeeded, so a CronJob that
    # has never succeeded is caught by its age instead (the `unless` branch).
    Rule(
        "PostgresBackupMissing",
        f'time() - kube_cronjob_status_last_successful_time{{cronjob=~"{BACKUP_CRONJOB_REGEX}"}}'
        f" > {BACKUP_MAX_AGE_SECONDS}\n"
        f'or (time() - kube_cronjob_created{{cronjob=~"{BACKUP_CRONJOB_REGEX}"}} > {BACKUP_MAX_AGE_SECONDS})\n'
        "  unless on (namespace, cronjob)"
        f' kube_cronjob_status_last_successful_time{{cronjob=~"{BACKUP_CRONJOB_REGEX}"}}',
        "10m",
        "critical",
        "No successful PostgreSQL backup in 2 hours ({{ $labels.namespace }}/{{ $labels.cronjob }})",
        "The backup CronJob has not completed successfully for {{ $value | humanizeDuration }}. "
        "Runbook in docs/disaster-recovery.md; failed jobs are listed by "
        "kubectl get jobs -l app.kubernetes.io/name=pg-backup.",
    ),
)

MONITORING_RULES: tuple[Rule, ...] = (
    # Every cluster-side series arrives by remote write: when the agent (or the path to this host)
    # is broken, every other cluster rule goes silent. This one does not.
    Rule(
        "ClusterMetricsMissing",
        f'absent(up{{job="{JOB_KUBE_STATE_METRICS}"}} == 1)',
        "10m",
        "critical",
        "No metrics from the Kubernetes cluster",
        "Nothing has been remote-written by the in-cluster agent for 10 minutes: cluster and database "
        "alerts cannot fire. Check the metrics-agent pod in the monitoring namespace.",
    ),
    Rule(
        "MonitoringServiceDown",
        'up{job=~"prometheus|alertmanager|node|grafana"} == 0',
        "5m",
        "warning",
        "{{ $labels.job }} on the monitoring server is down",
        "{{ $labels.instance }} has not answered scrapes for 5 minutes.",
    ),
    Rule(
        "AlertmanagerNotificationsFailing",
        "rate(alertmanager_notifications_failed_total[15m]) > 0",
        "15m",
        "warning",
        "Alertmanager cannot deliver to {{ $labels.integration }}",
        "Notifications are failing; check the receiver URL secrets. DigitalOcean-native alerts are the "
        "fallback meanwhile.",
    ),
)


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str

    def as_dict(self) -> dict[str, Any]:
        return {"record": self.record, "expr": self.expr}


# The seed's "Active Workers" panel reads celery_workers_active, which no exporter publishes under
# that name. celery-exporter reports one celery_worker_up series per worker hostname (1 while its
# heartbeats arrive, 0 after); Flower serves its metrics only on its routed UI port, so it is not
# the source. Recorded under the seed's name so the panel (and any query written against the seed)
# works.
RECORDING_RULES: tuple[RecordingRule, ...] = (
    RecordingRule(
        "celery_workers_active",
        f'sum without (hostname, instance, pod, container) (celery_worker_up{{job="{JOB_WORKERS}"}})',
    ),
)
RECORDING_GROUP = "recording"


GROUPS: Mapping[str, tuple[Rule, ...]] = {
    "niche-discovery": SEED_RULES,
    "kubernetes": CLUSTER_RULES,
    "data": DATA_RULES,
    "backups": BACKUP_RULES,
    "monitoring": MONITORING_RULES,
}
"""Rule group name -> rules; each group is one file under /etc/prometheus/rules/."""


def render_rule_files() -> dict[str, str]:
    """``{file name: YAML}`` of every rule group, in a stable order."""
    groups: dict[str, list[dict[str, Any]]] = {RECORDING_GROUP: [r.as_dict() for r in RECORDING_RULES]}
    groups |= {name: [r.as_dict() for r in rules] for name, rules in GROUPS.items()}
    return {
        f"{name}.yml": yaml.safe_dump(
            {"groups": [{"name": name, "rules": rules}]},
            sort_keys=False,
            width=10_000,
        )
        for name, rules in groups.items()
    }


def all_alert_names() -> list[str]:
    return [r.alert for rules in GROUPS.values() for r in rules]
