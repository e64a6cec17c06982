"""Composition root: one stack of a backend tenant on DigitalOcean.

                          Internet
                              |
                  DigitalOcean Load Balancer (owned by the cluster's CCM)
                              |
   +----------------------- VPC (network.vpcCidr) ------------------------+
   |                                                                      |
   |  DOKS cluster (HA control plane in production)                      |
   |    ingress-nginx (api., dashboard.; TLS by cert-manager) -> tenant  |
   |    namespace: catalog workloads (HPA / KEDA on Celery queues)       |
   |    system pool (fixed) | general pool (autoscaled) | scrapers (tainted)
   |         |                        |                                   |
   |         +------- PostgreSQL (pooled 25061 / direct 25060) -----------+
   |         +------- Valkey (rediss://, Celery broker + cache) ----------+
   |                                                                      |
   |  metrics agent (ns monitoring) --remote write :9090--+               |
   |  Monitoring droplet (Prometheus, Alertmanager, Grafana) + volume     |
   +----------------------------------------------------------------------+
         DigitalOcean-native alerts + uptime check: the second line
         all grouped in one DigitalOcean Project, tagged per tenant/environment

   +------------- AWS, opt-in (eks.enabled): VPC (eks.vpcCidr) -----------+
   |  EKS Auto Mode: 3 zones, NAT per zone, private API, KMS-encrypted    |
   |  secrets, Karpenter pools with CPU caps. No tenant workloads yet.    |
   +----------------------------------------------------------------------+

Config is validated in full before any resource is registered (stack_config.load); each block
below is one box of the diagram.
"""

import pulumi

from components import (
    AlertThresholds,
    Application,
    ApplicationArgs,
    BackupJob,
    BackupJobArgs,
    BackupVault,
    BackupVaultArgs,
    Cache,
    CacheArgs,
    CloudAlerts,
    CloudAlertsArgs,
    DatabaseMetricsSource,
    Edge,
    EdgeArgs,
    EksCluster,
    EksClusterArgs,
    EksNodePoolSpec,
    KubernetesCluster,
    KubernetesClusterArgs,
    MaintenanceWindow,
    MetricsAgent,
    MetricsAgentArgs,
    MonitoringServer,
    MonitoringServerArgs,
    Network,
    NetworkArgs,
    NodePoolSpec,
    PlatformAddons,
    PlatformAddonsArgs,
    PostgresDatabase,
    PostgresDatabaseArgs,
    StackProject,
    StackProjectArgs,
    TrustedSources,
)
from components.metrics_agent import SCRAPER_NAMESPACE_LABELS
from stack_config import Secrets, load

config = load()
secrets = Secrets()
prefix = config.name_prefix
tags = [config.tenant.name, f"env:{config.environment}", "managed-by:pulumi"]

# --- Network -----------------------------------------------------------------------------------
network = Network(
    prefix,
    NetworkArgs(
        region=config.region,
        ip_range=config.network.vpc_cidr,
        description=f"{config.tenant.display_name} {config.environment}",
    ),
)

# --- Kubernetes --------------------------------------------------------------------------------
cluster_config = config.cluster
cluster = KubernetesCluster(
    prefix,
    KubernetesClusterArgs(
        region=config.region,
        vpc_id=network.vpc_id,
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
)

# --- Data --------------------------------------------------------------------------------------
# Both databases admit only the cluster: its nodes (the k8s rule) and its pods, whose packets keep
# their pod-subnet address on a VPC-native cluster (docs/kubernetes.md, "Pod traffic"). Their metrics
# are scraped by the in-cluster agent and remote-written to the monitoring host, so the droplet
# needs no database access.
trusted = TrustedSources(kubernetes_cluster_ids=[cluster.cluster_id], ip_ranges=[config.network.cluster_subnet])
postgres_config, cache_config = config.postgres, config.cache
postgres = PostgresDatabase(
    f"{prefix}-pg",
    PostgresDatabaseArgs(
        region=config.region,
        vpc_id=network.vpc_id,
        version=postgres_config.version,
        size=postgres_config.size,
        node_count=postgres_config.node_count,
        storage_size_mib=postgres_config.storage_size_mib,
        database=postgres_config.database,
        user=postgres_config.user,
        pool_size=postgres_config.pool_size,
        maintenance=MaintenanceWindow(postgres_config.maintenance.day, postgres_config.maintenance.hour),
        trusted=trusted,
        tags=tags,
        protect=config.protect,
    ),
)
cache = Cache(
    f"{prefix}-valkey",
    CacheArgs(
        region=config.region,
        vpc_id=network.vpc_id,
        version=cache_config.version,
        size=cache_config.size,
        node_count=cache_config.node_count,
        eviction_policy=cache_config.eviction_policy,
        maintenance=MaintenanceWindow(cache_config.maintenance.day, cache_config.maintenance.hour),
        trusted=trusted,
        tags=tags,
        protect=config.protect,
    ),
)

# --- Monitoring host ---------------------------------------------------------------------------
monitoring_config = config.monitoring
monitoring = MonitoringServer(
    f"{prefix}-monitoring",
    MonitoringServerArgs(
        region=config.region,
        vpc_id=network.vpc_id,
        vpc_cidr=config.network.vpc_cidr,
        cluster_id=cluster.cluster_id,
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
    ),
)

# --- Project -----------------------------------------------------------------------------------
project = StackProject(
    prefix,
    StackProjectArgs(
        name=f"{config.tenant.display_name} ({config.environment})",
        description=f"{config.tenant.display_name}, {config.environment} stack, managed by Pulumi",
        environment=config.environment.title(),
        resource_urns=[
            cluster.cluster_urn,
            postgres.cluster_urn,
            cache.cluster_urn,
            monitoring.droplet_urn,
            monitoring.volume_urn,
            monitoring.reserved_ip_urn,
        ],
    ),
)

# --- Kubernetes workloads ----------------------------------------------------------------------
# Everything inside the cluster goes through its own provider (children inherit it).
in_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
addons_config, apps_config, edge_config = config.addons, config.apps, config.edge
load_balancer_name = f"{prefix}-ingress"
addons = PlatformAddons(
    f"{prefix}-addons",
    PlatformAddonsArgs(
        load_balancer_name=load_balancer_name,
        load_balancer_hostname=edge_config.load_balancer_hostname,
        load_balancer_size_unit=edge_config.load_balancer.size_unit,
        acme_email=edge_config.acme_email,
        ingress_nginx_version=addons_config.charts.ingress_nginx,
        cert_manager_version=addons_config.charts.cert_manager,
        keda_version=addons_config.charts.keda,
        metrics_server_version=addons_config.charts.metrics_server,
        ingress_replicas=addons_config.ingress_replicas,
        metrics_server=addons_config.metrics_server,
    ),
    opts=in_cluster,
)
app = Application(
    f"{prefix}-app",
    ApplicationArgs(
        namespace=prefix,
        tenant=config.tenant.name,
        apps=apps_config,
        kubernetes_minor=cluster_config.version_prefix.rstrip("."),
        vpc_cidr=config.network.vpc_cidr,
        node_pools=cluster_config.pools,
        postgres_cluster_id=postgres.cluster_id,
        cache_cluster_id=cache.cluster_id,
        database_pooled_uri=postgres.pooled_uri,
        database_direct_uri=postgres.direct_uri,
        cache_uri=cache.uri,
        cache_host=cache.private_host,
        cache_port=cache.port,
        cache_password=cache.password,
        secret_config=secrets.optional,
        ingress_controller=addons.ingress_controller,
        keda=addons.keda,
        # The monitoring namespace's label: its agent may scrape the services' metrics ports.
        metrics_scraper_namespace_labels=SCRAPER_NAMESPACE_LABELS,
    ),
    opts=in_cluster,
)

# --- Edge --------------------------------------------------------------------------------------
# The load balancer belongs to the cluster's cloud-controller-manager (configured by the addons'
# ingress-nginx Service); the edge reads it back for DNS, the Project and the outputs.
edge = Edge(
    f"{prefix}-edge",
    EdgeArgs(
        namespace=app.namespace,
        domain=edge_config.domain,
        base_domain=edge_config.base_domain,
        routes=app.routes,
        cluster_issuer=addons.cluster_issuer,
        ingress_class=addons.ingress_class,
        rate_limit_rpm=edge_config.rate_limit_rpm,
        load_balancer_name=load_balancer_name,
        load_balancer_hostname=edge_config.load_balancer_hostname,
        ingress_release=addons.ingress_release,
        project_id=project.project_id,
        basic_auth_htpasswd=secrets.require("flowerHtpasswd"),
        dns_ttl=edge_config.dns_ttl,
    ),
    opts=in_cluster,
)

# --- Observability -----------------------------------------------------------------------------
# The in-cluster agent feeds the droplet (remote write over the VPC); its namespace carries the
# label the application namespace's allow-metrics-scrape policy admits. DigitalOcean's own alerts
# are the second line, for when the droplet itself is down.
obs_config = config.observability
MetricsAgent(
    f"{prefix}-metrics-agent",
    MetricsAgentArgs(
        remote_write_url=monitoring.remote_write_url,
        remote_write_ip=monitoring.private_ip,
        vpc_cidr=config.network.vpc_cidr,
        cluster_name=prefix,
        tenant=config.tenant.name,
        environment=config.environment,
        chart_version=obs_config.agent_chart_version,
        postgres=DatabaseMetricsSource(postgres.cluster_id, postgres.metrics_endpoints),
        valkey=DatabaseMetricsSource(cache.cluster_id, cache.metrics_endpoints),
    ),
    opts=in_cluster,
)
CloudAlerts(
    f"{prefix}-alerts",
    CloudAlertsArgs(
        name_prefix=prefix,
        monitoring_droplet_id=monitoring.droplet_id,
        databases={"postgres": postgres.cluster_id, "valkey": cache.cluster_id},
        api_health_url=f"{edge.urls['api']}/health",
        droplet_thresholds=AlertThresholds(**obs_config.droplet.model_dump()),
        database_thresholds=AlertThresholds(**obs_config.database.model_dump()),
        window=obs_config.window,
        emails=obs_config.alert_emails,
        slack_channel=obs_config.slack_channel,
        slack_webhook_url=secrets.require("alertChatWebhookUrl"),
        uptime_regions=obs_config.uptime_regions,
        uptime_latency_ms=obs_config.uptime_latency_ms,
        certificate_expiry_days=obs_config.certificate_expiry_days,
    ),
)

# --- Off-site backups -------------------------------------------------------------------------
# Seed 000's disaster recovery on another provider: DigitalOcean's daily backups and 7-day PITR
# die with the account or region, these hourly dumps (RPO 1 h) do not. docs/disaster-recovery.md.
backup_config = config.backup
vault: BackupVault | None = None
backup_job: BackupJob | None = None
if backup_config.enabled:
    vault = BackupVault(
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
    )
    backup_job = BackupJob(
        f"{prefix}-pg-backup",
        BackupJobArgs(
            namespace=app.namespace,
            image=backup_config.image,
            image_pull_secret=apps_config.image_pull_secret,
            schedule=backup_config.schedule,
            database_url=postgres.direct_uri,
            aws_access_key_id=vault.writer_access_key_id,
            aws_secret_access_key=vault.writer_secret_access_key,
            bucket=vault.bucket_name,
            kms_key_arn=vault.kms_key_arn,
            aws_region=vault.region,
            prefix=vault.prefix,
            stack=pulumi.get_stack(),
            database_cidr=config.network.vpc_cidr,
        ),
        opts=in_cluster,
    )

# --- Enterprise scale: EKS ----------------------------------------------------------------------
# Opt-in: the seed-scale tenant fits DOKS, and nothing of it runs here yet (docs/eks.md names what
# moving it takes). The cluster stands ready with its own VPC, pools and provider.
eks_config = config.eks
eks: EksCluster | None = None
if eks_config.enabled:
    eks = EksCluster(
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
    )

# --- Outputs -----------------------------------------------------------------------------------
# Everything carrying a credential is exported as a secret (tests/test_program.py checks it).
pulumi.export("vpcId", network.vpc_id)
pulumi.export("clusterId", cluster.cluster_id)
pulumi.export("clusterEndpoint", cluster.endpoint)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("postgresDirectUri", postgres.direct_uri)
pulumi.export("postgresPooledUri", postgres.pooled_uri)
pulumi.export("cacheUri", cache.uri)
pulumi.export("monitoringPublicIp", monitoring.public_ip)
pulumi.export("monitoringPrivateIp", monitoring.private_ip)
pulumi.export("kubernetesNamespace", app.namespace)
pulumi.export("loadBalancerIp", edge.load_balancer_ip)
pulumi.export("publicUrls", edge.urls)
if vault is not None and backup_job is not None:
    pulumi.export("backupBucket", vault.bucket_name)
    pulumi.export("backupBucketArn", vault.bucket_arn)
    pulumi.export("backupRegion", vault.region)
    pulumi.export("backupCronJob", backup_job.cronjob_name)
    pulumi.export("backupImage", backup_config.image)
if eks is not None:
    pulumi.export("eksClusterName", eks.cluster_name)
    pulumi.export("eksEndpoint", eks.endpoint)
    pulumi.export("eksKubeconfig", eks.kubeconfig)
