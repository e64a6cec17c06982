"""ElastiCache for Valkey in the EKS cluster's private subnets: the AWS counterpart of ``Cache``.

Valkey, not Redis OSS: the same wire protocol (the seed's ``redis:7`` clients connect unchanged), the
engine AWS develops forward, and ElastiCache prices Valkey nodes about 20% below Redis OSS ones.

Authentication without a static password: role-based access control with an ElastiCache user whose
authentication mode is IAM. A pod signs a 15-minute token with its Pod Identity credentials
(``elasticache:Connect`` on this replication group and this user, ``connect_statements``) and sends it
in ``AUTH``; nothing secret is generated, stored in the state or mounted. IAM users need TLS (on, and
required) and a user id equal to the user name. The ``default`` user every RBAC group must hold is
switched off (access string ``off``), so an unauthenticated connection can do nothing.

Encryption in transit (required, not preferred) and at rest (this component's KMS key). Production
(``highly_available``) adds a replica in another zone with automatic failover and Multi-AZ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .aws_data_access import clients_only_security_group
from .aws_kms import customer_key
from .aws_names import ELASTICACHE_ID_MAX, bounded

VALKEY_PORT = 6379
ENGINE_VERSION = "8.1"
"""Newest Valkey major.minor on ElastiCache when written; unverified against a live DescribeCacheEngineVersions."""
DISABLED_DEFAULT_USER = "off -@all"
"""Access string of the ``default`` user: disabled, no commands."""
APP_ACCESS = "on ~* +@all -@dangerous"
"""The application user: every key, every command but the dangerous group (FLUSHALL, CONFIG, KEYS ...)."""


@dataclass(frozen=True)
class AwsCacheArgs:
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets, at least two zones."""
    vpc_id: pulumi.Input[str]
    """VPC of the cache's security group."""
    client_security_groups: Mapping[str, pulumi.Input[str]]
    """Security groups admitted on 6379, keyed by a stable name (``{"eks-cluster": <cluster sg>}``)."""
    highly_available: bool
    """A replica in a second zone, automatic failover, Multi-AZ (production)."""
    protect: bool
    """Protect the replication group and its key (production)."""
    node_type: str = "cache.t4g.small"
    """Node size. Default: cache.t4g.small (1.37 GiB; the seed's Upstash cache is 1 GB)."""
    snapshot_retention_days: int = 1
    """Daily snapshots kept. Default: 1 (a cache is rebuilt from PostgreSQL; 0 turns snapshots off)."""
    maintenance_window: str = "sun:05:30-sun:06:30"
    """UTC window. Default: Sunday 05:30-06:30, after the database's."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags. Default: none."""


def user_id(name: str) -> str:
    """The application user's id and name (IAM authentication requires them equal)."""
    return bounded(f"{name}-app", ELASTICACHE_ID_MAX)


def connect_statements(replication_group_arn: str, user_arn: str) -> list[dict[str, Any]]:
    """What a pod needs to authenticate to this cache as the application user, and nothing more."""
    return [
        {
            "Sid": "ConnectAsAppUser",
            "Effect": "Allow",
            "Action": ["elasticache:Connect"],
            "Resource": [replication_group_arn, user_arn],
        }
    ]


class AwsCache(pulumi.ComponentResource):
    """ElastiCache for Valkey: TLS required, KMS at rest, IAM-authenticated user, Multi-AZ in production."""

    endpoint: pulumi.Output[str]
    """Primary endpoint (rediss://, TLS)."""
    reader_endpoint: pulumi.Output[str]
    """Reader endpoint."""
    port: pulumi.Output[int]
    """6379."""
    user_name: pulumi.Output[str]
    """The IAM-authenticated user applications connect as."""
    user_arn: pulumi.Output[str]
    """Its ARN (the ``elasticache:Connect`` resource)."""
    replication_group_arn: pulumi.Output[str]
    """The replication group's ARN (the other ``elasticache:Connect`` resource)."""
    member_cluster_ids: list[pulumi.Output[str]]
    """``CacheClusterId`` of each node (``<group>-001``...), from ``member_clusters``: the CloudWatch dimension."""

    def __init__(self, name: str, args: AwsCacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:aws:Cache", name, None, opts)
        if len(args.subnet_ids) < 2:
            raise ValueError(f"{name}: a cache subnet group needs at least two zones, got {len(args.subnet_ids)}")
        if not args.client_security_groups:
            raise ValueError(f"{name}: name the client security groups (the EKS cluster security group)")
        child = pulumi.ResourceOptions(parent=self)
        key = customer_key(
            f"{name}-key",
            f"ElastiCache at-rest encryption of {name}",
            pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        # No egress rules: a cache initiates no connections.
        group = clients_only_security_group(
            name,
            vpc_id=args.vpc_id,
            service="Valkey",
            port=VALKEY_PORT,
            clients=args.client_security_groups,
            opts=child,
        )
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-subnets", subnet_ids=list(args.subnet_ids), description=f"Private subnets of {name}", opts=child
        )
        default_user = aws.elasticache.User(
            f"{name}-default-user",
            user_id=bounded(f"{name}-default", ELASTICACHE_ID_MAX),
            user_name="default",
            engine="valkey",
            access_string=DISABLED_DEFAULT_USER,
            # Disabled by its access string; no password exists to leak.
            authentication_mode=aws.elasticache.UserAuthenticationModeArgs(type="no-password-required"),
            opts=child,
        )
        app = user_id(name)
        app_user = aws.elasticache.User(
            f"{name}-app-user",
            user_id=app,
            user_name=app,
            engine="valkey",
            access_string=APP_ACCESS,
            authentication_mode=aws.elasticache.UserAuthenticationModeArgs(type="iam"),
            opts=child,
        )
        users = aws.elasticache.UserGroup(
            f"{name}-users",
            user_group_id=bounded(f"{name}-users", ELASTICACHE_ID_MAX),
            engine="valkey",
            user_ids=[default_user.user_id, app_user.user_id],
            opts=child,
        )
        cache = aws.elasticache.ReplicationGroup(
            f"{name}-valkey",
            replication_group_id=bounded(name, ELASTICACHE_ID_MAX),
            description=f"Valkey cache of {name}",
            engine="valkey",
            engine_version=ENGINE_VERSION,
            node_type=args.node_type,
            port=VALKEY_PORT,
            num_cache_clusters=2 if args.highly_available else 1,
            automatic_failover_enabled=args.highly_available,
            multi_az_enabled=args.highly_available,
            subnet_group_name=subnets.name,
            security_group_ids=[group.id],
            transit_encryption_enabled=True,
            # "required", not "preferred": preferred also accepts clear-text connections (it exists for migrations).
            transit_encryption_mode="required",
            at_rest_encryption_enabled=True,
            kms_key_id=key.arn,
            user_group_ids=[users.user_group_id],
            snapshot_retention_limit=args.snapshot_retention_days,
            maintenance_window=args.maintenance_window,
            auto_minor_version_upgrade=True,
            apply_immediately=False,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.endpoint = cache.primary_endpoint_address
        self.reader_endpoint = cache.reader_endpoint_address
        self.port = cache.port.apply(lambda p: int(p) if p is not None else VALKEY_PORT)
        self.user_name = app_user.user_name
        self.user_arn = app_user.arn
        self.replication_group_arn = cache.arn
        # member_clusters is an unordered set known only after create; its size is num_cache_clusters. Sorted,
        # so node 1 stays node 1 (ids never change on failover: only which one is primary).
        self.member_cluster_ids = [
            cache.member_clusters.apply(lambda ids, i=i: sorted(ids)[i])  # type: ignore[misc]
            for i in range(2 if args.highly_available else 1)
        ]
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "reader_endpoint": self.reader_endpoint,
                "port": self.port,
                "user_name": self.user_name,
                "user_arn": self.user_arn,
                "replication_group_arn": self.replication_group_arn,
            }
        )
