"""One service of a tenant as Kubernetes objects, secure unless the caller explicitly opts out.

A ``WorkloadArgs`` becomes a ServiceAccount, a Deployment, a Service (when it has an HTTP or a
metrics port), an autoscaler (an HPA on CPU/memory, or a KEDA ScaledObject when a queue or a
request rate drives it), a PodDisruptionBudget and a NetworkPolicy. The defaults are the hardened
ones (``components.pod_security``): non-root with a high UID, read-only root filesystem with a
writable ``/tmp`` (and any further ``empty_dirs``), no privilege escalation, no capabilities,
``RuntimeDefault`` seccomp, no service-account token, requests and limits, probes,
``maxUnavailable: 0`` rollouts and spreading across nodes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .pod_security import (
    DEFAULT_UID,
    restricted_container_security_context,
    restricted_pod_security_context,
    tmp_volume,
    tmp_volume_mount,
)

NAME_LABEL = "app.kubernetes.io/name"
"""The selector label of every workload's pods (unique per namespace)."""
HTTP_PORT_NAME = "http"
GPU_RESOURCE = "nvidia.com/gpu"
"""The extended resource NVIDIA's device plugin advertises (EKS Auto Mode's GPU AMIs run it)."""
ZONE_LABEL = "topology.kubernetes.io/zone"
METRICS_PORT_NAME = "metrics"
"""The port name monitoring discovers scrape targets by (container and Service); the edge never routes it."""

# Used when the caller passes none: scale up fast (double every 30 s, or 4 pods/min), scale down slowly
# (at most half per minute after 5 quiet minutes) so a bursty queue does not thrash. autoscaling/v2
# ``behavior`` in its wire (camelCase) form, which a KEDA ScaledObject takes verbatim.
DEFAULT_BEHAVIOR: Mapping[str, Any] = {
    "scaleUp": {
        "stabilizationWindowSeconds": 30,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Percent", "value": 100, "periodSeconds": 30},
            {"type": "Pods", "value": 4, "periodSeconds": 60},
        ],
    },
    "scaleDown": {
        "stabilizationWindowSeconds": 300,
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
    },
}


@dataclass(frozen=True)
class ComputeResources:
    requests_cpu: str
    requests_memory: str
    limits_cpu: str
    limits_memory: str


@dataclass(frozen=True)
class ProbeSpec:
    """An HTTP GET (``http_path``) or an exec probe (``exec_command``), exactly one."""

    http_path: str | None = None
    http_port: int | None = None
    """Default: the workload's port."""
    exec_command: Sequence[str] | None = None
    initial_delay_seconds: int = 10
    period_seconds: int = 10
    timeout_seconds: int = 5
    failure_threshold: int = 3


@dataclass(frozen=True)
class SecretKeyRef:
    secret_name: str
    key: str
    optional: bool = False
    """Optional keys may be absent from the Secret (a feature turned off), and the pod still starts."""


@dataclass(frozen=True)
class ResourceScaling:
    """An autoscaling/v2 HPA on resource utilisation (metrics-server provides the metrics)."""

    min_replicas: int
    max_replicas: int
    cpu_percent: int | None = None
    memory_percent: int | None = None
    behavior: Mapping[str, Any] = field(default_factory=lambda: DEFAULT_BEHAVIOR)
    """autoscaling/v2 ``behavior`` in wire form (``scaleUp``/``scaleDown``). Default: ``DEFAULT_BEHAVIOR``."""


@dataclass(frozen=True)
class RedisListTrigger:
    """A Redis list's length (a Celery queue on the Valkey broker)."""

    list_name: str
    address: pulumi.Input[str]
    """``host:port`` of the broker."""
    authentication_ref: str
    """Name of the namespace's TriggerAuthentication that supplies the broker password."""
    list_length: int = 10
    """Target average queued tasks per replica."""
    activation_list_length: int = 0
    database_index: int = 0
    """The broker's logical database (Celery's ``redis://host/<n>``); the queue's list lives there."""
    enable_tls: bool = True
    """Set ``enableTLS`` (KEDA verifies against system CAs). False when the TriggerAuthentication supplies
    ``tls``/``ca`` instead, e.g. for a server certificate signed by a private CA (KEDA refuses both)."""


@dataclass(frozen=True)
class SqsQueueTrigger:
    """An SQS queue's length (KEDA's ``aws-sqs-queue`` scaler), read with KEDA's own Pod Identity."""

    queue_url: pulumi.Input[str]
    region: str
    authentication_ref: str
    """Name of the namespace's TriggerAuthentication with ``podIdentity.provider: aws`` (and no roleArn: KEDA's
    operator reads the queue with its own role, which may only ``sqs:GetQueueAttributes``)."""
    queue_length: int = 10
    """Target average messages per replica."""
    activation_queue_length: int = 0


@dataclass(frozen=True)
class PrometheusTrigger:
    """A PromQL query's value, averaged over replicas (KEDA's Prometheus scaler, ``AverageValue``)."""

    server_address: pulumi.Input[str]
    """Prometheus's HTTP API base URL, e.g. ``http://10.110.0.5:9090``: a server with a query API."""
    query: pulumi.Input[str]
    threshold: int
    """Target value per replica."""
    activation_threshold: int = 0


@dataclass(frozen=True)
class UtilizationTrigger:
    """KEDA's cpu/memory trigger (average utilisation of the requests, from metrics-server)."""

    resource: str
    """``cpu`` or ``memory``."""
    percent: int


@dataclass(frozen=True)
class KedaScaling:
    """A KEDA ScaledObject: every trigger in one object (KEDA creates and owns the HPA behind it)."""

    min_replicas: int
    max_replicas: int
    triggers: Sequence[RedisListTrigger | SqsQueueTrigger | PrometheusTrigger | UtilizationTrigger]
    behavior: Mapping[str, Any] = field(default_factory=lambda: DEFAULT_BEHAVIOR)
    """autoscaling/v2 ``behavior`` of KEDA's HPA. Default: ``DEFAULT_BEHAVIOR``."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The KEDA installation: its CRDs must exist before a ScaledObject is created."""


@dataclass(frozen=True)
class NetworkPeer:
    """One NetworkPolicy peer: pods (by labels, optionally in labelled namespaces) or an IP block."""

    pod_labels: Mapping[str, str] | None = None
    namespace_labels: Mapping[str, str] | None = None
    """Set (even empty) to select pods in other namespaces; None means this namespace only."""
    cidr: str | None = None
    except_cidrs: Sequence[str] = ()
    ports: Sequence[int] = ()
    """TCP ports. For ingress peers, default: the workload's port."""


@dataclass(frozen=True)
class WorkloadArgs:
    namespace: pulumi.Input[str]
    object_name: str
    """Name of every Kubernetes object (the service's DNS name inside the namespace)."""
    image: str
    """Pinned reference: a tag other than ``latest``, or a digest."""
    resources: ComputeResources
    liveness: ProbeSpec
    readiness: ProbeSpec
    port: int | None = None
    """Container HTTP port (named ``http``). Default: none, so no HTTP Service port and no ingress rule."""
    service_port: int | None = None
    """Port of the Service that forwards to ``port``. Default: ``port``."""
    command: Sequence[str] | None = None
    """Default: the image's entrypoint."""
    args: Sequence[str] | None = None
    """Default: the image's command."""
    replicas: int = 1
    """Used only when ``scaling`` is None; an autoscaler owns the count otherwise."""
    scaling: ResourceScaling | KedaScaling | None = None
    """Default: a fixed replica count."""
    env: Mapping[str, str] = field(default_factory=dict)
    config_maps: Sequence[str] = ()
    """ConfigMaps loaded whole as environment (``envFrom``). Default: none."""
    config_map_mounts: Mapping[str, str] = field(default_factory=dict)
    """Directory -> ConfigMap mounted read-only there as files (e.g. CA certificates). Default: none."""
    empty_dirs: Mapping[str, str] = field(default_factory=dict)
    """Directory -> size limit of a writable emptyDir there (besides ``/tmp``, e.g. ``/app/logs``). Default: none."""
    secret_env: Mapping[str, SecretKeyRef] = field(default_factory=dict)
    """Environment variables read from Secret keys, one by one (least privilege). Default: none."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on every object and pod (e.g. ``app.kubernetes.io/part-of``)."""
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: Sequence[tuple[str, str, str]] = ()
    """(key, value, effect) the pods tolerate, for tainted node pools."""
    ingress_from: Sequence[NetworkPeer] = ()
    """Who may connect. Default: nobody (the namespace denies all ingress)."""
    egress_to: Sequence[NetworkPeer] = ()
    """Where the pods may connect beyond the namespace's shared DNS rule. Default: nowhere."""
    metrics_port: int | None = None
    """Prometheus port, named ``metrics`` on the container and the Service, distinct from ``port``; pods get
    ``prometheus.io/*`` annotations. Default: not scraped."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """Annotations on the Deployment (e.g. a reloader's "restart when this Secret changes"). Default: none."""
    uid: int = DEFAULT_UID
    image_pull_secret: str | None = None
    """Default: none (public image, or credentials on the nodes)."""
    read_only_root_filesystem: bool = True
    """Opt-out for images that cannot run read-only (the namespace's PSA still applies)."""
    tmp_size_limit: str = "256Mi"
    gpus: int = 0
    """NVIDIA GPUs per pod (``nvidia.com/gpu``, request = limit as Kubernetes requires of extended resources).
    Default: none. Pair it with the GPU pool's node selector and toleration (GPU pools are tainted)."""
    zone_spread: bool = False
    """Also spread replicas across zones (``topology.kubernetes.io/zone``, maxSkew 1, DoNotSchedule), as seed 004
    asks. Only where nodes carry the zone label (EKS: every node; DOKS: none, a region has no zones there, and a
    DoNotSchedule constraint on a missing label would leave every pod Pending). Default: off."""


class Workload(pulumi.ComponentResource):
    """A Deployment and everything that makes it safe to run and to scale (see module docstring).

    Object names are ``object_name`` (not auto-named), so other services reach it at
    ``http://<object_name>:<port>`` and the names in ``kubectl`` match the catalog.
    """

    deployment_name: pulumi.Output[str]
    """Name of the Deployment."""
    service_name: pulumi.Output[str] | None
    """Name of the ClusterIP Service, if the workload has a port."""
    pod_labels: Mapping[str, str]
    """Labels every pod carries (for NetworkPolicy peers elsewhere)."""

    def __init__(self, name: str, args: WorkloadArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Checked before anything is registered: a bad spec must not leave half a workload behind.
        if args.scaling is None and args.replicas < 1:
            raise ValueError(f"{name}: replicas must be >= 1")
        if args.image.endswith(":latest") or ("@" not in args.image and ":" not in args.image.rsplit("/", 1)[-1]):
            raise ValueError(f"{name}: image {args.image!r} is not pinned (use a tag other than latest, or a digest)")
        if args.metrics_port is not None and args.metrics_port == args.port:
            raise ValueError(f"{name}: metrics_port {args.metrics_port} must differ from the HTTP port (never routed)")
        if args.service_port is not None and args.port is None:
            raise ValueError(f"{name}: service_port needs a container port to forward to")
        if len(set(args.config_map_mounts.values())) != len(args.config_map_mounts):
            raise ValueError(f"{name}: a ConfigMap is mounted twice: {dict(args.config_map_mounts)}")
        if set(args.empty_dirs) & {*args.config_map_mounts, "/tmp"}:  # noqa: S108 - the platform's scratch mount
            raise ValueError(f"{name}: a directory is mounted twice: {sorted(args.empty_dirs)}")
        _check_scaling_and_gpus(name, args)
        super().__init__("platform:workload:Workload", name, None, opts)

        object_name = args.object_name
        selector = {NAME_LABEL: object_name}
        labels = {**args.labels, **selector, "app.kubernetes.io/managed-by": "pulumi"}
        self.pod_labels = labels

        def meta() -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=args.namespace, labels=labels)

        child = pulumi.ResourceOptions(parent=self)

        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=meta(),
            # Nothing here talks to the Kubernetes API; a mounted token would only be something to steal.
            automount_service_account_token=False,
            opts=child,
        )

        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=object_name, namespace=args.namespace, labels=labels, annotations=dict(args.annotations) or None
            ),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                # Under an autoscaler the count is its to own: a count here would be reset on every `up`.
                replicas=None if args.scaling else args.replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_unavailable=0, max_surge="25%"),
                ),
                revision_history_limit=5,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations=_scrape_annotations(args)),
                    spec=self._pod_spec(object_name, args, account.metadata.name, selector),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account]),
        )
        self.deployment_name = deployment.metadata.name

        self.service_name = None
        service_ports = []
        if args.port is not None:
            service_ports.append(
                k8s.core.v1.ServicePortArgs(
                    name=HTTP_PORT_NAME, protocol="TCP", port=args.service_port or args.port, target_port=HTTP_PORT_NAME
                )
            )
        if args.metrics_port is not None:
            service_ports.append(
                k8s.core.v1.ServicePortArgs(
                    name=METRICS_PORT_NAME, protocol="TCP", port=args.metrics_port, target_port=METRICS_PORT_NAME
                )
            )
        if service_ports:
            service = k8s.core.v1.Service(
                f"{name}-service",
                metadata=meta(),
                spec=k8s.core.v1.ServiceSpecArgs(type="ClusterIP", selector=selector, ports=service_ports),
                opts=child,
            )
            self.service_name = service.metadata.name

        self._autoscaler(name, args, meta(), deployment)

        # maxUnavailable (not minAvailable): a single-replica workload must still let a node drain.
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=meta(),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            ),
            opts=child,
        )

        k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol",
            metadata=meta(),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                policy_types=["Ingress", "Egress"],
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[_peer(p)], ports=_ports(p.ports or ([args.port] if args.port else []))
                    )
                    for p in args.ingress_from
                ],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[_peer(p)], ports=_ports(p.ports))
                    for p in args.egress_to
                ],
            ),
            opts=child,
        )

        self.register_outputs({"deployment_name": self.deployment_name, "service_name": self.service_name})

    def _pod_spec(
        self, name: str, args: WorkloadArgs, account: pulumi.Input[str], selector: Mapping[str, str]
    ) -> k8s.core.v1.PodSpecArgs:
        container_security = restricted_container_security_context(
            args.uid, read_only_root_filesystem=args.read_only_root_filesystem
        )
        env = [k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in sorted(args.env.items())]
        env += [
            k8s.core.v1.EnvVarArgs(
                name=var,
                value_from=k8s.core.v1.EnvVarSourceArgs(
                    secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(
                        name=ref.secret_name, key=ref.key, optional=ref.optional or None
                    )
                ),
            )
            for var, ref in sorted(args.secret_env.items())
        ]
        ports = (
            [k8s.core.v1.ContainerPortArgs(name=HTTP_PORT_NAME, container_port=args.port, protocol="TCP")]
            if args.port
            else []
        )
        if args.metrics_port:
            ports.append(
                k8s.core.v1.ContainerPortArgs(name=METRICS_PORT_NAME, container_port=args.metrics_port, protocol="TCP")
            )
        # Extended resources cannot be overcommitted: Kubernetes requires the request to equal the limit.
        gpus = {GPU_RESOURCE: str(args.gpus)} if args.gpus else {}
        container = k8s.core.v1.ContainerArgs(
            name=name,
            image=args.image,
            # With pinned tags this costs a registry round-trip per start and guarantees the image is
            # re-authorised against the pull secret (a cached image is otherwise usable by any pod).
            image_pull_policy="Always",
            command=list(args.command) if args.command else None,
            args=list(args.args) if args.args else None,
            ports=ports or None,
            env=env or None,
            env_from=[
                k8s.core.v1.EnvFromSourceArgs(config_map_ref=k8s.core.v1.ConfigMapEnvSourceArgs(name=cm))
                for cm in args.config_maps
            ]
            or None,
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": args.resources.requests_cpu, "memory": args.resources.requests_memory, **gpus},
                limits={"cpu": args.resources.limits_cpu, "memory": args.resources.limits_memory, **gpus},
            ),
            liveness_probe=_probe(args.liveness, args.port),
            readiness_probe=_probe(args.readiness, args.port),
            security_context=container_security,
            volume_mounts=[
                tmp_volume_mount(),
                *(
                    k8s.core.v1.VolumeMountArgs(name=f"cm-{cm}", mount_path=path, read_only=True)
                    for path, cm in sorted(args.config_map_mounts.items())
                ),
                *(
                    k8s.core.v1.VolumeMountArgs(name=f"scratch-{index}", mount_path=path)
                    for index, path in enumerate(sorted(args.empty_dirs))
                ),
            ],
        )
        return k8s.core.v1.PodSpecArgs(
            service_account_name=account,
            automount_service_account_token=False,
            enable_service_links=False,
            security_context=restricted_pod_security_context(args.uid),
            containers=[container],
            volumes=[
                tmp_volume(args.tmp_size_limit),
                *(
                    k8s.core.v1.VolumeArgs(
                        name=f"cm-{cm}", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=cm, default_mode=0o444)
                    )
                    for _, cm in sorted(args.config_map_mounts.items())
                ),
                *(
                    k8s.core.v1.VolumeArgs(
                        name=f"scratch-{index}",
                        empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit=args.empty_dirs[path]),
                    )
                    for index, path in enumerate(sorted(args.empty_dirs))
                ),
            ],
            image_pull_secrets=[k8s.core.v1.LocalObjectReferenceArgs(name=args.image_pull_secret)]
            if args.image_pull_secret
            else None,
            node_selector=dict(args.node_selector) or None,
            tolerations=[
                k8s.core.v1.TolerationArgs(key=k, operator="Equal", value=v, effect=e) for k, v, e in args.tolerations
            ]
            or None,
            # Hosts: ScheduleAnyway, a pool scaled to its minimum must not leave replicas Pending. Zones: the
            # seed's DoNotSchedule, so a zone outage never takes more than its share; Karpenter provisions
            # nodes in the zone the constraint asks for, so it does not strand pods as a fixed pool would.
            topology_spread_constraints=[
                k8s.core.v1.TopologySpreadConstraintArgs(
                    max_skew=1,
                    topology_key=key,
                    when_unsatisfiable=when,
                    label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(selector)),
                )
                for key, when in (
                    ("kubernetes.io/hostname", "ScheduleAnyway"),
                    *([(ZONE_LABEL, "DoNotSchedule")] if args.zone_spread else []),
                )
            ],
            termination_grace_period_seconds=60,
        )

    def _autoscaler(
        self, name: str, args: WorkloadArgs, metadata: k8s.meta.v1.ObjectMetaArgs, deployment: k8s.apps.v1.Deployment
    ) -> None:
        scaling = args.scaling
        target = k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
            api_version="apps/v1", kind="Deployment", name=deployment.metadata.name
        )
        if isinstance(scaling, ResourceScaling):
            metrics = [
                k8s.autoscaling.v2.MetricSpecArgs(
                    type="Resource",
                    resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                        name=resource,
                        target=k8s.autoscaling.v2.MetricTargetArgs(type="Utilization", average_utilization=percent),
                    ),
                )
                for resource, percent in (("cpu", scaling.cpu_percent), ("memory", scaling.memory_percent))
                if percent is not None
            ]
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa",
                metadata=metadata,
                spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                    scale_target_ref=target,
                    min_replicas=scaling.min_replicas,
                    max_replicas=scaling.max_replicas,
                    metrics=metrics,
                    behavior=_behavior(scaling.behavior),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        elif isinstance(scaling, KedaScaling):
            # KEDA creates and owns the HPA behind a ScaledObject ("keda-hpa-<name>"): no HPA of ours.
            k8s.apiextensions.CustomResource(
                f"{name}-scaledobject",
                api_version="keda.sh/v1alpha1",
                kind="ScaledObject",
                metadata=metadata,
                spec={
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment.metadata.name},
                    "minReplicaCount": scaling.min_replicas,
                    "maxReplicaCount": scaling.max_replicas,
                    "pollingInterval": 15,
                    "cooldownPeriod": 300,
                    "advanced": {"horizontalPodAutoscalerConfig": {"behavior": dict(scaling.behavior)}},
                    "triggers": [_keda_trigger(trigger) for trigger in scaling.triggers],
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(scaling.depends_on)),
            )


def _check_scaling_and_gpus(name: str, args: WorkloadArgs) -> None:
    scaling = args.scaling
    if isinstance(scaling, ResourceScaling) and scaling.min_replicas < 1:
        raise ValueError(
            f"{name}: an HPA's minReplicas is at least 1 (scale-to-zero is KEDA's: give it a queue or "
            "request-rate trigger)"
        )
    if (
        isinstance(scaling, KedaScaling)
        and scaling.min_replicas == 0
        and all(isinstance(t, UtilizationTrigger) for t in scaling.triggers)
    ):
        # KEDA's admission webhook refuses it too: CPU/memory of zero pods cannot wake the workload.
        raise ValueError(
            f"{name}: minReplicas 0 needs an event trigger (queue, request rate) besides cpu/memory: nothing "
            "would wake zero pods up"
        )
    if args.gpus < 0:
        raise ValueError(f"{name}: gpus {args.gpus} must be >= 0 (whole GPUs per pod)")
    if args.gpus and not args.tolerations:
        raise ValueError(
            f"{name}: gpus {args.gpus} without a toleration: GPU pools are tainted so that only GPU workloads land "
            "there; pin the workload to the GPU pool (node_selector and its taint's toleration)"
        )


def _keda_trigger(
    trigger: RedisListTrigger | SqsQueueTrigger | PrometheusTrigger | UtilizationTrigger,
) -> dict[str, Any]:
    if isinstance(trigger, RedisListTrigger):
        return {
            "type": "redis",
            "metadata": {
                "address": trigger.address,
                "listName": trigger.list_name,
                "listLength": str(trigger.list_length),
                "activationListLength": str(trigger.activation_list_length),
                # Celery's queue lists live in the broker's database, not necessarily 0.
                "databaseIndex": str(trigger.database_index),
                **({"enableTLS": "true"} if trigger.enable_tls else {}),
            },
            "authenticationRef": {"name": trigger.authentication_ref},
        }
    if isinstance(trigger, SqsQueueTrigger):
        # Metadata keys of KEDA v2.20.2's pkg/scalers/aws_sqs_queue_scaler.go (awsSqsQueueMetadata).
        return {
            "type": "aws-sqs-queue",
            "metadata": {
                "queueURL": trigger.queue_url,
                "queueLength": str(trigger.queue_length),
                "activationQueueLength": str(trigger.activation_queue_length),
                "awsRegion": trigger.region,
                # Messages received but not yet deleted count too (KEDA's default, stated): while the last episode
                # is processed the count stays 1, so the workload is not scaled to zero under it. A scale-down from
                # several pods may still stop a busy one (the HPA picks): its message reappears after the
                # visibility timeout and is done again.
                "scaleOnInFlight": "true",
            },
            "authenticationRef": {"name": trigger.authentication_ref},
        }
    if isinstance(trigger, PrometheusTrigger):
        return {
            "type": "prometheus",
            # AverageValue: the query's total divided by the replicas is held at the threshold.
            "metricType": "AverageValue",
            "metadata": {
                "serverAddress": trigger.server_address,
                "query": trigger.query,
                "threshold": str(trigger.threshold),
                "activationThreshold": str(trigger.activation_threshold),
                # An unreachable Prometheus must not scale the API to its floor: KEDA then keeps the
                # replica count the other triggers (CPU/memory) ask for.
                "ignoreNullValues": "true",
            },
        }
    return {"type": trigger.resource, "metricType": "Utilization", "metadata": {"value": str(trigger.percent)}}


def _behavior(behavior: Mapping[str, Any]) -> k8s.autoscaling.v2.HorizontalPodAutoscalerBehaviorArgs:
    def rules(spec: Mapping[str, Any] | None) -> k8s.autoscaling.v2.HPAScalingRulesArgs | None:
        if spec is None:
            return None
        return k8s.autoscaling.v2.HPAScalingRulesArgs(
            stabilization_window_seconds=spec["stabilizationWindowSeconds"],
            select_policy=spec.get("selectPolicy"),
            policies=[
                k8s.autoscaling.v2.HPAScalingPolicyArgs(
                    type=p["type"], value=p["value"], period_seconds=p["periodSeconds"]
                )
                for p in spec["policies"]
            ],
        )

    return k8s.autoscaling.v2.HorizontalPodAutoscalerBehaviorArgs(
        scale_up=rules(behavior.get("scaleUp")), scale_down=rules(behavior.get("scaleDown"))
    )


def _probe(spec: ProbeSpec, port: int | None) -> k8s.core.v1.ProbeArgs:
    if (spec.http_path is None) == (spec.exec_command is None):
        raise ValueError("a probe needs exactly one of http_path or exec_command")
    http = None
    if spec.http_path is not None:
        probe_port: int | str | None = spec.http_port or ("http" if port else None)
        if probe_port is None:
            raise ValueError("an HTTP probe needs a port: set http_port or the workload's port")
        http = k8s.core.v1.HTTPGetActionArgs(path=spec.http_path, port=probe_port)
    return k8s.core.v1.ProbeArgs(
        http_get=http,
        exec_=k8s.core.v1.ExecActionArgs(command=list(spec.exec_command)) if spec.exec_command else None,
        initial_delay_seconds=spec.initial_delay_seconds,
        period_seconds=spec.period_seconds,
        timeout_seconds=spec.timeout_seconds,
        failure_threshold=spec.failure_threshold,
    )


def _scrape_annotations(args: WorkloadArgs) -> dict[str, str] | None:
    if args.metrics_port is None:
        return None
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(args.metrics_port),
        "prometheus.io/path": "/metrics",
    }


def _peer(peer: NetworkPeer) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    if peer.cidr is not None:
        return k8s.networking.v1.NetworkPolicyPeerArgs(
            ip_block=k8s.networking.v1.IPBlockArgs(cidr=peer.cidr, except_=list(peer.except_cidrs) or None)
        )
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(peer.pod_labels or {})),
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(peer.namespace_labels))
        if peer.namespace_labels is not None
        else None,
    )


def _ports(ports: Sequence[int]) -> list[k8s.networking.v1.NetworkPolicyPortArgs] | None:
    return [k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=p) for p in ports] or None
