"""Composition root: one stack of a backend tenant on DigitalOcean.

                          Internet
                              |
                  DigitalOcean Load Balancer (owned by the cluster's CCM)
                              |
   +----------------------- VPC (network.vpcCidr) ------------------------+
   |                                                                      |
   |  DOKS cluster (HA control plane in production)                      |
   |    system pool (fixed) | general pool (autoscaled) | scrapers (tainted)
   |         |                        |                                   |
   |         +------- PostgreSQL (pooled 25061 / direct 25060) -----------+
   |         +------- Valkey (rediss://, Celery broker + cache) ----------+
   |                                                                      |
   |  Monitoring droplet (Prometheus, Alertmanager, Grafana) + volume     |
   +----------------------------------------------------------------------+
         all grouped in one DigitalOcean Project, tagged per tenant/environment

Config is validated in full before any resource is registered (stack_config.load); each block
below is one box of the diagram.
"""

import pulumi

from components import (
    Cache,
    CacheArgs,
    KubernetesCluster,
    KubernetesClusterArgs,
    MaintenanceWindow,
    MonitoringServer,
    MonitoringServerArgs,
    Network,
    NetworkArgs,
    NodePoolSpec,
    PostgresDatabase,
    PostgresDatabaseArgs,
    StackProject,
    StackProjectArgs,
    TrustedSources,
)
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
        kubeconfig_ttl_seconds=cluster_config.kubeconfig_ttl_seconds,
    ),
)

# --- Data --------------------------------------------------------------------------------------
# Both databases admit only the cluster. Their metrics are scraped by the in-cluster agent (already
# trusted) and remote-written to the monitoring host, so the droplet needs no database access.
trusted = TrustedSources(kubernetes_cluster_ids=[cluster.cluster_id])
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
StackProject(
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
