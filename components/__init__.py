"""Reusable ComponentResources; each module owns one component."""

from .application import Application, ApplicationArgs
from .backup_job import BackupJob, BackupJobArgs
from .backup_vault import BackupVault, BackupVaultArgs
from .cache import Cache, CacheArgs
from .cloud_alerts import AlertThresholds, CloudAlerts, CloudAlertsArgs
from .database_access import MaintenanceWindow, TrustedSources
from .edge import Edge, EdgeArgs, EdgeRoute
from .eks_cluster import EksCluster, EksClusterArgs, EksNodePoolSpec
from .kubernetes_cluster import KubernetesCluster, KubernetesClusterArgs, NodePoolSpec
from .metrics_agent import DatabaseMetricsSource, MetricsAgent, MetricsAgentArgs
from .monitoring_server import MonitoringServer, MonitoringServerArgs
from .network import Network, NetworkArgs
from .platform_addons import PlatformAddons, PlatformAddonsArgs
from .postgres import PostgresDatabase, PostgresDatabaseArgs
from .project import StackProject, StackProjectArgs
from .workload import Workload, WorkloadArgs

__all__ = [
    "AlertThresholds",
    "Application",
    "ApplicationArgs",
    "BackupJob",
    "BackupJobArgs",
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
    "KubernetesCluster",
    "KubernetesClusterArgs",
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
    "StackProject",
    "StackProjectArgs",
    "TrustedSources",
    "Workload",
    "WorkloadArgs",
]
