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
  Redis list on the Valkey broker over TLS (one TriggerAuthentication per namespace).

Monitoring plug point: pods of any namespace labelled with ``metrics_scraper_namespace_labels``
(default ``platform.io/metrics-scraper: "true"``) may scrape every service's ``metricsPort``
(NetworkPolicy ``allow-metrics-scrape``). The monitoring issue's in-cluster agent only has to run in
such a namespace; its own egress (to the monitoring droplet's :9090) is its namespace's business.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_digitalocean as do
import pulumi_kubernetes as k8s

from stack_config.apps import INGRESS_SOURCE, AppsConfig, Probe, Service, cpu_millis, memory_mib
from stack_config.infra import NodePool
from stack_config.secrets import SECRETS_BY_KEY

from .edge import EdgeRoute
from .workload import (
    NAME_LABEL,
    ComputeResources,
    NetworkPeer,
    ProbeSpec,
    QueueScaling,
    ResourceScaling,
    SecretKeyRef,
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
CA_CONFIG_MAP = "platform-ca"
CA_DIR = "/etc/ssl/platform"
"""Where workloads that use the managed databases find their CA certificates (DigitalOcean signs the
servers' certificates with a per-account CA, so the system trust store cannot verify them)."""
POSTGRES_CA = f"{CA_DIR}/postgres-ca.crt"
VALKEY_CA = f"{CA_DIR}/valkey-ca.crt"
APP_SECRET = "app-secrets"  # noqa: S105 - an object name
BROKER_AUTH_SECRET = "keda-broker-auth"  # noqa: S105 - an object name
TRIGGER_AUTH = "valkey-broker"


@dataclass(frozen=True)
class ApplicationArgs:
    namespace: str
    tenant: str
    apps: AppsConfig
    """The validated catalog with this stack's overrides."""
    kubernetes_minor: str
    """'1.35': the Pod Security Standards version the namespace enforces."""
    vpc_cidr: str
    """Where the managed PostgreSQL and Valkey live (their private addresses)."""
    node_pools: Mapping[str, NodePool]
    """The cluster's pools, for nodeSelector labels and tolerations of pinned services."""
    postgres_cluster_id: pulumi.Input[str]
    """For the server CA certificate (libpq turns sslmode=require into verify-ca when it has one)."""
    cache_cluster_id: pulumi.Input[str]
    """For the server CA certificate (Celery and KEDA verify the broker against it)."""
    database_pooled_uri: pulumi.Input[str]
    database_direct_uri: pulumi.Input[str]
    cache_uri: pulumi.Input[str]
    cache_host: pulumi.Input[str]
    cache_port: pulumi.Input[int]
    cache_password: pulumi.Input[str]
    secret_config: Callable[[str], pulumi.Output[str] | None]
    """Reads a Pulumi secret config value by key (``Secrets.optional``); None for an unset optional one."""
    ingress_controller: NetworkPeer
    """Pods of the ingress controller (from PlatformAddons)."""
    keda: Sequence[pulumi.Resource] = ()
    """KEDA's installation; ScaledObjects and TriggerAuthentications wait for its CRDs."""
    metrics_scraper_namespace_labels: Mapping[str, str] = field(
        default_factory=lambda: {"platform.io/metrics-scraper": "true"}
    )
    """Namespaces whose pods may scrape metrics ports (the monitoring plug point, see module docstring)."""
    quota_headroom: ComputeResources = field(default_factory=lambda: ComputeResources("2", "4Gi", "2", "4Gi"))
    """Added to the catalog's ceiling for one-off pods (backup jobs, migrations)."""


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

    def __init__(self, name: str, args: ApplicationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:application:Application", name, None, opts)
        services = args.apps.resolved_services()
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
            f"{name}-config", metadata=meta(CONFIG_MAP), data=args.apps.config_map(), opts=child
        )
        # Looked up by cluster id, which is unknown in a first preview: the invokes wait for the clusters.
        lookup = pulumi.InvokeOutputOptions(parent=self)
        postgres_ca = do.get_database_ca_output(cluster_id=args.postgres_cluster_id, opts=lookup).certificate
        valkey_ca = do.get_database_ca_output(cluster_id=args.cache_cluster_id, opts=lookup).certificate
        ca_config_map = k8s.core.v1.ConfigMap(
            f"{name}-ca",
            metadata=meta(CA_CONFIG_MAP),
            data={POSTGRES_CA.rsplit("/", 1)[1]: postgres_ca, VALKEY_CA.rsplit("/", 1)[1]: valkey_ca},
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
        if any(s.autoscaling and s.autoscaling.queue for s in services.values()):
            broker_secret = k8s.core.v1.Secret(
                f"{name}-broker-auth",
                metadata=meta(BROKER_AUTH_SECRET),
                type="Opaque",
                string_data={
                    "password": pulumi.Output.secret(args.cache_password),
                    "tls": "enable",
                    "ca": valkey_ca,
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
                        for parameter in ("password", "tls", "ca")
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
            if service.port is not None:
                self.service_ports[service_name] = service.port

        self.routes = [
            EdgeRoute(host=r.host, path=r.path, service=r.service, port=self.service_ports[r.service], auth=r.auth)
            for r in args.apps.catalog.routes
        ]
        self.namespace = ns
        self.register_outputs({"namespace": self.namespace})

    # --------------------------------------------------------------------------------------------

    def _secret_data(self, args: ApplicationArgs) -> tuple[dict[str, pulumi.Input[str]], set[str]]:
        platform: dict[str, pulumi.Input[str]] = {
            "postgres.pooledUri": args.database_pooled_uri,
            "postgres.directUri": args.database_direct_uri,
            "cache.uri": args.cache_uri,
            # Celery refuses a rediss:// broker URL that does not say how to verify the certificate.
            "cache.celeryBrokerUri": pulumi.Output.concat(
                args.cache_uri, f"?ssl_cert_reqs=required&ssl_ca_certs={VALKEY_CA}"
            ),
        }
        data: dict[str, pulumi.Input[str]] = {}
        optional: set[str] = set()
        for env_name, source in sorted(args.apps.catalog.secrets.items()):
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
        pods = cpu_req = cpu_lim = 0
        mem_req = mem_lim = 0.0
        for service in services.values():
            ceiling = service.autoscaling.max_replicas if service.autoscaling else service.replicas
            count = ceiling + math.ceil(ceiling * 0.25)  # rollout surge (maxSurge 25%)
            pods += count
            cpu_req += count * cpu_millis(service.resources.requests.cpu)
            cpu_lim += count * cpu_millis(service.resources.limits.cpu)
            mem_req += count * memory_mib(service.resources.requests.memory)
            mem_lim += count * memory_mib(service.resources.limits.memory)
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
                        max={"cpu": "4", "memory": "8Gi"},
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
                            )
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
        metrics_ports = sorted({s.metrics_port for s in services.values() if s.metrics_port})
        if metrics_ports:
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
                            ports=[
                                k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=p) for p in metrics_ports
                            ],
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
        ingress_from = [
            args.ingress_controller if source == INGRESS_SOURCE else NetworkPeer(pod_labels={NAME_LABEL: source})
            for source in service.allow_from
        ]
        egress_to = [
            NetworkPeer(pod_labels={NAME_LABEL: target}, ports=(other.port,))
            for target, other in sorted(services.items())
            if service_name in other.allow_from and other.port is not None
        ]
        for kind in service.egress:
            if kind == "postgres":
                egress_to.append(NetworkPeer(cidr=args.vpc_cidr, ports=POSTGRES_PORTS))
            elif kind == "cache":
                egress_to.append(NetworkPeer(cidr=args.vpc_cidr, ports=(VALKEY_PORT,)))
            else:
                egress_to.append(NetworkPeer(cidr="0.0.0.0/0", except_cidrs=PRIVATE_RANGES, ports=(80, 443)))

        node_selector: dict[str, str] = {}
        tolerations: list[tuple[str, str, str]] = []
        if service.node_pool is not None:
            pool = args.node_pools[service.node_pool]
            # DOKS labels every node with its pool's name; the pool's own labels are ours to choose.
            node_selector = {"doks.digitalocean.com/node-pool": service.node_pool}
            tolerations = [(t.key, t.value, t.effect) for t in pool.taints]

        scaling: ResourceScaling | QueueScaling | None = None
        auto = service.autoscaling
        if auto is not None and auto.queue is not None:
            scaling = QueueScaling(
                min_replicas=auto.min_replicas,
                max_replicas=auto.max_replicas,
                list_name=auto.queue.name,
                list_length=auto.queue.tasks_per_replica,
                activation_list_length=auto.queue.activation_tasks,
                address=pulumi.Output.concat(
                    args.cache_host, ":", pulumi.Output.from_input(args.cache_port).apply(str)
                ),
                authentication_ref=TRIGGER_AUTH,
                # TLS and the broker's CA come from the TriggerAuthentication (KEDA refuses both ways).
                enable_tls=False,
                depends_on=tuple(args.keda),
            )
        elif auto is not None:
            scaling = ResourceScaling(
                min_replicas=auto.min_replicas,
                max_replicas=auto.max_replicas,
                cpu_percent=auto.cpu_percent,
                memory_percent=auto.memory_percent,
            )

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
            command=service.command,
            args=service.args,
            replicas=service.replicas,
            scaling=scaling,
            env={**_ca_env(service), **service.env},
            config_maps=(CONFIG_MAP,),
            config_map_mounts={CA_DIR: CA_CONFIG_MAP} if {"postgres", "cache"} & set(service.egress) else {},
            secret_env={
                env: SecretKeyRef(APP_SECRET, env, optional=env in optional_keys) for env in service.secret_env
            },
            labels={"app.kubernetes.io/part-of": args.tenant},
            node_selector=node_selector,
            tolerations=tolerations,
            ingress_from=ingress_from,
            egress_to=egress_to,
            metrics_port=service.metrics_port,
            uid=service.uid,
            image_pull_secret=args.apps.image_pull_secret,
        )


def _ca_env(service: Service) -> dict[str, str]:
    """Where the CA files are, for clients that read the conventional variables."""
    env = {}
    if "postgres" in service.egress:
        env["PGSSLROOTCERT"] = POSTGRES_CA
    if "cache" in service.egress:
        env["REDIS_CA_FILE"] = VALKEY_CA
    return env


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
