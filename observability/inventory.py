"""Which scrape job produces which metric names: the declared exporter inventory.

Every alert rule and dashboard query must read metrics that some job of the pipeline (the in-cluster
agent's or the droplet's own) or a recording rule produces; ``tests/observability/test_metric_sources.py``
parses every expression with Prometheus's own PromQL parser (``tools/promql-selectors``) and checks
each selector against this inventory. An alert over a metric nobody exports never fires and nobody
notices: that is what the check exists for.

Each exporter names where its metric names come from (the exporter and the version the platform
runs, or the application contract the images must honour). Exact names where the set is small;
a prefix where an exporter publishes a family (kube-state-metrics' ``kube_*``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .agent import (
    JOB_API,
    JOB_API_SERVER,
    JOB_CADVISOR,
    JOB_KUBE_STATE_METRICS,
    JOB_KUBELET,
    JOB_PODS,
    JOB_POSTGRES,
    JOB_SCRAPERS,
    JOB_VALKEY,
    JOB_WORKERS,
)
from .rules import RECORDING_RULES

SCRAPE_SERIES = frozenset(
    {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling"}
)
"""Prometheus writes these for every target of every job, whatever the target exports."""


@dataclass(frozen=True)
class Exporter:
    source: str
    """Where the names come from: exporter and version, or the application contract."""
    metrics: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    def produces(self, metric: str) -> bool:
        return metric in self.metrics or metric.startswith(self.prefixes)


def _histogram(name: str) -> set[str]:
    return {f"{name}_bucket", f"{name}_sum", f"{name}_count"}


# Exporters behind the application jobs. The application contract: the seed's dashboards and alerts
# name these series; the images serve them on their container port named `metrics`.
API_CONTRACT = Exporter(
    "api-service image contract (seed 000 dashboards: request counter and latency histogram)",
    frozenset({"http_requests_total", *_histogram("http_request_duration_seconds")}),
    ("process_", "python_"),
)
FLOWER = Exporter(
    "flower 2.2.0 (flower/events.py PrometheusMetrics)",
    frozenset(
        {
            "flower_events_total",
            *_histogram("flower_task_runtime_seconds"),
            "flower_task_prefetch_time_seconds",
            "flower_worker_prefetched_tasks",
            "flower_worker_online",
            "flower_worker_number_of_currently_executing_tasks",
        }
    ),
)
CELERY_EXPORTER = Exporter(
    "danihodovic/celery-exporter (its README's metric table; queue_name relabelled to queue by the job)",
    frozenset(
        {
            "celery_queue_length",
            "celery_active_consumer_count",
            "celery_active_worker_count",
            "celery_active_process_count",
            "celery_worker_up",
            "celery_worker_tasks_active",
        }
    ),
    ("celery_task_",),
)
WORKER_CONTRACT = Exporter(
    "worker image contract (seed 000: niches discovered counter)", frozenset({"niches_discovered_total"})
)
SCRAPER_CONTRACT = Exporter(
    "scraper image contract (seed 000: requests by platform and status)", frozenset({"scraping_requests_total"})
)

DOC_SCRAPER_CONTRACT = Exporter(
    "doc-scraper images contract (seed 002 'Key Metrics to Monitor': its alerts and dashboard read them)",
    frozenset(
        {
            "scraper_jobs_total",
            "scraper_pages_scraped_total",
            "scraper_cache_hit_rate",
            "scraper_worker_queue_depth",
            *_histogram("scraper_request_duration_seconds"),
        }
    ),
)


INVENTORY: Mapping[str, Sequence[Exporter]] = {
    # --- the in-cluster agent (observability/agent.py) ----------------------------------------
    JOB_API_SERVER: (
        Exporter(
            "kube-apiserver (DOKS control plane)",
            prefixes=("apiserver_", "etcd_", "rest_client_", "workqueue_", "process_", "go_"),
        ),
    ),
    JOB_API: (API_CONTRACT,),
    JOB_WORKERS: (FLOWER, CELERY_EXPORTER, WORKER_CONTRACT),
    JOB_SCRAPERS: (SCRAPER_CONTRACT,),
    JOB_PODS: (
        Exporter("cert-manager v1.21 controller (prometheus.io annotations, port 9402)", prefixes=("certmanager_",)),
        # Tenants' pods (platform:tenants) match no seed application job: a workload with a metricsPort
        # carries prometheus.io/* annotations (components/workload.py), so they are scraped here.
        DOC_SCRAPER_CONTRACT,
    ),
    JOB_KUBE_STATE_METRICS: (
        Exporter("kube-state-metrics (subchart of prometheus-community/prometheus 27.19.0)", prefixes=("kube_",)),
    ),
    JOB_KUBELET: (Exporter("kubelet /metrics (DOKS 1.33)", prefixes=("kubelet_", "volume_manager_")),),
    JOB_CADVISOR: (Exporter("cAdvisor in the kubelet (/metrics/cadvisor)", prefixes=("container_", "machine_")),),
    JOB_POSTGRES: (
        Exporter(
            "DigitalOcean managed PostgreSQL metrics endpoint (Telegraf: <plugin>_<field>)",
            prefixes=("postgresql_", "cpu_", "mem_", "disk_", "diskio_", "net_", "system_"),
        ),
    ),
    JOB_VALKEY: (
        Exporter(
            "DigitalOcean managed Valkey metrics endpoint (Telegraf: <plugin>_<field>)",
            prefixes=("redis_", "cpu_", "mem_", "disk_", "diskio_", "net_", "system_"),
        ),
    ),
    # --- the droplet's own jobs (observability/prometheus.py) ---------------------------------
    "prometheus": (
        Exporter("Prometheus (Ubuntu package)", prefixes=("prometheus_", "go_", "process_", "net_conntrack_")),
    ),
    "alertmanager": (Exporter("Alertmanager (Ubuntu package)", prefixes=("alertmanager_", "go_", "process_")),),
    "node": (Exporter("prometheus-node-exporter (Ubuntu package)", prefixes=("node_", "go_", "process_")),),
    "grafana": (Exporter("Grafana OSS (apt.grafana.com)", prefixes=("grafana_", "go_", "process_")),),
}
"""Job name -> exporters behind it."""

RECORDED = frozenset(r.record for r in RECORDING_RULES)


@dataclass(frozen=True)
class Matcher:
    name: str
    type: str
    """``=``, ``!=``, ``=~`` or ``!~`` (the parser's spelling)."""
    value: str


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: tuple[Matcher, ...]


def _jobs_selected(matchers: Iterable[Matcher], jobs: Iterable[str]) -> list[str]:
    """Jobs a selector's ``job`` matchers admit (PromQL regexes are fully anchored)."""
    selected = list(jobs)
    for m in matchers:
        if m.name != "job":
            continue
        if m.type == "=":
            selected = [j for j in selected if j == m.value]
        elif m.type == "!=":
            selected = [j for j in selected if j != m.value]
        elif m.type == "=~":
            selected = [j for j in selected if re.fullmatch(m.value, j)]
        elif m.type == "!~":
            selected = [j for j in selected if not re.fullmatch(m.value, j)]
    return selected


def missing_source(
    selector: Selector,
    inventory: Mapping[str, Sequence[Exporter]] = INVENTORY,
    recorded: frozenset[str] = RECORDED,
) -> str | None:
    """Why no job or recording rule produces ``selector``; None when one does."""
    jobs = _jobs_selected(selector.matchers, inventory)
    named = [m for m in selector.matchers if m.name == "job"]
    if named and not jobs:
        wanted = ", ".join(f"job{m.type}{m.value!r}" for m in named)
        return f"{selector.metric}: {wanted} selects no scrape job (jobs: {sorted(inventory)})"
    if selector.metric in recorded:
        return None
    if selector.metric in SCRAPE_SERIES:
        return None
    if any(exporter.produces(selector.metric) for job in jobs for exporter in inventory[job]):
        return None
    where = f"jobs {jobs}" if named else "any scrape job or recording rule"
    return f"{selector.metric}: not produced by {where}"
