"""The DigitalOcean platform every DigitalOcean tenant of a stack runs on (issue 14: "platform, then each tenant").

One component for what is platform-wide: the VPC, the DOKS cluster and its Kubernetes provider, the
shared PostgreSQL and Valkey clusters, the monitoring droplet, the DigitalOcean Project, the cluster
add-ons with the shared Gateway, the optional External Secrets Operator, the metrics and log agents and
the off-site backup vault. Tenants (seed 000's Application + Edge, components/tenant.py) consume it.

Migration (the trap): these components were registered at the stack root by every release up to
aba9e8b. Each child keeps its name and gets ``aliases=[Alias(parent=ROOT_STACK_RESOURCE)]`` so its old
URN resolves to the new one under this component; their own children inherit the alias. Without it,
the engine would delete and re-create the clusters and databases (tests/engine/test_upgrade.py runs
the real engine on a stack deployed by the release and refuses any stateful delete/replace).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from observability.prometheus import PROMETHEUS_PORT
from observability.tenants import DIGITALOCEAN_ONLY, WITH_EKS, tenant_dashboards, tenant_rule_groups
from stack_config import Secrets
from stack_config.model import StackConfig

from .backup_vault import BackupVault, BackupVaultArgs
from .cache import Cache, CacheArgs
from .database_access import MaintenanceWindow, TrustedSources
from .external_secrets import ExternalSecrets, ExternalSecretsArgs, SecretStoreRef
from .kubernetes_cluster import KubernetesCluster, KubernetesClusterArgs, NodePoolSpec
from .log_agent import LogAgent, LogAgentArgs
from .metrics_agent import DatabaseMetricsSource, MetricsAgent, MetricsAgentArgs
from .monitoring_server import MonitoringServer, MonitoringServerArgs, tenant_receivers
from .network import Network, NetworkArgs
from .platform_addons import PlatformAddons, PlatformAddonsArgs, load_balancer_name
from .postgres import PostgresDatabase, PostgresDatabaseArgs
from .project import StackProject, StackProjectArgs
from .tenant import tenant_hostnames


@dataclass(frozen=True)
class DigitalOceanPlatformArgs:
    config: StackConfig
    """The validated stack configuration (stack_config.load): nothing is registered on bad config."""
    secrets: Secrets
    """The stack's secret config (monitoring passwords and webhooks)."""


class DigitalOceanPlatform(pulumi.ComponentResource):
    """Network → cluster → data → monitoring → project → add-ons → agents → backup vault."""

    def __init__(self, name: str, args: DigitalOceanPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:platform:DigitalOceanPlatform", name, None, opts)
        config, secrets = args.config, args.secrets
        prefix = config.name_prefix
        tags = [config.tenant.name, f"env:{config.environment}", "managed-by:pulumi"]

        def child(**extra: object) -> pulumi.ResourceOptions:
            # Registered at the stack root before this component existed: the alias keeps the URN.
            return pulumi.ResourceOptions(
                parent=self,
                aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)],
                **extra,  # type: ignore[arg-type]
            )

        self.network = Network(
            prefix,
            NetworkArgs(
                region=config.region,
                ip_range=config.network.vpc_cidr,
                description=f"{config.tenant.display_name} {config.environment}",
            ),
            opts=child(),
        )

        cluster_config = config.cluster
        self.cluster = KubernetesCluster(
            prefix,
            KubernetesClusterArgs(
                region=config.region,
                vpc_id=self.network.vpc_id,
                version_prefix=cluster_config.version_prefix,
                ha=cluster_config.ha,
                auto_upgrade=cluster_config.auto_upgrade,
                surge_upgrade=cluster_config.surge_upgrade,
                maintenance_day=cluster_config.maintenance.day,
                maintenance_start_time=cluster_config.maintenance.start_time,
                system_pool=NodePoolSpec(
                    size=cluster_config.system_pool.size,
                    auto_scale=False,
                    node_count=cluster_config.system_pool.node_count,
                    labels={"workload": "system"},
                ),
                pools={
                    pool_name: NodePoolSpec(
                        size=pool.size,
                        auto_scale=pool.auto_scale,
                        min_nodes=pool.min_nodes,
                        max_nodes=pool.max_nodes,
                        node_count=pool.node_count,
                        labels=pool.labels,
                        taints=tuple((t.key, t.value, t.effect) for t in pool.taints),
                    )
                    for pool_name, pool in cluster_config.pools.items()
                },
                tags=tags,
                registry_integration=cluster_config.registry_integration,
                api_allowed_cidrs=cluster_config.api_allowed_cidrs,
                cluster_subnet=config.network.cluster_subnet,
                service_subnet=config.network.service_subnet,
            ),
            opts=child(),
        )

        # Both databases admit only the cluster: its nodes (the k8s rule) and its pods, whose packets keep
        # their pod-subnet address on a VPC-native cluster (docs/kubernetes.md, "Pod traffic"). Their
        # metrics are scraped by the in-cluster agent, so the droplet needs no database access.
        self.trusted = TrustedSources(
            kubernetes_cluster_ids=[self.cluster.cluster_id], ip_ranges=[config.network.cluster_subnet]
        )
        postgres_config, cache_config = config.postgres, config.cache
        self.postgres = PostgresDatabase(
            f"{prefix}-pg",
            PostgresDatabaseArgs(
                region=config.region,
                vpc_id=self.network.vpc_id,
                version=postgres_config.version,
                size=postgres_config.size,
                node_count=postgres_config.node_count,
                storage_size_mib=postgres_config.storage_size_mib,
                database=postgres_config.database,
                user=postgres_config.user,
                pool_size=postgres_config.pool_size,
                maintenance=MaintenanceWindow(postgres_config.maintenance.day, postgres_config.maintenance.hour),
                trusted=self.trusted,
                tags=tags,
                protect=config.protect,
            ),
            opts=child(),
        )
        self.cache = Cache(
            f"{prefix}-valkey",
            CacheArgs(
                region=config.region,
                vpc_id=self.network.vpc_id,
                version=cache_config.version,
                size=cache_config.size,
                node_count=cache_config.node_count,
                eviction_policy=cache_config.eviction_policy,
                maintenance=MaintenanceWindow(cache_config.maintenance.day, cache_config.maintenance.hour),
                trusted=self.trusted,
                tags=tags,
                protect=config.protect,
            ),
            opts=child(),
        )

        monitoring_config = config.monitoring
        monitored = WITH_EKS if config.eks.enabled else DIGITALOCEAN_ONLY
        self.monitoring = MonitoringServer(
            f"{prefix}-monitoring",
            MonitoringServerArgs(
                region=config.region,
                vpc_id=self.network.vpc_id,
                vpc_cidr=config.network.vpc_cidr,
                cluster_id=self.cluster.cluster_id,
                cluster_subnet=config.network.cluster_subnet,
                size=monitoring_config.size,
                image=monitoring_config.image,
                volume_size_gib=monitoring_config.volume_size_gib,
                retention_days=monitoring_config.retention_days,
                backups=monitoring_config.backups,
                admin_cidrs=monitoring_config.admin_cidrs,
                tenant=config.tenant.name,
                environment=config.environment,
                tags=[*tags, "monitoring"],
                protect=config.protect,
                grafana_admin_password=secrets.require("grafanaAdminPassword"),
                paging_webhook_url=secrets.require("alertPagingWebhookUrl"),
                chat_webhook_url=secrets.require("alertChatWebhookUrl"),
                log_retention_days=config.observability.log_retention_days,
                # Each further tenant's alerts (labelled tenant=<name>, scoped to its namespace), its
                # dashboards (a Grafana folder each) and, where its catalog declares one, its receiver. The
                # aws tenants' too when EKS is on: its metrics agent writes their series here.
                tenant_rule_groups=tenant_rule_groups(config.tenants, config.environment, monitored),
                tenant_dashboards=tenant_dashboards(config.tenants, config.environment, monitored),
                tenant_receivers=tenant_receivers(config.tenants, secrets.require, monitored),
                # The EKS agent's endpoint (TLS + basic auth on the reserved IP); its firewall comes with the
                # agent, after the cluster (components/eks_metrics_agent.py).
                public_remote_write=config.eks.enabled,
            ),
            opts=child(),
        )
        # KEDA's Prometheus scaler queries the monitoring host (the in-cluster agent has no query API);
        # its firewall admits the cluster's pods and nodes on this port.
        self.prometheus_url = pulumi.Output.format("http://{0}:{1}", self.monitoring.private_ip, PROMETHEUS_PORT)

        self.project = StackProject(
            prefix,
            StackProjectArgs(
                name=f"{config.tenant.display_name} ({config.environment})",
                description=f"{config.tenant.display_name}, {config.environment} stack, managed by Pulumi",
                environment=config.environment.title(),
                resource_urns=[
                    self.cluster.cluster_urn,
                    self.postgres.cluster_urn,
                    self.cache.cluster_urn,
                    self.monitoring.droplet_urn,
                    self.monitoring.volume_urn,
                    self.monitoring.reserved_ip_urn,
                ],
            ),
            opts=child(),
        )

        # Everything inside the cluster goes through its own provider.
        self.in_cluster = pulumi.ResourceOptions(providers={"kubernetes": self.cluster.provider})
        addons_config, apps_config, edge_config = config.addons, config.apps, config.edge
        # The edge (docs/kubernetes.md, "The edge"): Envoy Gateway with one shared Gateway by default, whose
        # HTTPS listeners are the tenants' public hosts; ingress-nginx only while a stack migrates off it.
        edge_hosts = sorted(
            {f"{route.host}.{edge_config.base_domain}" for route in apps_config.catalog.routes}
            | {
                host
                for entry in config.tenants
                if entry.tenant.target == "digitalocean"  # aws tenants' hosts are served by the EKS edge
                for host in tenant_hostnames(entry, edge_config.base_domain)
            }
        )
        self.addons = PlatformAddons(
            f"{prefix}-addons",
            PlatformAddonsArgs(
                load_balancer_name=load_balancer_name(prefix, "ingress-nginx"),
                load_balancer_hostname=edge_config.load_balancer_hostname,
                load_balancer_size_unit=edge_config.load_balancer.size_unit,
                acme_email=edge_config.acme_email,
                ingress_nginx_version=addons_config.charts.ingress_nginx,
                cert_manager_version=addons_config.charts.cert_manager,
                keda_version=addons_config.charts.keda,
                metrics_server_version=addons_config.charts.metrics_server,
                ingress_replicas=addons_config.ingress_replicas,
                metrics_server=addons_config.metrics_server,
                implementations=edge_config.implementations,
                envoy_gateway_version=addons_config.charts.envoy_gateway,
                gateway_load_balancer_name=load_balancer_name(prefix, "gateway"),
                gateway_hosts=edge_hosts,
                gateway_tenants=[
                    config.tenant.name,
                    *(e.name for e in config.tenants if e.tenant.target == "digitalocean"),
                ],
                rate_limit_rpm=edge_config.rate_limit_rpm,
                acme_server=edge_config.acme,
            ),
            opts=child(providers={"kubernetes": self.cluster.provider}),
        )

        # Secrets that rotate without a commit (optional): the application's API keys from AWS Secrets
        # Manager through the External Secrets Operator, refreshed every 30 minutes like the seed's Vault.
        store_config = apps_config.external_secrets
        self.secret_store: SecretStoreRef | None = None
        if store_config.enabled:
            external_secrets = ExternalSecrets(
                f"{prefix}-external-secrets",
                ExternalSecretsArgs(
                    stack=pulumi.get_stack(),
                    tenants={config.tenant.name: prefix},
                    aws_region=store_config.aws_region,
                    chart_version=store_config.chart_version,
                    reloader_chart_version=store_config.reloader_chart_version,
                    protect=config.protect,
                    tags={"tenant": config.tenant.name, "environment": config.environment, "managed-by": "pulumi"},
                ),
                opts=child(providers={"kubernetes": self.cluster.provider}),
            )
            self.secret_store = SecretStoreRef(
                store_name=external_secrets.store_name,
                remote_key=external_secrets.remote_keys[config.tenant.name],
                refresh_interval=store_config.refresh_interval,
                depends_on=external_secrets.ready,
            )

        # The in-cluster agent feeds the droplet (remote write over the VPC); its namespace carries the
        # label the tenants' allow-metrics-scrape policies admit.
        obs_config = config.observability
        self.metrics_agent = MetricsAgent(
            f"{prefix}-metrics-agent",
            MetricsAgentArgs(
                remote_write_url=self.monitoring.remote_write_url,
                remote_write_ip=self.monitoring.private_ip,
                vpc_cidr=config.network.vpc_cidr,
                cluster_name=prefix,
                tenant=config.tenant.name,
                environment=config.environment,
                chart_version=obs_config.agent_chart_version,
                postgres=DatabaseMetricsSource(self.postgres.cluster_id, self.postgres.metrics_endpoints),
                valkey=DatabaseMetricsSource(self.cache.cluster_id, self.cache.metrics_endpoints),
            ),
            opts=child(providers={"kubernetes": self.cluster.provider}),
        )
        # Every pod's logs to Loki on the droplet, from the same (default-deny) monitoring namespace.
        LogAgent(
            f"{prefix}-log-agent",
            LogAgentArgs(
                namespace=self.metrics_agent.namespace,
                loki_push_url=self.monitoring.loki_push_url,
                loki_ip=self.monitoring.private_ip,
                cluster_name=prefix,
                tenant=config.tenant.name,
                environment=config.environment,
                chart_version=obs_config.log_agent_chart_version,
            ),
            opts=child(providers={"kubernetes": self.cluster.provider}),
        )

        # Off-site backups (docs/disaster-recovery.md): DigitalOcean's daily backups and 7-day PITR die with
        # the account or region, the hourly dumps into this vault (RPO 1 h) do not. Every tenant writes here.
        backup_config = config.backup
        self.vault: BackupVault | None = None
        if backup_config.enabled:
            self.vault = BackupVault(
                f"{prefix}-backups",
                BackupVaultArgs(
                    aws_region=backup_config.aws_region,
                    replica_region=backup_config.replica_region,
                    retention_days=backup_config.retention_days,
                    noncurrent_days=backup_config.noncurrent_days,
                    object_lock_mode=backup_config.object_lock_mode,
                    object_lock_days=backup_config.object_lock_days,
                    dedicated_kms_key=backup_config.kms_key == "dedicated",
                    protect=config.protect,
                    tags={"tenant": config.tenant.name, "environment": config.environment, "managed-by": "pulumi"},
                ),
                opts=child(),
            )

        self.register_outputs(
            {
                "vpcId": self.network.vpc_id,
                "clusterId": self.cluster.cluster_id,
                "monitoringPrivateIp": self.monitoring.private_ip,
            }
        )
