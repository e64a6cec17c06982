"""Managed PostgreSQL for the application: cluster, database, role, transaction pool, firewall."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do

from .database_access import MaintenanceWindow, TrustedSources

DIRECT_PORT = 25060
POOL_PORT = 25061


@dataclass(frozen=True)
class PostgresDatabaseArgs:
    region: str
    vpc_id: pulumi.Input[str]
    version: str
    """Major version (15-17)."""
    size: str
    node_count: int
    """1 primary plus standbys (a standby needs a >= 2 GB plan)."""
    database: str
    user: str
    pool_size: int
    maintenance: MaintenanceWindow
    trusted: TrustedSources
    tags: Sequence[str]
    protect: bool
    """Protect the cluster from deletion (production)."""
    storage_size_mib: int | None = None
    """Default: the plan's included storage."""


class PostgresDatabase(pulumi.ComponentResource):
    """PostgreSQL on the VPC's private network, reachable only from trusted sources.

    Applications connect through the transaction-mode pool (PgBouncer on 25061). Transaction mode
    breaks server-side prepared statements: SQLAlchemy/asyncpg clients must disable their
    statement cache. Migrations and ``pg_dump`` use the direct URI (25060).
    """

    cluster_id: pulumi.Output[str]
    """Database cluster id."""
    cluster_urn: pulumi.Output[str]
    """DigitalOcean URN for project membership."""
    private_host: pulumi.Output[str]
    """Hostname on the VPC."""
    direct_uri: pulumi.Output[str]
    """postgresql:// URI of the application role on the private network, port 25060 (secret)."""
    pooled_uri: pulumi.Output[str]
    """postgresql:// URI of the transaction pool on the private network, port 25061 (secret)."""
    metrics_endpoints: pulumi.Output[Sequence[str]]
    """host:port of the cluster's Prometheus metrics endpoints."""

    def __init__(self, name: str, args: PostgresDatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:data:PostgresDatabase", name, None, opts)
        cluster = do.DatabaseCluster(
            f"{name}-cluster",
            name=name,
            engine="pg",
            version=args.version,
            size=args.size,
            node_count=args.node_count,
            region=args.region,
            private_network_uuid=args.vpc_id,
            maintenance_windows=args.maintenance.args(),
            storage_size_mib=str(args.storage_size_mib) if args.storage_size_mib else None,
            tags=list(args.tags),
            # Project membership goes through ProjectResources: project_id forces replacement.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        # `name` forces replacement: a changed ``database`` drops the old database with its data. Protected
        # with the cluster, a rename is refused by the engine instead. The data-keeping path: `ALTER
        # DATABASE old RENAME TO new` (no sessions connected), then `pulumi state` to re-import the
        # DatabaseDb under the new name (id `<cluster id>/database/<new>`), then change the config.
        # No stack ran the old default (`app`) when seed 000's `niche_discovery` became the default.
        database = do.DatabaseDb(
            f"{name}-db",
            cluster_id=cluster.id,
            name=args.database,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        user = do.DatabaseUser(
            f"{name}-user", cluster_id=cluster.id, name=args.user, opts=pulumi.ResourceOptions(parent=self)
        )
        # Created concurrently with its database and user, the pool fails: it must wait for both.
        pool = do.DatabaseConnectionPool(
            f"{name}-pool",
            cluster_id=cluster.id,
            name=f"{args.database}-pool",
            mode="transaction",
            size=args.pool_size,
            db_name=database.name,
            user=user.name,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[database, user]),
        )
        do.DatabaseFirewall(
            f"{name}-firewall",
            cluster_id=cluster.id,
            rules=args.trusted.rules(),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.cluster_id = cluster.id
        self.cluster_urn = cluster.cluster_urn
        self.private_host = cluster.private_host
        self.direct_uri = pulumi.Output.secret(
            pulumi.Output.format(
                "postgresql://{0}:{1}@{2}:{3}/{4}?sslmode=require",
                user.name,
                user.password,
                cluster.private_host,
                DIRECT_PORT,
                database.name,
            )
        )
        self.pooled_uri = pulumi.Output.secret(pool.private_uri)
        self.metrics_endpoints = cluster.metrics_endpoints
        self.register_outputs(
            {
                "cluster_id": self.cluster_id,
                "private_host": self.private_host,
                "direct_uri": self.direct_uri,
                "pooled_uri": self.pooled_uri,
            }
        )
