"""DigitalOcean Kubernetes: the cluster, its keyed worker pools, and the Kubernetes provider it owns."""

from __future__ import annotations

import json
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
    cluster_subnet: str
    """Pod CIDR of the VPC-native cluster (set explicitly: database and droplet firewalls admit it)."""
    service_subnet: str
    """Service (ClusterIP) CIDR of the cluster."""
    registry_integration: bool = True
    """Default: nodes may pull from the account's container registry."""
    api_allowed_cidrs: Sequence[str] = ()
    """Default: no control-plane firewall (API open, token-protected)."""


EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
DOCTL_CONTEXT = "default"
"""doctl honours DIGITALOCEAN_ACCESS_TOKEN only in its ``default`` auth context (doctl README), and
that variable is how CI and scripts/pulumi-stack.sh hand it the token."""


def exec_kubeconfig(context: str, cluster_id: str, server: str, ca_data: str) -> str:
    """A kubeconfig whose credential ``doctl`` fetches each time it is used; it holds no token.

    The exec stanza is the one ``doctl kubernetes cluster kubeconfig save`` writes (doctl
    ``commands/kubernetes.go``): ``doctl kubernetes cluster kubeconfig exec-credential
    --version=v1beta1 --context=<auth context> <cluster id>``, which prints an ExecCredential with a
    short-lived token (cached by doctl until it expires). Rendered from plain values with sorted
    keys, so the same cluster gives the same bytes on every run: no provider diff, nothing expired
    in state for ``refresh``/``destroy``. Whoever runs Pulumi needs doctl on PATH and a DigitalOcean
    token (DIGITALOCEAN_ACCESS_TOKEN or ``doctl auth init``).
    """
    user = f"{context}-doctl"
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
            "current-context": context,
            "users": [
                {
                    "name": user,
                    "user": {
                        "exec": {
                            "apiVersion": EXEC_API_VERSION,
                            "command": "doctl",
                            "args": [
                                "kubernetes",
                                "cluster",
                                "kubeconfig",
                                "exec-credential",
                                "--version=v1beta1",
                                f"--context={DOCTL_CONTEXT}",
                                cluster_id,
                            ],
                            # CI has no terminal, and doctl never prompts in this mode.
                            "interactiveMode": "Never",
                            "installHint": "install doctl and export DIGITALOCEAN_ACCESS_TOKEN (docs/operations.md)",
                        }
                    },
                }
            ],
        },
        indent=2,
        sort_keys=True,
    )


class KubernetesCluster(pulumi.ComponentResource):
    """A DOKS cluster whose Kubernetes provider never holds a credential at all.

    The kubeconfig stored on the cluster resource carries a token that expires (7 days; a looked-up
    short-lived one is worse: a new token is a provider diff on every run, and ``refresh``/``destroy``
    run with the expired one from state). So the provider's kubeconfig is built from the cluster's
    stable facts (id, endpoint, CA) with an exec credential (``exec_kubeconfig``), and
    ``cluster_identifier`` pins the provider's identity to the cluster id, so even a changed
    kubeconfig (a new endpoint or CA) never plans the replacement of every Kubernetes object.
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
    """Token-free kubeconfig (exec credential through doctl); secret anyway, as defence in depth."""
    provider: k8s.Provider
    """Kubernetes provider for everything deployed into this cluster."""

    def __init__(self, name: str, args: KubernetesClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:k8s:KubernetesCluster", name, None, opts)

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

        # Built from outputs unknown during a first preview, so the provider's kubeconfig is unknown
        # there too, which pulumi-kubernetes handles by previewing without a cluster. The CA comes
        # from the cluster's kube_configs (base64 already, as certificate-authority-data wants it);
        # the provider refreshes only the token in there, which this kubeconfig does not use.
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.id, cluster.endpoint, cluster.kube_configs[0].cluster_ca_certificate).apply(
                lambda v: exec_kubeconfig(f"do-{args.region}-{name}", v[0], v[1], v[2])
            )
        )
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
