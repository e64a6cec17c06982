"""The in-cluster log agent: Grafana Alloy shipping every pod's logs to Loki on the monitoring droplet.

Chart: grafana ``alloy`` (pinned). One Deployment replica tails every container through the
Kubernetes API (``loki.source.kubernetes``), so the agent needs no hostPath and runs in the
metrics agent's ``monitoring`` namespace under Pod Security ``restricted``. The config is rendered
by ``observability.loki.render_alloy_config`` (golden-tested) and handed to the chart as
``alloy.configMap.content``.

Network: the namespace denies everything by default (MetricsAgent's policies: DNS and the API
server are allowed to every pod there); this component adds one egress rule, Loki's port on the
droplet's private address only. The droplet's cloud firewall admits that port from the cluster
alone, so the push never leaves the VPC (same path as the metrics' remote write).

On EKS (components/eks_metrics_agent.py) the same agent pushes over the internet through the droplet's nginx
(observability/remote_write_proxy.py, ``/loki/api/v1/push`` on the reserved IP's TLS port) with ``auth``:
basic auth with ``password_file`` and the pinned CA as ``ca_file``, both read from the metrics agent's
``remote-write`` Secret mounted read-only (one copy of the password, never in the ConfigMap); its one egress
rule is then the reserved IP on that port (``push_port``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from observability.agent import REMOTE_WRITE_CA_FILE, REMOTE_WRITE_PASSWORD_FILE
from observability.loki import LOKI_PORT, LogAgentSettings, LogPushAuth, render_alloy_config

from .pod_security import DEFAULT_UID

CHART = "alloy"
CHART_REPOSITORY = "https://grafana.github.io/helm-charts"
RELEASE_NAME = "log-agent"
AGENT_POD_LABELS = {"platform.io/role": "log-agent"}
STORAGE_PATH = "/var/lib/alloy"
"""Alloy's state (read positions): an emptyDir, since the root filesystem is read-only."""
CREDENTIALS_VOLUME = "push-credentials"
CREDENTIALS_PATH = "/etc/secrets/log-push"
"""Where ``LogAgentAuth.secret_name`` is mounted (read-only) in the Alloy container."""


@dataclass(frozen=True)
class LogAgentAuth:
    """Basic auth + pinned CA for a push through the droplet's nginx (the EKS agent)."""

    secret_name: str
    """An existing Secret in the agent's namespace holding ``password`` and ``ca.crt`` (the EKS metrics agent's
    ``remote-write`` Secret: mounted, never copied)."""
    username: str
    """Basic-auth user (``REMOTE_WRITE_USER``)."""

    def push_auth(self) -> LogPushAuth:
        return LogPushAuth(
            username=self.username,
            password_file=f"{CREDENTIALS_PATH}/{REMOTE_WRITE_PASSWORD_FILE}",
            ca_file=f"{CREDENTIALS_PATH}/{REMOTE_WRITE_CA_FILE}",
        )


@dataclass(frozen=True)
class LogAgentArgs:
    namespace: pulumi.Input[str]
    """Namespace to run in (the metrics agent's ``monitoring``, whose default-deny, DNS and API
    server policies apply to this agent too)."""
    loki_push_url: pulumi.Input[str]
    """``MonitoringServer.loki_push_url`` (DOKS), or https://<reserved ip>:9443/loki/api/v1/push (EKS)."""
    loki_ip: pulumi.Input[str]
    """The droplet's private IP (DOKS) or reserved IP (EKS): the only address the agent may push to."""
    cluster_name: pulumi.Input[str]
    """Value of the ``cluster`` external label (an Output on EKS: the cluster's name)."""
    tenant: str
    environment: str
    chart_version: str
    """Exact grafana/alloy chart version."""
    auth: LogAgentAuth | None = None
    """Default: None (the DOKS agent's plain push over the VPC)."""
    push_port: int = LOKI_PORT
    """The egress port to ``loki_ip``. Default: Loki's port (DOKS); the TLS port on EKS."""


class LogAgent(pulumi.ComponentResource):
    """Alloy (one replica) tailing every pod through the API and pushing to the droplet's Loki."""

    def __init__(self, name: str, args: LogAgentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:monitoring:LogAgent", name, None, opts)
        config = pulumi.Output.all(args.loki_push_url, args.cluster_name).apply(
            lambda v: render_alloy_config(
                LogAgentSettings(
                    push_url=v[0],
                    cluster=v[1],
                    tenant=args.tenant,
                    environment=args.environment,
                    auth=args.auth.push_auth() if args.auth else None,
                )
            )
        )
        k8s.helm.v3.Release(
            f"{name}-release",
            name=RELEASE_NAME,
            chart=CHART,
            version=args.chart_version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPOSITORY),
            namespace=args.namespace,
            values=config.apply(lambda text: chart_values(text, args.auth)),
            atomic=True,
            cleanup_on_fail=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow-log-push",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="allow-log-push", namespace=args.namespace),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(AGENT_POD_LABELS)),
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                ip_block=k8s.networking.v1.IPBlockArgs(
                                    cidr=pulumi.Output.from_input(args.loki_ip).apply(lambda ip: f"{ip}/32")
                                )
                            )
                        ],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=args.push_port)],
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})


def _restricted_container() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": DEFAULT_UID,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def chart_values(config: str, auth: LogAgentAuth | None = None) -> dict[str, Any]:
    """Values of the alloy chart: a Deployment of one, our config, restricted security contexts; with ``auth``,
    its Secret mounted read-only at CREDENTIALS_PATH."""
    values: dict[str, Any] = {
        "alloy": {
            "configMap": {"create": True, "content": config},
            # Reads logs through the API: none of the chart's hostPath mounts.
            "mounts": {
                "varlog": False,
                "dockercontainers": False,
                # The root filesystem is read-only: storagePath needs a writable volume.
                "extra": [{"name": "data", "mountPath": STORAGE_PATH}],
            },
            "securityContext": _restricted_container(),
            # Positions (how far each stream was read) live here; an emptyDir is enough: a restarted
            # pod re-reads at most the kubelet's retained tail, which Loki deduplicates.
            "storagePath": STORAGE_PATH,
            "enableReporting": False,
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        },
        "controller": {
            "type": "deployment",
            "replicas": 1,
            "podLabels": dict(AGENT_POD_LABELS),
            "volumes": {"extra": [{"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}]},
        },
        "global": {"podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}},
        "configReloader": {"securityContext": _restricted_container()},
        "crds": {"create": False},
        "service": {"enabled": True, "type": "ClusterIP"},
    }
    if auth is not None:
        values["alloy"]["mounts"]["extra"].append(
            {"name": CREDENTIALS_VOLUME, "mountPath": CREDENTIALS_PATH, "readOnly": True}
        )
        values["controller"]["volumes"]["extra"].append(
            {"name": CREDENTIALS_VOLUME, "secret": {"secretName": auth.secret_name}}
        )
    return values
