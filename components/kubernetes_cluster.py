"""DigitalOcean Kubernetes: the cluster, its keyed worker pools, and the Kubernetes provider it owns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_digitalocean as do
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class NodePoolSpec:
    size: str
    auto_scale: bool
    min_nodes: int | None = None
    """Autoscaling floor. Default: unset (fixed pools)."""
    max_nodes: int | None = None
    """Autoscaling ceiling. Default: unset (fixed pools)."""
    node_count: int | None = None
    """Fixed size; must stay None on autoscaling pools."""
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: Sequence[tuple[str, str, str]] = ()
    """(key, value, effect) with Kubernetes effect spelling, e.g. NoSchedule."""


@dataclass(frozen=True)
class KubernetesClusterArgs:
    region: str
    vpc_id: pulumi.Input[str]
    version_prefix: str
    """Minor prefix such as '1.35.'; resolved to the newest patch DigitalOcean offers."""
    ha: bool
    auto_upgrade: bool
    surge_upgrade: bool
    maintenance_day: str
    maintenance_start_time: str
    system_pool: NodePoolSpec
    """The embedded default pool. Its size is immutable in practice: changing it replaces the cluster."""
    pools: Mapping[str, NodePoolSpec]
    """Worker pools keyed by name; each becomes a separate KubernetesNodePool."""
    tags: Sequence[str]
    registry_integration: bool = True
    """Default: nodes may pull from the account's container registry."""
    api_allowed_cidrs: Sequence[str] = ()
    """Default: no control-plane firewall (API open, token-protected)."""
    cluster_subnet: str | None = None
    service_subnet: str | None = None
    kubeconfig_ttl_seconds: int = 3600
    """Lifetime of the credential the provider uses. Default: one hour, renewed every run."""


class KubernetesCluster(pulumi.ComponentResource):
    """A DOKS cluster whose Kubernetes provider never holds a stale credential.

    The kubeconfig stored on the cluster resource is minted once and expires after 7 days, which
    breaks every later run (pulumi-digitalocean #77). So the provider is built from a fresh,
    short-lived credential looked up on each run, and ``cluster_identifier`` pins the provider's
    identity to the cluster id so a new token never plans the replacement of every Kubernetes object.
    """

    cluster_id: pulumi.Output[str]
    """DOKS cluster id (a DatabaseFirewall ``k8s`` rule value)."""
    cluster_urn: pulumi.Output[str]
    """DigitalOcean URN (``do:kubernetes:<id>``) for project membership."""
    endpoint: pulumi.Output[str]
    """API server URL."""
    version: pulumi.Output[str]
    """Resolved version slug at creation."""
    kubeconfig: pulumi.Output[str]
    """Short-lived kubeconfig (secret)."""
    provider: k8s.Provider
    """Kubernetes provider for everything deployed into this cluster."""

    def __init__(self, name: str, args: KubernetesClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:k8s:KubernetesCluster", name, None, opts)
        pulumi.ResourceOptions(parent=self)

        versions = do.get_kubernetes_versions_output(
            version_prefix=args.version_prefix, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        system = args.system_pool
        cluster = do.KubernetesCluster(
            f"{name}-cluster",
            name=name,
            region=args.region,
            vpc_uuid=args.vpc_id,
            version=versions.latest_version,
            ha=args.ha,
            auto_upgrade=args.auto_upgrade,
            surge_upgrade=args.surge_upgrade,
            maintenance_policy=do.KubernetesClusterMaintenancePolicyArgs(
                day=args.maintenance_day, start_time=args.maintenance_start_time
            ),
            registry_integration=args.registry_integration,
            cluster_subnet=args.cluster_subnet,
            service_subnet=args.service_subnet,
            control_plane_firewall=(
                do.KubernetesClusterControlPlaneFirewallArgs(
                    enabled=True, allowed_addresses=list(args.api_allowed_cidrs)
                )
                if args.api_allowed_cidrs
                else None
            ),
            node_pool=do.KubernetesClusterNodePoolArgs(
                name="system",
                size=system.size,
                auto_scale=False,
                node_count=system.node_count,
                labels=dict(system.labels),
                tags=list(args.tags),
            ),
            tags=list(args.tags),
            # Volumes of PersistentVolumeClaims hold data: never delete them with the cluster.
            destroy_all_associated_resources=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                # With auto_upgrade on, DigitalOcean moves the patch version inside the maintenance
                # window; reconciling it back to the slug resolved at creation would be a downgrade,
                # which forces a new cluster. Minor upgrades are a deliberate operation (README).
                ignore_changes=["version"] if args.auto_upgrade else None,
            ),
        )

        pools = []
        for pool_name, spec in sorted(args.pools.items()):
            pools.append(
                do.KubernetesNodePool(
                    f"{name}-{pool_name}",
                    cluster_id=cluster.id,
                    name=pool_name,
                    size=spec.size,
                    auto_scale=spec.auto_scale,
                    min_nodes=spec.min_nodes,
                    max_nodes=spec.max_nodes,
                    # Left unset on autoscaling pools: a managed count fights DOKS's autoscaler on every run.
                    node_count=None if spec.auto_scale else spec.node_count,
                    labels=dict(spec.labels),
                    taints=[do.KubernetesNodePoolTaintArgs(key=k, value=v, effect=e) for k, v, e in spec.taints],
                    tags=list(args.tags),
                    opts=pulumi.ResourceOptions(parent=self, ignore_changes=["nodeCount"] if spec.auto_scale else None),
                )
            )

        # The lookup must wait for the cluster to exist. Its name comes through cluster.id, which is
        # unknown during the first preview, so the lookup is skipped there (and the provider's
        # kubeconfig is unknown, which pulumi-kubernetes handles by previewing without a cluster).
        live = do.get_kubernetes_cluster_output(
            name=pulumi.Output.all(cluster.id, cluster.name).apply(lambda v: v[1]),
            kubeconfig_expire_seconds=args.kubeconfig_ttl_seconds,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[cluster, *pools]),
        )
        self.kubeconfig = pulumi.Output.secret(live.kube_configs[0].raw_config)
        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=self.kubeconfig,
            cluster_identifier=cluster.id,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=pools),
        )

        self.cluster_id = cluster.id
        self.cluster_urn = cluster.cluster_urn
        self.endpoint = cluster.endpoint
        self.version = cluster.version
        self.register_outputs(
            {
                "cluster_id": self.cluster_id,
                "cluster_urn": self.cluster_urn,
                "endpoint": self.endpoint,
                "version": self.version,
                "kubeconfig": self.kubeconfig,
            }
        )
