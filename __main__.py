"""Composition root: one stack of a backend tenant on DigitalOcean.

                          Internet
                              |
                  DigitalOcean Load Balancer (owned by the cluster's CCM)
                              |
   +----------------------- VPC (network.vpcCidr) ------------------------+
   |                                                                      |
   |  DOKS cluster (HA control plane in production)   [platform]        |
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
   |  metrics agent (ns monitoring) --via NAT EIPs, internet, TLS + basic |
   |  auth--> monitoring droplet's reserved IP :9443 (nginx -> :9090)     |
   +----------------------------------------------------------------------+

Reads "platform, then each tenant" (issue 14): load the config (validated in full before any
resource is registered, stack_config.load) → the DigitalOcean platform, everything inside the VPC
box that is not a tenant's (components/platform.py) → tenant seed-000 (Application, Edge, its
alerts and backup job) → each further DigitalOcean tenant (components/tenant.py) → the optional EKS
cluster and its `target: aws` tenants → the outputs. A new tenant is a catalog file, not code here.
"""

import pulumi

from components import (
    AlertThresholds,
    Application,
    ApplicationArgs,
    BackupJob,
    BackupJobArgs,
    BackupTarget,
    CloudAlerts,
    CloudAlertsArgs,
    Edge,
    EdgeArgs,
    Tenant,
    TenantArgs,
)
from components.aws_platform import AwsPlatform, AwsPlatformArgs
from components.metrics_agent import SCRAPER_NAMESPACE_LABELS
from components.platform import DigitalOceanPlatform, DigitalOceanPlatformArgs
from components.platform_addons import load_balancer_name
from components.tenant import tenant_hostnames
from observability.prometheus import PROMETHEUS_PORT
from stack_config import Secrets, load

config = load()
# With the external secret store on, the application's own secrets come from it, not from Pulumi config.
secrets = Secrets(store_managed=config.apps.store_managed_keys())
prefix = config.name_prefix
tags = [config.tenant.name, f"env:{config.environment}", "managed-by:pulumi"]

# --- Platform ----------------------------------------------------------------------------------
# Network, DOKS, PostgreSQL, Valkey, the monitoring host, the Project, the add-ons with the shared
# Gateway, the agents and the backup vault: one component (components/platform.py), aliased from the
# stack root where releases up to aba9e8b registered them (tests/engine/test_upgrade.py).
platform = DigitalOceanPlatform(prefix, DigitalOceanPlatformArgs(config=config, secrets=secrets))
network, cluster, postgres, cache = platform.network, platform.cluster, platform.postgres, platform.cache
monitoring, project, addons, vault = platform.monitoring, platform.project, platform.addons, platform.vault
trusted, in_cluster = platform.trusted, platform.in_cluster
cluster_config, addons_config, apps_config = config.cluster, config.addons, config.apps
edge_config, backup_config, obs_config = config.edge, config.backup, config.observability

# --- Tenant seed-000: the application, its edge, alerts and backup job -------------------------
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
        secret_store=platform.secret_store,
        prometheus_url=platform.prometheus_url,
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

# DigitalOcean's own alerts: the second line, for when the droplet itself is down (and seed 000's API).
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

# Seed 000's hourly dumps into the platform's vault (RPO 1 h; docs/disaster-recovery.md).
backup_job: BackupJob | None = None
if vault is not None:
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
# Opt-in: the seed-scale tenant fits DOKS and stays there (docs/eks.md names what moving it takes). The EKS
# cluster (own VPC, pools, providers), its metrics agent, the `target: aws` tenants (data services, queues,
# Pod Identity roles, then their workloads and routes) and the addons: one component (components/aws_platform.py).
aws: AwsPlatform | None = None
if config.eks.enabled:
    aws = AwsPlatform(
        f"{prefix}-aws",
        AwsPlatformArgs(
            config=config,
            secrets=secrets,
            monitoring=monitoring.public_remote_write,
            monitoring_droplet_id=monitoring.droplet_id,
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
if aws is not None and aws.tenants:
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
            for name, t in aws.tenants.items()
        },
    )
if aws is not None:
    pulumi.export("eksClusterName", aws.cluster.cluster_name)
    pulumi.export("eksEndpoint", aws.cluster.endpoint)
    pulumi.export("eksKubeconfig", aws.cluster.kubeconfig)
    if aws.addons.load_balancer_hostname is not None:
        pulumi.export("eksLoadBalancerHostname", aws.addons.load_balancer_hostname)
        pulumi.export("eksUrls", aws.addons.urls)
