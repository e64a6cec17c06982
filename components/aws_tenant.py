"""The AWS data side of one ``target: aws`` tenant on the EKS cluster: databases, cache, buckets, identities.

The catalog format is the DigitalOcean tenants' (stack_config/tenants.py); what its sections mean here:

* ``database`` -> ``AwsPostgres`` in the cluster's private subnets; production adds Multi-AZ, deletion
  protection and the read replica seed 004's failover plan promotes;
* ``cache`` -> ``AwsCache`` (ElastiCache for Valkey); ``nodeCount`` >= 2 means a replica in a second zone with
  automatic failover;
* ``buckets`` -> one ``AwsMediaBucket`` each; the catalog's first lifecycle rule is the expiring working-copy
  prefix (the tiering to IA and archive is always on);
* every catalog service gets, when it needs AWS at all, a Pod Identity role for its service account (the
  ``Workload`` component names the account after the service, in ``<tenant>-<environment>``): the database's
  managed secret for ``egress: postgres``, ``elasticache:Connect`` as the tenant's cache user for
  ``egress: cache``, and the prefixes ``eks.tenantData.<tenant>.bucketAccess`` grants it. Nothing else.
* ``autoscaling.queue`` -> one ``AwsQueue`` (SQS, with its dead-letter queue) per distinct queue name, where
  DigitalOcean uses a Redis list on the Valkey broker: the catalog does not change between clouds. The consuming
  service's role may receive/delete/extend its messages; ``eks.tenantData.<tenant>.queueSenders`` names who may
  send. KEDA reads the queue's length with its own identity (components/eks_addons.py), so a queue worker
  scales to zero (docs/eks.md, "Queues and scale to zero").

No key or password is created for any pod: the writer-key pattern of the DigitalOcean backups is not repeated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from stack_config.eks import AwsTenantData, catalog_queues, queue_sender_problems
from stack_config.tenants import TenantEntry

from .aws_alarms import DatabaseTarget, TenantAlarmTargets
from .aws_cache import VALKEY_PORT, AwsCache, AwsCacheArgs, connect_statements
from .aws_media_bucket import AwsMediaBucket, AwsMediaBucketArgs, object_statements
from .aws_pod_identity import AwsPodIdentity, AwsPodIdentityArgs, secret_read_statements
from .aws_postgres import POSTGRES_PORT, AwsPostgres, AwsPostgresArgs
from .aws_queue import AwsQueue, AwsQueueArgs, consume_statements, send_statements
from .workload import NetworkPeer

POD_IDENTITY_AGENT = NetworkPeer(cidr="169.254.170.23/32", ports=(80,))
"""The EKS Pod Identity agent on every node, where the SDKs fetch the role's credentials
(``AWS_CONTAINER_CREDENTIALS_FULL_URI``). The namespace denies egress by default and the ``internet`` rule
excludes 169.254.0.0/16 (the instance metadata service), so services with a role get exactly this address."""
AWS_POSTGRES_PORTS = (POSTGRES_PORT,)
AWS_CACHE_PORTS = (VALKEY_PORT,)
"""Where the tenant's pods connect for ``egress: postgres`` / ``egress: cache`` (RDS, ElastiCache; TLS on both)."""


@dataclass(frozen=True)
class AwsTenantArgs:
    entry: TenantEntry
    """The validated ``platform:tenants`` entry (``target: aws``)."""
    data: AwsTenantData
    """This stack's sizing and bucket access of the tenant (``eks.tenantData.<name>``)."""
    environment: str
    aws_region: str
    cluster_name: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    cluster_security_group_id: pulumi.Input[str]
    """Every Auto Mode node and pod carries it: the data services admit it and nothing else."""
    highly_available: bool
    """Production: Multi-AZ, deletion protection and the read replica."""
    protect: bool
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags of the tenant's resources. Default: none (the provider's default tags apply)."""


def aws_tenant_problems(entry: TenantEntry, data: AwsTenantData) -> list[str]:
    """What the catalog asks that the AWS side cannot give, all at once (before anything is registered)."""
    spec, services = entry.tenant, entry.apps.catalog.services
    problems = []
    if spec.target != "aws":
        problems.append(f"target is {spec.target!r}, not 'aws'")
    if spec.node_pools:
        problems.append(
            f"nodePools {sorted(spec.node_pools)} are DigitalOcean pools: on EKS declare Karpenter pools in "
            "eks.nodePools instead"
        )
    for service_name, buckets in sorted(data.bucket_access.items()):
        if service_name not in services:
            problems.append(f"bucketAccess.{service_name}: no such service in {entry.catalog} ({sorted(services)})")
        unknown = sorted(set(buckets) - set(spec.buckets))
        if unknown:
            problems.append(
                f"bucketAccess.{service_name}: buckets {unknown} are not the catalog's ({sorted(spec.buckets)})"
            )
    for key, bucket in sorted(spec.buckets.items()):
        if len(bucket.lifecycle) > 1:
            problems.append(
                f"buckets.{key}: AWS takes one expiring prefix (working copies), not {len(bucket.lifecycle)}"
            )
        if bucket.cdn or bucket.replica_region:
            problems.append(f"buckets.{key}: cdn and replicaRegion are Spaces features, not offered on AWS")
    for name, service in sorted(services.items()):
        if "postgres" in service.egress and spec.database is None:
            problems.append(f"services.{name}: egress postgres needs a database section")
        if "cache" in service.egress and spec.cache is None:
            problems.append(f"services.{name}: egress cache needs a cache section")
    problems += queue_sender_problems(entry.name, data, catalog_queues(services), sorted(services))
    return problems


class AwsTenant(pulumi.ComponentResource):
    """Data services and per-service Pod Identity roles of one AWS tenant (see module docstring)."""

    namespace: str
    """Namespace the tenant's service accounts live in (``<tenant>-<environment>``)."""
    database_address: pulumi.Output[str] | None
    """RDS primary's private DNS name (None without a database)."""
    database_secret_arn: pulumi.Output[str] | None
    """Secrets Manager secret of the master credentials (None without a database)."""
    cache_endpoint: pulumi.Output[str] | None
    """Valkey primary endpoint (None without a cache)."""
    bucket_names: dict[str, pulumi.Output[str]]
    """Physical S3 bucket by catalog bucket name."""
    role_arns: dict[str, pulumi.Output[str]]
    """Pod Identity role by service (services that need no AWS access have none)."""
    queue_urls: dict[str, pulumi.Output[str]]
    """SQS queue URL by catalog queue name (``autoscaling.queue.name``), for KEDA's triggers."""
    queue_arns: dict[str, pulumi.Output[str]]
    """SQS queue ARN by catalog queue name, for KEDA's own role (components/eks_addons.py)."""
    alarm_targets: TenantAlarmTargets
    """Instance ids, cache nodes and dead-letter queues for the stack's CloudWatch alarms (components/aws_alarms.py)."""
    settings: dict[str, pulumi.Input[str]]
    """Non-secret connection settings for the tenant's ConfigMap (issue 15, the workloads' half): where the database
    and cache are, the ARN of the secret with the database credentials (read through the pod's Pod Identity role,
    never copied into Kubernetes), the cache user (IAM authentication: the client signs a 15-minute token with
    its role's credentials, there is no password) and the buckets."""

    def __init__(self, name: str, args: AwsTenantArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        problems = aws_tenant_problems(args.entry, args.data)
        if problems:
            raise ValueError(f"tenant {args.entry.name}: " + "; ".join(problems))
        super().__init__("platform:aws:Tenant", name, None, opts)
        spec, data = args.entry.tenant, args.data
        self.namespace = args.entry.namespace(args.environment)
        tags = {**dict(args.tags), "tenant": spec.name}
        child = pulumi.ResourceOptions(parent=self)
        clients = {"eks-cluster": args.cluster_security_group_id}

        services = args.entry.apps.catalog.services
        statements: dict[str, list[pulumi.Output[list[dict[str, Any]]]]] = {s: [] for s in services}
        postgres: AwsPostgres | None = None
        if spec.database is not None:
            postgres = AwsPostgres(
                f"{name}-pg",
                AwsPostgresArgs(
                    vpc_id=args.vpc_id,
                    subnet_ids=list(args.private_subnet_ids),
                    client_security_groups=clients,
                    backup_retention_days=data.backup_retention_days,
                    highly_available=args.highly_available,
                    protect=args.protect,
                    instance_class=data.postgres_instance_class,
                    allocated_storage_gib=data.postgres_storage_gib,
                    database_name=spec.name.replace("-", "_"),
                    tags=tags,
                ),
                opts=child,
            )
            secret = pulumi.Output.all(postgres.master_secret_arn, postgres.kms_key_arn).apply(
                lambda v: secret_read_statements(v[0], v[1], args.aws_region)
            )
            for service_name, service in args.entry.apps.catalog.services.items():
                if "postgres" in service.egress:
                    statements[service_name].append(secret)
        cache: AwsCache | None = None
        if spec.cache is not None:
            cache = AwsCache(
                f"{name}-cache",
                AwsCacheArgs(
                    subnet_ids=list(args.private_subnet_ids),
                    vpc_id=args.vpc_id,
                    client_security_groups=clients,
                    highly_available=spec.cache.node_count >= 2,
                    protect=args.protect,
                    node_type=data.cache_node_type,
                    tags=tags,
                ),
                opts=child,
            )
            connect = pulumi.Output.all(cache.replication_group_arn, cache.user_arn).apply(
                lambda v: connect_statements(v[0], v[1])
            )
            for service_name, service in args.entry.apps.catalog.services.items():
                if "cache" in service.egress:
                    statements[service_name].append(connect)
        buckets: dict[str, AwsMediaBucket] = {}
        for key, bucket in sorted(spec.buckets.items()):
            expiring = bucket.lifecycle[0] if bucket.lifecycle else None
            buckets[key] = AwsMediaBucket(
                f"{name}-{key}",
                AwsMediaBucketArgs(
                    protect=args.protect,
                    # Without an expiring prefix in the catalog, nothing under "expiring/" is ever written.
                    audio_prefix=expiring.prefix.strip("/") if expiring and expiring.prefix.strip("/") else "expiring",
                    audio_expiry_days=expiring.expire_days if expiring else 14,
                    tags={**tags, "purpose": bucket.purpose[:250]},
                ),
                opts=child,
            )
        for service_name, grants in sorted(data.bucket_access.items()):
            for key, access in sorted(grants.items()):
                statements[service_name].append(
                    buckets[key].arn.apply(
                        lambda arn, a=access: object_statements(arn, a.prefixes, write=a.write)  # type: ignore[misc]
                    )
                )

        queues = _queues(name, args, tags, statements, child)

        self.role_arns = {}
        for service_name, parts in sorted(statements.items()):
            if not parts:
                continue
            identity = AwsPodIdentity(
                f"{name}-{service_name}",
                AwsPodIdentityArgs(
                    cluster_name=args.cluster_name,
                    namespace=self.namespace,
                    service_account=service_name,
                    statements=pulumi.Output.all(*parts).apply(lambda lists: [s for part in lists for s in part]),
                    tags=tags,
                ),
                opts=child,
            )
            self.role_arns[service_name] = identity.role_arn

        self.database_address = postgres.address if postgres else None
        self.database_secret_arn = postgres.master_secret_arn if postgres else None
        self.cache_endpoint = cache.endpoint if cache else None
        self.bucket_names = {key: b.bucket for key, b in buckets.items()}
        self.queue_urls = {key: q.url for key, q in queues.items()}
        self.queue_arns = {key: q.arn for key, q in queues.items()}
        self.settings = _settings(args, postgres, cache, self.bucket_names, self.queue_urls)
        self.alarm_targets = TenantAlarmTargets(
            tenant=args.entry.name,
            database=DatabaseTarget(
                primary_id=postgres.instance_identifier,
                instance_class=data.postgres_instance_class,
                allocated_storage_gib=data.postgres_storage_gib,
                replica_id=postgres.replica_identifier,
            )
            if postgres is not None
            else None,
            cache_nodes=cache.member_cluster_ids if cache is not None else (),
            dead_letter_queues={key: q.dead_letter_name for key, q in queues.items()},
        )
        self.register_outputs(
            {
                "namespace": self.namespace,
                "database_address": self.database_address,
                "cache_endpoint": self.cache_endpoint,
                "bucket_names": self.bucket_names,
                "role_arns": self.role_arns,
                "queue_urls": self.queue_urls,
            }
        )


def _queues(
    name: str,
    args: AwsTenantArgs,
    tags: Mapping[str, str],
    statements: dict[str, list[pulumi.Output[list[dict[str, Any]]]]],
    child: pulumi.ResourceOptions,
) -> dict[str, AwsQueue]:
    """One ``AwsQueue`` per queue the catalog's ``autoscaling.queue`` names; adds the consumers' and the listed
    senders' grants to ``statements``."""
    queues: dict[str, AwsQueue] = {}
    for queue_name, consumers in sorted(catalog_queues(args.entry.apps.catalog.services).items()):
        queue = queues[queue_name] = AwsQueue(
            f"{name}-queue-{queue_name}",
            AwsQueueArgs(
                protect=args.protect,
                visibility_timeout_seconds=args.data.queue_visibility_timeout_seconds,
                tags={**tags, "queue": queue_name},
            ),
            opts=child,
        )
        for service_name in consumers:
            statements[service_name].append(queue.arn.apply(consume_statements))
        for service_name in sorted(set(args.data.queue_senders.get(queue_name, ()))):
            statements[service_name].append(queue.arn.apply(send_statements))
    return queues


def _settings(
    args: AwsTenantArgs,
    postgres: AwsPostgres | None,
    cache: AwsCache | None,
    bucket_names: Mapping[str, pulumi.Output[str]],
    queue_urls: Mapping[str, pulumi.Output[str]],
) -> dict[str, pulumi.Input[str]]:
    """``AwsTenant.settings``: where everything is, and how to authenticate (no credential among them)."""
    settings: dict[str, pulumi.Input[str]] = {"AWS_REGION": args.aws_region}
    if postgres is not None:
        settings |= {
            "DATABASE_HOST": postgres.address,
            "DATABASE_PORT": postgres.port.apply(str),
            "DATABASE_NAME": args.entry.tenant.name.replace("-", "_"),
            "DATABASE_SSLMODE": "verify-full",
            # Not "..._SECRET_ARN": ConfigMap keys that name a credential are refused (stack_config/credentials.py);
            # this is only where the login is, readable by the roles of the services with egress postgres.
            "DATABASE_LOGIN_ARN": postgres.master_secret_arn,
        }
    if cache is not None:
        settings |= {
            "CACHE_HOST": cache.endpoint,
            "CACHE_PORT": cache.port.apply(str),
            "CACHE_USER": cache.user_name,
            "CACHE_AUTH": "iam",
            "CACHE_TLS": "true",
        }
    for key, bucket_name in sorted(bucket_names.items()):
        settings[f"BUCKET_{key.upper().replace('-', '_')}"] = bucket_name
    for key, url in sorted(queue_urls.items()):
        # A URL, not a credential: who may send or receive is the pod's role.
        settings[f"QUEUE_{env_key(key)}_URL"] = url
    return settings


def env_key(name: str) -> str:
    """A catalog name as an environment variable fragment: ``episodes-hi.prio`` -> ``EPISODES_HI_PRIO``."""
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")
