"""Reusable ComponentResources; each module owns one component."""

from .cache import Cache, CacheArgs
from .database_access import MaintenanceWindow, TrustedSources
from .kubernetes_cluster import KubernetesCluster, KubernetesClusterArgs, NodePoolSpec
from .monitoring_server import MonitoringServer, MonitoringServerArgs
from .network import Network, NetworkArgs
from .postgres import PostgresDatabase, PostgresDatabaseArgs
from .project import StackProject, StackProjectArgs

__all__ = [
    "Cache",
    "CacheArgs",
    "KubernetesCluster",
    "KubernetesClusterArgs",
    "MaintenanceWindow",
    "MonitoringServer",
    "MonitoringServerArgs",
    "Network",
    "NetworkArgs",
    "NodePoolSpec",
    "PostgresDatabase",
    "PostgresDatabaseArgs",
    "StackProject",
    "StackProjectArgs",
    "TrustedSources",
]
