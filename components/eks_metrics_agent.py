"""The EKS cluster's metrics agent: its `target: aws` tenants' series reach the same monitoring droplet.

Decision (docs/eks.md, "Metrics of the AWS tenants"): remote write over the internet, TLS with a private CA the
agent pins and HTTP basic auth, to the droplet's nginx endpoint (observability/remote_write_proxy.py) on its
reserved IP; the droplet admits that port only from the EKS NAT gateways' Elastic IPs. Not VPC peering (DO has
none with AWS) or a WireGuard pair (two more hosts to run and patch), not Amazon Managed Prometheus (priced per
sample, and the seed's alerts would need re-homing to AMP rules and another Alertmanager).

The agent is the DOKS one (components/metrics_agent.py) on the other cluster: the same pinned chart and values
(``chart_values``), the same rendered prometheus.yml (``observability.agent.render_agent_config``) with its
application, ``kubernetes-pods``, kube-state-metrics, kubelet and cAdvisor jobs, so every tenant pod series
carries ``namespace`` exactly as on DOKS (observability/tenants.py scopes the tenants' alerts on it). What
differs: no database jobs (RDS and ElastiCache have no DigitalOcean metrics endpoint), remote write with
``basic_auth.password_file`` and ``tls_config.ca_file`` read from a Secret mounted as files (never a
ConfigMap), and NetworkPolicies whose only way out is the droplet's reserved IP on the TLS port (plus the
cluster DNS and the API server).

It also owns the droplet's second cloud firewall: the droplet (and its own firewall) is created with the
DigitalOcean platform, before the EKS cluster exists, so only this component knows the NAT addresses.
DigitalOcean applies the union of the rules of every firewall a droplet is in: this one adds exactly the TLS
port from those addresses, and no outbound rule (the droplet's own firewall keeps outbound open).

With ``log_agent_chart_version`` it also runs the DOKS log agent (components/log_agent.py) in the same namespace,
pushing the tenants' logs to the droplet's Loki through the same endpoint (``/loki/api/v1/push``), user, password
and CA, read from the same mounted Secret (docs/eks.md, "Logs of the AWS tenants").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_digitalocean as do
import pulumi_kubernetes as k8s

from observability.agent import (
    REMOTE_WRITE_CA_FILE,
    REMOTE_WRITE_PASSWORD_FILE,
    REMOTE_WRITE_SECRETS_DIR,
    AgentSettings,
    RemoteWriteAuth,
    render_agent_config,
)
from observability.loki import PUSH_PATH
from observability.remote_write_proxy import REMOTE_WRITE_TLS_PORT, REMOTE_WRITE_USER

from .log_agent import LogAgent, LogAgentArgs, LogAgentAuth
from .metrics_agent import (
    AGENT_POD_LABELS,
    SCRAPER_NAMESPACE_LABELS,
    agent_network_policies,
    agent_release,
    chart_values,
    ip_blocks,
)

REMOTE_WRITE_SECRET = "remote-write"  # noqa: S105 - the Secret's name, not a password


@dataclass(frozen=True)
class EksMetricsAgentArgs:
    remote_write_url: pulumi.Input[str]
    """The droplet's public endpoint (``MonitoringServer.public_remote_write_url``, https://<reserved ip>:9443/...)."""
    remote_write_ip: pulumi.Input[str]
    """The droplet's reserved IP: the only address the agent may push to."""
    remote_write_ca_pem: pulumi.Input[str]
    """The private CA the agent pins (``MonitoringServer.remote_write_ca_pem``)."""
    remote_write_password: pulumi.Input[str]
    """Basic-auth password (``MonitoringServer.remote_write_password``), a secret; lands only in a Secret."""
    droplet_id: pulumi.Input[str]
    """The monitoring droplet, put behind the second firewall."""
    nat_public_ips: Sequence[pulumi.Input[str]]
    """The EKS NAT gateways' Elastic IPs (``EksCluster.nat_public_ips``): the only sources admitted to the port."""
    cluster_name: pulumi.Input[str]
    """Value of the ``cluster`` external label (the EKS cluster's name)."""
    tenant: str
    environment: str
    chart_version: str
    """Exact prometheus-community/prometheus chart version (the DOKS agent's)."""
    dns_cidrs: Sequence[pulumi.Input[str]]
    """Where the cluster DNS answers (``EksCluster.cluster_dns_cidr``: Auto Mode answers on the node, so a pod
    selector cannot name it)."""
    api_server_cidrs: Sequence[str]
    """Where the API server's endpoints live (its ENIs in the cluster VPC): service discovery, kubelet proxy."""
    namespace: str = "monitoring"
    """Default: a ``monitoring`` namespace of its own, Pod Security ``restricted``."""
    scrape_ports: Sequence[int] = (8000, 8080, 9090, 9402)
    """Pod ports the agent may scrape besides every port named ``metrics``. Default: as the DOKS agent."""
    firewall_name: str | None = None
    """Name of the droplet's second firewall. Default: ``<component name>-remote-write``."""
    log_agent_chart_version: str | None = None
    """Exact grafana/alloy chart version of the log agent (the DOKS one's). Default: None, no log agent (the
    tenants' logs reach nothing); components/aws_platform.py always passes it."""


def _problems(args: EksMetricsAgentArgs) -> list[str]:
    problems = []
    if not args.nat_public_ips:
        problems.append(
            "nat_public_ips is empty: the droplet's firewall would admit nobody on the remote-write port; pass "
            "EksCluster.nat_public_ips"
        )
    if not args.api_server_cidrs:
        problems.append("api_server_cidrs is empty: the agent could not discover targets; pass the EKS VPC's CIDR")
    if not args.dns_cidrs:
        problems.append("dns_cidrs is empty: pass [EksCluster.cluster_dns_cidr]")
    return problems


def eks_chart_values() -> dict[str, Any]:
    """The DOKS agent's chart values with the remote-write Secret mounted instead of the database one."""
    values = chart_values()
    values["server"]["extraSecretMounts"] = [
        {
            "name": REMOTE_WRITE_SECRET,
            "mountPath": REMOTE_WRITE_SECRETS_DIR,
            "secretName": REMOTE_WRITE_SECRET,
            "readOnly": True,
        }
    ]
    return values


class EksMetricsAgent(pulumi.ComponentResource):
    """Prometheus agent + kube-state-metrics on EKS, remote-writing over TLS + basic auth to the droplet."""

    namespace: pulumi.Output[str]
    """Namespace the agent runs in (labelled with SCRAPER_NAMESPACE_LABELS)."""
    firewall_id: pulumi.Output[str]
    """The droplet's second firewall (the remote-write port from the NAT addresses)."""

    def __init__(self, name: str, args: EksMetricsAgentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        problems = _problems(args)
        if problems:
            raise ValueError(f"EksMetricsAgent {name}: " + "; ".join(problems))
        super().__init__("platform:monitoring:EksMetricsAgent", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        firewall = do.Firewall(
            f"{name}-droplet-firewall",
            name=args.firewall_name or f"{name}-remote-write",
            droplet_ids=[pulumi.Output.from_input(args.droplet_id).apply(int)],
            inbound_rules=[
                do.FirewallInboundRuleArgs(
                    protocol="tcp",
                    port_range=str(REMOTE_WRITE_TLS_PORT),
                    source_addresses=[
                        pulumi.Output.from_input(ip).apply(lambda a: f"{a}/32") for ip in args.nat_public_ips
                    ],
                )
            ],
            opts=child,
        )

        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace,
                labels={
                    **SCRAPER_NAMESPACE_LABELS,
                    **AGENT_POD_LABELS,
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            ),
            opts=child,
        )
        namespace = ns.metadata.name

        secret = k8s.core.v1.Secret(
            f"{name}-remote-write",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=REMOTE_WRITE_SECRET, namespace=namespace),
            type="Opaque",
            string_data={
                REMOTE_WRITE_PASSWORD_FILE: pulumi.Output.secret(args.remote_write_password),
                REMOTE_WRITE_CA_FILE: args.remote_write_ca_pem,
            },
            opts=child,
        )
        config_text = pulumi.Output.all(args.remote_write_url, args.cluster_name).apply(
            lambda v: render_agent_config(
                AgentSettings(
                    remote_write_url=v[0],
                    cluster=v[1],
                    tenant=args.tenant,
                    environment=args.environment,
                    remote_write_auth=RemoteWriteAuth(username=REMOTE_WRITE_USER),
                )
            )
        )
        # The firewall first: an agent pushing before the port is open only fills its WAL, but a release that
        # waits (atomic) on a pod that cannot reach its target is a slower way to find a mistake.
        agent_release(
            self,
            name,
            namespace=namespace,
            config_text=config_text,
            chart_version=args.chart_version,
            values=eks_chart_values(),
            after=[secret, firewall],
        )
        self._network_policies(name, namespace, args)
        if args.log_agent_chart_version is not None:
            # The DOKS log agent, pushing through the same nginx endpoint (its `/loki/api/v1/push` location) with
            # the same user, password and pinned CA: it mounts the Secret above (one copy of the password), and
            # its only egress is the reserved IP on the TLS port. The Secret first: a pod whose secret volume
            # does not exist yet never starts, and the atomic release would wait for it.
            LogAgent(
                f"{name}-log-agent",
                LogAgentArgs(
                    namespace=namespace,
                    loki_push_url=pulumi.Output.from_input(args.remote_write_ip).apply(
                        lambda ip: f"https://{ip}:{REMOTE_WRITE_TLS_PORT}{PUSH_PATH}"
                    ),
                    loki_ip=args.remote_write_ip,
                    cluster_name=args.cluster_name,
                    tenant=args.tenant,
                    environment=args.environment,
                    chart_version=args.log_agent_chart_version,
                    auth=LogAgentAuth(secret_name=REMOTE_WRITE_SECRET, username=REMOTE_WRITE_USER),
                    push_port=REMOTE_WRITE_TLS_PORT,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[secret, firewall]),
            )

        self.namespace = namespace
        self.firewall_id = firewall.id
        self.register_outputs({"namespace": self.namespace, "firewall_id": self.firewall_id})

    def _network_policies(self, name: str, namespace: pulumi.Input[str], args: EksMetricsAgentArgs) -> None:
        # Auto Mode answers DNS on the node (no CoreDNS pods for a kube-dns selector to match); the only way
        # out to the internet is the droplet's reserved IP on the TLS port (through a NAT gateway).
        agent_network_policies(
            self,
            name,
            namespace,
            dns_peers=ip_blocks(*args.dns_cidrs),
            api_server_cidrs=args.api_server_cidrs,
            remote_write_ip=args.remote_write_ip,
            remote_write_port=REMOTE_WRITE_TLS_PORT,
            scrape_ports=args.scrape_ports,
        )
