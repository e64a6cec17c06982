"""EKS Auto Mode in its own VPC: the enterprise-scale target, with the Kubernetes provider it owns.

Auto Mode, not a cluster with node groups and hand-installed controllers: the seed's hand-deployed
cluster-autoscaler is outdated, and Auto Mode is AWS's managed Karpenter plus the core add-ons
(VPC CNI, kube-proxy, CoreDNS), the EBS CSI driver and the load balancer controller, run and
upgraded by EKS. Nothing in this component needs hand-upgrading; what it adds on top are Karpenter
NodePools with CPU limits (the budget) on Auto Mode's built-in NodeClass.

The VPC plan, trust policies, kubeconfig and NodePool spec are pure functions (tested as data), so
what the tests assert is exactly what is sent to AWS and to the cluster.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from stack_config.eks import role_key

from .aws_kms import customer_key

POLICY_ARN = "arn:aws:iam::aws:policy/"
CLUSTER_POLICIES = (
    "AmazonEKSClusterPolicy",
    "AmazonEKSComputePolicy",
    "AmazonEKSBlockStoragePolicy",
    "AmazonEKSLoadBalancingPolicy",
    "AmazonEKSNetworkingPolicy",
)
"""What the control plane needs to run Auto Mode's compute, storage, load balancing and networking."""
NODE_POLICIES = ("AmazonEKSWorkerNodeMinimalPolicy", "AmazonEC2ContainerRegistryPullOnly")
"""Auto Mode nodes need no more: the CNI runs with the cluster's permissions, not the node's."""
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
"""Read access to the built-in kinds, without Secrets. It does not cover CRDs such as NodePools: the
preview role gets those through ``PREVIEW_GROUP``'s ClusterRole."""
PREVIEW_GROUP = "platform-previewers"
"""Kubernetes group of the preview role's access entry, bound to read the objects Pulumi manages here."""
UNSUPPORTED_ZONE_IDS = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})
"""Zone ids EKS refuses for a cluster's subnets (UnsupportedAvailabilityZoneException). Zone *names* map
to different ids in each account, so the exclusion goes by id."""
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
ENABLED_BUILT_IN_POOLS = ("system",)
"""Only the tainted system pool: the built-in general-purpose pool cannot be given a CPU limit, so it
would be an uncapped way around every budget below. ``system`` stays because at least one built-in pool
must be on for EKS to provide the ``default`` NodeClass our pools use, and it keeps CoreDNS and the
other critical add-ons off workload nodes."""
NODE_EXPIRY = "336h"
"""Nodes are replaced (with a patched AMI) after 14 days, as in the built-in pools; Auto Mode caps it at 21."""


@dataclass(frozen=True)
class EksNodePoolSpec:
    cpu_limit: int
    """vCPUs all nodes of the pool may add up to."""
    capacity_types: Sequence[str] = ("on-demand",)
    """on-demand and/or spot. Default: on-demand only."""
    instance_categories: Sequence[str] = ("c", "m", "r")
    """EC2 families. Default: c, m, r."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Node labels. Default: none."""
    taints: Sequence[tuple[str, str, str]] = ()
    """(key, value, effect), Kubernetes effect spelling. Default: none."""
    consolidate_after: str = "5m"
    """Idle time before an empty or underused node is consolidated. Default: 5m."""
    gpu_limit: int | None = None
    """NVIDIA GPUs the pool may add up to; set for a GPU pool (instance category g). Default: none."""


@dataclass(frozen=True)
class EksClusterArgs:
    aws_region: str
    """Region of the AWS provider this component owns (credentials come from the standard chain)."""
    kubernetes_version: str
    """Minor such as '1.34'."""
    vpc_cidr: str
    """IPv4 range of the VPC (/16 to /20)."""
    availability_zones: int
    """How many zones (the first N available) the subnets span."""
    nat_per_zone: bool
    """True: a NAT gateway per zone. False: one, in the first zone, for all."""
    log_retention_days: int
    node_pools: Mapping[str, EksNodePoolSpec]
    """Karpenter NodePools keyed by name."""
    protect: bool
    """Protect the cluster and the secrets key, and turn on EKS deletion protection (production)."""
    zonal_shift: bool = False
    """Let ARC zonal shift move traffic away from an impaired zone. Default: off."""
    public_access_cidrs: Sequence[str] = ()
    """Networks admitted to the public API endpoint. Default: none, the public endpoint is off."""
    admin_role_arns: Sequence[str] = ()
    """IAM roles given cluster-admin through access entries. Default: none."""
    deploy_role_arn: str | None = None
    """Role that runs `pulumi up`: a cluster-admin access entry, which the NodePools wait for. Default: none
    (then only identities in ``admin_role_arns`` can apply them)."""
    preview_role_arn: str | None = None
    """Read-only role of previews and drift checks: view access plus read on the NodePools. Default: none."""
    api_ingress_cidrs: Sequence[str] = ()
    """Networks admitted on 443 to the private endpoint through the cluster security group. Default: none."""
    api_ingress_security_group_ids: Sequence[str] = ()
    """Security groups admitted on 443 to the private endpoint. Default: none."""
    deletion_protection: bool = False
    """EKS deletion protection, separate from ``protect`` so removal can switch it off first. Default: off."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Default tags of every AWS resource. Default: none."""


@dataclass(frozen=True)
class ZoneSubnets:
    private: str
    public: str


def select_zones(available: Sequence[str], count: int, zone_ids: Sequence[str] | None = None) -> list[str]:
    """The first ``count`` zones in name order, skipping those whose zone id EKS refuses.

    A region's zone names never change and new zones get later letters, so the choice is the same on
    every run, and raising ``count`` from 2 to 3 only appends a zone. ``zone_ids`` runs parallel to
    ``available`` (as the DescribeAvailabilityZones answer gives them).
    """
    ids = list(zone_ids) if zone_ids is not None else [""] * len(available)
    if len(ids) != len(available):
        raise ValueError(f"{len(available)} zone names but {len(ids)} zone ids")
    zones = sorted(name for name, zone_id in zip(available, ids, strict=True) if zone_id not in UNSUPPORTED_ZONE_IDS)
    if len(zones) < count:
        raise ValueError(f"the region offers {len(zones)} available zones ({zones}); {count} are needed")
    return zones[:count]


def subnet_plan(vpc_cidr: str, zones: Sequence[str]) -> dict[str, ZoneSubnets]:
    """Carve the VPC into one private and one public subnet per zone.

    Private subnets hold nodes and, with the VPC CNI, every pod's IP: each gets a quarter of the VPC
    (a /18 of a /16). Public subnets hold only NAT gateways and load balancers: the fourth quarter is
    split four ways. Slots follow the zone's position in ``zones``, so the plan is the same on every
    run for the same zones; three zones never use more than three of four slots.
    """
    if not 1 <= len(zones) <= 3:
        raise ValueError(f"plan 1 to 3 zones, not {len(zones)}")
    quarters = list(ipaddress.IPv4Network(vpc_cidr).subnets(prefixlen_diff=2))
    public = list(quarters[3].subnets(prefixlen_diff=2))
    return {zone: ZoneSubnets(private=str(quarters[i]), public=str(public[i])) for i, zone in enumerate(zones)}


def trust_policy(service: str, actions: Sequence[str] = ("sts:AssumeRole",)) -> dict[str, Any]:
    """A role only ``service`` may assume."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions)}],
    }


def secrets_key_policy(key_arn: str) -> dict[str, Any]:
    """What the control plane needs of the envelope key; AmazonEKSClusterPolicy grants none of it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EnvelopeEncryptSecrets",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                "Resource": [key_arn],
            }
        ],
    }


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that fetches a 15-minute token from ``aws eks get-token`` on every use.

    No token is ever written to the state, so nothing in it expires or leaks; whoever runs Pulumi
    needs the AWS CLI and credentials that an access entry admits.
    """
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region],
                            "interactiveMode": "Never",
                        }
                    },
                }
            ],
        },
        indent=2,
    )


def cluster_dns_cidr(service_cidr: str | None) -> str:
    """``kube-dns``'s address (the service range's tenth) as a /32. EKS picks the range when none is given:
    172.20.0.0/16 for a VPC in 10.0.0.0/8 (ours), else 10.100.0.0/16."""
    network = ipaddress.ip_network(service_cidr or "172.20.0.0/16")
    return f"{network[10]}/32"


def node_pool_spec(pool: EksNodePoolSpec) -> dict[str, Any]:
    """The ``spec`` of a Karpenter v1 NodePool on Auto Mode's built-in NodeClass."""
    template: dict[str, Any] = {
        "nodeClassRef": {"group": "eks.amazonaws.com", "kind": "NodeClass", "name": "default"},
        "requirements": [
            {"key": "karpenter.sh/capacity-type", "operator": "In", "values": list(pool.capacity_types)},
            {"key": "eks.amazonaws.com/instance-category", "operator": "In", "values": list(pool.instance_categories)},
            # Generation 5 and newer, as the built-in pools: older ones cost more per vCPU.
            {"key": "eks.amazonaws.com/instance-generation", "operator": "Gt", "values": ["4"]},
            # Otherwise Karpenter may pick Graviton, and an image built for amd64 only crash-loops there.
            {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
        ],
        "expireAfter": NODE_EXPIRY,
    }
    limits: dict[str, Any] = {"cpu": pool.cpu_limit}
    if pool.gpu_limit is not None:
        # Auto Mode's built-in NodeClass launches G instances (its AMI carries the NVIDIA driver and device
        # plugin), on spot too: no NodeClass of our own is needed. Nodes go when empty, so idle means zero.
        template["requirements"].append(
            {"key": "eks.amazonaws.com/instance-gpu-manufacturer", "operator": "In", "values": ["nvidia"]}
        )
        limits["nvidia.com/gpu"] = pool.gpu_limit
    if pool.taints:
        template["taints"] = [{"key": k, "value": v, "effect": e} for k, v, e in pool.taints]
    return {
        "template": {"metadata": {"labels": dict(pool.labels)}, "spec": template},
        "limits": limits,
        "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": pool.consolidate_after},
    }


def preview_rules() -> list[dict[str, Any]]:
    """What the preview role may read beyond AmazonEKSViewPolicy: the NodePools this component manages."""
    return [{"apiGroups": ["karpenter.sh"], "resources": ["nodepools"], "verbs": ["get", "list", "watch"]}]


def ingress_key(source: str) -> str:
    """Stable resource key of an API ingress source (a CIDR or a security group id)."""
    return source.replace(".", "-").replace("/", "-")


def admin_keys(role_arns: Sequence[str]) -> dict[str, str]:
    """Admin role ARNs by their stable key (the role's name); two roles with one key are refused."""
    keys: dict[str, str] = {}
    for arn in role_arns:
        key = role_key(arn)
        if key in keys:
            raise ValueError(f"{keys[key]} and {arn} share the key {key!r}; access entries are keyed by role name")
        keys[key] = arn
    return keys


class EksCluster(pulumi.ComponentResource):
    """An EKS Auto Mode cluster with a private-by-default API, KMS-encrypted secrets and audited access.

    Owns its VPC (public and private subnets per zone, NAT per ``nat_per_zone``), the KMS key, the
    control-plane log group, both IAM roles, the access entries of the admin roles, the Karpenter
    NodePools and a Kubernetes provider for whatever is deployed into the cluster. It also owns its AWS
    provider: region from args, credentials from the standard chain, never from code.
    """

    cluster_name: pulumi.Output[str]
    """EKS cluster name (``aws eks update-kubeconfig --name``)."""
    cluster_arn: pulumi.Output[str]
    """ARN of the cluster."""
    endpoint: pulumi.Output[str]
    """API server URL."""
    oidc_issuer: pulumi.Output[str]
    """OIDC issuer URL, for IAM roles of service accounts."""
    vpc_id: pulumi.Output[str]
    """The cluster's VPC."""
    private_subnet_ids: list[pulumi.Output[str]]
    """Private subnets, one per zone in zone order (for RDS and ElastiCache subnet groups)."""
    cluster_security_group_id: pulumi.Output[str]
    """Security group EKS puts on the control plane, every Auto Mode node and so every pod: data services
    admit it."""
    kubeconfig: pulumi.Output[str]
    """Token-free kubeconfig (exec: aws eks get-token); secret anyway, as defence in depth."""
    nat_public_ips: list[pulumi.Output[str]]
    """Elastic IPs of the NAT gateways, in zone order: every connection from a node or pod to the internet
    leaves from one of them (the monitoring droplet's remote-write firewall admits exactly these)."""
    cluster_dns_cidr: pulumi.Output[str]
    """The cluster DNS address as a /32 (``kube-dns``'s ClusterIP, the service range's tenth address), for
    NetworkPolicies: Auto Mode answers it on the node, not from CoreDNS pods a pod selector could name."""
    provider: k8s.Provider
    """Kubernetes provider for everything deployed into this cluster."""
    aws_provider: aws.Provider
    """The AWS provider of the cluster's region, for AWS resources that belong with it (tenants' data)."""

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:k8s:EksCluster", name, None, opts)
        self._name = name
        self._aws = aws.Provider(
            f"{name}-aws",
            region=args.aws_region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=dict(args.tags)) if args.tags else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.aws_provider = self._aws
        # Synchronous on purpose: the zone names key the subnets, NATs and route tables below, so they
        # must be plain strings when those resources are declared (not an Output, which would force
        # creating resources inside an apply, invisible to preview).
        available = aws.get_availability_zones(
            # Local and Wavelength zones need an opt-in and cannot host the control plane's subnets.
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            # No state="available" filter: a zone impaired during an incident would drop out of the list,
            # and the `pulumi up` run to respond to that incident would plan to move subnets out of it.
            # Zones EKS refuses are left out by id here and again in select_zones (which tests can reach).
            exclude_zone_ids=sorted(UNSUPPORTED_ZONE_IDS),
            opts=pulumi.InvokeOptions(parent=self, provider=self._aws),
        )
        zones = select_zones(available.names, args.availability_zones, available.zone_ids)
        vpc, private_subnets = self._network(args, zones)

        # Losing the key makes every Secret in etcd unreadable: protected.
        key = customer_key(
            f"{name}-secrets-key",
            f"Envelope encryption of the Kubernetes secrets of {name}",
            self._opts(protect=args.protect),
        )
        aws.kms.Alias(
            f"{name}-secrets-key-alias", name=f"alias/{name}-secrets", target_key_id=key.key_id, opts=self._opts()
        )

        # EKS writes to exactly this name; creating it first (the cluster depends on it) keeps it ours,
        # with a retention, instead of one EKS creates that never expires and outlives the stack.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{name}/cluster",
            retention_in_days=args.log_retention_days,
            opts=self._opts(),
        )

        cluster_role, cluster_role_grants = self._role(
            "cluster", trust_policy("eks.amazonaws.com", ("sts:AssumeRole", "sts:TagSession")), CLUSTER_POLICIES
        )
        cluster_role_grants.append(
            aws.iam.RolePolicy(
                f"{name}-cluster-role-secrets-key",
                role=cluster_role.id,
                policy=key.arn.apply(lambda arn: json.dumps(secrets_key_policy(arn))),
                opts=self._opts(),
            )
        )
        node_role, node_role_grants = self._role("node", trust_policy("ec2.amazonaws.com"), NODE_POLICIES)

        public_api = bool(args.public_access_cidrs)
        cluster = aws.eks.Cluster(
            f"{name}-cluster",
            # Named, not auto-named: the log group above must carry the exact cluster name.
            name=name,
            version=args.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=[s.id for s in private_subnets.values()],
                endpoint_private_access=True,
                endpoint_public_access=public_api,
                # Left unset without a public endpoint: EKS would otherwise record 0.0.0.0/0 there.
                public_access_cidrs=list(args.public_access_cidrs) if public_api else None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                # Access entries only: no aws-auth ConfigMap that one bad kubectl edit locks everyone out of.
                authentication_mode="API",
                # Off: with it, whoever ran the first `up` (a workstation, say) is silently the only admin,
                # and an access entry for that role later fails (ResourceInUseException). Every admin,
                # the deploy role included, gets an explicit entry below. Create-only in EKS: changing
                # it replaces the cluster, so it is fixed here rather than configurable.
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            # Auto Mode runs the CNI, kube-proxy and CoreDNS itself; self-managed copies would compete.
            bootstrap_self_managed_addons=False,
            compute_config=aws.eks.ClusterComputeConfigArgs(
                enabled=True, node_pools=list(ENABLED_BUILT_IN_POOLS), node_role_arn=node_role.arn
            ),
            storage_config=aws.eks.ClusterStorageConfigArgs(
                block_storage=aws.eks.ClusterStorageConfigBlockStorageArgs(enabled=True)
            ),
            kubernetes_network_config=aws.eks.ClusterKubernetesNetworkConfigArgs(
                elastic_load_balancing=aws.eks.ClusterKubernetesNetworkConfigElasticLoadBalancingArgs(enabled=True)
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]
            ),
            enabled_cluster_log_types=list(LOG_TYPES),
            # STANDARD: at the end of standard support EKS upgrades the cluster rather than silently
            # billing extended support; kubernetesVersion must be raised before that happens.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            zonal_shift_config=aws.eks.ClusterZonalShiftConfigArgs(enabled=args.zonal_shift),
            # Its own switch, not `protect`: removing the cluster (docs/eks.md) turns it off first.
            deletion_protection=args.deletion_protection,
            # Both roles' permissions must outlive the cluster on destroy: the cluster role's, or EKS cannot
            # clean up the security groups and ENIs it created; the node role's, or its policies are
            # detached while Auto Mode nodes still run (they lose ECR pulls and node registration).
            opts=self._opts(protect=args.protect, depends_on=[log_group, *cluster_role_grants, *node_role_grants]),
        )

        # The API endpoint is private unless public_access_cidrs says otherwise, and the cluster security
        # group admits only itself: these rules are the declared path for runners inside the network.
        cluster_sg = cluster.vpc_config.cluster_security_group_id
        # (peer, CIDR or None, security group or None, description): one rule each, the unused field unset.
        sources = [
            *(
                (c, c, None, "Kubernetes API from a declared network (eks.apiIngressCidrs)")
                for c in args.api_ingress_cidrs
            ),
            *(
                (g, None, g, "Kubernetes API from a declared security group (eks.apiIngressSecurityGroupIds)")
                for g in args.api_ingress_security_group_ids
            ),
        ]
        for peer, cidr, group, description in sorted(sources):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-from-{ingress_key(peer)}",
                security_group_id=cluster_sg,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                cidr_ipv4=cidr,
                referenced_security_group_id=group,
                description=description,
                opts=self._opts(),
            )

        # The deploy role is an admin like the others, keyed by name; a name shared with a listed admin is
        # refused by admin_keys (one access entry per role, a second fails with ResourceInUseException).
        deploy = [args.deploy_role_arn] if args.deploy_role_arn is not None else []
        admins = admin_keys([*args.admin_role_arns, *deploy])
        cluster_admission: list[pulumi.Resource] = []
        for key_name, arn in sorted(admins.items()):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{key_name}",
                cluster_name=cluster.name,
                principal_arn=arn,
                type="STANDARD",
                opts=self._opts(),
            )
            association = aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{key_name}-policy",
                cluster_name=cluster.name,
                principal_arn=arn,
                policy_arn=CLUSTER_ADMIN_POLICY,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=self._opts(depends_on=[entry]),
            )
            if arn == args.deploy_role_arn:
                cluster_admission = [entry, association]
        if args.preview_role_arn is not None:
            preview_key = role_key(args.preview_role_arn)
            entry = aws.eks.AccessEntry(
                f"{name}-preview-{preview_key}",
                cluster_name=cluster.name,
                principal_arn=args.preview_role_arn,
                type="STANDARD",
                kubernetes_groups=[PREVIEW_GROUP],
                opts=self._opts(),
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-preview-{preview_key}-policy",
                cluster_name=cluster.name,
                principal_arn=args.preview_role_arn,
                policy_arn=VIEW_POLICY,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=self._opts(depends_on=[entry]),
            )

        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
                lambda v: kubeconfig(v[0], v[1], v[2], args.aws_region)
            )
        )
        # No cluster_identifier: the kubeconfig holds no token, so it changes only with the endpoint or
        # CA, i.e. when the cluster itself is replaced, which is exactly when its objects must be too.
        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # In-cluster objects wait for the deploy role's admission: an access entry takes effect only once
        # its policy is associated, and applying before that is a 401 after the cluster already exists.
        in_cluster = pulumi.ResourceOptions(
            parent=self, provider=self.provider, depends_on=[cluster, *cluster_admission]
        )
        for pool_name, pool in sorted(args.node_pools.items()):
            k8s.apiextensions.CustomResource(
                f"{name}-pool-{pool_name}",
                api_version="karpenter.sh/v1",
                kind="NodePool",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=pool_name),
                spec=node_pool_spec(pool),
                opts=in_cluster,
            )
        if args.preview_role_arn is not None:
            k8s.rbac.v1.ClusterRole(
                f"{name}-preview-reader",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=PREVIEW_GROUP),
                rules=[
                    k8s.rbac.v1.PolicyRuleArgs(api_groups=r["apiGroups"], resources=r["resources"], verbs=r["verbs"])
                    for r in preview_rules()
                ],
                opts=in_cluster,
            )
            k8s.rbac.v1.ClusterRoleBinding(
                f"{name}-preview-reader",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=PREVIEW_GROUP),
                role_ref=k8s.rbac.v1.RoleRefArgs(
                    api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=PREVIEW_GROUP
                ),
                subjects=[
                    k8s.rbac.v1.SubjectArgs(api_group="rbac.authorization.k8s.io", kind="Group", name=PREVIEW_GROUP)
                ],
                opts=in_cluster,
            )

        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.endpoint = cluster.endpoint
        self.oidc_issuer = cluster.identities[0].oidcs[0].issuer
        self.vpc_id = vpc.id
        self.private_subnet_ids = [private_subnets[zone].id for zone in zones]
        self.cluster_security_group_id = cluster_sg
        self.cluster_dns_cidr = cluster.kubernetes_network_config.apply(
            lambda c: cluster_dns_cidr(c.service_ipv4_cidr if c else None)
        )
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "private_subnet_ids": self.private_subnet_ids,
                "cluster_security_group_id": self.cluster_security_group_id,
                "cluster_arn": self.cluster_arn,
                "endpoint": self.endpoint,
                "oidc_issuer": self.oidc_issuer,
                "vpc_id": self.vpc_id,
                "kubeconfig": self.kubeconfig,
                "nat_public_ips": self.nat_public_ips,
            }
        )

    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self._aws, **kwargs)

    def _network(self, args: EksClusterArgs, zones: Sequence[str]) -> tuple[aws.ec2.Vpc, dict[str, aws.ec2.Subnet]]:
        """VPC, subnets, gateways and routes. Everything per zone is keyed by the zone's name (us-east-1a),
        never by its position in the list, so adding a zone or switching NAT modes renames nothing."""
        name = self._name
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            # Both on: EKS needs them for the private endpoint's DNS and for node registration.
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": name},
            opts=self._opts(),
        )
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": name}, opts=self._opts())
        public_routes = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
            tags={"Name": f"{name}-public"},
            opts=self._opts(),
        )

        plan = subnet_plan(args.vpc_cidr, zones)
        public: dict[str, aws.ec2.Subnet] = {}
        private: dict[str, aws.ec2.Subnet] = {}
        for zone in zones:
            public[zone] = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=vpc.id,
                cidr_block=plan[zone].public,
                availability_zone=zone,
                # Only NAT gateways (own EIPs) and load balancers live here: no instance gets a public IP.
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-public-{zone}", "kubernetes.io/role/elb": "1"},
                opts=self._opts(),
            )
            private[zone] = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                cidr_block=plan[zone].private,
                availability_zone=zone,
                tags={"Name": f"{name}-private-{zone}", "kubernetes.io/role/internal-elb": "1"},
                opts=self._opts(),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-rta-{zone}",
                subnet_id=public[zone].id,
                route_table_id=public_routes.id,
                opts=self._opts(),
            )

        nat_zones = zones if args.nat_per_zone else zones[:1]
        nats = {}
        self.nat_public_ips = []
        for zone in nat_zones:
            eip = aws.ec2.Eip(
                f"{name}-nat-eip-{zone}", domain="vpc", tags={"Name": f"{name}-nat-{zone}"}, opts=self._opts()
            )
            self.nat_public_ips.append(eip.public_ip)
            nats[zone] = aws.ec2.NatGateway(
                f"{name}-nat-{zone}",
                allocation_id=eip.id,
                subnet_id=public[zone].id,
                tags={"Name": f"{name}-nat-{zone}"},
                # A NAT gateway forwards nothing until the VPC has its internet gateway.
                opts=self._opts(depends_on=[gateway]),
            )
        for zone in zones:
            nat = nats.get(zone, nats[nat_zones[0]])
            routes = aws.ec2.RouteTable(
                f"{name}-private-rt-{zone}",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags={"Name": f"{name}-private-{zone}"},
                opts=self._opts(),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-rta-{zone}",
                subnet_id=private[zone].id,
                route_table_id=routes.id,
                opts=self._opts(),
            )
        return vpc, private

    def _role(
        self, role: str, trust: Mapping[str, Any], policies: Sequence[str]
    ) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        """An IAM role and its managed-policy attachments, keyed by policy name."""
        iam_role = aws.iam.Role(f"{self._name}-{role}-role", assume_role_policy=json.dumps(trust), opts=self._opts())
        grants: list[pulumi.Resource] = [
            aws.iam.RolePolicyAttachment(
                f"{self._name}-{role}-role-{policy}",
                role=iam_role.name,
                policy_arn=POLICY_ARN + policy,
                opts=self._opts(),
            )
            for policy in policies
        ]
        return iam_role, grants
