"""RDS for PostgreSQL in the EKS cluster's private subnets: the AWS counterpart of ``PostgresDatabase``.

Secure by default, so a caller has to do nothing to get it right: storage, Performance Insights and
the master secret are encrypted with a customer-managed KMS key of this component; no public address;
TLS forced by a parameter group; reachable on 5432 only from the security groups the caller names (the
EKS cluster security group, which every Auto Mode node and pod carries). The master password is never
seen by Pulumi: ``manage_master_user_password`` makes RDS generate it and keep it, rotated, in Secrets
Manager; the state holds only the secret's ARN. Pods read it through their Pod Identity role
(components/aws_pod_identity.py, ``secret_read_statements``).

Production (``highly_available``) adds a Multi-AZ standby, deletion protection and a read replica in
another zone: seed 004's failover plan is "promote the read replica" (RPO 1 h, RTO 4 h). Multi-AZ covers
a zone failure within a minute or two; the replica covers a broken primary (and serves reads meanwhile).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .aws_data_access import clients_only_security_group
from .aws_kms import customer_key
from .aws_names import RDS_IDENTIFIER_PREFIX_MAX, bounded

POSTGRES_PORT = 5432
CURRENT_MAJOR = "17"
"""Newest PostgreSQL major RDS offers across regions as of late 2026 checks; RDS picks the newest minor
(``auto_minor_version_upgrade``). Raising the major is an explicit change (``allow_major_version_upgrade``)."""
PERFORMANCE_INSIGHTS_DAYS = 7
"""The free retention tier of Performance Insights; longer retention is billed per vCPU."""
PARAMETER_FAMILY_PREFIX = "postgres"


@dataclass(frozen=True)
class AwsPostgresArgs:
    vpc_id: pulumi.Input[str]
    """VPC of the database's security group (the EKS cluster's)."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets, at least two zones (RDS requires it even for a single-AZ instance)."""
    client_security_groups: Mapping[str, pulumi.Input[str]]
    """Security groups admitted on 5432, keyed by a stable name (``{"eks-cluster": <cluster sg>}``). Nothing
    else is admitted."""
    backup_retention_days: int
    """Days of automated backups and point-in-time recovery (seed 004: 7)."""
    highly_available: bool
    """Multi-AZ standby, deletion protection and a read replica (production)."""
    protect: bool
    """Protect the instances and the key from ``pulumi destroy`` (production)."""
    instance_class: str = "db.t4g.medium"
    """RDS instance class. Default: db.t4g.medium (2 vCPU, 4 GiB, Graviton)."""
    allocated_storage_gib: int = 20
    """Initial gp3 storage. Default: 20 GiB (the seed's)."""
    max_allocated_storage_gib: int = 100
    """Storage autoscaling ceiling. Default: 100 GiB."""
    major_version: str = CURRENT_MAJOR
    """PostgreSQL major. Default: the current major (``CURRENT_MAJOR``)."""
    database_name: str = "app"
    """Initial database. Default: app."""
    master_username: str = "app_admin"
    """Master user (its password lives only in Secrets Manager). Default: app_admin."""
    backup_window: str = "03:00-04:00"
    """UTC window of the daily snapshot. Default: 03:00-04:00."""
    maintenance_window: str = "sun:04:30-sun:05:30"
    """UTC window of patching, after the backup. Default: Sunday 04:30-05:30."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags. Default: none (the provider's default tags apply)."""


def parameter_family(major_version: str) -> str:
    """The parameter group family of a major: ``postgres17``."""
    return f"{PARAMETER_FAMILY_PREFIX}{major_version}"


def parameters() -> dict[str, str]:
    """Server parameters set on top of RDS's defaults: TLS only, and slow statements logged."""
    return {
        # The default since PostgreSQL 15 on RDS, set anyway: a custom parameter group copied from an older
        # family would otherwise silently admit clear-text connections.
        "rds.force_ssl": "1",
        "log_min_duration_statement": "1000",
    }


class AwsPostgres(pulumi.ComponentResource):
    """RDS PostgreSQL, private, KMS-encrypted, TLS-only, password managed by RDS; HA and a replica in production."""

    address: pulumi.Output[str]
    """Private DNS name of the primary."""
    port: pulumi.Output[int]
    """5432."""
    replica_address: pulumi.Output[str | None]
    """Private DNS name of the read replica (None without one)."""
    master_secret_arn: pulumi.Output[str]
    """Secrets Manager secret with the master credentials, managed and rotated by RDS."""
    kms_key_arn: pulumi.Output[str]
    """Key of the storage, Performance Insights and the master secret (readers need kms:Decrypt)."""
    security_group_id: pulumi.Output[str]
    """The database's security group."""
    instance_arn: pulumi.Output[str]
    """ARN of the primary."""
    instance_identifier: pulumi.Output[str]
    """``DBInstanceIdentifier`` of the primary (the CloudWatch dimension, components/aws_alarms.py)."""
    replica_identifier: pulumi.Output[str] | None
    """``DBInstanceIdentifier`` of the read replica (None without one)."""

    def __init__(self, name: str, args: AwsPostgresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:aws:Postgres", name, None, opts)
        if len(args.subnet_ids) < 2:
            raise ValueError(f"{name}: RDS needs subnets in at least two zones, got {len(args.subnet_ids)}")
        if not args.client_security_groups:
            raise ValueError(f"{name}: name the client security groups (the EKS cluster security group)")
        child = pulumi.ResourceOptions(parent=self)

        # AWS's default key policy lets the account's IAM policies decide, so a pod role's grant (kms:Decrypt
        # via Secrets Manager) is enough to read the master secret.
        key = customer_key(
            f"{name}-key",
            f"RDS storage, Performance Insights and master secret of {name}",
            pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        # No egress rules: a database initiates no connections.
        group = clients_only_security_group(
            name,
            vpc_id=args.vpc_id,
            service="PostgreSQL",
            port=POSTGRES_PORT,
            clients=args.client_security_groups,
            opts=child,
        )
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets", subnet_ids=list(args.subnet_ids), description=f"Private subnets of {name}", opts=child
        )
        params = aws.rds.ParameterGroup(
            f"{name}-params",
            family=parameter_family(args.major_version),
            parameters=[aws.rds.ParameterGroupParameterArgs(name=k, value=v) for k, v in sorted(parameters().items())],
            opts=child,
        )
        common: dict[str, Any] = {
            "instance_class": args.instance_class,
            "storage_type": "gp3",
            "storage_encrypted": True,
            "kms_key_id": key.arn,
            "publicly_accessible": False,
            "vpc_security_group_ids": [group.id],
            "parameter_group_name": params.name,
            "performance_insights_enabled": True,
            "performance_insights_kms_key_id": key.arn,
            "performance_insights_retention_period": PERFORMANCE_INSIGHTS_DAYS,
            "auto_minor_version_upgrade": True,
            "copy_tags_to_snapshot": True,
            "iam_database_authentication_enabled": True,
            "deletion_protection": args.highly_available,
            "maintenance_window": args.maintenance_window,
            "tags": dict(args.tags),
        }
        primary = aws.rds.Instance(
            f"{name}-primary",
            identifier_prefix=f"{bounded(f'{name}-primary', RDS_IDENTIFIER_PREFIX_MAX)}-",
            engine="postgres",
            engine_version=args.major_version,
            db_name=args.database_name,
            username=args.master_username,
            # RDS generates the password and keeps it in Secrets Manager (rotated every 7 days by default);
            # no `password` argument, so nothing secret is in the program, the stack file or the state.
            manage_master_user_password=True,
            master_user_secret_kms_key_id=key.arn,
            allocated_storage=args.allocated_storage_gib,
            max_allocated_storage=args.max_allocated_storage_gib,
            db_subnet_group_name=subnets.name,
            multi_az=args.highly_available,
            backup_retention_period=args.backup_retention_days,
            backup_window=args.backup_window,
            # A final snapshot on delete, always: the automated backups go with the instance.
            skip_final_snapshot=False,
            # Fixed, so a second destroy of a re-created database would collide: rename the old snapshot first.
            final_snapshot_identifier=f"{bounded(name, 50)}-final",
            delete_automated_backups=False,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
            **common,
        )
        replica_address: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        self.replica_identifier = None
        if args.highly_available:
            replica = aws.rds.Instance(
                f"{name}-replica",
                identifier_prefix=f"{bounded(f'{name}-replica', RDS_IDENTIFIER_PREFIX_MAX)}-",
                # The source's ARN, not its identifier: required when a subnet group is given.
                replicate_source_db=primary.arn,
                db_subnet_group_name=subnets.name,
                # Backups on the replica too, so a promoted replica is already a complete primary.
                backup_retention_period=args.backup_retention_days,
                skip_final_snapshot=True,
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
                **common,
            )
            replica_address = replica.address
            self.replica_identifier = replica.identifier

        self.address = primary.address
        self.port = primary.port
        self.replica_address = replica_address
        # The instance's master_user_secrets list is computed; its first element is the managed secret.
        self.master_secret_arn = primary.master_user_secrets.apply(lambda s: (s[0].secret_arn or "") if s else "")
        self.kms_key_arn = key.arn
        self.security_group_id = group.id
        self.instance_arn = primary.arn
        self.instance_identifier = primary.identifier
        self.register_outputs(
            {
                "address": self.address,
                "port": self.port,
                "replica_address": self.replica_address,
                "master_secret_arn": self.master_secret_arn,
                "kms_key_arn": self.kms_key_arn,
                "security_group_id": self.security_group_id,
                "instance_arn": self.instance_arn,
                "instance_identifier": self.instance_identifier,
            }
        )
