"""Everything of one tenant on the shared platform, isolated from every other tenant.

A ``Tenant`` turns one ``platform:tenants`` entry (stack_config/tenants.py) into:

* **workloads** through the existing ``Application`` (and so ``Workload``) components: a namespace
  ``<tenant>-<environment>`` with Pod Security ``restricted``, a ResourceQuota sized from the catalog,
  a LimitRange, default-deny NetworkPolicies and exactly the paths the catalog declares;
* **data of its own**: a database and a role on the stack's shared PostgreSQL cluster with its own
  transaction pool (and, when the catalog asks, a read replica with its own firewall), a managed Valkey
  cluster of its own, Spaces buckets with one key scoped to them (``ObjectStorage``);
* **node pools of its own**, tainted, that only its pinned services tolerate;
* **routes** on the platform's shared Gateway (``TenantRoutes``, hosts under ``<tenant>.<base domain>``);
* **alerts and dashboards** from the catalog, labelled ``tenant=<name>`` (``alert_rules``, ``dashboards``:
  the monitoring host loads them);
* **off-site backups** under its own prefix ``tenants/<name>`` of the stack's vault, written by an
  identity of its own that may put there and nowhere else.

Why a Valkey cluster per tenant and not a shared one: DigitalOcean's managed Valkey has a single
password (no ACL users through the API), so on a shared cluster every tenant could read and flush
every other tenant's keys and queued tasks; logical database numbers are not isolation (``SELECT n`` is
open to every client). The smallest plan costs about $15 a month, the price of isolation.
Why PostgreSQL is shared: roles and databases isolate there (a role owns its database's objects; the
others have no grants on them), and one cluster's standby and backups serve every tenant.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import pulumi
import pulumi_aws as aws
import pulumi_digitalocean as do
import pulumi_kubernetes as k8s

from observability.tenants import render_alert_rules, render_dashboards
from stack_config.infra import NodePool
from stack_config.tenants import TenantEntry

from .application import PRIVATE_RANGES, Application, ApplicationArgs
from .backup_job import BackupJob, BackupJobArgs
from .backup_vault import writer_policy
from .cache import Cache, CacheArgs
from .database_access import MaintenanceWindow, TrustedSources
from .gateway import GatewayRef
from .gateway_routes import TenantRoutes, TenantRoutesArgs
from .object_storage import BucketSpec, ObjectStorage, ObjectStorageArgs
from .pod_security import (
    restricted_container_security_context,
    restricted_pod_security_context,
    tmp_volume,
    tmp_volume_mount,
)
from .postgres import DIRECT_PORT, PostgresDatabase, PostgresDatabaseArgs
from .workload import NetworkPeer

POOL_TENANT_LABEL = "platform.io/tenant"
"""Node label naming the tenant a pool belongs to."""
SYNC_IMAGE = "docker.io/rclone/rclone:1.68.2"
"""rclone, pinned: copies a bucket to its replica region (Spaces has no replication of its own)."""


@dataclass(frozen=True)
class BackupTarget:
    """The stack's off-site vault (BackupVault) a tenant's dumps go to."""

    bucket: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    aws_region: str
    image: str
    """The pinned pg-backup image."""
    kms_key_arn: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class TenantArgs:
    entry: TenantEntry
    """The validated stack entry: tenant sections, catalog and this stack's scale."""
    environment: str
    name_prefix: str
    """The stack's prefix (``<platform tenant>-<environment>``) of globally unique physical names."""
    region: str
    spaces_region: str
    """Spaces region of the tenant's buckets (not every droplet region has Spaces)."""
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    cluster_id: pulumi.Input[str]
    """The DOKS cluster (for the tenant's node pools)."""
    kubernetes_minor: str
    platform_pools: Mapping[str, NodePool]
    """The cluster's shared pools (services may pin to them too)."""
    postgres_cluster_id: pulumi.Input[str]
    postgres_private_host: pulumi.Input[str]
    trusted: TrustedSources
    """Who may reach the tenant's own database clusters (the cluster's nodes and pods)."""
    ingress_controller: NetworkPeer
    secret_config: Callable[[str], pulumi.Output[str] | None]
    protect: bool
    tags: Sequence[str]
    keda: Sequence[pulumi.Resource] = ()
    metrics_scraper_namespace_labels: Mapping[str, str] = field(
        default_factory=lambda: {"platform.io/metrics-scraper": "true"}
    )
    prometheus_url: pulumi.Input[str] | None = None
    """For request-rate autoscaling (ApplicationArgs.prometheus_url). Default: none."""
    gateway: GatewayRef | None = None
    """The shared Gateway. Default: none, and the tenant has no public routes (they are not created)."""
    base_domain: str | None = None
    """The stack's base domain; the tenant's hosts are ``<host>.<tenant>.<base_domain>``."""
    route_dependencies: Sequence[pulumi.Resource] = ()
    project_id: pulumi.Input[str] | None = None
    """DigitalOcean Project the tenant's clusters and buckets join. Default: none."""
    backup: BackupTarget | None = None
    """The stack's vault. Default: none (no off-site dumps even when the catalog asks)."""


@dataclass(frozen=True)
class TenantDatabase:
    """What the tenant's workloads get from its database (``Tenant._database``)."""

    cluster_id: pulumi.Input[str]
    pooled_uri: pulumi.Output[str]
    direct_uri: pulumi.Output[str]
    secrets: Mapping[str, pulumi.Input[str]]
    """Further catalog sources (``postgres.replicaUri``)."""
    urns: Sequence[pulumi.Input[str]]
    """Clusters of its own, for project membership."""


class Tenant(pulumi.ComponentResource):
    """One tenant (see module docstring). Kubernetes children take the provider through ``opts.providers``."""

    namespace: pulumi.Output[str]
    """The tenant's namespace."""
    application: Application
    """Its workloads."""
    alert_rules: str
    """Prometheus rule file (YAML) of its alerts, each labelled with the tenant."""
    dashboards: dict[str, str]
    """Grafana dashboard JSON by uid."""
    hostnames: list[str]
    """Public FQDNs of its routes (empty without a Gateway)."""
    bucket_names: dict[str, pulumi.Output[str]]
    """Physical Spaces bucket by catalog name."""
    cdn_endpoints: dict[str, pulumi.Output[str]]
    """CDN hostname by catalog bucket name."""

    def __init__(self, name: str, args: TenantArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec, apps = args.entry.tenant, args.entry.apps
        problems = tenant_problems(args)
        if problems:
            raise ValueError(f"tenant {spec.name}: " + "; ".join(problems))
        super().__init__("platform:tenant:Tenant", name, None, opts)
        namespace = args.entry.namespace(args.environment)
        physical = f"{args.name_prefix}-{spec.name}"
        tags = [*args.tags, f"tenant:{spec.name}"]
        assert spec.database is not None and spec.cache is not None  # tenant_problems checked both

        # --- Data ---------------------------------------------------------------------------------
        db_name = spec.name.replace("-", "_")
        postgres = self._database(name, args, physical, db_name, tags)
        platform_secrets: dict[str, pulumi.Input[str]] = dict(postgres.secrets)
        urns: list[pulumi.Input[str]] = list(postgres.urns)
        pooled_uri, direct_uri, postgres_cluster_id = postgres.pooled_uri, postgres.direct_uri, postgres.cluster_id
        cache = Cache(
            f"{physical}-valkey",
            CacheArgs(
                region=args.region,
                vpc_id=args.vpc_id,
                version=spec.cache.version,
                size=spec.cache.size,
                node_count=spec.cache.node_count,
                eviction_policy=spec.cache.eviction_policy,
                maintenance=MaintenanceWindow(spec.cache.maintenance.day, spec.cache.maintenance.hour),
                trusted=args.trusted,
                tags=tags,
                protect=args.protect,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        urns.append(cache.cluster_urn)
        storage: ObjectStorage | None = None
        self.bucket_names, self.cdn_endpoints = {}, {}
        if spec.buckets:
            storage = ObjectStorage(
                f"{name}-storage",
                ObjectStorageArgs(
                    region=args.spaces_region,
                    buckets={
                        key: BucketSpec(
                            bucket_name=f"{physical}-{key}",
                            lifecycle=tuple((r.prefix, r.expire_days) for r in bucket.lifecycle),
                            versioning=bucket.versioning,
                            cdn=bucket.cdn,
                            replica_region=bucket.replica_region,
                        )
                        for key, bucket in spec.buckets.items()
                    },
                    key_name=physical,
                    protect=args.protect,
                    tags=tags,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            urns += storage.bucket_urns
            platform_secrets["storage.accessKeyId"] = storage.access_key_id
            platform_secrets["storage.secretAccessKey"] = storage.secret_access_key
            self.bucket_names, self.cdn_endpoints = storage.bucket_names, storage.cdn_endpoints

        # --- Node pools of its own ----------------------------------------------------------------
        for pool_name, node_pool in sorted(spec.node_pools.items()):
            do.KubernetesNodePool(
                f"{name}-{pool_name}",
                cluster_id=args.cluster_id,
                name=pool_name,
                size=node_pool.size,
                auto_scale=node_pool.auto_scale,
                min_nodes=node_pool.min_nodes,
                max_nodes=node_pool.max_nodes,
                # Left unset on autoscaling pools: a managed count fights DOKS's autoscaler on every run.
                node_count=None if node_pool.auto_scale else node_pool.node_count,
                labels={**node_pool.labels, POOL_TENANT_LABEL: spec.name},
                taints=[
                    do.KubernetesNodePoolTaintArgs(key=t.key, value=t.value, effect=t.effect) for t in node_pool.taints
                ],
                tags=tags,
                opts=pulumi.ResourceOptions(
                    parent=self, ignore_changes=["nodeCount"] if node_pool.auto_scale else None
                ),
            )

        # --- Workloads ----------------------------------------------------------------------------
        # The stack's environment and where its buckets are: plain values, known now, in the ConfigMap
        # beside the catalog's settings (a catalog is shared by every environment, so it names neither).
        settings = {"ENVIRONMENT": args.environment, **(storage_settings(args, physical) if storage else {})}
        apps = apps.model_copy(update={"config": {**apps.config, **settings}})
        self.application = Application(
            f"{name}-app",
            ApplicationArgs(
                namespace=namespace,
                tenant=spec.name,
                apps=apps,
                kubernetes_minor=args.kubernetes_minor,
                vpc_cidr=args.vpc_cidr,
                node_pools={**args.platform_pools, **spec.node_pools},
                postgres_cluster_id=postgres_cluster_id,
                cache_cluster_id=cache.cluster_id,
                database_pooled_uri=pooled_uri,
                database_direct_uri=direct_uri,
                cache_uri=cache.uri,
                cache_host=cache.private_host,
                cache_port=cache.port,
                cache_password=cache.password,
                secret_config=args.secret_config,
                ingress_controller=args.ingress_controller,
                keda=args.keda,
                prometheus_url=args.prometheus_url,
                metrics_scraper_namespace_labels=args.metrics_scraper_namespace_labels,
                platform_secrets=platform_secrets,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = self.application.namespace

        if storage is not None and storage.replica_bucket_names:
            self._replica_sync(name, args, storage)

        # --- Routes on the shared Gateway ---------------------------------------------------------
        self.hostnames = []
        if args.gateway is not None and args.base_domain and self.application.routes:
            routes = TenantRoutes(
                f"{name}-routes",
                TenantRoutesArgs(
                    namespace=self.namespace,
                    tenant=spec.name,
                    routes=self.application.routes,
                    base_domain=tenant_domain(spec.name, args.base_domain),
                    gateway=args.gateway,
                    # The loader required the key's value when a route uses basic auth (stack_config/tenants.py).
                    basic_auth_htpasswd=(
                        args.secret_config(spec.basic_auth_secret) if spec.basic_auth_secret is not None else None
                    ),
                    depends_on=[self.application, *args.route_dependencies],
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.hostnames = routes.hostnames

        # --- Backups under its own prefix, by its own writer --------------------------------------
        if args.backup is not None and spec.backup is not None:
            self._backups(name, args, physical, namespace, direct_uri)

        if args.project_id is not None:
            do.ProjectResources(
                f"{name}-project-resources",
                project=args.project_id,
                resources=urns,
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.alert_rules = render_alert_rules(spec, namespace)
        self.dashboards = render_dashboards(spec, namespace)
        self.register_outputs(
            {"namespace": self.namespace, "hostnames": self.hostnames, "bucket_names": self.bucket_names}
        )

    # --------------------------------------------------------------------------------------------

    def _database(self, name: str, args: TenantArgs, physical: str, db_name: str, tags: list[str]) -> TenantDatabase:
        """The tenant's database on the shared cluster or on a cluster of its own, and its read replica."""
        spec = args.entry.tenant
        assert spec.database is not None
        secrets: dict[str, pulumi.Input[str]] = {}
        urns: list[pulumi.Input[str]] = []
        if spec.database.dedicated is not None:
            plan = spec.database.dedicated
            dedicated = PostgresDatabase(
                f"{physical}-pg",
                PostgresDatabaseArgs(
                    region=args.region,
                    vpc_id=args.vpc_id,
                    version=plan.version,
                    size=plan.size,
                    node_count=plan.node_count,
                    database=db_name,
                    user=db_name,
                    pool_size=spec.database.pool_size,
                    maintenance=MaintenanceWindow(plan.maintenance.day, plan.maintenance.hour),
                    trusted=args.trusted,
                    tags=tags,
                    protect=args.protect,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            postgres_cluster_id: pulumi.Input[str] = dedicated.cluster_id
            pooled_uri, direct_uri = dedicated.pooled_uri, dedicated.direct_uri
            urns.append(dedicated.cluster_urn)
        else:
            postgres_cluster_id = args.postgres_cluster_id
            pooled_uri, direct_uri = self._shared_database(name, args, db_name)
        if spec.database.read_replica is not None:
            replica = do.DatabaseReplica(
                f"{name}-db-replica",
                cluster_id=postgres_cluster_id,
                name=f"{physical}-replica",
                region=args.region,
                size=spec.database.read_replica.size,
                private_network_uuid=args.vpc_id,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            # A replica does not inherit its primary's firewall: without its own it is open to the internet.
            do.DatabaseFirewall(
                f"{name}-db-replica-firewall",
                cluster_id=replica.uuid,
                rules=args.trusted.rules(),
                opts=pulumi.ResourceOptions(parent=self),
            )
            # The tenant's role and database, on the replica's host (roles replicate with the data).
            secrets["postgres.replicaUri"] = pulumi.Output.secret(
                pulumi.Output.all(direct_uri, replica.private_host).apply(lambda v: with_host(v[0], v[1]))
            )
        return TenantDatabase(postgres_cluster_id, pooled_uri, direct_uri, secrets, urns)

    def _shared_database(
        self, name: str, args: TenantArgs, db_name: str
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """Its database, role and transaction pool on the stack's cluster: (pooled URI, direct URI)."""
        assert args.entry.tenant.database is not None
        protected = pulumi.ResourceOptions(parent=self, protect=args.protect)
        database = do.DatabaseDb(f"{name}-db", cluster_id=args.postgres_cluster_id, name=db_name, opts=protected)
        role = do.DatabaseUser(f"{name}-db-user", cluster_id=args.postgres_cluster_id, name=db_name, opts=protected)
        # Created concurrently with its database and role, the pool fails: it waits for both.
        pool = do.DatabaseConnectionPool(
            f"{name}-db-pool",
            cluster_id=args.postgres_cluster_id,
            name=f"{db_name}_pool",
            mode="transaction",
            size=args.entry.tenant.database.pool_size,
            db_name=database.name,
            user=role.name,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[database, role]),
        )
        direct: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.format(
                "postgresql://{0}:{1}@{2}:{3}/{4}?sslmode=require",
                role.name,
                role.password,
                args.postgres_private_host,
                DIRECT_PORT,
                database.name,
            )
        )
        return pulumi.Output.secret(pool.private_uri), direct

    def _backups(
        self, name: str, args: TenantArgs, physical: str, namespace: str, direct_uri: pulumi.Output[str]
    ) -> None:
        target, spec = args.backup, args.entry.tenant
        assert target is not None and spec.backup is not None
        prefix = backup_prefix(spec.name)
        aws_opts = pulumi.ResourceOptions(
            parent=self,
            provider=aws.Provider(
                f"{name}-aws",
                region=target.aws_region,
                default_tags=aws.ProviderDefaultTagsArgs(
                    tags={"tenant": spec.name, "environment": args.environment, "managed-by": "pulumi"}
                ),
                opts=pulumi.ResourceOptions(parent=self),
            ),
        )
        writer = aws.iam.User(f"{name}-backup-writer", name=f"{physical}-backup-writer", opts=aws_opts)
        aws.iam.UserPolicy(
            f"{name}-backup-writer-policy",
            user=writer.name,
            policy=pulumi.Output.all(target.bucket_arn, target.kms_key_arn).apply(
                lambda v: json.dumps(writer_policy(v[0], prefix, v[1], target.aws_region))
            ),
            opts=aws_opts,
        )
        key = aws.iam.AccessKey(f"{name}-backup-writer-key", user=writer.name, opts=aws_opts)
        BackupJob(
            f"{namespace}-pg-backup",
            BackupJobArgs(
                namespace=self.namespace,
                image=target.image,
                image_pull_secret=args.entry.apps.image_pull_secret,
                schedule=spec.backup.schedule,
                database_url=direct_uri,
                aws_access_key_id=pulumi.Output.secret(key.id),
                aws_secret_access_key=pulumi.Output.secret(key.secret),
                bucket=target.bucket,
                kms_key_arn=target.kms_key_arn,
                aws_region=target.aws_region,
                prefix=prefix,
                stack=pulumi.get_stack(),
                database_cidr=args.vpc_cidr,
                labels={"app.kubernetes.io/part-of": spec.name},
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.application]),
        )

    def _replica_sync(self, name: str, args: TenantArgs, storage: ObjectStorage) -> None:
        """Spaces has no cross-region replication: an hourly ``rclone copy`` does it (no deletes, as S3's)."""
        labels = {"app.kubernetes.io/name": "bucket-replica-sync", "app.kubernetes.io/part-of": args.entry.name}
        meta = k8s.meta.v1.ObjectMetaArgs(name="bucket-replica-sync", namespace=self.namespace, labels=labels)
        child = pulumi.ResourceOptions(parent=self, depends_on=[self.application])
        secret = k8s.core.v1.Secret(
            f"{name}-replica-sync-key",
            metadata=meta,
            type="Opaque",
            string_data={
                "RCLONE_CONFIG_SRC_ACCESS_KEY_ID": storage.access_key_id,
                "RCLONE_CONFIG_SRC_SECRET_ACCESS_KEY": storage.secret_access_key,
                "RCLONE_CONFIG_DST_ACCESS_KEY_ID": storage.access_key_id,
                "RCLONE_CONFIG_DST_SECRET_ACCESS_KEY": storage.secret_access_key,
            },
            opts=child,
        )
        # Only DNS and HTTPS to public addresses (the Spaces endpoints); nothing may connect to it.
        k8s.networking.v1.NetworkPolicy(
            f"{name}-replica-sync-egress",
            metadata=meta,
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                policy_types=["Ingress", "Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                ip_block=k8s.networking.v1.IPBlockArgs(cidr="0.0.0.0/0", except_=list(PRIVATE_RANGES))
                            )
                        ],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=443)],
                    )
                ],
            ),
            opts=child,
        )
        src_region = args.spaces_region
        buckets = args.entry.tenant.buckets
        commands = [
            pulumi.Output.format("rclone copy --checksum src:{0} dst:{1}", storage.bucket_names[key], replica)
            for key, replica in sorted(storage.replica_bucket_names.items())
        ]
        command = pulumi.Output.all(*commands).apply(" && ".join)
        dst_region = sorted({b.replica_region for b in buckets.values() if b.replica_region})
        env = [
            k8s.core.v1.EnvVarArgs(name=k, value=v)
            for k, v in (
                ("RCLONE_CONFIG_SRC_TYPE", "s3"),
                ("RCLONE_CONFIG_SRC_PROVIDER", "DigitalOcean"),
                ("RCLONE_CONFIG_SRC_ENDPOINT", f"{src_region}.digitaloceanspaces.com"),
                ("RCLONE_CONFIG_DST_TYPE", "s3"),
                ("RCLONE_CONFIG_DST_PROVIDER", "DigitalOcean"),
                ("RCLONE_CONFIG_DST_ENDPOINT", f"{dst_region[0]}.digitaloceanspaces.com"),
                ("HOME", "/tmp"),  # noqa: S108 - the pod's own emptyDir
            )
        ]
        k8s.batch.v1.CronJob(
            f"{name}-replica-sync",
            metadata=meta,
            spec=k8s.batch.v1.CronJobSpecArgs(
                schedule="17 * * * *",
                time_zone="Etc/UTC",
                concurrency_policy="Forbid",
                starting_deadline_seconds=600,
                job_template=k8s.batch.v1.JobTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.batch.v1.JobSpecArgs(
                        backoff_limit=2,
                        active_deadline_seconds=50 * 60,
                        template=k8s.core.v1.PodTemplateSpecArgs(
                            metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                            spec=k8s.core.v1.PodSpecArgs(
                                restart_policy="Never",
                                automount_service_account_token=False,
                                enable_service_links=False,
                                security_context=restricted_pod_security_context(),
                                containers=[
                                    k8s.core.v1.ContainerArgs(
                                        name="sync",
                                        image=SYNC_IMAGE,
                                        image_pull_policy="Always",
                                        command=["sh", "-c", command],
                                        env=env,
                                        env_from=[
                                            k8s.core.v1.EnvFromSourceArgs(
                                                secret_ref=k8s.core.v1.SecretEnvSourceArgs(name="bucket-replica-sync")
                                            )
                                        ],
                                        security_context=restricted_container_security_context(),
                                        resources=k8s.core.v1.ResourceRequirementsArgs(
                                            requests={"cpu": "100m", "memory": "128Mi"},
                                            limits={"cpu": "500m", "memory": "512Mi"},
                                        ),
                                        volume_mounts=[tmp_volume_mount()],
                                    )
                                ],
                                volumes=[tmp_volume()],
                            ),
                        ),
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.application, secret]),
        )


def tenant_problems(args: TenantArgs) -> list[str]:
    """What makes a tenant undeployable here, all at once (nothing is registered when any is)."""
    spec = args.entry.tenant
    problems = []
    if spec.target != "digitalocean":
        problems.append(f"target is {spec.target!r}: this component deploys DigitalOcean tenants only")
    if spec.database is None:
        problems.append("a DigitalOcean tenant needs a database section (its workloads get its URIs)")
    if spec.cache is None:
        problems.append("a DigitalOcean tenant needs a cache section (its broker and cache)")
    if args.gateway is not None and args.base_domain is None:
        problems.append("a gateway was given without base_domain")
    if len({b.replica_region for b in spec.buckets.values() if b.replica_region}) > 1:
        problems.append("buckets replicate to more than one region: the sync job copies to one")
    return problems


def storage_settings(args: TenantArgs, physical: str) -> dict[str, str]:
    """ConfigMap entries naming the S3 endpoint and each bucket (``S3_BUCKET_<KEY>``)."""
    settings = {
        "S3_ENDPOINT_URL": f"https://{args.spaces_region}.digitaloceanspaces.com",
        "S3_REGION": args.spaces_region,
    }
    for key in sorted(args.entry.tenant.buckets):
        settings[f"S3_BUCKET_{key.upper().replace('-', '_')}"] = f"{physical}-{key}"
    return settings


def with_host(uri: str, host: str) -> str:
    """``uri`` with its host replaced, credentials, port, database and query kept."""
    parts = urlsplit(uri)
    credentials, _, address = parts.netloc.rpartition("@")
    port = address.rpartition(":")[2] if ":" in address else ""
    netloc = f"{credentials}@{host}" + (f":{port}" if port else "") if credentials else host
    return urlunsplit(parts._replace(netloc=netloc))


def tenant_domain(tenant: str, base_domain: str) -> str:
    """Where a tenant's hosts live: ``api`` of video-analysis -> ``api.video-analysis.<base_domain>``."""
    return f"{tenant}.{base_domain}"


def tenant_hostnames(entry: TenantEntry, base_domain: str) -> list[str]:
    """Every FQDN a tenant's routes serve: the shared Gateway needs an HTTPS listener for each."""
    return sorted({f"{r.host}.{tenant_domain(entry.name, base_domain)}" for r in entry.apps.catalog.routes})


def backup_prefix(tenant: str) -> str:
    """Key prefix of a tenant's dumps in the stack's vault; its writer may put there and nowhere else."""
    return f"tenants/{tenant}"
