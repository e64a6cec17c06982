"""The architecture of a stack, derived from its evaluated resource graph (never drawn by hand).

Input: the records of an in-process evaluation (tests/harness.py, up mode: the mocks return names,
hosts and addresses). Output: an ``Architecture`` of groups (cloud > network > cluster > namespace),
nodes (every component, plus node pools, the load balancer and the Internet) and edges. Everything is
read from the program's wiring:

* grouping: a component's resources' provider package (DigitalOcean, AWS), whether they reference the
  VPC (by id or dependency), and whether they are Kubernetes objects of a cluster's provider;
* data paths: a workload's environment (``secretKeyRef``/``configMapKeyRef``/plain values) resolved to the
  Secret's value and matched against the hosts, addresses and bucket names other components' resources
  return; other components' configuration strings (e.g. the metrics agent's remote-write URL) the same way;
  a remaining dependency on a data service (e.g. a KEDA scaler on the cache) as a plain "uses" edge;
* routes: each Ingress or HTTPRoute backend matched to the workload whose Service has that name;
* traffic: a Helm release whose values ask for a ``LoadBalancer`` Service (the cloud-controller-manager
  creates the load balancer) becomes Internet -> load balancer -> that component.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

DEPLOYMENT_KINDS = {
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:CronJob",
    "kubernetes:batch/v1:Job",
}
SERVICE_TYPES = {
    "digitalocean:index/databaseCluster:DatabaseCluster": "database",
    "digitalocean:index/droplet:Droplet": "host",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:rds/instance:Instance": "database",
    "aws:elasticache/replicationGroup:ReplicationGroup": "database",
}
"""Resource types that make their component a data service an edge can point at."""
ENDPOINT_FIELDS = ("host", "privateHost", "bucket", "ipv4Address", "ipv4AddressPrivate", "endpoint", "address")
CONTAINERS = {"Network", "KubernetesCluster", "Application", "EksCluster"}
"""Component classes drawn as a box around others rather than as a node."""
TRANSPARENT = {"DigitalOceanPlatform"}
"""Components that only group others for the composition root: drawn as nothing, their children as usual."""
LB_NAME = "service.beta.kubernetes.io/do-loadbalancer-name"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
ENVOY_PROXY = "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
LB_SIZE = "service.beta.kubernetes.io/do-loadbalancer-size-unit"


class Record(Protocol):
    """What the builder reads of a registered resource (tests/harness.py ``Resource``)."""

    @property
    def urn(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def inputs(self) -> dict[str, Any]: ...
    @property
    def outputs(self) -> dict[str, Any]: ...
    @property
    def parent(self) -> str: ...
    @property
    def dependencies(self) -> tuple[str, ...]: ...
    @property
    def provider(self) -> str: ...
    @property
    def custom(self) -> bool: ...


@dataclass(frozen=True)
class Group:
    id: str
    label: str
    kind: str
    """cloud, network, cluster or namespace."""
    parent: str | None = None
    urn: str = ""
    """The component drawn as this group, if any."""


@dataclass(frozen=True)
class Node:
    id: str
    label: tuple[str, ...]
    """Lines: the name first, then details."""
    kind: str
    """component class, ``pool``, ``lb`` or ``external``; decides the shape."""
    group: str | None
    urn: str = ""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    style: str = "data"
    """data (solid), control (dashed)."""


@dataclass
class Architecture:
    stack: str
    groups: list[Group] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def ids_of_components(self) -> dict[str, str]:
        """Component URN -> the node or group id that draws it."""
        found = {n.urn: n.id for n in self.nodes if n.urn}
        found.update({g.urn: g.id for g in self.groups if g.urn})
        return found


# ------------------------------------------------------------------------------------------------
# Helpers


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def _class(type_token: str) -> str:
    return type_token.rsplit(":", 1)[-1]


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, Mapping):
        for inner in value.values():
            yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)
    elif isinstance(value, str):
        yield value


def _meta(record: Record, key: str) -> Any:
    metadata = record.inputs.get("metadata")
    return metadata.get(key) if isinstance(metadata, Mapping) else None


def _pod_spec(record: Record) -> Mapping[str, Any]:
    spec = record.inputs.get("spec") or {}
    if record.type == "kubernetes:batch/v1:CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template") or {}
    pod = template.get("spec") if isinstance(template, Mapping) else None
    return pod if isinstance(pod, Mapping) else {}


class _Index:
    """Lookups over one evaluation."""

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = list(records)
        self.by_urn = {r.urn: r for r in self.records}
        self.components = [r for r in self.records if not r.custom]
        self.children: dict[str, list[Record]] = {}
        for r in self.records:
            self.children.setdefault(r.parent, []).append(r)

    def component_of(self, record: Record) -> Record | None:
        """The nearest enclosing component (the record itself if it is one)."""
        current: Record | None = record
        while current is not None and current.custom:
            current = self.by_urn.get(current.parent)
        return current

    def owned(self, component: Record) -> list[Record]:
        """Custom resources whose nearest component is ``component``."""
        return [r for r in self.children.get(component.urn, []) if r.custom]

    def descendants(self, component: Record) -> list[Record]:
        found, stack = [], list(self.children.get(component.urn, []))
        while stack:
            r = stack.pop()
            found.append(r)
            stack.extend(self.children.get(r.urn, []))
        return found


# ------------------------------------------------------------------------------------------------
# Labels


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float | int) and not isinstance(value, bool) else str(value)


def _pool_label(name: str, pool: Mapping[str, Any]) -> tuple[str, ...]:
    if pool.get("autoScale"):
        count = f"{_number(pool.get('minNodes'))}-{_number(pool.get('maxNodes'))}"
    else:
        count = _number(pool.get("nodeCount"))
    taints = ", ".join(f"{t.get('key')}={t.get('value')}:{t.get('effect')}" for t in pool.get("taints") or [])
    return (f"pool {name}", f"{pool.get('size')} x {count}", *((f"taint {taints}",) if taints else ()))


def _database_detail(r: Record) -> str:
    engine = {"pg": "PostgreSQL", "valkey": "Valkey"}.get(r.inputs.get("engine", ""), r.inputs.get("engine"))
    return f"{engine} {r.inputs.get('version')} · {r.inputs.get('size')} x {_number(r.inputs.get('nodeCount'))}"


def _pods_detail(r: Record) -> str:
    spec = r.inputs.get("spec") or {}
    schedule, replicas = spec.get("schedule"), spec.get("replicas")
    extra = f" {schedule}" if schedule else f" x {_number(replicas)}" if replicas is not None else ""
    return f"{_class(r.type)}{extra}"


def _scaler_detail(r: Record) -> str:
    spec = r.inputs.get("spec") or {}
    if r.type == "kubernetes:autoscaling/v2:HorizontalPodAutoscaler":
        return f"HPA {_number(spec.get('minReplicas', 1))}-{_number(spec.get('maxReplicas'))} replicas"
    return f"KEDA {_number(spec.get('minReplicaCount', 0))}-{_number(spec.get('maxReplicaCount', 100))} replicas"


def _ingress_detail(r: Record) -> str:
    hosts = sorted({rule.get("host") for rule in (r.inputs.get("spec") or {}).get("rules") or []} - {None})
    return "\n".join(f"https://{h}" for h in hosts)


def _http_route_detail(r: Record) -> str:
    hosts = sorted(set((r.inputs.get("spec") or {}).get("hostnames") or []))
    return "\n".join(f"https://{h}" for h in hosts)


_DETAILS: dict[str, Any] = {
    "digitalocean:index/databaseCluster:DatabaseCluster": _database_detail,
    "digitalocean:index/droplet:Droplet": lambda r: f"droplet {r.inputs.get('size')} · {r.inputs.get('image')}",
    "digitalocean:index/volume:Volume": lambda r: f"volume {_number(r.inputs.get('size'))} GiB",
    "aws:s3/bucket:Bucket": lambda r: f"S3 bucket ({r.inputs.get('region') or 'default region'})",
    "aws:s3/bucketV2:BucketV2": lambda r: f"S3 bucket ({r.inputs.get('region') or 'default region'})",
    "kubernetes:helm.sh/v3:Release": lambda r: f"{r.inputs.get('chart')} {r.inputs.get('version') or ''}".strip(),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": _scaler_detail,
    "kubernetes:keda.sh/v1alpha1:ScaledObject": _scaler_detail,
    "kubernetes:networking.k8s.io/v1:Ingress": _ingress_detail,
    HTTP_ROUTE: _http_route_detail,
    **dict.fromkeys(DEPLOYMENT_KINDS, _pods_detail),
}
"""What a component's label says about the resources it owns, per type."""


def _component_label(index: _Index, component: Record) -> tuple[str, ...]:
    owned = index.owned(component)
    kind = _class(component.type)
    details = [line for r in owned if r.type in _DETAILS for line in _DETAILS[r.type](r).split("\n") if line]
    counts: dict[str, int] = {}
    for r in owned:
        if r.type in ("digitalocean:index/monitorAlert:MonitorAlert", "digitalocean:index/uptimeCheck:UptimeCheck"):
            counts[_class(r.type)] = counts.get(_class(r.type), 0) + 1
    details.extend(f"{count} x {name}" for name, count in sorted(counts.items()))
    parent = index.by_urn.get(component.parent)
    name = component.name
    if parent is not None and name.startswith(f"{parent.name}-"):
        name = name[len(parent.name) + 1 :]  # a workload inside its application: the service's own name
    return (name, kind, *sorted(dict.fromkeys(details)))


# ------------------------------------------------------------------------------------------------
# Grouping


def _package(type_token: str) -> str:
    return type_token.split(":", 1)[0]


_CLOUDS = {"digitalocean": "DigitalOcean", "aws": "AWS"}


def build(stack: str, records: Sequence[Record]) -> Architecture:
    """The architecture of one evaluated stack."""
    return _Builder(stack, records).build()


class _Builder:
    def __init__(self, stack: str, records: Sequence[Record]) -> None:
        self.index = _Index(records)
        self.arch = Architecture(stack)
        self.comp_ids = {c.urn: slug(f"{_class(c.type)}_{c.name}") for c in self.index.components}
        self.network_of: dict[str, str] = {}
        """VPC URN -> its group id."""
        self.cluster_of_provider: dict[str, str] = {}
        """Kubernetes provider URN -> the group id of the cluster component that owns it."""

    def build(self) -> Architecture:
        self._clouds()
        self._networks()
        self._clusters()
        self._components()
        self._pools()
        _edges(self.index, self.arch, self.comp_ids)
        self.arch.groups.sort(key=lambda g: g.id)
        self.arch.nodes.sort(key=lambda n: n.id)
        self.arch.edges = sorted(set(self.arch.edges), key=lambda e: (e.source, e.target, e.label))
        return self.arch

    def _clouds(self) -> None:
        """One group per provider package that owns resources, labelled with their regions."""
        regions: dict[str, set[str]] = {}
        for r in self.index.records:
            cloud = _CLOUDS.get(_package(r.type))
            if cloud and r.custom:
                regions.setdefault(cloud, set())
                if isinstance(r.inputs.get("region"), str):
                    regions[cloud].add(r.inputs["region"])
        for cloud, where in sorted(regions.items()):
            suffix = f" · {', '.join(sorted(where))}" if where else ""
            self.arch.groups.append(Group(slug(f"cloud_{cloud}"), f"{cloud}{suffix}", "cloud"))

    def _networks(self) -> None:
        """A group per VPC: the Network component's, or one a component keeps for itself (EKS)."""
        for vpc in self.index.records:
            owner = self.index.component_of(vpc)
            if vpc.type not in ("digitalocean:index/vpc:Vpc", "aws:ec2/vpc:Vpc") or owner is None:
                continue
            cloud = slug(f"cloud_{_CLOUDS[_package(vpc.type)]}")
            cidr = vpc.inputs.get("ipRange") or vpc.inputs.get("cidrBlock")
            if _class(owner.type) == "Network":
                group = Group(self.comp_ids[owner.urn], f"VPC {owner.name} · {cidr}", "network", cloud, owner.urn)
            else:
                group = Group(slug(f"vpc_{vpc.name}"), f"VPC {vpc.name} · {cidr}", "network", cloud)
            self.arch.groups.append(group)
            self.network_of[vpc.urn] = group.id

    def _network_group(self, component: Record) -> str | None:
        for r in self.index.descendants(component):
            for urn, gid in self.network_of.items():
                if r.custom and urn in r.dependencies:
                    return gid
        return None

    def _cluster_group(self, component: Record) -> str | None:
        for r in self.index.descendants(component):
            provider = r.provider.rsplit("::", 1)[0] if r.provider else ""
            if r.custom and r.type.startswith("kubernetes:") and provider in self.cluster_of_provider:
                return self.cluster_of_provider[provider]
        return None

    def _clusters(self) -> None:
        """A group per component that owns a Kubernetes provider (DOKS, EKS), inside its network."""
        for provider in self.index.records:
            owner = self.index.by_urn.get(provider.parent)
            if provider.type == "pulumi:providers:kubernetes" and owner is not None and owner.urn in self.comp_ids:
                self.cluster_of_provider[provider.urn] = self.comp_ids[owner.urn]
        for component in self.index.components:
            if self.comp_ids[component.urn] not in self.cluster_of_provider.values():
                continue
            cluster = next((r for r in self.index.owned(component) if r.type in _CLUSTER_TYPES), None)
            details = []
            if cluster is not None:
                ha = " · HA control plane" if cluster.inputs.get("ha") else ""
                details.append(f"{_CLUSTER_TYPES[cluster.type]} {cluster.inputs.get('version') or ''}".rstrip() + ha)
            cloud = _CLOUDS.get(_package(cluster.type)) if cluster is not None else None
            parent = self._network_group(component) or (slug(f"cloud_{cloud}") if cloud else None)
            label = " · ".join([component.name, *details])
            self.arch.groups.append(Group(self.comp_ids[component.urn], label, "cluster", parent, component.urn))

    def _placement(self, component: Record, group_ids: set[str]) -> str | None:
        """The innermost group a component belongs to: its parent's, its cluster, its network, its cloud."""
        parent = self.index.by_urn.get(component.parent)
        if parent is not None and self.comp_ids.get(parent.urn) in group_ids:
            return self.comp_ids[parent.urn]
        found = self._cluster_group(component) or self._network_group(component)
        if found is not None:
            return found
        packages = [
            _package(r.type) for r in self.index.descendants(component) if r.custom and _package(r.type) in _CLOUDS
        ]
        cloud = max(sorted(set(packages)), key=packages.count) if packages else None
        return slug(f"cloud_{_CLOUDS[cloud]}") if cloud else None

    def _components(self) -> None:
        """Every other component: a namespace group (an Application) or a node."""
        group_ids = {g.id for g in self.arch.groups}
        for component in self.index.components:
            cid = self.comp_ids[component.urn]
            if cid in group_ids or _class(component.type) in TRANSPARENT:
                continue
            parent = self._placement(component, group_ids)
            if _class(component.type) in CONTAINERS:
                namespace = next(
                    (_meta(r, "name") for r in self.index.owned(component) if r.type == "kubernetes:core/v1:Namespace"),
                    None,
                )
                label = f"{component.name}{f' · namespace {namespace}' if namespace else ''}"
                self.arch.groups.append(Group(cid, label, "namespace", parent, component.urn))
                group_ids.add(cid)
            else:
                lines = _component_label(self.index, component)
                self.arch.nodes.append(Node(cid, lines, _class(component.type), parent, component.urn))

    def _pools(self) -> None:
        """Node pools (the cluster's embedded one and the keyed ones) inside their cluster."""
        cluster_groups = {
            self.comp_ids[owner.urn]
            for r in self.index.records
            if r.type == "digitalocean:index/kubernetesCluster:KubernetesCluster"
            and (owner := self.index.component_of(r)) is not None
            and owner.urn in self.comp_ids
        }
        for r in self.index.records:
            owner = self.index.component_of(r)
            if owner is None or owner.urn not in self.comp_ids:
                continue
            group = self.comp_ids[owner.urn]
            if group not in cluster_groups and len(cluster_groups) == 1:
                # A tenant's own pool (components/tenant.py) is still a pool of the one DOKS cluster.
                (group,) = cluster_groups
            embedded = r.inputs.get("nodePool")
            if r.type == "digitalocean:index/kubernetesCluster:KubernetesCluster" and isinstance(embedded, Mapping):
                name = str(embedded.get("name"))
                self.arch.nodes.append(Node(slug(f"pool_{r.name}_{name}"), _pool_label(name, embedded), "pool", group))
            elif r.type == "digitalocean:index/kubernetesNodePool:KubernetesNodePool":
                name = str(r.inputs.get("name"))
                self.arch.nodes.append(Node(slug(f"pool_{r.name}"), _pool_label(name, r.inputs), "pool", group))


_CLUSTER_TYPES = {"digitalocean:index/kubernetesCluster:KubernetesCluster": "DOKS", "aws:eks/cluster:Cluster": "EKS"}


# ------------------------------------------------------------------------------------------------
# Edges


def _endpoints(index: _Index, comp_ids: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Host, address or bucket string -> (node id of the data service that returns it, its service kind)."""
    found: dict[str, tuple[str, str]] = {}
    for r in index.records:
        kind = SERVICE_TYPES.get(r.type)
        owner = index.component_of(r)
        if kind is None or owner is None or owner.urn not in comp_ids:
            continue
        for key in ENDPOINT_FIELDS:
            value = r.outputs.get(key)
            if isinstance(value, str) and len(value) >= 8:
                found[value] = (comp_ids[owner.urn], kind)
        # Everything the service's component exposes (pools, replicas) reaches the same service.
        for sibling in index.owned(owner):
            for key in ENDPOINT_FIELDS:
                value = sibling.outputs.get(key)
                if isinstance(value, str) and len(value) >= 8 and value not in found:
                    found[value] = (comp_ids[owner.urn], kind)
    return found


def _label(key: str, value: str, kind: str, endpoint: str) -> str:
    """What flows, read from the line of ``value`` that names ``endpoint``."""
    line = next((part for part in value.splitlines() if endpoint in part), value).strip()
    scheme = re.search(r"([a-z][a-z0-9+.-]*)://[^\s]*" + re.escape(endpoint), line)
    if scheme and scheme.group(1) in ("postgres", "postgresql"):
        return "SQL"
    if scheme and scheme.group(1) in ("redis", "rediss"):
        return "queue" if re.search(r"BROKER|CELERY|QUEUE", key) else "cache"
    if kind == "bucket":
        return "dumps"
    if "/api/v1/write" in line or "remote_write" in line:
        return "remote write"
    if kind == "database":
        return "scrape metrics"
    return key.lower() or "uses"


def _env_values(index: _Index, workload: Record) -> Iterable[tuple[str, str]]:
    """(name, value) of every environment variable of a pod spec, secrets resolved to their values."""
    namespace = _meta(workload, "namespace")
    objects: dict[tuple[str, str], Mapping[str, Any]] = {}
    for r in index.records:
        if (
            r.type in ("kubernetes:core/v1:Secret", "kubernetes:core/v1:ConfigMap")
            and _meta(r, "namespace") == namespace
        ):
            data = {**(r.inputs.get("data") or {}), **(r.inputs.get("stringData") or {})}
            objects[(_class(r.type), str(_meta(r, "name")))] = data
    pod = _pod_spec(workload)
    for container in [*(pod.get("containers") or []), *(pod.get("initContainers") or [])]:
        for source in container.get("envFrom") or []:
            for kind, ref in (("Secret", source.get("secretRef")), ("ConfigMap", source.get("configMapRef"))):
                if isinstance(ref, Mapping):
                    yield from ((str(k), str(v)) for k, v in objects.get((kind, str(ref.get("name"))), {}).items())
        for env in container.get("env") or []:
            name = str(env.get("name"))
            if isinstance(env.get("value"), str):
                yield name, env["value"]
            value_from = env.get("valueFrom") or {}
            for kind, ref in (
                ("Secret", value_from.get("secretKeyRef")),
                ("ConfigMap", value_from.get("configMapKeyRef")),
            ):
                if isinstance(ref, Mapping):
                    value = objects.get((kind, str(ref.get("name"))), {}).get(str(ref.get("key")))
                    if isinstance(value, str):
                        yield name, value


def _matches(value: str, endpoints: Mapping[str, tuple[str, str]]) -> Iterable[tuple[str, str, str]]:
    for endpoint, (target, kind) in endpoints.items():
        if endpoint in value:
            yield endpoint, target, kind


class _Found:
    """Edges collected per (source, target, style), labels merged."""

    def __init__(self) -> None:
        self.labels: dict[tuple[str, str, str], set[str]] = {}

    def add(self, source: str, target: str, label: str, style: str = "data") -> None:
        if target != source:
            self.labels.setdefault((source, target, style), set()).add(label)

    def linked(self, source: str, target: str) -> bool:
        return any(key[:2] == (source, target) for key in self.labels)


def _pod_edges(index: _Index, arch: Architecture, r: Record, source: str, endpoints: Any, *, found: _Found) -> None:
    """A pod's environment, secrets resolved to the values they carry; its node-pool pinning."""
    for name, value in _env_values(index, r):
        for endpoint, target, kind in _matches(value, endpoints):
            found.add(source, target, _label(name, value, kind, endpoint))
    pool = (_pod_spec(r).get("nodeSelector") or {}).get("doks.digitalocean.com/node-pool")
    for node in arch.nodes:
        if pool and node.kind == "pool" and node.label[0] == f"pool {pool}":
            found.add(source, node.id, "pinned to", "control")


def _config_edges(r: Record, source: str, endpoints: Any, found: _Found) -> None:
    """Configuration a component renders (ConfigMaps, Helm values, policies, scalers)."""
    scaler = r.type.startswith("kubernetes:keda.sh/")
    for value in _strings(r.inputs):
        for endpoint, target, kind in _matches(value, endpoints):
            found.add(source, target, "scales on queue length" if scaler else _label("", value, kind, endpoint))


def _dependency_edges(
    index: _Index, r: Record, source: str, targets: Mapping[str, str], services: set[str], *, found: _Found
) -> None:
    """A remaining dependency on a data service: alerts watching a host, anything else using one."""
    if r.type == "digitalocean:index/projectResources:ProjectResources":
        return  # project membership is bookkeeping, not a path
    for dep in r.dependencies:
        owner = index.component_of(index.by_urn[dep]) if dep in index.by_urn else None
        target = targets.get(owner.urn) if owner is not None else None
        if target is None or target not in services or found.linked(source, target):
            continue
        if r.type.startswith(("digitalocean:index/monitorAlert", "digitalocean:index/uptime")):
            found.add(source, target, "alerts on", "control")
        else:
            found.add(source, target, _class(r.type))


def _edges(index: _Index, arch: Architecture, comp_ids: Mapping[str, str]) -> None:
    nodes = {n.id for n in arch.nodes}
    endpoints = _endpoints(index, comp_ids)
    services = {node for node, _ in endpoints.values()}
    found = _Found()
    for component in index.components:
        source = comp_ids[component.urn]
        if source not in nodes:
            continue  # a group: its members carry the edges
        owned = index.owned(component)
        for r in owned:
            if r.type in DEPLOYMENT_KINDS:
                _pod_edges(index, arch, r, source, endpoints, found=found)
            elif r.type.startswith("kubernetes:") and r.type not in SERVICE_TYPES:
                _config_edges(r, source, endpoints, found)
        # By name, not registration order: resources whose inputs wait on outputs register in no fixed
        # order, and the first dependency found labels the edge (the committed diagrams must be stable).
        for r in sorted(owned, key=lambda record: (record.type, record.urn)):
            _dependency_edges(index, r, source, comp_ids, services, found=found)
    for (source, target, style), labels in found.labels.items():
        specific = sorted(labels - {"uses"}) or sorted(labels)
        arch.edges.append(Edge(source, target, " + ".join(specific), style))
    _routes(index, arch, comp_ids)
    _traffic(index, arch, comp_ids)


def _routes(index: _Index, arch: Architecture, comp_ids: Mapping[str, str]) -> None:
    """Each Ingress backend to the workload whose Service carries that name."""
    services: dict[tuple[str, str], str] = {}
    for r in index.records:
        owner = index.component_of(r)
        if r.type == "kubernetes:core/v1:Service" and owner is not None:
            services[(str(_meta(r, "namespace")), str(_meta(r, "name")))] = comp_ids[owner.urn]
    for r in index.records:
        owner = index.component_of(r)
        if r.type == HTTP_ROUTE and owner is not None:
            spec = r.inputs.get("spec") or {}
            host = ",".join(spec.get("hostnames") or [])
            for rule in spec.get("rules") or []:
                paths = [((m.get("path") or {}).get("value") or "") for m in rule.get("matches") or [{}]]
                for ref in rule.get("backendRefs") or []:
                    target = services.get((str(_meta(r, "namespace")), str(ref.get("name"))))
                    if target:
                        for path in paths:
                            arch.edges.append(Edge(comp_ids[owner.urn], target, f"{host}{path}"))
            continue
        if r.type != "kubernetes:networking.k8s.io/v1:Ingress" or owner is None:
            continue
        for rule in (r.inputs.get("spec") or {}).get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                backend = ((path.get("backend") or {}).get("service") or {}).get("name")
                target = services.get((str(_meta(r, "namespace")), str(backend)))
                if target:
                    label = f"{rule.get('host')}{path.get('path') or ''}"
                    arch.edges.append(Edge(comp_ids[owner.urn], target, label))


def _traffic(index: _Index, arch: Architecture, comp_ids: Mapping[str, str]) -> None:
    """Internet -> load balancer -> the component whose chart asked for it; DNS records -> the load balancer."""
    for r in index.records:
        # A chart's LoadBalancer Service (ingress-nginx), or the one Envoy Gateway creates from an EnvoyProxy.
        if r.type not in ("kubernetes:helm.sh/v3:Release", ENVOY_PROXY):
            continue
        owner = index.component_of(r)
        if owner is None or comp_ids[owner.urn] not in {n.id for n in arch.nodes}:
            continue
        # The DNS records wait on what gates the LB read-back: the release, or the Gateway of that proxy.
        gates = {r.urn} | (
            {g.urn for g in index.records if g.type == GATEWAY and index.component_of(g) == owner}
            if r.type == ENVOY_PROXY
            else set()
        )
        values = r.inputs.get("values") if r.type != ENVOY_PROXY else r.inputs.get("spec")
        for lb_annotations in _lb_annotations(values):
            name = str(lb_annotations.get(LB_NAME) or f"{r.name}-lb")
            lb = slug(f"lb_{name}")
            group = next((n.group for n in arch.nodes if n.id == comp_ids[owner.urn]), None)
            cloud_group = _outermost(arch, group)
            arch.nodes.append(
                Node(
                    lb,
                    (name, "load balancer (owned by the CCM)", f"{lb_annotations.get(LB_SIZE, '1')} size unit(s)"),
                    "lb",
                    cloud_group,
                )
            )
            if not any(n.id == "internet" for n in arch.nodes):
                arch.nodes.append(Node("internet", ("Internet",), "external", None))
            arch.edges.append(Edge("internet", lb, "HTTPS"))
            arch.edges.append(
                Edge(
                    lb,
                    comp_ids[owner.urn],
                    "TCP (proxy protocol)"
                    if lb_annotations.get("service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol") == "true"
                    else "TCP",
                )
            )
            for dns in index.records:
                dns_owner = index.component_of(dns)
                if (
                    dns.type == "digitalocean:index/dnsRecord:DnsRecord"
                    and gates & set(dns.dependencies)
                    and dns_owner is not None
                ):
                    arch.edges.append(Edge(comp_ids[dns_owner.urn], lb, "DNS records", "control"))


def _lb_annotations(values: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(values, Mapping):
        if values.get("type") == "LoadBalancer":
            annotations = values.get("annotations")
            yield annotations if isinstance(annotations, Mapping) else {}
        for inner in values.values():
            yield from _lb_annotations(inner)
    elif isinstance(values, list):
        for inner in values:
            yield from _lb_annotations(inner)


def _outermost(arch: Architecture, group: str | None) -> str | None:
    """The cloud group enclosing ``group`` (a load balancer sits outside the cluster)."""
    by_id = {g.id: g for g in arch.groups}
    current = by_id.get(group or "")
    while current is not None and current.kind not in ("network", "cloud"):
        current = by_id.get(current.parent or "")
    return current.id if current is not None else group
