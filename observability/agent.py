"""prometheus.yml of the in-cluster metrics agent (Prometheus in agent mode).

The agent scrapes inside the cluster and remote-writes everything to the monitoring droplet's
Prometheus over the VPC. It stores nothing long-term (agent mode keeps only a WAL), evaluates no
rules: alerting happens on the droplet, so the job names below are a contract with
``observability/rules.py`` and the dashboards.

Credentials never appear in this file: the database metrics password is read from a mounted
Secret (``password_file``), so the rendered config is plain data and can live in a ConfigMap and a
golden file.

The EKS cluster's agent (components/eks_metrics_agent.py) renders the same config with no database
jobs (the AWS tenants' RDS/ElastiCache have no DigitalOcean metrics endpoint) and a ``RemoteWriteAuth``:
its remote write crosses the internet to the droplet's nginx endpoint (observability/remote_write_proxy.py),
so it sends basic auth from a mounted Secret file and verifies the server against the pinned private CA
(``tls_config.ca_file``), not the system trust store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml

JOB_API_SERVER = "kubernetes-apiservers"
JOB_API = "api-service"
JOB_WORKERS = "worker-metrics"
JOB_SCRAPERS = "scrapers"
JOB_PODS = "kubernetes-pods"
JOB_KUBE_STATE_METRICS = "kube-state-metrics"
JOB_KUBELET = "kubelet"
JOB_CADVISOR = "cadvisor"
JOB_POSTGRES = "managed-postgres"
JOB_VALKEY = "managed-valkey"

SECRETS_DIR = "/etc/secrets/db-metrics"
"""Mount path of the Secret holding the database metrics credentials and CA certificates."""
PASSWORD_FILE = "password"  # noqa: S105 - a file name in the mounted Secret
POSTGRES_CA_FILE = "postgres-ca.crt"
VALKEY_CA_FILE = "valkey-ca.crt"
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
REMOTE_WRITE_SECRETS_DIR = "/etc/secrets/remote-write"
"""Mount path of the Secret holding the remote-write password and the CA it pins (EKS agent)."""
REMOTE_WRITE_PASSWORD_FILE = "password"  # noqa: S105 - a file name in the mounted Secret
REMOTE_WRITE_CA_FILE = "ca.crt"
SCRAPE_INTERVAL = "15s"
"""The seed's cluster-wide interval (``global.scrape_interval``)."""
DATABASE_SCRAPE_INTERVAL = "30s"
"""The seed's database exporters' interval."""
DATABASE_METRICS_PORT = 9273

_API_SERVER = "kubernetes.default.svc:443"

METRICS_PORT_NAME = "metrics"
"""Container port name every application service serves its metrics on (never its public port)."""
NAME_LABEL_META = "__meta_kubernetes_pod_label_app_kubernetes_io_name"
"""``app.kubernetes.io/name`` of the pod, as Kubernetes service discovery exposes it."""


@dataclass(frozen=True)
class ApplicationJob:
    """A scrape job over the application pods whose ``app.kubernetes.io/name`` matches ``names``."""

    job: str
    names: str
    """Anchored regular expression over ``app.kubernetes.io/name``."""
    interval: str | None
    """Default (None): the global 15 s."""
    rename_labels: tuple[tuple[str, str], ...] = ()
    """(exporter label, label the rules use) pairs, applied to every sample."""


APPLICATION_JOBS: tuple[ApplicationJob, ...] = (
    # Seed: `api-service` every 10 s.
    ApplicationJob(JOB_API, "api-service", "10s"),
    # Seed: `worker-metrics` (Flower) every 30 s. Flower 2.x exports no queue lengths and serves its
    # metrics only on its UI port, so the Celery series come from celery-exporter (celery_queue_length
    # {queue_name}, renamed to the `queue` label the seed's alert and panel use; celery_worker_up),
    # plus the workers' own metrics port (application counters such as niches_discovered_total).
    # Flower stays selected: given a port named `metrics`, it is scraped too.
    ApplicationJob(JOB_WORKERS, "flower|celery-exporter|worker-.+", "30s", (("queue_name", "queue"),)),
    # Seed: `scrapers`, at the global interval; selected by name instead of the seed's app=scraper label.
    ApplicationJob(JOB_SCRAPERS, ".+-scraper", None),
)
"""The seed's application jobs. Targets are discovered, never listed: a pod is scraped on its
container port named ``metrics`` (separate from the public port, which the edge routes)."""


@dataclass(frozen=True)
class DatabaseTarget:
    """One managed-database metrics endpoint as the agent scrapes it."""

    address: str
    """host:port dialled (the cluster's private-network hostname)."""
    server_name: str
    """Name the TLS certificate is checked against (the hostname DigitalOcean reports)."""


def private_metrics_targets(endpoints: Sequence[str]) -> list[DatabaseTarget]:
    """Map DigitalOcean's reported metrics endpoints to their private-network twins.

    DigitalOcean reports each node's endpoint under its public hostname (``host:9273`` or
    ``https://host:9273/metrics``). Every managed-database hostname has a ``private-`` twin that
    resolves to the node's VPC address; scraping that keeps the traffic inside the VPC, where the
    agent's NetworkPolicy admits it. The certificate is still verified against the reported name.
    """
    targets = []
    for endpoint in endpoints:
        parsed = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        host = parsed.hostname or ""
        if not host:
            raise ValueError(f"unparseable database metrics endpoint {endpoint!r}")
        port = parsed.port or DATABASE_METRICS_PORT
        private = host if host.startswith("private-") else f"private-{host}"
        targets.append(DatabaseTarget(address=f"{private}:{port}", server_name=host.removeprefix("private-")))
    return sorted(set(targets), key=lambda t: t.address)


@dataclass(frozen=True)
class RemoteWriteAuth:
    """How an agent outside the droplet's VPC authenticates its remote write (the EKS agent)."""

    username: str
    """Basic-auth user (observability/remote_write_proxy.py ``REMOTE_WRITE_USER``)."""
    secrets_dir: str = REMOTE_WRITE_SECRETS_DIR
    """Where the Secret with ``password`` and ``ca.crt`` is mounted. Default: REMOTE_WRITE_SECRETS_DIR."""


@dataclass(frozen=True)
class AgentSettings:
    remote_write_url: str
    """http://<droplet private IP>:9090/api/v1/write"""
    cluster: str
    """Value of the ``cluster`` external label (the DOKS cluster name)."""
    tenant: str
    environment: str
    metrics_username: str = ""
    """DigitalOcean's account-wide database metrics user (not secret; its password is). Default: none
    (no database targets)."""
    postgres_targets: Sequence[DatabaseTarget] = ()
    """Default: no PostgreSQL job (the EKS agent)."""
    valkey_targets: Sequence[DatabaseTarget] = ()
    """Default: no Valkey job (the EKS agent)."""
    scrape_interval: str = SCRAPE_INTERVAL
    remote_write_auth: RemoteWriteAuth | None = None
    """Basic auth + pinned CA for remote write over the internet. Default: none (plain HTTP inside the VPC)."""


def _api_proxy_job(job: str, path_suffix: str) -> dict[str, Any]:
    """Kubelet endpoints reached through the API server proxy.

    Going through the API server means the agent needs egress to the API server only (not to
    every node's 10250), and no kubelet client certificate.
    """
    return {
        "job_name": job,
        "scheme": "https",
        "kubernetes_sd_configs": [{"role": "node"}],
        "tls_config": {"ca_file": f"{SERVICE_ACCOUNT_DIR}/ca.crt"},
        "authorization": {"credentials_file": f"{SERVICE_ACCOUNT_DIR}/token"},
        "relabel_configs": [
            {"action": "labelmap", "regex": "__meta_kubernetes_node_label_(.+)"},
            {"target_label": "__address__", "replacement": _API_SERVER},
            {
                "source_labels": ["__meta_kubernetes_node_name"],
                "regex": "(.+)",
                "target_label": "__metrics_path__",
                "replacement": f"/api/v1/nodes/${{1}}/proxy/metrics{path_suffix}",
            },
            {"source_labels": ["__meta_kubernetes_node_name"], "target_label": "instance"},
        ],
    }


def _api_server_job() -> dict[str, Any]:
    """The seed's ``kubernetes-apiservers`` job: the ``kubernetes`` Service's https endpoints."""
    return {
        "job_name": JOB_API_SERVER,
        "scheme": "https",
        "kubernetes_sd_configs": [{"role": "endpoints"}],
        "tls_config": {"ca_file": f"{SERVICE_ACCOUNT_DIR}/ca.crt"},
        "authorization": {"credentials_file": f"{SERVICE_ACCOUNT_DIR}/token"},
        "relabel_configs": [
            {
                "source_labels": [
                    "__meta_kubernetes_namespace",
                    "__meta_kubernetes_service_name",
                    "__meta_kubernetes_endpoint_port_name",
                ],
                "action": "keep",
                "regex": "default;kubernetes;https",
            }
        ],
    }


def _application_job(spec: ApplicationJob) -> dict[str, Any]:
    job: dict[str, Any] = {
        "job_name": spec.job,
        "kubernetes_sd_configs": [{"role": "pod"}],
        "relabel_configs": [
            {"source_labels": [NAME_LABEL_META], "action": "keep", "regex": spec.names},
            # Role `pod` yields one target per container port: only the port named `metrics`.
            {
                "source_labels": ["__meta_kubernetes_pod_container_port_name"],
                "action": "keep",
                "regex": METRICS_PORT_NAME,
            },
            {
                "source_labels": ["__meta_kubernetes_pod_phase"],
                "action": "drop",
                "regex": "Pending|Succeeded|Failed",
            },
            {"source_labels": [NAME_LABEL_META], "target_label": "app"},
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
        ],
    }
    if spec.interval:
        job["scrape_interval"] = spec.interval
    if spec.rename_labels:
        job["metric_relabel_configs"] = [
            rule
            for source, target in spec.rename_labels
            for rule in (
                {"source_labels": [source], "regex": "(.+)", "target_label": target},
                {"action": "labeldrop", "regex": source},
            )
        ]
    return job


def _database_job(job: str, targets: Sequence[DatabaseTarget], username: str, ca_file: str) -> list[dict[str, Any]]:
    # One job per target: each has its own TLS server name. They share the job label, which is
    # what the rules and dashboards select on.
    return [
        {
            "job_name": f"{job}-{index}" if len(targets) > 1 else job,
            "scheme": "https",
            "scrape_interval": DATABASE_SCRAPE_INTERVAL,
            "basic_auth": {"username": username, "password_file": f"{SECRETS_DIR}/{PASSWORD_FILE}"},
            "tls_config": {"ca_file": f"{SECRETS_DIR}/{ca_file}", "server_name": target.server_name},
            "static_configs": [{"targets": [target.address], "labels": {"job": job}}],
        }
        for index, target in enumerate(targets)
    ]


def _remote_write(settings: AgentSettings) -> dict[str, Any]:
    target: dict[str, Any] = {
        "url": settings.remote_write_url,
        # Buffer through a droplet replacement (minutes) without dropping samples.
        "queue_config": {"max_samples_per_send": 2000, "max_backoff": "30s"},
    }
    auth = settings.remote_write_auth
    if auth is not None:
        if not settings.remote_write_url.startswith("https://"):
            raise ValueError(
                f"remote_write_url {settings.remote_write_url!r} is not https: a remote write with credentials "
                "must be TLS (use MonitoringServer.public_remote_write_url)"
            )
        target["basic_auth"] = {
            "username": auth.username,
            "password_file": f"{auth.secrets_dir}/{REMOTE_WRITE_PASSWORD_FILE}",
        }
        # Only the private CA: a certificate from any public CA for that IP must not be accepted.
        target["tls_config"] = {"ca_file": f"{auth.secrets_dir}/{REMOTE_WRITE_CA_FILE}"}
    return target


def render_agent_config(settings: AgentSettings) -> str:
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": settings.scrape_interval,
            "external_labels": {
                "cluster": settings.cluster,
                "tenant": settings.tenant,
                "environment": settings.environment,
            },
        },
        "remote_write": [_remote_write(settings)],
        "scrape_configs": [
            _api_server_job(),
            *(_application_job(spec) for spec in APPLICATION_JOBS),
            {
                # Pods opt in with prometheus.io/scrape: "true"; /path and /port override the defaults.
                "job_name": JOB_PODS,
                "kubernetes_sd_configs": [{"role": "pod"}],
                "relabel_configs": [
                    # Application pods belong to their seed job above; scraping them here as well
                    # would double every series (and every sum() over them).
                    {
                        "source_labels": [NAME_LABEL_META],
                        "action": "drop",
                        "regex": "|".join(f"(?:{spec.names})" for spec in APPLICATION_JOBS),
                    },
                    {
                        "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
                        "action": "keep",
                        "regex": "true",
                    },
                    {
                        "source_labels": ["__meta_kubernetes_pod_phase"],
                        "action": "drop",
                        "regex": "Pending|Succeeded|Failed",
                    },
                    {
                        "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
                        "action": "replace",
                        "target_label": "__metrics_path__",
                        "regex": "(.+)",
                    },
                    {
                        "source_labels": ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
                        "action": "replace",
                        "regex": "([^:]+)(?::\\d+)?;(\\d+)",
                        "replacement": "$1:$2",
                        "target_label": "__address__",
                    },
                    {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_(.+)"},
                    {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
                    {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
                    {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
                ],
            },
            {
                "job_name": JOB_KUBE_STATE_METRICS,
                # kube-state-metrics reports about other objects: its namespace/pod labels win.
                "honor_labels": True,
                "kubernetes_sd_configs": [{"role": "endpoints", "namespaces": {"own_namespace": True}}],
                "relabel_configs": [
                    {
                        "source_labels": ["__meta_kubernetes_service_label_app_kubernetes_io_name"],
                        "action": "keep",
                        "regex": "kube-state-metrics",
                    },
                    {
                        "source_labels": ["__meta_kubernetes_endpoint_port_name"],
                        "action": "keep",
                        "regex": "http",
                    },
                ],
            },
            _api_proxy_job(JOB_KUBELET, ""),
            _api_proxy_job(JOB_CADVISOR, "/cadvisor"),
            *_database_job(JOB_POSTGRES, settings.postgres_targets, settings.metrics_username, POSTGRES_CA_FILE),
            *_database_job(JOB_VALKEY, settings.valkey_targets, settings.metrics_username, VALKEY_CA_FILE),
        ],
    }
    return yaml.safe_dump(config, sort_keys=False, width=10_000)
