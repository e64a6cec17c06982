"""The AWS side of a stack, opt-in (``eks.enabled``): the EKS cluster and its ``target: aws`` tenants.

The DigitalOcean side's twin (components/platform.py): the root composes "platform, then tenants" on
DigitalOcean, then hands this component the validated config and gets back the cluster and the tenants. In
order, and why:

1. ``EksCluster``: its own VPC (NAT gateways with Elastic IPs), Auto Mode, the Karpenter pools, the providers.
2. ``EksMetricsAgent`` when the monitoring droplet serves its public TLS endpoint: the aws tenants' metrics
   reach the same Prometheus, their alerts fire there (components/eks_metrics_agent.py).
3. One ``AwsTenant`` per aws tenant: databases, cache, buckets, SQS queues, Pod Identity roles. Before the
   addons, because KEDA's operator reads the tenants' queues with a Pod Identity association that must exist
   before its pods start (components/eks_addons.py).
4. ``EksAddons``: metrics-server, KEDA, and the edge (Envoy Gateway behind an NLB, cert-manager, CNAMEs).
5. Per tenant, its workloads through the same ``Application``/``Workload`` as a DigitalOcean tenant, after its
   ``AwsTenant`` (the Pod Identity webhook injects credentials only into pods created once their association
   exists), and its public routes on the cluster's Gateway through the same ``TenantRoutes``.

Up to this component's introduction these were registered at the stack root: every direct child carries
``Alias(parent=ROOT_STACK_RESOURCE)``, so a stack that enabled EKS earlier keeps its URNs (nothing replaced).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from stack_config import Secrets
from stack_config.eks import AwsTenantData
from stack_config.model import StackConfig

from .application import KARPENTER_POOL_LABEL, Application, ApplicationArgs, SystemTrustStore, rds_ca_bundle
from .aws_alarms import AwsAlarms, AwsAlarmsArgs
from .aws_tenant import AWS_CACHE_PORTS, AWS_POSTGRES_PORTS, POD_IDENTITY_AGENT, AwsTenant, AwsTenantArgs
from .cloud_alerts import AlertThresholds
from .eks_addons import EksAddons, EksAddonsArgs
from .eks_cluster import EksCluster, EksClusterArgs, EksNodePoolSpec
from .eks_metrics_agent import EksMetricsAgent, EksMetricsAgentArgs
from .gateway_routes import TenantRoutes, TenantRoutesArgs
from .metrics_agent import SCRAPER_NAMESPACE_LABELS
from .monitoring_server import PublicRemoteWrite
from .tenant import tenant_domain, tenant_hostnames


@dataclass(frozen=True)
class AwsPlatformArgs:
    config: StackConfig
    """The validated stack configuration, ``eks.enabled`` true (stack_config.load refuses aws tenants without it)."""
    secrets: Secrets
    """The stack's secret config (the tenants' optional application secrets)."""
    monitoring: PublicRemoteWrite | None
    """The monitoring droplet's public remote-write endpoint (``MonitoringServer.public_remote_write``). None:
    no metrics agent on EKS (the aws tenants' metrics reach nothing, and their alerts are not loaded)."""
    monitoring_droplet_id: pulumi.Input[str]
    """The droplet the agent's firewall opens 9443 on to the NAT addresses."""


class AwsPlatform(pulumi.ComponentResource):
    """EKS cluster → metrics agent → aws tenants' data → addons → their workloads and routes (module docstring)."""

    cluster: EksCluster
    addons: EksAddons
    tenants: dict[str, AwsTenant]
    """The aws tenants' data side by tenant name."""
    applications: dict[str, Application]
    """The aws tenants' workloads by tenant name."""
    alarms: AwsAlarms | None
    """CloudWatch alarms of the tenants' data services and their SNS topic (None without aws tenants)."""

    def __init__(self, name: str, args: AwsPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:aws:AwsPlatform", name, None, opts)
        config, eks_config, edge_config = args.config, args.config.eks, args.config.edge
        prefix = config.name_prefix

        def child(**extra: object) -> pulumi.ResourceOptions:
            # Registered at the stack root before this component existed: the alias keeps the URN.
            return pulumi.ResourceOptions(
                parent=self,
                aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)],
                **extra,  # type: ignore[arg-type]
            )

        eks = self.cluster = EksCluster(
            f"{prefix}-eks",
            EksClusterArgs(
                aws_region=eks_config.aws_region,
                kubernetes_version=eks_config.kubernetes_version,
                vpc_cidr=eks_config.vpc_cidr,
                availability_zones=eks_config.availability_zones,
                nat_per_zone=eks_config.nat_gateways == "per-az",
                log_retention_days=eks_config.log_retention_days,
                node_pools={
                    pool_name: EksNodePoolSpec(
                        cpu_limit=pool.cpu_limit,
                        capacity_types=tuple(pool.capacity_types),
                        instance_categories=tuple(pool.instance_categories),
                        labels=pool.labels,
                        taints=tuple((t.key, t.value, t.effect) for t in pool.taints),
                        consolidate_after=pool.consolidate_after,
                        gpu_limit=pool.gpu_limit,
                    )
                    for pool_name, pool in eks_config.node_pools.items()
                },
                protect=config.protect,
                zonal_shift=config.is_production,
                public_access_cidrs=eks_config.public_access_cidrs,
                admin_role_arns=eks_config.admin_role_arns,
                deploy_role_arn=eks_config.deploy_role_arn,
                preview_role_arn=eks_config.preview_role_arn,
                api_ingress_cidrs=eks_config.api_ingress_cidrs,
                api_ingress_security_group_ids=eks_config.api_ingress_security_group_ids,
                deletion_protection=eks_config.deletion_protected(config.is_production),
                tags={"tenant": config.tenant.name, "environment": config.environment, "managed-by": "pulumi"},
            ),
            opts=child(),
        )
        on_kubernetes = {"kubernetes": eks.provider}

        if args.monitoring is not None:
            EksMetricsAgent(
                f"{prefix}-eks-metrics-agent",
                EksMetricsAgentArgs(
                    remote_write_url=args.monitoring.url,
                    remote_write_ip=args.monitoring.ip,
                    remote_write_ca_pem=args.monitoring.ca_pem,
                    remote_write_password=args.monitoring.password,
                    droplet_id=args.monitoring_droplet_id,
                    nat_public_ips=eks.nat_public_ips,
                    cluster_name=eks.cluster_name,
                    tenant=config.tenant.name,
                    environment=config.environment,
                    chart_version=config.observability.agent_chart_version,
                    log_agent_chart_version=config.observability.log_agent_chart_version,
                    dns_cidrs=[eks.cluster_dns_cidr],
                    api_server_cidrs=[eks_config.vpc_cidr],
                ),
                opts=child(providers=on_kubernetes),
            )

        entries = [e for e in config.tenants if e.tenant.target == "aws"]
        self.tenants = {
            entry.name: AwsTenant(
                f"{prefix}-{entry.name}-aws",
                AwsTenantArgs(
                    entry=entry,
                    data=eks_config.tenant_data.get(entry.name) or AwsTenantData(),
                    environment=config.environment,
                    aws_region=eks_config.aws_region,
                    cluster_name=eks.cluster_name,
                    vpc_id=eks.vpc_id,
                    private_subnet_ids=eks.private_subnet_ids,
                    cluster_security_group_id=eks.cluster_security_group_id,
                    highly_available=config.is_production,
                    protect=config.protect,
                ),
                opts=child(providers=[eks.aws_provider]),
            )
            for entry in entries
        }

        # CloudWatch alarms on the tenants' RDS, ElastiCache and dead-letter queues, mailed through SNS: the
        # AWS twin of the DigitalOcean CloudAlerts (components/aws_alarms.py). New here: no root alias.
        self.alarms = (
            None
            if not self.tenants
            else AwsAlarms(
                f"{prefix}-aws-alarms",
                AwsAlarmsArgs(
                    name_prefix=prefix,
                    tenants=[t.alarm_targets for _, t in sorted(self.tenants.items())],
                    thresholds=AlertThresholds(**config.observability.database.model_dump()),
                    window=config.observability.window,
                    emails=config.observability.alert_emails,
                    protect=config.protect,
                ),
                opts=pulumi.ResourceOptions(parent=self, providers=[eks.aws_provider]),
            )
        )

        addons_config = config.addons
        addons = self.addons = EksAddons(
            f"{prefix}-eks-addons",
            EksAddonsArgs(
                keda_version=addons_config.charts.keda,
                metrics_server_version=addons_config.charts.metrics_server,
                cert_manager_version=addons_config.charts.cert_manager,
                envoy_gateway_version=addons_config.charts.envoy_gateway,
                acme_email=edge_config.acme_email,
                dns_zone=edge_config.domain,
                gateway_hosts=[h for e in entries for h in tenant_hostnames(e, edge_config.base_domain)],
                gateway_tenants=[e.name for e in entries],
                rate_limit_rpm=edge_config.rate_limit_rpm,
                acme_server=edge_config.acme,
                replicas=addons_config.ingress_replicas,
                dns_ttl=edge_config.dns_ttl,
                cluster_name=eks.cluster_name,
                queue_arns=[arn for t in self.tenants.values() for _, arn in sorted(t.queue_arns.items())],
            ),
            opts=child(providers={**on_kubernetes, "aws": eks.aws_provider}),
        )

        self.applications = {}
        for entry in entries:
            data = self.tenants[entry.name]
            application = self.applications[entry.name] = Application(
                f"{prefix}-{entry.name}-eks-app",
                ApplicationArgs(
                    namespace=data.namespace,
                    tenant=entry.name,
                    apps=entry.apps,
                    kubernetes_minor=eks_config.kubernetes_version,
                    vpc_cidr=eks_config.vpc_cidr,
                    node_pools=eks_config.node_pools,
                    node_pool_label=KARPENTER_POOL_LABEL,
                    zone_spread=True,
                    keda_installed=True,
                    keda=addons.keda,
                    ingress_controller=addons.ingress_controller,
                    secret_config=args.secrets.optional,
                    postgres_ca=rds_ca_bundle(),
                    cache_ca=SystemTrustStore(),
                    postgres_ports=AWS_POSTGRES_PORTS,
                    cache_ports=AWS_CACHE_PORTS,
                    platform_config={"ENVIRONMENT": config.environment, **data.settings},
                    queue_urls=data.queue_urls,
                    queue_region=eks_config.aws_region,
                    service_egress={service: [POD_IDENTITY_AGENT] for service in data.role_arns},
                    # Auto Mode answers DNS on the node (no CoreDNS pods for the kube-dns selector to match).
                    dns_cidrs=[eks.cluster_dns_cidr],
                    metrics_scraper_namespace_labels=SCRAPER_NAMESPACE_LABELS,
                ),
                opts=child(providers=on_kubernetes, depends_on=[data]),
            )
            if addons.gateway is not None and application.routes:
                TenantRoutes(
                    f"{prefix}-{entry.name}-eks-routes",
                    TenantRoutesArgs(
                        namespace=data.namespace,
                        tenant=entry.name,
                        routes=application.routes,
                        base_domain=tenant_domain(entry.name, edge_config.base_domain),
                        gateway=addons.gateway,
                        basic_auth_htpasswd=(
                            args.secrets.require(entry.tenant.basic_auth_secret)
                            if entry.tenant.basic_auth_secret is not None
                            else None
                        ),
                        depends_on=[application, *addons.edge_resources],
                    ),
                    opts=child(providers=on_kubernetes),
                )

        self.register_outputs(
            {
                "cluster_name": eks.cluster_name,
                "tenants": sorted(self.tenants),
                "load_balancer_hostname": addons.load_balancer_hostname,
            }
        )
