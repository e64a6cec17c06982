"""A tenant's namespace and every service of its workload catalog, wired to the managed data services.

Creates, in one namespace per stack:

* the Namespace with Pod Security Admission ``restricted`` (enforce, audit, warn), a ResourceQuota
  sized from the catalog (every autoscaler at its ceiling plus rollout surge plus headroom) and a
  LimitRange for containers that declare nothing;
* the ConfigMap (non-secret settings) and one Secret with every credential the catalog names
  (database and broker URIs from the managed services, API keys from Pulumi secret config);
* NetworkPolicies: default deny of ingress and egress, DNS for every pod, and per workload exactly
  what the catalog declares (``allowFrom``, ``egress``);
* one ``Workload`` per catalog service; queue-driven workers scale with KEDA on the Celery queue's
  Redis list on the Valkey broker over TLS (one TriggerAuthentication per namespace), the API also on
  its request rate, read from the monitoring host's Prometheus.

Keyspaces: one Valkey cluster, two logical databases. The cache (``REDIS_URL``) is database
``CACHE_DB`` (0) and the Celery broker (``CELERY_BROKER_URL``, and KEDA's queue trigger) database
``BROKER_DB`` (1), as the seed has them: a ``FLUSHDB`` of the cache or a cache client's key
collisions never touch queued tasks. The cluster's ``noeviction`` policy (a broker must not lose a
task) applies to both: the cache's keys carry TTLs (``CACHE_TTL``), and a full instance refuses
writes rather than evicting a task. Why not a second Valkey: README, "where the seeds are outdated".

Monitoring plug point: pods of any namespace labelled with ``metrics_scraper_namespace_labels``
(default ``platform.io/metrics-scraper: "true"``) may scrape every service's port named ``metrics``
and nothing else (NetworkPolicy ``allow-metrics-scrape``). The monitoring issue's in-cluster agent
only has to run in such a namespace; its own egress (to the monitoring droplet's :9090) is its
namespace's business. The edge routes only the catalog's ``routes``, to HTTP ports: a metrics port
is never public.

Targets: the same catalog deploys on DOKS (the defaults: DigitalOcean's database CAs looked up by
cluster, its ports, the ``doks.digitalocean.com/node-pool`` label, a broker password) and on EKS
(``__main__.py``'s AWS-tenant block): the RDS CA bundle, a publicly trusted ElastiCache certificate and
IAM-token cache auth (no password anywhere), RDS/ElastiCache ports, ``karpenter.sh/nodepool``, zone
spread, the Pod Identity agent as egress and the node-local DNS address. ``application_problems``
refuses what a target cannot give (a queue trigger with neither a broker password nor an SQS queue URL
(on EKS, ``queue_urls``: KEDA's ``aws-sqs-queue`` scaler with its own Pod Identity), KEDA where none runs,
a platform secret the target does not produce) before anything is registered.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import pulumi
import pulumi_digitalocean as do
import pulumi_kubernetes as k8s

from stack_config.apps import INGRESS_SOURCE, AppsConfig, Probe, Service, cpu_millis, memory_mib
from stack_config.secrets import SECRETS_BY_KEY

from .cache import BROKER_DB, CACHE_DB
from .edge import EdgeRoute
from .external_secrets import API_VERSION as ESO_API_VERSION
from .external_secrets import RELOAD_ANNOTATION, TARGET_SECRET, SecretStoreRef, external_secret_spec
from .workload import (
    METRICS_PORT_NAME,
    NAME_LABEL,
    ComputeResources,
    KedaScaling,
    NetworkPeer,
    ProbeSpec,
    PrometheusTrigger,
    RedisListTrigger,
    ResourceScaling,
    SecretKeyRef,
    SqsQueueTrigger,
    UtilizationTrigger,
    Workload,
    WorkloadArgs,
)

POSTGRES_PORTS = (25060, 25061)
"""DigitalOcean managed PostgreSQL: direct and connection-pool ports."""
VALKEY_PORT = 25061
"""DigitalOcean managed Valkey (TLS)."""
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16")
"""Never "the internet": the VPC, pods, services, CGNAT and the metadata service stay out of reach."""
CONFIG_MAP = "app-config"
"""The tenant's non-secret settings: loaded as environment by every service, and mounted as files where
the catalog asks (``mounts: [{source: config}]``, the seed's /app/config)."""
CA_CONFIG_MAP = "platform-ca"
CA_DIR = "/etc/ssl/platform"
"""Where workloads that use the managed databases find their CA certificates (DigitalOcean signs the
servers' certificates with a per-account CA, so the system trust store cannot verify them)."""
POSTGRES_CA = f"{CA_DIR}/postgres-ca.crt"
VALKEY_CA = f"{CA_DIR}/valkey-ca.crt"
DOKS_POOL_LABEL = "doks.digitalocean.com/node-pool"
"""DOKS labels every node with its pool's name (the pool's own labels are ours to choose)."""
KARPENTER_POOL_LABEL = "karpenter.sh/nodepool"
"""Karpenter labels every node it launches with its NodePool's name (EKS Auto Mode included)."""
RDS_CA_BUNDLE_FILE = Path(__file__).parent / "certs" / "aws-rds-ca-bundle.pem"
"""Amazon RDS's CA bundle, vendored with its provenance (components/certs/PROVENANCE.md)."""
APP_SECRET = "app-secrets"  # noqa: S105 - an object name
BROKER_AUTH_SECRET = "keda-broker-auth"  # noqa: S105 - an object name
TRIGGER_AUTH = "valkey-broker"
SQS_TRIGGER_AUTH = "aws-pod-identity"
"""KEDA reads SQS queues with its operator's own Pod Identity role (no roleArn: components/eks_addons.py)."""


class CertificateAuthority(Protocol):
    """Who signed a managed data service's server certificate: the PEM its clients verify it with."""

    def certificate(self, parent: pulumi.Resource) -> pulumi.Input[str] | None:
        """The PEM to mount, or None when the image's system trust store already verifies the server."""
        ...


@dataclass(frozen=True)
class DigitalOceanDatabaseCa:
    """A DigitalOcean managed database's CA: per account, so no system trust store has it; looked up by cluster."""

    cluster_id: pulumi.Input[str]

    def certificate(self, parent: pulumi.Resource) -> pulumi.Input[str] | None:
        # Looked up by cluster id, which is unknown in a first preview: the invoke waits for the cluster.
        opts = pulumi.InvokeOutputOptions(parent=parent)
        return do.get_database_ca_output(cluster_id=self.cluster_id, opts=opts).certificate


@dataclass(frozen=True)
class PemBundle:
    """A CA bundle known in advance (Amazon RDS's, vendored: ``rds_ca_bundle()``)."""

    pem: str

    def certificate(self, parent: pulumi.Resource) -> pulumi.Input[str] | None:
        return self.pem


@dataclass(frozen=True)
class SystemTrustStore:
    """A server certificate from a public CA (ElastiCache's, issued by Amazon): nothing to mount."""

    def certificate(self, parent: pulumi.Resource) -> pulumi.Input[str] | None:
        return None


def rds_ca_bundle() -> PemBundle:
    """Every RDS region's root CAs (RDS server certificates chain to these, not to a public CA)."""
    return PemBundle(RDS_CA_BUNDLE_FILE.read_text())


class _Taint(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def effect(self) -> str: ...


class TaintedPool(Protocol):
    """A node pool as the workloads see it: its taints (a DOKS ``NodePool`` or a Karpenter ``EksNodePool``)."""

    @property
    def taints(self) -> Sequence[_Taint]: ...


@dataclass(frozen=True, kw_only=True)
class ApplicationArgs:
    namespace: str
    tenant: str
    apps: AppsConfig
    """The validated catalog with this stack's overrides."""
    kubernetes_minor: str
    """'1.35': the Pod Security Standards version the namespace enforces."""
    vpc_cidr: str
    """Where the managed PostgreSQL and Valkey live (their private addresses)."""
    node_pools: Mapping[str, TaintedPool]
    """The cluster's pools, for nodeSelector labels and tolerations of pinned services."""
    secret_config: Callable[[str], pulumi.Output[str] | None]
    """Reads a Pulumi secret config value by key (``Secrets.optional``); None for an unset optional one."""
    ingress_controller: NetworkPeer | None
    """Pods of the ingress controller (from PlatformAddons). None: the cluster has no edge yet, and no service
    admits ingress traffic (the routes are still resolved, for an edge added later)."""
    postgres_cluster_id: pulumi.Input[str] | None = None
    """DigitalOcean: the cluster whose CA verifies the server (libpq turns sslmode=require into verify-ca when it
    has one). Default: none; then ``postgres_ca`` says who signed the server certificate."""
    cache_cluster_id: pulumi.Input[str] | None = None
    """DigitalOcean: the cluster whose CA Celery and KEDA verify the broker against. Default: none (``cache_ca``)."""
    postgres_ca: CertificateAuthority | None = None
    """Who signed the database's certificate. Default: ``DigitalOceanDatabaseCa(postgres_cluster_id)``; on AWS
    ``rds_ca_bundle()``."""
    cache_ca: CertificateAuthority | None = None
    """Who signed the cache's certificate. Default: ``DigitalOceanDatabaseCa(cache_cluster_id)``; on AWS
    ``SystemTrustStore()`` (ElastiCache's certificates come from Amazon's public CA)."""
    postgres_ports: Sequence[int] = POSTGRES_PORTS
    """Where pods with ``egress: postgres`` may connect in ``vpc_cidr``. Default: DigitalOcean's 25060/25061."""
    cache_ports: Sequence[int] = (VALKEY_PORT,)
    """Where pods with ``egress: cache`` may connect in ``vpc_cidr``. Default: DigitalOcean's 25061."""
    database_pooled_uri: pulumi.Input[str] | None = None
    """For the catalog's ``postgres.pooledUri`` secret. Default: none (a catalog naming it is refused)."""
    database_direct_uri: pulumi.Input[str] | None = None
    """For ``postgres.directUri``. Default: none."""
    cache_uri: pulumi.Input[str] | None = None
    """For ``cache.uri`` and ``cache.celeryBrokerUri``. Default: none."""
    cache_host: pulumi.Input[str] | None = None
    """The broker KEDA's queue triggers read. Default: none (queue autoscaling is refused)."""
    cache_port: pulumi.Input[int] | None = None
    cache_password: pulumi.Input[str] | None = None
    """KEDA's broker password. None: the cache authenticates by IAM token (ElastiCache), which KEDA's Redis
    scaler cannot sign, so a queue on the broker is refused (use ``queue_urls``); the applications sign their own
    tokens with their Pod Identity role (``CACHE_AUTH=iam`` in ``platform_config``)."""
    queue_urls: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """AWS: SQS queue URL by catalog queue name (``AwsTenant.queue_urls``). A service whose ``autoscaling.queue``
    is named here scales on KEDA's ``aws-sqs-queue`` scaler, read with KEDA's own Pod Identity, instead of a Redis
    list on the broker. Default: none (every queue is a Redis list on the broker)."""
    queue_region: str | None = None
    """AWS region of ``queue_urls`` (KEDA's ``awsRegion``). Required with them. Default: none."""
    node_pool_label: str = DOKS_POOL_LABEL
    """The node label carrying the pool's name, for ``nodePool`` pins. Default: DOKS's; EKS:
    ``KARPENTER_POOL_LABEL``."""
    zone_spread: bool = False
    """Spread every workload across zones as well (``WorkloadArgs.zone_spread``). Default: off (DOKS nodes carry
    no zone label); on for EKS."""
    keda_installed: bool = True
    """Whether the cluster runs KEDA. False (the EKS cluster so far): a KEDA-scaled service is refused."""
    platform_config: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Non-secret settings the platform produced (an AwsTenant's hosts, ARNs, bucket names), added to the
    ConfigMap under the catalog's own keys. Default: none."""
    dns_cidrs: Sequence[pulumi.Input[str]] = ()
    """Further addresses every pod may query DNS at (UDP/TCP 53), besides the ``kube-dns`` pods. EKS Auto Mode
    answers the cluster DNS address on each node, where no pod selector reaches: pass its /32
    (``EksCluster.cluster_dns_cidr``). Default: none."""
    service_egress: Mapping[str, Sequence[NetworkPeer]] = field(default_factory=dict)
    """Further egress per service, beyond its catalog ``egress`` (e.g. the EKS Pod Identity agent for the services
    that have a role). Default: none."""
    keda: Sequence[pulumi.Resource] = ()
    """KEDA's installation; ScaledObjects and TriggerAuthentications wait for its CRDs."""
    secret_store: SecretStoreRef | None = None
    """Where the catalog's ``config.<key>`` secrets come from. Default (None): Pulumi secret config, written
    into ``app-secrets``. Set: an ExternalSecret fills ``app-external-secrets`` from the store every refresh
    and the Deployments that read it are rolled (Reloader) when it changes."""
    prometheus_url: pulumi.Input[str] | None = None
    """Base URL of a Prometheus with a query API holding the services' metrics (the monitoring host's, on
    the VPC: ``http://<private ip>:9090``), for request-rate autoscaling. Default: none; a catalog that
    scales on ``requestsPerSecond`` then is refused."""
    metrics_scraper_namespace_labels: Mapping[str, str] = field(
        default_factory=lambda: {"platform.io/metrics-scraper": "true"}
    )
    """Namespaces whose pods may scrape metrics ports (the monitoring plug point, see module docstring)."""
    quota_headroom: ComputeResources = field(default_factory=lambda: ComputeResources("2", "4Gi", "2", "4Gi"))
    """Added to the catalog's ceiling for one-off pods (backup jobs, migrations)."""
    platform_secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Further credentials the platform produced, by catalog source name (a Tenant's ``postgres.replicaUri``,
    ``storage.accessKeyId``, ``storage.secretAccessKey``). Default: none."""


class Application(pulumi.ComponentResource):
    """The tenant's namespace and workloads (see module docstring)."""

    namespace: pulumi.Output[str]
    """Namespace name."""
    workloads: dict[str, Workload]
    """Workloads by catalog service name."""
    service_ports: dict[str, int]
    """HTTP port of each service that has one (for ingress backends)."""
    routes: list[EdgeRoute]
    """The catalog's public routes, resolved to Service names and ports (for ``Edge``)."""
    ca_files: dict[str, pulumi.Input[str]]
    """CA certificates mounted in the data services' clients, by path (only those no system store has)."""

    def __init__(self, name: str, args: ApplicationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        services = args.apps.resolved_services()
        problems = application_problems(args, services)
        if problems:
            raise ValueError(f"{name}: " + "; ".join(problems))
        super().__init__("platform:application:Application", name, None, opts)
        part_of = {"app.kubernetes.io/part-of": args.tenant}

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace,
                labels={
                    **part_of,
                    **{
                        f"pod-security.kubernetes.io/{mode}{suffix}": value
                        for mode in ("enforce", "audit", "warn")
                        for suffix, value in (("", "restricted"), ("-version", f"v{args.kubernetes_minor}"))
                    },
                },
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        ns = namespace.metadata.name
        child = pulumi.ResourceOptions(parent=self, depends_on=[namespace])

        def meta(object_name: str) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=ns, labels=part_of)

        self._quota(name, args, services, meta, child)

        config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=meta(CONFIG_MAP),
            data={**args.platform_config, **args.apps.config_map()},
            opts=child,
        )
        self.ca_files = {
            path: pem
            for path, authority in ((POSTGRES_CA, _postgres_ca(args)), (VALKEY_CA, _cache_ca(args)))
            if authority is not None and (pem := authority.certificate(self)) is not None
        }
        valkey_ca = self.ca_files.get(VALKEY_CA)
        ca_config_map = k8s.core.v1.ConfigMap(
            f"{name}-ca",
            metadata=meta(CA_CONFIG_MAP),
            data={path.rsplit("/", 1)[1]: pem for path, pem in self.ca_files.items()},
            opts=child,
        )
        secret_data, optional_keys = self._secret_data(args)
        app_secret = k8s.core.v1.Secret(
            f"{name}-secrets",
            metadata=meta(APP_SECRET),
            type="Opaque",
            string_data=pulumi.Output.secret(secret_data),
            opts=child,
        )

        dependencies: list[pulumi.Resource] = [namespace, config_map, ca_config_map, app_secret]
        store = args.secret_store
        if store is not None:
            # Pods start only once the Secret exists; a key missing from the store's JSON blocks the pods
            # that need it (CreateContainerConfigError names the key), optional ones start without it.
            dependencies.append(
                k8s.apiextensions.CustomResource(
                    f"{name}-external-secret",
                    api_version=ESO_API_VERSION,
                    kind="ExternalSecret",
                    metadata=meta(TARGET_SECRET),
                    spec=external_secret_spec(
                        store=store.store_name, key=store.remote_key, refresh_interval=store.refresh_interval
                    ),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, *store.depends_on]),
                )
            )
        queues = {s.autoscaling.queue.name for s in services.values() if s.autoscaling and s.autoscaling.queue}
        if queues & set(args.queue_urls):
            # No Secret: KEDA's operator authenticates as itself (EKS Pod Identity), with a role that may only read
            # the queues' lengths (components/eks_addons.py).
            dependencies.append(
                k8s.apiextensions.CustomResource(
                    f"{name}-sqs-trigger-auth",
                    api_version="keda.sh/v1alpha1",
                    kind="TriggerAuthentication",
                    metadata=meta(SQS_TRIGGER_AUTH),
                    spec={"podIdentity": {"provider": "aws"}},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, *args.keda]),
                )
            )
        if queues - set(args.queue_urls):
            broker_secret = k8s.core.v1.Secret(
                f"{name}-broker-auth",
                metadata=meta(BROKER_AUTH_SECRET),
                type="Opaque",
                string_data={
                    "password": pulumi.Output.secret(args.cache_password or ""),
                    "tls": "enable",
                    **({"ca": valkey_ca} if valkey_ca is not None else {}),
                },
                opts=child,
            )
            trigger_auth = k8s.apiextensions.CustomResource(
                f"{name}-trigger-auth",
                api_version="keda.sh/v1alpha1",
                kind="TriggerAuthentication",
                metadata=meta(TRIGGER_AUTH),
                spec={
                    "secretTargetRef": [
                        {"parameter": parameter, "name": BROKER_AUTH_SECRET, "key": parameter}
                        for parameter in ("password", "tls", *(("ca",) if valkey_ca is not None else ()))
                    ]
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, broker_secret, *args.keda]),
            )
            dependencies.append(trigger_auth)

        self._namespace_policies(name, args, services, meta, child)

        self.workloads = {}
        self.service_ports = {}
        for service_name, service in sorted(services.items()):
            self.workloads[service_name] = Workload(
                f"{name}-{service_name}",
                self._workload_args(
                    service_name=service_name,
                    service=service,
                    services=services,
                    args=args,
                    namespace=ns,
                    optional_keys=optional_keys,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=dependencies),
            )
            if service.client_port is not None:
                self.service_ports[service_name] = service.client_port

        self.routes = [
            EdgeRoute(host=r.host, path=r.path, service=r.service, port=self.service_ports[r.service], auth=r.auth)
            for r in args.apps.catalog.routes
        ]
        self.namespace = ns
        self.register_outputs({"namespace": self.namespace})

    # --------------------------------------------------------------------------------------------

    def _secret_data(self, args: ApplicationArgs) -> tuple[dict[str, pulumi.Input[str]], set[str]]:
        platform: dict[str, pulumi.Input[str]] = {
            key: value
            for key, value in (
                ("postgres.pooledUri", args.database_pooled_uri),
                ("postgres.directUri", args.database_direct_uri),
            )
            if value is not None
        }
        if args.cache_uri is not None:
            uri = pulumi.Output.from_input(args.cache_uri)
            # Celery refuses a rediss:// broker URL that does not say how to verify the certificate.
            verify = "ssl_cert_reqs=required" + (f"&ssl_ca_certs={VALKEY_CA}" if VALKEY_CA in self.ca_files else "")
            platform["cache.uri"] = uri.apply(lambda u: with_database(u, CACHE_DB))
            platform["cache.celeryBrokerUri"] = uri.apply(lambda u: with_database(u, BROKER_DB, verify))
        platform.update(args.platform_secrets)
        data: dict[str, pulumi.Input[str]] = {}
        optional: set[str] = set()
        for env_name, source in sorted(args.apps.catalog.secrets.items()):
            if source.startswith("config.") and args.secret_store is not None:
                continue  # the store's, in the ExternalSecret's Secret
            if source.startswith("config."):
                key = source.removeprefix("config.")
                if not SECRETS_BY_KEY[key].required:
                    optional.add(env_name)
                value = args.secret_config(key)
                if value is not None:
                    data[env_name] = value
            else:
                data[env_name] = platform[source]
        return data, optional

    def _quota(
        self,
        name: str,
        args: ApplicationArgs,
        services: Mapping[str, Service],
        meta: Callable[[str], k8s.meta.v1.ObjectMetaArgs],
        opts: pulumi.ResourceOptions,
    ) -> None:
        """A quota that never blocks what the catalog allows, and stops anything beyond it."""
        pods = cpu_req = cpu_lim = gpus = 0
        mem_req = mem_lim = 0.0
        for service in services.values():
            ceiling = service.autoscaling.max_replicas if service.autoscaling else service.replicas
            count = ceiling + math.ceil(ceiling * 0.25)  # rollout surge (maxSurge 25%)
            pods += count
            cpu_req += count * cpu_millis(service.resources.requests.cpu)
            cpu_lim += count * cpu_millis(service.resources.limits.cpu)
            mem_req += count * memory_mib(service.resources.requests.memory)
            mem_lim += count * memory_mib(service.resources.limits.memory)
            gpus += count * service.gpus
        extra = args.quota_headroom
        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=meta("compute"),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(
                hard={
                    "pods": str(pods + 10),
                    "requests.cpu": f"{cpu_req + cpu_millis(extra.requests_cpu)}m",
                    "limits.cpu": f"{cpu_lim + cpu_millis(extra.limits_cpu)}m",
                    "requests.memory": f"{math.ceil(mem_req + memory_mib(extra.requests_memory))}Mi",
                    "limits.memory": f"{math.ceil(mem_lim + memory_mib(extra.limits_memory))}Mi",
                    # No LoadBalancer or NodePort Services in a tenant namespace: the edge owns the only LB.
                    "services.loadbalancers": "0",
                    "services.nodeports": "0",
                    # GPUs are the expensive resource: exactly the catalog's ceiling, no headroom (none at all
                    # for a catalog without GPU services).
                    "requests.nvidia.com/gpu": str(gpus),
                }
            ),
            opts=opts,
        )
        k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=meta("defaults"),
            spec=k8s.core.v1.LimitRangeSpecArgs(
                limits=[
                    k8s.core.v1.LimitRangeItemArgs(
                        type="Container",
                        default_request={"cpu": "100m", "memory": "128Mi"},
                        default={"cpu": "500m", "memory": "512Mi"},
                        # Never below the catalog's largest container (seed 003's AI pods: 8 CPU, 16Gi).
                        max=_container_max(services),
                    )
                ]
            ),
            opts=opts,
        )

    def _namespace_policies(
        self,
        name: str,
        args: ApplicationArgs,
        services: Mapping[str, Service],
        meta: Callable[[str], k8s.meta.v1.ObjectMetaArgs],
        opts: pulumi.ResourceOptions,
    ) -> None:
        every_pod = k8s.meta.v1.LabelSelectorArgs()
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=meta("default-deny"),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(pod_selector=every_pod, policy_types=["Ingress", "Egress"]),
            opts=opts,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow-dns",
            metadata=meta("allow-dns"),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=every_pod,
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                    match_labels={"kubernetes.io/metadata.name": "kube-system"}
                                ),
                                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
                            ),
                            *(
                                k8s.networking.v1.NetworkPolicyPeerArgs(
                                    ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr)
                                )
                                for cidr in args.dns_cidrs
                            ),
                        ],
                        ports=[
                            k8s.networking.v1.NetworkPolicyPortArgs(protocol=protocol, port=53)
                            for protocol in ("UDP", "TCP")
                        ],
                    )
                ],
            ),
            opts=opts,
        )
        # cert-manager answers HTTP-01 challenges from solver pods it starts beside the Ingress, i.e.
        # here: without this rule the default deny would fail every certificate issuance.
        controller = args.ingress_controller
        if controller is None:
            self._metrics_policy(name, args, services, meta, opts)
            return
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow-acme-solver",
            metadata=meta("allow-acme-http01-solver"),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"acme.cert-manager.io/http01-solver": "true"}),
                policy_types=["Ingress"],
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                    match_labels=dict(controller.namespace_labels or {})
                                ),
                                pod_selector=k8s.meta.v1.LabelSelectorArgs(
                                    match_labels=dict(controller.pod_labels or {})
                                ),
                            )
                        ],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=8089)],
                    )
                ],
            ),
            opts=opts,
        )
        self._metrics_policy(name, args, services, meta, opts)

    def _metrics_policy(
        self,
        name: str,
        args: ApplicationArgs,
        services: Mapping[str, Service],
        meta: Callable[[str], k8s.meta.v1.ObjectMetaArgs],
        opts: pulumi.ResourceOptions,
    ) -> None:
        every_pod = k8s.meta.v1.LabelSelectorArgs()
        # By port name: exactly the ports the catalog calls metrics ports, never an HTTP port that
        # happens to share a number with another service's metrics port.
        if any(s.metrics_port for s in services.values()):
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow-metrics-scrape",
                metadata=meta("allow-metrics-scrape"),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=every_pod,
                    policy_types=["Ingress"],
                    ingress=[
                        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                            from_=[
                                k8s.networking.v1.NetworkPolicyPeerArgs(
                                    namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                        match_labels=dict(args.metrics_scraper_namespace_labels)
                                    )
                                )
                            ],
                            ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=METRICS_PORT_NAME)],
                        )
                    ],
                ),
                opts=opts,
            )

    def _workload_args(
        self,
        *,
        service_name: str,
        service: Service,
        services: Mapping[str, Service],
        args: ApplicationArgs,
        namespace: pulumi.Input[str],
        optional_keys: set[str],
    ) -> WorkloadArgs:
        ingress_from: list[NetworkPeer] = []
        for source in service.allow_from:
            if source != INGRESS_SOURCE:
                ingress_from.append(NetworkPeer(pod_labels={NAME_LABEL: source}))
            elif args.ingress_controller is not None:
                ingress_from.append(args.ingress_controller)
        egress_to = [
            NetworkPeer(pod_labels={NAME_LABEL: target}, ports=(other.port,))
            for target, other in sorted(services.items())
            if service_name in other.allow_from and other.port is not None
        ]
        for kind in service.egress:
            if kind == "postgres":
                egress_to.append(NetworkPeer(cidr=args.vpc_cidr, ports=tuple(args.postgres_ports)))
            elif kind == "cache":
                egress_to.append(NetworkPeer(cidr=args.vpc_cidr, ports=tuple(args.cache_ports)))
            else:
                egress_to.append(
                    NetworkPeer(cidr="0.0.0.0/0", except_cidrs=PRIVATE_RANGES, ports=tuple(service.internet_ports))
                )
        egress_to.extend(args.service_egress.get(service_name, ()))

        node_selector: dict[str, str] = {}
        tolerations: list[tuple[str, str, str]] = []
        if service.node_pool is not None:
            pool = args.node_pools[service.node_pool]
            # The cluster labels every node with its pool's name (DOKS, Karpenter); the pool's own labels
            # are ours to choose and could be shared by two pools.
            node_selector = {args.node_pool_label: service.node_pool}
            tolerations = [(t.key, t.value, t.effect) for t in pool.taints]

        scaling = self._scaling(service_name, service, args, namespace)
        from_store = args.secret_store is not None and any(self._from_store(env, args) for env in service.secret_env)
        resources = service.resources
        return WorkloadArgs(
            namespace=namespace,
            object_name=service_name,
            image=args.apps.image_of(service_name),
            resources=ComputeResources(
                resources.requests.cpu, resources.requests.memory, resources.limits.cpu, resources.limits.memory
            ),
            liveness=_probe(service.liveness),
            readiness=_probe(service.readiness),
            port=service.port,
            service_port=service.service_port,
            command=service.command,
            args=service.args,
            replicas=service.replicas,
            scaling=scaling,
            env={**_ca_env(service, set(self.ca_files)), **service.env},
            config_maps=(CONFIG_MAP,),
            config_map_mounts={
                **({CA_DIR: CA_CONFIG_MAP} if _ca_env(service, set(self.ca_files)) else {}),
                **{m.path: CONFIG_MAP for m in service.mounts if m.source == "config"},
            },
            empty_dirs={m.path: m.size_limit for m in service.mounts if m.source == "emptyDir"},
            secret_env={env: self._secret_ref(env, args, optional_keys) for env in service.secret_env},
            annotations={RELOAD_ANNOTATION: TARGET_SECRET} if from_store else {},
            labels={"app.kubernetes.io/part-of": args.tenant},
            node_selector=node_selector,
            tolerations=tolerations,
            ingress_from=ingress_from,
            egress_to=egress_to,
            metrics_port=service.metrics_port,
            uid=service.uid,
            image_pull_secret=args.apps.image_pull_secret,
            gpus=service.gpus,
            zone_spread=args.zone_spread,
        )

    @staticmethod
    def _from_store(env: str, args: ApplicationArgs) -> bool:
        return args.secret_store is not None and args.apps.catalog.secrets[env].startswith("config.")

    def _secret_ref(self, env: str, args: ApplicationArgs, optional_keys: set[str]) -> SecretKeyRef:
        if self._from_store(env, args):
            # Optional keys (a feature turned off) may be absent from the store's JSON as well.
            spec = SECRETS_BY_KEY[args.apps.catalog.secrets[env].removeprefix("config.")]
            return SecretKeyRef(TARGET_SECRET, env, optional=not spec.required)
        return SecretKeyRef(APP_SECRET, env, optional=env in optional_keys)

    def _scaling(
        self, service_name: str, service: Service, args: ApplicationArgs, namespace: pulumi.Input[str]
    ) -> ResourceScaling | KedaScaling | None:
        auto = service.autoscaling
        if auto is None:
            return None
        behavior = {
            "scaleUp": auto.scale_up.model_dump(by_alias=True),
            "scaleDown": auto.scale_down.model_dump(by_alias=True),
        }
        if not auto.keda:
            return ResourceScaling(
                min_replicas=auto.min_replicas,
                max_replicas=auto.max_replicas,
                cpu_percent=auto.cpu_percent,
                memory_percent=auto.memory_percent,
                behavior=behavior,
            )
        triggers: list[RedisListTrigger | SqsQueueTrigger | PrometheusTrigger | UtilizationTrigger] = [
            UtilizationTrigger(resource, percent)
            for resource, percent in (("cpu", auto.cpu_percent), ("memory", auto.memory_percent))
            if percent is not None
        ]
        if auto.queue is not None and auto.queue.name in args.queue_urls:
            triggers.append(
                SqsQueueTrigger(
                    queue_url=args.queue_urls[auto.queue.name],
                    # Set: application_problems refuses queue_urls without a region.
                    region=args.queue_region or "",
                    authentication_ref=SQS_TRIGGER_AUTH,
                    queue_length=auto.queue.tasks_per_replica,
                    activation_queue_length=auto.queue.activation_tasks,
                )
            )
        elif auto.queue is not None:
            triggers.append(
                RedisListTrigger(
                    list_name=auto.queue.name,
                    list_length=auto.queue.tasks_per_replica,
                    activation_list_length=auto.queue.activation_tasks,
                    # Both set: application_problems refuses a queue trigger without them.
                    address=pulumi.Output.concat(
                        args.cache_host or "", ":", pulumi.Output.from_input(args.cache_port).apply(str)
                    ),
                    database_index=BROKER_DB,
                    authentication_ref=TRIGGER_AUTH,
                    # TLS and the broker's CA come from the TriggerAuthentication (KEDA refuses both ways).
                    enable_tls=False,
                )
            )
        rate = auto.requests_per_second
        if rate is not None and args.prometheus_url is not None:
            triggers.append(
                PrometheusTrigger(
                    server_address=args.prometheus_url,
                    query=pulumi.Output.from_input(namespace).apply(
                        lambda ns: request_rate_query(rate.counter, ns, service_name)
                    ),
                    threshold=rate.average_per_replica,
                )
            )
        return KedaScaling(
            min_replicas=auto.min_replicas,
            max_replicas=auto.max_replicas,
            triggers=triggers,
            behavior=behavior,
            depends_on=tuple(args.keda),
        )


def with_database(uri: str, database: int, query: str = "") -> str:
    """The Valkey URI pointed at one logical database (``rediss://user:pw@host:port/<n>``)."""
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", query, ""))


def request_rate_query(counter: str, namespace: str, service: str) -> str:
    """Requests per second of one service, summed over its pods (KEDA divides by the replica count).

    The labels are the ones the in-cluster agent's application jobs attach to every target
    (observability/agent.py): ``namespace``, and ``app`` from the pod's ``app.kubernetes.io/name``.
    """
    return f'sum(rate({counter}{{namespace="{namespace}",app="{service}"}}[2m]))'


def _container_max(services: Mapping[str, Service]) -> dict[str, str]:
    """The LimitRange's per-container ceiling: 4 CPU / 8Gi, or the catalog's largest limit when above."""
    cpu = max(cpu_millis(s.resources.limits.cpu) for s in services.values())
    memory = max(memory_mib(s.resources.limits.memory) for s in services.values())
    return {
        "cpu": "4" if cpu <= 4000 else f"{cpu}m",
        "memory": "8Gi" if memory <= 8192 else f"{math.ceil(memory)}Mi",
    }


def _ca_env(service: Service, ca_files: set[str]) -> dict[str, str]:
    """Where the CA files are, for clients that read the conventional variables (only those mounted)."""
    env = {}
    if "postgres" in service.egress and POSTGRES_CA in ca_files:
        env["PGSSLROOTCERT"] = POSTGRES_CA
    if "cache" in service.egress and VALKEY_CA in ca_files:
        env["REDIS_CA_FILE"] = VALKEY_CA
    return env


def _postgres_ca(args: ApplicationArgs) -> CertificateAuthority | None:
    if args.postgres_ca is not None:
        return args.postgres_ca
    return DigitalOceanDatabaseCa(args.postgres_cluster_id) if args.postgres_cluster_id is not None else None


def _cache_ca(args: ApplicationArgs) -> CertificateAuthority | None:
    if args.cache_ca is not None:
        return args.cache_ca
    return DigitalOceanDatabaseCa(args.cache_cluster_id) if args.cache_cluster_id is not None else None


_SOURCE_ARGS = {
    "postgres.pooledUri": "database_pooled_uri",
    "postgres.directUri": "database_direct_uri",
    "cache.uri": "cache_uri",
    "cache.celeryBrokerUri": "cache_uri",
}


def application_problems(args: ApplicationArgs, services: Mapping[str, Service]) -> list[str]:
    """What the catalog asks that these arguments cannot give, all at once (checked before anything exists)."""
    problems = []
    by_rate = sorted(n for n, s in services.items() if s.autoscaling and s.autoscaling.requests_per_second)
    if by_rate and args.prometheus_url is None:
        problems.append(
            f"{by_rate} scale on requestsPerSecond, which needs prometheus_url (the monitoring host's Prometheus); "
            "pass it, or drop requestsPerSecond from the catalog"
        )
    keda = sorted(n for n, s in services.items() if s.autoscaling and s.autoscaling.keda)
    if keda and not args.keda_installed:
        problems.append(
            f"{keda} scale with KEDA (queue or requestsPerSecond), which this cluster does not run: scale them on "
            "cpuPercent/memoryPercent (an HPA) or install KEDA there"
        )
    by_queue = sorted(
        n
        for n, s in services.items()
        if s.autoscaling and s.autoscaling.queue and s.autoscaling.queue.name not in args.queue_urls
    )
    if by_queue and None in (args.cache_host, args.cache_port, args.cache_password):
        problems.append(
            f"{by_queue} scale on a queue that is neither an SQS queue (queue_urls) nor readable on the broker, which "
            "KEDA reads with the broker's password and this cache has none (IAM authentication): on AWS pass the "
            "tenant's queue_urls (AwsTenant.queue_urls), elsewhere give the cache a password user"
        )
    if args.queue_urls and not args.queue_region:
        problems.append("queue_urls given without queue_region: pass the queues' AWS region (KEDA's awsRegion)")
    for env_name, source in sorted(args.apps.catalog.secrets.items()):
        missing = _SOURCE_ARGS.get(source)
        if missing and getattr(args, missing) is None:
            problems.append(
                f"secrets.{env_name}: {source} is not produced on this target (no {missing}); on AWS the pods read "
                "DATABASE_LOGIN_ARN / CACHE_USER from the ConfigMap and authenticate with their Pod Identity role"
            )
    for service_name, service in sorted(services.items()):
        if "postgres" in service.egress and _postgres_ca(args) is None:
            problems.append(f"services.{service_name}: egress postgres needs postgres_ca or postgres_cluster_id")
        if "cache" in service.egress and _cache_ca(args) is None:
            problems.append(f"services.{service_name}: egress cache needs cache_ca or cache_cluster_id")
        if service.node_pool is not None and service.node_pool not in args.node_pools:
            problems.append(
                f"services.{service_name}: nodePool {service.node_pool!r} is not a pool of this cluster "
                f"({sorted(args.node_pools)})"
            )
    unknown = sorted(set(args.service_egress) - set(services))
    if unknown:
        problems.append(f"service_egress names {unknown}, which are not services of the catalog ({sorted(services)})")
    clash = sorted(set(args.platform_config) & set(args.apps.config_map()))
    if clash:
        problems.append(f"the catalog's config sets {clash}, which the platform provides: drop them from the catalog")
    return problems


def _probe(probe: Probe) -> ProbeSpec:
    return ProbeSpec(
        http_path=probe.http_get.path if probe.http_get else None,
        http_port=probe.http_get.port if probe.http_get else None,
        exec_command=probe.exec,
        initial_delay_seconds=probe.initial_delay_seconds,
        period_seconds=probe.period_seconds,
        timeout_seconds=probe.timeout_seconds,
        failure_threshold=probe.failure_threshold,
    )
