"""Reusable ComponentResources; each module owns one component."""

from .application import Application, ApplicationArgs
from .aws_cache import AwsCache, AwsCacheArgs
from .aws_media_bucket import AwsMediaBucket, AwsMediaBucketArgs
from .aws_pod_identity import AwsPodIdentity, AwsPodIdentityArgs
from .aws_postgres import AwsPostgres, AwsPostgresArgs
from .aws_tenant import AwsTenant, AwsTenantArgs
from .backup_job import BackupJob, BackupJobArgs
from .backup_vault import BackupVault, BackupVaultArgs
from .cache import Cache, CacheArgs
from .cloud_alerts import AlertThresholds, CloudAlerts, CloudAlertsArgs
from .database_access import MaintenanceWindow, TrustedSources
from .edge import Edge, EdgeArgs, EdgeRoute
from .eks_cluster import EksCluster, EksClusterArgs, EksNodePoolSpec
from .external_secrets import ExternalSecrets, ExternalSecretsArgs, SecretStoreRef
from .gateway import GatewayRef, SharedGateway, SharedGatewayArgs
from .gateway_routes import TenantRoutes, TenantRoutesArgs
from .kubernetes_cluster import KubernetesCluster, KubernetesClusterArgs, NodePoolSpec
from .log_agent import LogAgent, LogAgentArgs
from .metrics_agent import DatabaseMetricsSource, MetricsAgent, MetricsAgentArgs
from .monitoring_server import MonitoringServer, MonitoringServerArgs
from .network import Network, NetworkArgs
from .platform_addons import PlatformAddons, PlatformAddonsArgs
from .postgres import PostgresDatabase, PostgresDatabaseArgs
from .project import StackProject, StackProjectArgs
from .tenant import BackupTarget, Tenant, TenantArgs
from .workload import Workload, WorkloadArgs

__all__ = [
    "AlertThresholds",
    "Application",
    "ApplicationArgs",
    "AwsCache",
    "AwsCacheArgs",
    "AwsMediaBucket",
    "AwsMediaBucketArgs",
    "AwsPodIdentity",
    "AwsPodIdentityArgs",
    "AwsPostgres",
    "AwsPostgresArgs",
    "AwsTenant",
    "AwsTenantArgs",
    "BackupJob",
    "BackupJobArgs",
    "BackupTarget",
    "BackupVault",
    "BackupVaultArgs",
    "Cache",
    "CacheArgs",
    "CloudAlerts",
    "CloudAlertsArgs",
    "DatabaseMetricsSource",
    "Edge",
    "EdgeArgs",
    "EdgeRoute",
    "EksCluster",
    "EksClusterArgs",
    "EksNodePoolSpec",
    "ExternalSecrets",
    "ExternalSecretsArgs",
    "GatewayRef",
    "KubernetesCluster",
    "KubernetesClusterArgs",
    "LogAgent",
    "LogAgentArgs",
    "MaintenanceWindow",
    "MetricsAgent",
    "MetricsAgentArgs",
    "MonitoringServer",
    "MonitoringServerArgs",
    "Network",
    "NetworkArgs",
    "NodePoolSpec",
    "PlatformAddons",
    "PlatformAddonsArgs",
    "PostgresDatabase",
    "PostgresDatabaseArgs",
    "SecretStoreRef",
    "SharedGateway",
    "SharedGatewayArgs",
    "StackProject",
    "StackProjectArgs",
    "Tenant",
    "TenantArgs",
    "TenantRoutes",
    "TenantRoutesArgs",
    "TrustedSources",
    "Workload",
    "WorkloadArgs",
]
