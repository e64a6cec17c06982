"""Composition root: one stack of a backend tenant on DigitalOcean.

                          Internet
                              |
                  DigitalOcean Load Balancer (owned by the cluster's CCM)
                              |
   +----------------------- VPC (network.vpcCidr) ------------------------+
   |                                                                      |
   |  DOKS cluster (HA control plane in production)                      |
   |    Envoy Gateway (api., dashboard.; TLS by cert-manager) -> tenant  |
   |    namespace: catalog workloads (HPA / KEDA on Celery queues)       |
   |    system pool (fixed) | general pool (autoscaled) | scrapers (tainted)
   |         |                        |                                   |
   |         +------- PostgreSQL (pooled 25061 / direct 25060) -----------+
   |         +------- Valkey (rediss://, Celery broker + cache) ----------+
   |                                                                      |
   |  metrics agent (ns monitoring) --remote write :9090--+               |
   |  log agent (ns monitoring) ------log push :3100------+               |
   |  Monitoring droplet (Prometheus, Alertmanager, Grafana, Loki) + vol. |
   +----------------------------------------------------------------------+
         DigitalOcean-native alerts + uptime check: the second line
         all grouped in one DigitalOcean Project, tagged per tenant/environment

   +------------- AWS, opt-in (eks.enabled): VPC (eks.vpcCidr) -----------+
   |  EKS Auto Mode: 3 zones, NAT per zone, private API, KMS-encrypted    |
   |  secrets, Karpenter pools with CPU caps (GPU pools: GPU caps).       |
   |  target: aws tenants: RDS PostgreSQL, ElastiCache Valkey, S3 media,  |
   |  a Pod Identity role per service account; their workloads (the same  |
   |  Application/Workload) on the EKS provider, spread across zones.     |
   +----------------------------------------------------------------------+

Config is validated in full before any resource is registered (stack_config.load); each block
below is one box of the diagram.
"""

import pulumi

from components import (
    AlertThresholds,
    Application,
    ApplicationArgs,
    AwsTenant,
    AwsTenantArgs,
    BackupJob,
    BackupJobArgs,
    BackupTarget,
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
    ExternalSecrets,
    ExternalSecretsArgs,
    KubernetesCluster,
    KubernetesClusterArgs,
    LogAgent,
    LogAgentArgs,
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
    SecretStoreRef,
    StackProject,
    StackProjectArgs,
    Tenant,
    TenantArgs,
    TrustedSources,
)
from components.application import KARPENTER_POOL_LABEL, SystemTrustStore, rds_ca_bundle
from components.aws_tenant import AWS_CACHE_PORTS, AWS_POSTGRES_PORTS, POD_IDENTITY_AGENT
from components.metrics_agent import SCRAPER_NAMESPACE_LABELS
from components.platform_addons import load_balancer_name
from components.tenant import tenant_hostnames
from observability.prometheus import PROMETHEUS_PORT
from stack_config import Secrets, load
from stack_config.eks import AwsTenantData

config = load()
# With the external secret store on, the application's own secrets come from it, not from Pulumi config.
secrets = Secrets(store_managed=config.apps.store_managed_keys())
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
        log_retention_days=config.observability.log_retention_days,
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
# The edge (docs/kubernetes.md, "The edge"): Envoy Gateway with one shared Gateway by default, whose
# HTTPS listeners are the tenants' public hosts; ingress-nginx only while a stack migrates off it.
edge_hosts = sorted(
    {f"{route.host}.{edge_config.base_domain}" for route in apps_config.catalog.routes}
    | {host for entry in config.tenants for host in tenant_hostnames(entry, edge_config.base_domain)}
)
addons = PlatformAddons(
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
        gateway_tenants=[config.tenant.name, *(entry.name for entry in config.tenants)],
        rate_limit_rpm=edge_config.rate_limit_rpm,
        acme_server=edge_config.acme,
    ),
    opts=in_cluster,
)
# Secrets that rotate without a commit (optional): the application's API keys from AWS Secrets Manager
# through the External Secrets Operator, refreshed every 30 minutes like the seed's Vault.
store_config = apps_config.external_secrets
secret_store: SecretStoreRef | None = None
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
        opts=in_cluster,
    )
    secret_store = SecretStoreRef(
        store_name=external_secrets.store_name,
        remote_key=external_secrets.remote_keys[config.tenant.name],
        refresh_interval=store_config.refresh_interval,
        depends_on=external_secrets.ready,
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
        # KEDA's Prometheus scaler queries the monitoring host (the in-cluster agent has no query API);
        # its firewall admits the cluster's pods and nodes on this port.
        secret_store=secret_store,
        prometheus_url=pulumi.Output.format("http://{0}:{1}", monitoring.private_ip, PROMETHEUS_PORT),
        # The monitoring namespace's label: its agent may scrape the services' metrics ports.
        metrics_scraper_namespace_labels=SCRAPER_NAMESPACE_LABELS,
    ),
    opts=in_cluster,
)

# --- Edge --------------------------------------------------------------------------------------
# The load balancer belongs to the cluster's cloud-controller-manager (configured by the serving
# edge's Service); the edge reads it back for DNS, the Project and the outputs.
edge = Edge(
    f"{prefix}-edge",
    EdgeArgs(
        tenant=config.tenant.name,
        implementations=edge_config.implementations,
        gateway=addons.gateway,
        edge_ready=addons.edge_ready,
        edge_dependencies=addons.edge_resources,
        namespace=app.namespace,
        domain=edge_config.domain,
        base_domain=edge_config.base_domain,
        routes=app.routes,
        cluster_issuer=addons.cluster_issuer,
        ingress_class=addons.ingress_class,
        rate_limit_rpm=edge_config.rate_limit_rpm,
        load_balancer_name=load_balancer_name(prefix, edge_config.implementation),
        load_balancer_hostname=edge_config.load_balancer_hostname,
        ingress_release=addons.ingress_release,
        project_id=project.project_id,
        basic_auth_htpasswd=secrets.require("flowerHtpasswd"),
        dns_ttl=edge_config.dns_ttl,
        # The other DigitalOcean tenants' hosts are served by the same load balancer: A records too.
        extra_hosts=[
            host
            for entry in config.tenants
            if entry.tenant.target == "digitalocean"
            for host in tenant_hostnames(entry, edge_config.base_domain)
        ],
    ),
    opts=in_cluster,
)

# --- Observability -----------------------------------------------------------------------------
# The in-cluster agent feeds the droplet (remote write over the VPC); its namespace carries the
# label the application namespace's allow-metrics-scrape policy admits. DigitalOcean's own alerts
# are the second line, for when the droplet itself is down.
obs_config = config.observability
metrics_agent = MetricsAgent(
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
# Every pod's logs to Loki on the droplet, from the same (default-deny) monitoring namespace.
LogAgent(
    f"{prefix}-log-agent",
    LogAgentArgs(
        namespace=metrics_agent.namespace,
        loki_push_url=monitoring.loki_push_url,
        loki_ip=monitoring.private_ip,
        cluster_name=prefix,
        tenant=config.tenant.name,
        environment=config.environment,
        chart_version=obs_config.log_agent_chart_version,
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

# --- Tenants ------------------------------------------------------------------------------------
# Every further system on this platform (platform:tenants), each in its own namespace with its own
# database and role, Valkey, buckets, pools, alerts and backup writer; no tenant reaches another's
# pods or data (components/tenant.py). AWS tenants are deployed by the EKS half.
tenants = {
    entry.name: Tenant(
        f"{prefix}-{entry.name}",
        TenantArgs(
            entry=entry,
            environment=config.environment,
            name_prefix=prefix,
            region=config.region,
            spaces_region=entry.spaces_region,
            vpc_id=network.vpc_id,
            vpc_cidr=config.network.vpc_cidr,
            cluster_id=cluster.cluster_id,
            kubernetes_minor=cluster_config.version_prefix.rstrip("."),
            platform_pools=cluster_config.pools,
            postgres_cluster_id=postgres.cluster_id,
            postgres_private_host=postgres.private_host,
            trusted=trusted,
            ingress_controller=addons.ingress_controller,
            secret_config=secrets.optional,
            protect=config.protect,
            tags=tags,
            keda=addons.keda,
            metrics_scraper_namespace_labels=SCRAPER_NAMESPACE_LABELS,
            prometheus_url=pulumi.Output.format("http://{0}:{1}", monitoring.private_ip, PROMETHEUS_PORT),
            gateway=addons.gateway,
            base_domain=edge_config.base_domain,
            route_dependencies=addons.edge_resources,
            project_id=project.project_id,
            backup=BackupTarget(
                vault.bucket_name, vault.bucket_arn, vault.region, backup_config.image, vault.kms_key_arn
            )
            if vault is not None
            else None,
        ),
        opts=in_cluster,
    )
    for entry in config.tenants
    if entry.tenant.target == "digitalocean"
}

# --- Enterprise scale: EKS ----------------------------------------------------------------------
# Opt-in: the seed-scale tenant fits DOKS and stays there (docs/eks.md names what moving it takes); the
# cluster runs the `target: aws` tenants, with its own VPC, pools and provider.
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
    )

# AWS tenants (target: aws): their databases, cache, buckets and Pod Identity roles beside the cluster
# (components/aws_tenant.py). The config refuses an aws tenant without the cluster (stack_config/eks.py).
aws_tenants: dict[str, AwsTenant] = {}
aws_applications: dict[str, Application] = {}
if eks is not None:
    for entry in (e for e in config.tenants if e.tenant.target == "aws"):
        aws_tenants[entry.name] = AwsTenant(
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
            opts=pulumi.ResourceOptions(providers=[eks.aws_provider]),
        )
        # Its workloads, through the same Application/Workload as the DigitalOcean tenants, on the EKS provider.
        # After the AwsTenant: the Pod Identity webhook injects credentials only into pods created once their
        # association exists, so a pod started earlier would run without its role until restarted.
        aws_data = aws_tenants[entry.name]
        aws_applications[entry.name] = Application(
            f"{prefix}-{entry.name}-eks-app",
            ApplicationArgs(
                namespace=aws_data.namespace,
                tenant=entry.name,
                apps=entry.apps,
                kubernetes_minor=eks_config.kubernetes_version,
                vpc_cidr=eks_config.vpc_cidr,
                node_pools=eks_config.node_pools,
                node_pool_label=KARPENTER_POOL_LABEL,
                zone_spread=True,
                # No KEDA and no edge on the EKS cluster yet: KEDA-scaled services are refused, routes wait.
                keda_installed=False,
                ingress_controller=None,
                secret_config=secrets.optional,
                postgres_ca=rds_ca_bundle(),
                cache_ca=SystemTrustStore(),
                postgres_ports=AWS_POSTGRES_PORTS,
                cache_ports=AWS_CACHE_PORTS,
                platform_config={"ENVIRONMENT": config.environment, **aws_data.settings},
                service_egress={service: [POD_IDENTITY_AGENT] for service in aws_data.role_arns},
                # Auto Mode answers DNS on the node (no CoreDNS pods for the kube-dns selector to match).
                dns_cidrs=[eks.cluster_dns_cidr],
                metrics_scraper_namespace_labels=SCRAPER_NAMESPACE_LABELS,
            ),
            opts=pulumi.ResourceOptions(providers={"kubernetes": eks.provider}, depends_on=[aws_data]),
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
# The released application tag this stack runs: the deploy workflow reads it back, so a deploy without
# a new tag keeps the last release instead of the tag committed in the stack file.
pulumi.export("imageTag", apps_config.image_tag)
if vault is not None and backup_job is not None:
    pulumi.export("backupBucket", vault.bucket_name)
    pulumi.export("backupBucketArn", vault.bucket_arn)
    pulumi.export("backupRegion", vault.region)
    pulumi.export("backupCronJob", backup_job.cronjob_name)
    pulumi.export("backupImage", backup_config.image)
pulumi.export("tenantNamespaces", {name: tenant.namespace for name, tenant in tenants.items()})
if aws_tenants:
    # No credential among them: the database secret is referenced by ARN, its value stays in Secrets Manager.
    pulumi.export(
        "awsTenants",
        {
            name: {
                "namespace": t.namespace,
                "databaseAddress": t.database_address,
                "databaseSecretArn": t.database_secret_arn,
                "cacheEndpoint": t.cache_endpoint,
                "buckets": t.bucket_names,
                "podIdentityRoles": t.role_arns,
            }
            for name, t in aws_tenants.items()
        },
    )
if eks is not None:
    pulumi.export("eksClusterName", eks.cluster_name)
    pulumi.export("eksEndpoint", eks.endpoint)
    pulumi.export("eksKubeconfig", eks.kubeconfig)
