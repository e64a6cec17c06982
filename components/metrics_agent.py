"""The in-cluster metrics agent: Prometheus in agent mode, remote-writing to the monitoring droplet.

Why an agent in the cluster rather than the droplet scraping from outside: the pods, kube-state-
metrics and the kubelets are only reachable inside the cluster, and the managed databases'
firewalls admit only the cluster. The agent stores nothing (a WAL buffer), evaluates nothing, and
pushes over the VPC to the droplet's remote-write receiver; alerting and dashboards live there.

Chart: prometheus-community ``prometheus`` (pinned) with only its server (in agent mode) and the
kube-state-metrics subchart. The agent's prometheus.yml is rendered by
``observability.agent.render_agent_config`` into a ConfigMap of ours (``configMapOverrideName``),
so it is golden-tested and checked by promtool like the droplet's config. The database metrics
password reaches the pod only through a Secret mounted as a file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_digitalocean as do
import pulumi_kubernetes as k8s

from observability.agent import (
    METRICS_PORT_NAME,
    PASSWORD_FILE,
    POSTGRES_CA_FILE,
    SECRETS_DIR,
    VALKEY_CA_FILE,
    AgentSettings,
    private_metrics_targets,
    render_agent_config,
)
from observability.prometheus import PROMETHEUS_PORT

from .pod_security import DEFAULT_UID

CHART = "prometheus"
CHART_REPOSITORY = "https://prometheus-community.github.io/helm-charts"
RELEASE_NAME = "metrics-agent"
CONFIG_MAP_SUFFIX = "agent-config"
CONFIG_MAP_NAME = f"{RELEASE_NAME}-{CONFIG_MAP_SUFFIX}"
"""The chart mounts ``<release>-<configMapOverrideName>`` as the server's /etc/config."""
DB_METRICS_SECRET = "db-metrics"  # noqa: S105 - the Secret's name, not a password
ROLE_LABEL = "platform.io/role"
AGENT_POD_LABELS = {ROLE_LABEL: "metrics-agent"}
SCRAPER_NAMESPACE_LABELS = {"platform.io/metrics-scraper": "true"}
"""The application namespace's ``allow-metrics-scrape`` NetworkPolicy admits namespaces with these labels."""
DATABASE_METRICS_PORT = 9273
KUBE_STATE_METRICS_PORT = 8080


@dataclass(frozen=True)
class DatabaseMetricsSource:
    cluster_id: pulumi.Input[str]
    """Managed database cluster id (its CA certificate is looked up with it)."""
    endpoints: pulumi.Input[Sequence[str]]
    """``DatabaseCluster.metrics_endpoints``."""


@dataclass(frozen=True)
class MetricsAgentArgs:
    remote_write_url: pulumi.Input[str]
    """The droplet's remote-write endpoint (``MonitoringServer.remote_write_url``)."""
    remote_write_ip: pulumi.Input[str]
    """The droplet's private IP: the only address the agent may push to."""
    vpc_cidr: str
    """The databases' private endpoints live here (egress to port 9273 only)."""
    cluster_name: str
    tenant: str
    environment: str
    chart_version: str
    """Exact prometheus-community/prometheus chart version."""
    postgres: DatabaseMetricsSource
    valkey: DatabaseMetricsSource
    namespace: str = "monitoring"
    """Default: a ``monitoring`` namespace of its own, Pod Security ``restricted``."""
    scrape_ports: Sequence[int] = (8000, 8080, 9090, 9402)
    """Pod ports the agent may scrape in any namespace besides every port named ``metrics``
    (annotated pods; 9402 is cert-manager). Default: the API's 8000 and the usual exporter ports."""
    api_server_cidrs: Sequence[str] = ("0.0.0.0/0",)
    """Where the Kubernetes API (service discovery, kubelet proxy) may be reached on 443.
    Default: anywhere, because DOKS assigns the control plane's address outside the program."""


class MetricsAgent(pulumi.ComponentResource):
    """Prometheus agent + kube-state-metrics in their own namespace, fenced by NetworkPolicies."""

    namespace: pulumi.Output[str]
    """Namespace the agent runs in."""
    namespace_labels: Mapping[str, str]
    """Labels of that namespace (what an application namespace admits for scraping)."""

    def __init__(self, name: str, args: MetricsAgentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:monitoring:MetricsAgent", name, None, opts)
        self.namespace_labels = {
            **SCRAPER_NAMESPACE_LABELS,
            **AGENT_POD_LABELS,
            # The chart's pods run non-root, no privilege escalation, all capabilities dropped.
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
        }
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.namespace, labels=dict(self.namespace_labels)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        namespace = ns.metadata.name

        credentials = do.get_database_metrics_credentials_output(opts=pulumi.InvokeOutputOptions(parent=self))
        pg_ca = do.get_database_ca_output(
            cluster_id=args.postgres.cluster_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        valkey_ca = do.get_database_ca_output(
            cluster_id=args.valkey.cluster_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        secret = k8s.core.v1.Secret(
            f"{name}-db-metrics",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=DB_METRICS_SECRET, namespace=namespace),
            type="Opaque",
            # The password is account-wide (every database of the account): secret end to end.
            string_data={
                PASSWORD_FILE: pulumi.Output.secret(credentials.password),
                POSTGRES_CA_FILE: pg_ca.certificate,
                VALKEY_CA_FILE: valkey_ca.certificate,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )

        config_text = pulumi.Output.all(
            args.remote_write_url, credentials.username, args.postgres.endpoints, args.valkey.endpoints
        ).apply(
            lambda v: render_agent_config(
                AgentSettings(
                    remote_write_url=v[0],
                    cluster=args.cluster_name,
                    tenant=args.tenant,
                    environment=args.environment,
                    metrics_username=v[1],
                    postgres_targets=private_metrics_targets(v[2] or []),
                    valkey_targets=private_metrics_targets(v[3] or []),
                )
            )
        )
        agent_release(
            self,
            name,
            namespace=namespace,
            config_text=config_text,
            chart_version=args.chart_version,
            values=chart_values(),
            after=[secret],
        )

        self._network_policies(name, namespace, args)

        self.namespace = namespace
        self.register_outputs({"namespace": self.namespace})

    def _network_policies(self, name: str, namespace: pulumi.Input[str], args: MetricsAgentArgs) -> None:
        # CoreDNS pods on DOKS; the managed databases' metrics endpoints in the VPC.
        agent_network_policies(
            self,
            name,
            namespace,
            dns_peers=[
                k8s.networking.v1.NetworkPolicyPeerArgs(
                    namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                        match_labels={"kubernetes.io/metadata.name": "kube-system"}
                    ),
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
                )
            ],
            api_server_cidrs=args.api_server_cidrs,
            remote_write_ip=args.remote_write_ip,
            remote_write_port=PROMETHEUS_PORT,
            scrape_ports=args.scrape_ports,
            agent_egress={"allow-database-metrics": [(ip_blocks(args.vpc_cidr), tcp(DATABASE_METRICS_PORT))]},
        )


def agent_release(
    parent: pulumi.Resource,
    name: str,
    *,
    namespace: pulumi.Input[str],
    config_text: pulumi.Input[str],
    chart_version: str,
    values: Mapping[str, Any],
    after: Sequence[pulumi.Resource],
) -> k8s.helm.v3.Release:
    """The agent's rendered prometheus.yml as the ConfigMap the chart mounts (``configMapOverrideName``) and
    the pinned chart itself, after the ConfigMap and ``after`` (the Secrets its pods mount): ``atomic``, so a
    release whose pods never start is rolled back. Shared by the DOKS and the EKS agent."""
    config_map = k8s.core.v1.ConfigMap(
        f"{name}-config",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=CONFIG_MAP_NAME, namespace=namespace),
        data={"prometheus.yml": config_text},
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return k8s.helm.v3.Release(
        f"{name}-release",
        name=RELEASE_NAME,
        chart=CHART,
        version=chart_version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPOSITORY),
        namespace=namespace,
        values=dict(values),
        atomic=True,
        cleanup_on_fail=True,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[config_map, *after]),
    )


EgressRule = tuple[list[k8s.networking.v1.NetworkPolicyPeerArgs], list[k8s.networking.v1.NetworkPolicyPortArgs]]
"""(to, ports) of one NetworkPolicy egress rule."""


def tcp(*ports: int) -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
    return [k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=p) for p in ports]


def ip_blocks(*blocks: pulumi.Input[str]) -> list[k8s.networking.v1.NetworkPolicyPeerArgs]:
    return [k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=b)) for b in blocks]


def agent_network_policies(
    parent: pulumi.Resource,
    name: str,
    namespace: pulumi.Input[str],
    *,
    dns_peers: list[k8s.networking.v1.NetworkPolicyPeerArgs],
    api_server_cidrs: Sequence[pulumi.Input[str]],
    remote_write_ip: pulumi.Input[str],
    remote_write_port: int,
    scrape_ports: Sequence[int],
    agent_egress: Mapping[str, list[EgressRule]] | None = None,
) -> None:
    """The metrics agent's namespace, default deny, and exactly what the agent and kube-state-metrics need:
    DNS (``dns_peers``: where the cluster answers), the API server (service discovery, the kubelet/cAdvisor
    proxy, kube-state-metrics' watches), the one remote-write address and port, the pods' metrics ports in
    any namespace, and ``agent_egress`` (policy name -> rules) for what one cluster's agent adds. Shared by
    the DOKS agent and the EKS one (components/eks_metrics_agent.py), so both clusters' agents stay as
    narrow as each other; child names are ``<name>-<policy>``."""
    every_pod = k8s.meta.v1.LabelSelectorArgs()
    agent = k8s.meta.v1.LabelSelectorArgs(match_labels=dict(AGENT_POD_LABELS))

    def policy(
        suffix: str,
        pod_selector: k8s.meta.v1.LabelSelectorArgs,
        egress: list[k8s.networking.v1.NetworkPolicyEgressRuleArgs] | None = None,
        ingress: list[k8s.networking.v1.NetworkPolicyIngressRuleArgs] | None = None,
    ) -> None:
        types = (["Ingress"] if ingress is not None else []) + (["Egress"] if egress is not None else [])
        k8s.networking.v1.NetworkPolicy(
            f"{name}-{suffix}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=suffix, namespace=namespace),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=pod_selector, policy_types=types, egress=egress, ingress=ingress
            ),
            opts=pulumi.ResourceOptions(parent=parent),
        )

    def rule(
        to: list[k8s.networking.v1.NetworkPolicyPeerArgs], ports: list[k8s.networking.v1.NetworkPolicyPortArgs]
    ) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
        return k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=to, ports=ports)

    policy("default-deny", every_pod, egress=[], ingress=[])
    policy(
        "allow-dns",
        every_pod,
        egress=[
            rule(dns_peers, [k8s.networking.v1.NetworkPolicyPortArgs(protocol=p, port=53) for p in ("UDP", "TCP")])
        ],
    )
    policy("allow-api-server", every_pod, egress=[rule(ip_blocks(*api_server_cidrs), tcp(443))])
    policy(
        "allow-remote-write",
        agent,
        egress=[
            rule(
                ip_blocks(pulumi.Output.from_input(remote_write_ip).apply(lambda ip: f"{ip}/32")),
                tcp(remote_write_port),
            )
        ],
    )
    for suffix, rules in (agent_egress or {}).items():
        policy(suffix, agent, egress=[rule(to, ports) for to, ports in rules])
    policy(
        "allow-scrape-pods",
        agent,
        egress=[
            rule(
                [k8s.networking.v1.NetworkPolicyPeerArgs(namespace_selector=k8s.meta.v1.LabelSelectorArgs())],
                # The application jobs find their targets by the container port NAMED `metrics` (whatever its
                # number); a named port in an egress rule matches the destination pod's port of that name.
                [
                    k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=METRICS_PORT_NAME),
                    *tcp(*sorted({*scrape_ports, KUBE_STATE_METRICS_PORT})),
                ],
            )
        ],
    )
    policy(
        "allow-agent-to-kube-state-metrics",
        k8s.meta.v1.LabelSelectorArgs(match_labels={"app.kubernetes.io/name": "kube-state-metrics"}),
        ingress=[
            k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                from_=[k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=agent)],
                ports=tcp(KUBE_STATE_METRICS_PORT),
            )
        ],
    )


def _restricted_container() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _restricted_pod() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": DEFAULT_UID,
        "runAsGroup": DEFAULT_UID,
        "fsGroup": DEFAULT_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def chart_values() -> dict[str, Any]:
    """Values of the prometheus chart: server in agent mode, kube-state-metrics, nothing else."""
    return {
        "server": {
            # Replaces the chart's default flags (TSDB retention, console paths) that agent mode rejects.
            "defaultFlagsOverride": [
                "--agent",
                "--config.file=/etc/config/prometheus.yml",
                "--storage.agent.path=/data",
                "--web.enable-lifecycle",
            ],
            "configMapOverrideName": CONFIG_MAP_SUFFIX,
            "podLabels": dict(AGENT_POD_LABELS),
            # The WAL only buffers while the droplet is unreachable: no PersistentVolume (and no
            # DigitalOcean volume billed for it); a rescheduled pod loses at most that buffer.
            "persistentVolume": {"enabled": False},
            "emptyDir": {"sizeLimit": "4Gi"},
            "extraSecretMounts": [
                {"name": DB_METRICS_SECRET, "mountPath": SECRETS_DIR, "secretName": DB_METRICS_SECRET, "readOnly": True}
            ],
            "securityContext": _restricted_pod(),
            "containerSecurityContext": _restricted_container(),
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
            "service": {"enabled": True, "type": "ClusterIP"},
        },
        "configmapReload": {
            "prometheus": {
                "enabled": True,
                "containerSecurityContext": _restricted_container(),
                "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
            }
        },
        "kube-state-metrics": {
            "enabled": True,
            "securityContext": {**_restricted_pod(), "enabled": True},
            "containerSecurityContext": _restricted_container(),
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        },
        "alertmanager": {"enabled": False},
        "prometheus-pushgateway": {"enabled": False},
        # Node metrics come from the kubelet and cAdvisor through the API server: node_exporter
        # needs hostNetwork/hostPID/hostPath, which Pod Security "restricted" forbids.
        "prometheus-node-exporter": {"enabled": False},
    }
