"""Managed Valkey: the Celery broker (database 1) and the application cache (database 0)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do

from .database_access import MaintenanceWindow, TrustedSources

CACHE_DB = 0
"""Logical database of the application cache (``REDIS_URL``), as in the seed."""
BROKER_DB = 1
"""Logical database of the Celery broker (``CELERY_BROKER_URL`` and KEDA's queue trigger), as in the seed.
Separate keyspaces: flushing or expiring the cache never drops a queued task."""


@dataclass(frozen=True)
class CacheArgs:
    region: str
    vpc_id: pulumi.Input[str]
    version: str
    size: str
    node_count: int
    eviction_policy: str
    """``noeviction`` while this is a Celery broker: evicting a queued task loses it."""
    maintenance: MaintenanceWindow
    trusted: TrustedSources
    tags: Sequence[str]
    protect: bool


class Cache(pulumi.ComponentResource):
    """Managed Valkey reachable only from trusted sources.

    DigitalOcean discontinued managed Redis on 2025-06-30 (the seed's ``engine = "redis"`` no longer
    provisions); Valkey is its wire-compatible successor (Redis 7 protocol), served over TLS only,
    hence ``rediss://`` URIs.
    """

    cluster_id: pulumi.Output[str]
    """Database cluster id."""
    cluster_urn: pulumi.Output[str]
    """DigitalOcean URN for project membership."""
    uri: pulumi.Output[str]
    """rediss:// URI on the private network (secret)."""
    private_host: pulumi.Output[str]
    """Hostname on the VPC (for KEDA's Redis scaler, which takes host and password apart)."""
    port: pulumi.Output[int]
    """TLS port."""
    password: pulumi.Output[str]
    """Default user's password (secret)."""
    metrics_endpoints: pulumi.Output[Sequence[str]]
    """host:port of the cluster's Prometheus metrics endpoints."""

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:data:Cache", name, None, opts)
        cluster = do.DatabaseCluster(
            f"{name}-cluster",
            name=name,
            engine="valkey",
            version=args.version,
            size=args.size,
            node_count=args.node_count,
            region=args.region,
            private_network_uuid=args.vpc_id,
            eviction_policy=args.eviction_policy,
            maintenance_windows=args.maintenance.args(),
            tags=list(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        do.DatabaseFirewall(
            f"{name}-firewall",
            cluster_id=cluster.id,
            rules=args.trusted.rules(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.cluster_id = cluster.id
        self.cluster_urn = cluster.cluster_urn
        self.uri = pulumi.Output.secret(cluster.private_uri)
        self.private_host = cluster.private_host
        self.port = cluster.port
        self.password = pulumi.Output.secret(cluster.password)
        self.metrics_endpoints = cluster.metrics_endpoints
        self.register_outputs({"cluster_id": self.cluster_id, "uri": self.uri})
