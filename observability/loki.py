"""Central logs: Loki on the monitoring droplet (its config) and the in-cluster agent that ships
every pod's logs to it (Grafana Alloy's config).

Why Loki on the droplet rather than the seed's ELK or a managed OpenSearch: docs/observability.md,
"Central logs". In short: the droplet and its volume already exist (state survives droplet
replacement), Grafana is already there to search, and the push path is the one remote write uses
(VPC only, the cloud firewall admits the cluster alone), for no extra monthly cost.

Loki runs single-tenant (``auth_enabled: false``) with its index and chunks on the data volume,
and the compactor deletes what is older than the retention. Nothing here is secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

LOKI_PORT = 3100
LOKI_GRPC_PORT = 9096
"""Bound to localhost only (single binary: no other Loki talks to it)."""
LOKI_VERSION = "3.7.8"
"""The ``loki`` package from apt.grafana.com, pinned and held like Grafana; the tests verify this
config with the same Loki release built from its Go module (scripts/install-tools.sh)."""
LOKI_CONFIG = "/etc/loki/config.yml"
PUSH_PATH = "/loki/api/v1/push"
LOKI_DATASOURCE_UID = "loki"

STRUCTURED_FIELDS = ("logger", "module", "function", "request_id", "trace_id", "task_id", "task_name")
"""Fields of the seed's JSON log lines kept as structured metadata (searchable, not indexed)."""
LEVEL_FIELD = "level"
"""The one JSON field promoted to a label: few values, and what every search filters on first."""
STREAM_LABELS = ("namespace", "pod", "container", "app", "node")
"""Labels every stream carries (from Kubernetes discovery), plus the agent's external labels."""


@dataclass(frozen=True)
class LokiSettings:
    data_dir: str
    """Loki's state directory (on the data volume)."""
    retention_days: int


def render_loki_config(settings: LokiSettings) -> str:
    root = settings.data_dir
    config: dict[str, Any] = {
        # Single tenant: the cloud firewall (VPC and the cluster only) is the access control, exactly
        # as for Prometheus' remote-write receiver. Grafana reads it over localhost.
        "auth_enabled": False,
        "server": {
            "http_listen_port": LOKI_PORT,
            "grpc_listen_address": "127.0.0.1",
            "grpc_listen_port": LOKI_GRPC_PORT,
            "log_level": "info",
        },
        "common": {
            "instance_addr": "127.0.0.1",
            "path_prefix": root,
            "storage": {"filesystem": {"chunks_directory": f"{root}/chunks", "rules_directory": f"{root}/rules"}},
            "replication_factor": 1,
            "ring": {"kvstore": {"store": "inmemory"}},
        },
        "schema_config": {
            "configs": [
                {
                    "from": "2026-01-01",
                    "store": "tsdb",
                    "object_store": "filesystem",
                    "schema": "v13",
                    "index": {"prefix": "index_", "period": "24h"},
                }
            ]
        },
        # Retention is the compactor's job: without retention_enabled it only compacts, and the
        # volume fills until ingestion stops.
        "compactor": {
            "working_directory": f"{root}/compactor",
            "retention_enabled": True,
            "delete_request_store": "filesystem",
            "retention_delete_delay": "2h",
        },
        "limits_config": {
            "retention_period": f"{settings.retention_days * 24}h",
            # The agent sends JSON fields as structured metadata (needs schema v13 + tsdb).
            "allow_structured_metadata": True,
            "reject_old_samples": True,
            "reject_old_samples_max_age": "168h",
            "ingestion_rate_mb": 8,
            "ingestion_burst_size_mb": 16,
            "max_query_lookback": f"{settings.retention_days * 24}h",
        },
        "ruler": {"alertmanager_url": "http://localhost:9093"},
        "analytics": {"reporting_enabled": False},
    }
    return yaml.safe_dump(config, sort_keys=False, width=10_000)


@dataclass(frozen=True)
class LogAgentSettings:
    push_url: str
    """http://<droplet private IP>:3100/loki/api/v1/push"""
    cluster: str
    tenant: str
    environment: str
    auth: LogPushAuth | None = None
    """Basic auth and a pinned CA (the EKS agent, pushing over the internet to the droplet's nginx). Default:
    None, the DOKS agent's plain push over the VPC."""


@dataclass(frozen=True)
class LogPushAuth:
    """Credentials of a push through observability/remote_write_proxy.py, read from a mounted Secret's files:
    the password never appears in the rendered config (a ConfigMap)."""

    username: str
    password_file: str
    ca_file: str


def _labels(mapping: dict[str, str]) -> str:
    return "{ " + ", ".join(f'{k} = "{v}"' for k, v in mapping.items()) + " }"


def render_alloy_config(settings: LogAgentSettings) -> str:
    """Alloy configuration: every pod of every namespace, tailed through the Kubernetes API.

    ``loki.source.kubernetes`` reads container logs through the API server (the kubelet's log
    endpoint) instead of the node's /var/log: no hostPath, so the agent runs under Pod Security
    ``restricted`` like the metrics agent. One replica tails the whole cluster (fine at this size;
    clustering spreads targets when more replicas run).
    """
    fields = ", ".join(f'{f} = ""' for f in STRUCTURED_FIELDS)
    external = _labels({"cluster": settings.cluster, "tenant": settings.tenant, "environment": settings.environment})
    auth = ""
    if settings.auth is not None:
        # Alloy's loki.write: `endpoint > basic_auth` (username, password_file) and `endpoint > tls_config`
        # (ca_file), https://grafana.com/docs/alloy/latest/reference/components/loki/loki.write/
        a = settings.auth
        auth = f"""
    basic_auth {{
      username      = "{a.username}"
      password_file = "{a.password_file}"
    }}
    tls_config {{
      ca_file = "{a.ca_file}"
    }}"""
    return f"""// Rendered by observability/loki.py: every pod's logs to Loki on the monitoring droplet.
discovery.kubernetes "pods" {{
  role = "pod"
}}

discovery.relabel "pods" {{
  targets = discovery.kubernetes.pods.targets

  rule {{
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    target_label  = "app"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_node_name"]
    target_label  = "node"
  }}
}}

loki.source.kubernetes "pods" {{
  targets    = discovery.relabel.pods.output
  forward_to = [loki.process.json.receiver]
}}

// The seed's services log JSON: the level becomes a label (few values), the other known fields
// structured metadata (searchable without indexing every request id), and the line itself stays
// the original JSON, so `| json` in LogQL still sees every field. Lines that are not JSON pass
// through unchanged.
loki.process "json" {{
  stage.json {{
    expressions = {{ {LEVEL_FIELD} = "", {fields} }}
  }}
  stage.labels {{
    values = {{ {LEVEL_FIELD} = "" }}
  }}
  stage.structured_metadata {{
    values = {{ {fields} }}
  }}
  forward_to = [loki.write.droplet.receiver]
}}

loki.write "droplet" {{
  endpoint {{
    url = "{settings.push_url}"{auth}
  }}
  external_labels = {external}
}}
"""


def render_loki_datasource() -> dict[str, Any]:
    """Grafana's Loki data source entry (read over localhost on the droplet)."""
    return {
        "name": "Loki",
        "uid": LOKI_DATASOURCE_UID,
        "type": "loki",
        "access": "proxy",
        "url": f"http://localhost:{LOKI_PORT}",
        "isDefault": False,
        "editable": False,
        "jsonData": {"maxLines": 1000},
    }
