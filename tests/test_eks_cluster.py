"""EksCluster under mocks: a zone-keyed VPC, an encrypted and audited Auto Mode cluster, capped NodePools,
and a Kubernetes provider that holds no token."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pulumi
import pytest

from components import EksCluster, EksClusterArgs, EksNodePoolSpec
from components.eks_cluster import (
    CLUSTER_POLICIES,
    NODE_POLICIES,
    PREVIEW_GROUP,
    UNSUPPORTED_ZONE_IDS,
    VIEW_POLICY,
    admin_keys,
    kubeconfig,
    node_pool_spec,
    preview_rules,
    select_zones,
    subnet_plan,
    trust_policy,
)
from tests.harness import UNKNOWN, Resource, StackRun, component_run

CLUSTER = "aws:eks/cluster:Cluster"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
K8S_PROVIDER = "pulumi:providers:kubernetes"
ADMINS = ("arn:aws:iam::123456789012:role/platform-admins", "arn:aws:iam::123456789012:role/ops/Break-Glass")
DEPLOY = "arn:aws:iam::123456789012:role/platform-deploy"
PREVIEW = "arn:aws:iam::123456789012:role/platform-preview"
RUNNERS = "10.200.0.0/24"
RUNNER_SG = "sg-0123456789abcdef0"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]


def eks_args(**overrides: Any) -> EksClusterArgs:
    values: dict[str, Any] = {
        "aws_region": "us-east-1",
        "kubernetes_version": "1.35",
        "vpc_cidr": "10.100.0.0/16",
        "availability_zones": 3,
        "nat_per_zone": True,
        "log_retention_days": 90,
        "node_pools": {
            "general": EksNodePoolSpec(cpu_limit=64, labels={"workload": "general"}),
            "scrapers": EksNodePoolSpec(
                cpu_limit=32,
                capacity_types=("spot", "on-demand"),
                instance_categories=("c", "m"),
                labels={"workload": "scrapers"},
                taints=(("workload", "scrapers", "NoSchedule"),),
                consolidate_after="1m",
            ),
        },
        "protect": True,
        "zonal_shift": True,
        "admin_role_arns": ADMINS,
        "deploy_role_arn": DEPLOY,
        "preview_role_arn": PREVIEW,
        "api_ingress_cidrs": (RUNNERS,),
        "api_ingress_security_group_ids": (RUNNER_SG,),
        "deletion_protection": True,
        "tags": {"tenant": "t", "environment": "production"},
    }
    return EksClusterArgs(**{**values, **overrides})


def build(**overrides: Any) -> None:
    cluster = EksCluster("t-eks", eks_args(**overrides))
    for name in ("cluster_name", "cluster_arn", "endpoint", "oidc_issuer", "vpc_id", "kubeconfig"):
        pulumi.export(name, getattr(cluster, name))


@pytest.fixture(scope="module")
def production() -> StackRun:
    """Three zones, a NAT per zone, private API, two admin roles, protected."""
    return component_run(build, stack="production")


@pytest.fixture(scope="module")
def staging() -> StackRun:
    """Two zones, one NAT, a public endpoint for one network, no admin or CI roles, unprotected."""
    return component_run(
        lambda: build(
            availability_zones=2,
            nat_per_zone=False,
            public_access_cidrs=("203.0.113.0/24",),
            admin_role_arns=(),
            deploy_role_arn=None,
            preview_role_arn=None,
            api_ingress_cidrs=(),
            api_ingress_security_group_ids=(),
            protect=False,
            deletion_protection=False,
            zonal_shift=False,
        )
    )


@pytest.fixture(scope="module")
def preview() -> StackRun:
    return component_run(build, stack="production", preview=True)


def by_zone(run: StackRun, type_token: str, role: str) -> dict[str, Resource]:
    found = {r.name.removeprefix(f"t-eks-{role}-"): r for r in run.of_type(type_token) if f"-{role}-" in r.name}
    return dict(sorted(found.items()))


# --- The VPC


def test_subnets_span_the_first_zones_by_name(production: StackRun, staging: StackRun) -> None:
    for run, zones in ((production, ZONES), (staging, ZONES[:2])):
        for role in ("private", "public"):
            subnets = by_zone(run, SUBNET, role)
            assert list(subnets) == zones
            assert [s.inputs["availabilityZone"] for s in subnets.values()] == zones


def test_zone_lookup_skips_zones_that_need_an_opt_in(production: StackRun) -> None:
    ((token, call_args),) = production.calls
    assert token == "aws:index/getAvailabilityZones:getAvailabilityZones"
    assert call_args["filters"] == [{"name": "opt-in-status", "values": ["opt-in-not-required"]}]
    assert "state" not in call_args


def test_subnets_follow_the_plan_and_carry_the_load_balancer_role_tags(production: StackRun) -> None:
    plan = subnet_plan("10.100.0.0/16", ZONES)
    vpc = production.one("aws:ec2/vpc:Vpc")
    for zone in ZONES:
        private, public = by_zone(production, SUBNET, "private")[zone], by_zone(production, SUBNET, "public")[zone]
        assert (private.inputs["cidrBlock"], public.inputs["cidrBlock"]) == (plan[zone].private, plan[zone].public)
        assert private.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1"
        assert public.inputs["tags"]["kubernetes.io/role/elb"] == "1"
        assert public.inputs["mapPublicIpOnLaunch"] is False
        assert private.inputs["vpcId"] == public.inputs["vpcId"] == vpc.id


def test_vpc_resolves_names_for_the_private_endpoint(production: StackRun) -> None:
    vpc = production.one("aws:ec2/vpc:Vpc").inputs
    assert (vpc["cidrBlock"], vpc["enableDnsHostnames"], vpc["enableDnsSupport"]) == ("10.100.0.0/16", True, True)


@pytest.mark.parametrize(("cidr", "private", "public"), [("10.100.0.0/16", 18, 20), ("10.100.0.0/20", 22, 24)])
def test_subnet_plan_gives_pods_room_and_never_overlaps(cidr: str, private: int, public: int) -> None:
    plan = subnet_plan(cidr, ZONES)
    vpc = ipaddress.ip_network(cidr)
    nets = [ipaddress.ip_network(n) for z in plan.values() for n in (z.private, z.public)]
    assert [n.prefixlen for n in nets] == [private, public] * 3
    assert all(n.subnet_of(vpc) for n in nets)  # type: ignore[arg-type]
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_subnet_plan_is_stable_when_a_zone_is_added() -> None:
    two, three = subnet_plan("10.100.0.0/16", ZONES[:2]), subnet_plan("10.100.0.0/16", ZONES)
    assert {zone: three[zone] for zone in two} == two


def test_subnet_plan_refuses_more_zones_than_it_has_slots() -> None:
    with pytest.raises(ValueError, match="1 to 3 zones"):
        subnet_plan("10.100.0.0/16", [*ZONES, "us-east-1d"])


def test_zones_are_chosen_by_name_not_by_api_order() -> None:
    assert select_zones(["us-east-1c", "us-east-1a", "us-east-1b", "us-east-1d"], 3) == ZONES
    with pytest.raises(ValueError, match="offers 2 available zones"):
        select_zones(["us-west-1b", "us-west-1c"], 3)


def test_a_nat_gateway_per_zone_each_in_its_own_public_subnet(production: StackRun) -> None:
    nats = by_zone(production, NAT, "nat")
    public = by_zone(production, SUBNET, "public")
    assert list(nats) == ZONES
    assert {z: n.inputs["subnetId"] for z, n in nats.items()} == {z: public[z].id for z in ZONES}
    assert len(production.of_type("aws:ec2/eip:Eip")) == 3
    gateway = production.one("aws:ec2/internetGateway:InternetGateway")
    assert all(gateway.urn in n.dependencies for n in nats.values())


def test_private_subnets_leave_through_their_own_zones_nat(production: StackRun) -> None:
    nats = by_zone(production, NAT, "nat")
    tables = by_zone(production, ROUTE_TABLE, "private-rt")
    assert {z: t.inputs["routes"] for z, t in tables.items()} == {
        z: [{"cidrBlock": "0.0.0.0/0", "natGatewayId": nats[z].id}] for z in ZONES
    }


def test_single_nat_serves_every_zone_from_the_first(staging: StackRun) -> None:
    (nat,) = staging.of_type(NAT)
    assert nat.name == "t-eks-nat-us-east-1a"
    assert nat.inputs["subnetId"] == by_zone(staging, SUBNET, "public")["us-east-1a"].id
    for table in by_zone(staging, ROUTE_TABLE, "private-rt").values():
        assert table.inputs["routes"] == [{"cidrBlock": "0.0.0.0/0", "natGatewayId": nat.id}]


def test_public_subnets_route_to_the_internet_gateway(production: StackRun) -> None:
    gateway = production.one("aws:ec2/internetGateway:InternetGateway")
    public = production.one(ROUTE_TABLE, "t-eks-public-rt")
    assert public.inputs["routes"] == [{"cidrBlock": "0.0.0.0/0", "gatewayId": gateway.id}]
    associations = by_zone(production, ASSOCIATION, "public-rta")
    assert {a.inputs["routeTableId"] for a in associations.values()} == {public.id}


def test_route_tables_and_associations_are_keyed_by_zone_name(production: StackRun) -> None:
    tables = by_zone(production, ROUTE_TABLE, "private-rt")
    associations = by_zone(production, ASSOCIATION, "private-rta")
    private = by_zone(production, SUBNET, "private")
    assert list(tables) == list(associations) == ZONES
    assert {z: (a.inputs["subnetId"], a.inputs["routeTableId"]) for z, a in associations.items()} == {
        z: (private[z].id, tables[z].id) for z in ZONES
    }


def test_adding_a_zone_or_a_nat_renames_nothing(production: StackRun, staging: StackRun) -> None:
    def names(run: StackRun) -> set[tuple[str, str]]:
        return {(r.type, r.name) for r in run.resources if r.type.startswith("aws:ec2/")}

    assert names(staging) - names(production) == set()


# --- The control plane


def test_control_plane_logs_go_to_our_log_group_created_first(production: StackRun) -> None:
    logs = production.one("aws:cloudwatch/logGroup:LogGroup")
    cluster = production.one(CLUSTER)
    assert logs.inputs["name"] == f"/aws/eks/{cluster.inputs['name']}/cluster"
    assert logs.inputs["retentionInDays"] == 90
    assert logs.urn in cluster.dependencies
    assert cluster.inputs["enabledClusterLogTypes"] == [
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    ]


def test_secrets_are_envelope_encrypted_with_a_rotated_key(production: StackRun) -> None:
    key = production.one("aws:kms/key:Key")
    assert (key.inputs["enableKeyRotation"], key.inputs["deletionWindowInDays"]) == (True, 30)
    assert production.one(CLUSTER).inputs["encryptionConfig"] == {
        "resources": ["secrets"],
        "provider": {"keyArn": key.outputs["arn"]},
    }


def test_the_control_plane_may_use_that_key_and_no_other(production: StackRun) -> None:
    grant = production.one("aws:iam/rolePolicy:RolePolicy")
    key_arn = production.one("aws:kms/key:Key").outputs["arn"]
    (statement,) = json.loads(grant.inputs["policy"])["Statement"]
    assert statement["Resource"] == [key_arn]
    assert statement["Action"] == ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"]
    assert grant.inputs["role"] == production.one("aws:iam/role:Role", "t-eks-cluster-role").id
    assert grant.urn in production.one(CLUSTER).dependencies


def test_roles_trust_only_their_service() -> None:
    assert trust_policy("eks.amazonaws.com", ("sts:AssumeRole", "sts:TagSession")) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
    assert trust_policy("ec2.amazonaws.com")["Statement"][0]["Action"] == ["sts:AssumeRole"]


@pytest.mark.parametrize(
    ("role", "service", "actions", "policies"),
    [
        ("cluster", "eks.amazonaws.com", ["sts:AssumeRole", "sts:TagSession"], CLUSTER_POLICIES),
        ("node", "ec2.amazonaws.com", ["sts:AssumeRole"], NODE_POLICIES),
    ],
)
def test_each_role_gets_its_managed_policies_keyed_by_name(
    production: StackRun, role: str, service: str, actions: list[str], policies: tuple[str, ...]
) -> None:
    iam_role = production.one("aws:iam/role:Role", f"t-eks-{role}-role")
    assert json.loads(iam_role.inputs["assumeRolePolicy"]) == trust_policy(service, actions)
    attached = {
        r.name: r.inputs["policyArn"]
        for r in production.of_type(ATTACHMENT)
        if r.inputs["role"] == iam_role.outputs["name"]
    }
    assert attached == {f"t-eks-{role}-role-{p}": f"arn:aws:iam::aws:policy/{p}" for p in policies}


def test_the_cluster_waits_for_its_roles_permissions(production: StackRun) -> None:
    cluster = production.one(CLUSTER)
    cluster_grants = [r.urn for r in production.of_type(ATTACHMENT) if "-cluster-role-" in r.name]
    assert len(cluster_grants) == 5
    assert set(cluster_grants) <= set(cluster.dependencies)


def test_auto_mode_runs_compute_storage_and_load_balancing(production: StackRun) -> None:
    cluster = production.one(CLUSTER).inputs
    node_role = production.one("aws:iam/role:Role", "t-eks-node-role")
    assert cluster["computeConfig"] == {
        "enabled": True,
        "nodePools": ["system"],
        "nodeRoleArn": node_role.outputs["arn"],
    }
    assert cluster["storageConfig"] == {"blockStorage": {"enabled": True}}
    assert cluster["kubernetesNetworkConfig"] == {"elasticLoadBalancing": {"enabled": True}}
    assert cluster["bootstrapSelfManagedAddons"] is False
    assert cluster["roleArn"] == production.one("aws:iam/role:Role", "t-eks-cluster-role").outputs["arn"]


def test_version_is_pinned_on_standard_support(production: StackRun) -> None:
    cluster = production.one(CLUSTER).inputs
    assert (cluster["version"], cluster["upgradePolicy"]) == ("1.35", {"supportType": "STANDARD"})


def test_api_endpoint_is_private_by_default(production: StackRun) -> None:
    vpc_config = production.one(CLUSTER).inputs["vpcConfig"]
    private = [s.id for s in by_zone(production, SUBNET, "private").values()]
    assert vpc_config == {"subnetIds": private, "endpointPrivateAccess": True, "endpointPublicAccess": False}


def test_public_endpoint_admits_only_the_listed_networks(staging: StackRun) -> None:
    vpc_config = staging.one(CLUSTER).inputs["vpcConfig"]
    assert (vpc_config["endpointPublicAccess"], vpc_config["publicAccessCidrs"]) == (True, ["203.0.113.0/24"])


def test_access_is_by_access_entries_only(production: StackRun) -> None:
    assert production.one(CLUSTER).inputs["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": False,
    }


def test_each_admin_role_gets_cluster_admin_keyed_by_role_name(production: StackRun, staging: StackRun) -> None:
    cluster_name = production.one(CLUSTER).outputs["name"]
    entries = {r.name: r for r in production.of_type("aws:eks/accessEntry:AccessEntry")}
    assert {n: e.inputs["principalArn"] for n, e in entries.items()} == {
        "t-eks-admin-platform-admins": ADMINS[0],
        "t-eks-admin-break-glass": ADMINS[1],
        "t-eks-admin-platform-deploy": DEPLOY,
        "t-eks-preview-platform-preview": PREVIEW,
    }
    for name, entry in entries.items():
        if "-preview-" in name:
            continue
        assert (entry.inputs["clusterName"], entry.inputs["type"]) == (cluster_name, "STANDARD")
        policy = production.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", f"{name}-policy")
        assert policy.inputs == {
            "clusterName": cluster_name,
            "principalArn": entry.inputs["principalArn"],
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            "accessScope": {"type": "cluster"},
        }
        assert entry.urn in policy.dependencies
    assert staging.of_type("aws:eks/accessEntry:AccessEntry") == []


def test_two_roles_with_one_name_are_refused() -> None:
    assert admin_keys(ADMINS) == {"platform-admins": ADMINS[0], "break-glass": ADMINS[1]}
    with pytest.raises(ValueError, match="share the key 'platform-admins'"):
        admin_keys([ADMINS[0], "arn:aws:iam::210987654321:role/Platform-Admins"])


def test_production_protects_cluster_and_key_and_shifts_away_from_bad_zones(
    production: StackRun, staging: StackRun
) -> None:
    assert {r.name for r in production.resources if r.protect} == {"t-eks-cluster", "t-eks-secrets-key"}
    assert production.one(CLUSTER).inputs["deletionProtection"] is True
    assert production.one(CLUSTER).inputs["zonalShiftConfig"] == {"enabled": True}
    assert [r.name for r in staging.resources if r.protect] == []
    assert staging.one(CLUSTER).inputs["deletionProtection"] is False
    assert staging.one(CLUSTER).inputs["zonalShiftConfig"] == {"enabled": False}


# --- Inside the cluster


def test_node_pools_are_karpenter_v1_on_the_built_in_node_class(production: StackRun) -> None:
    pools = {r.name: r for r in production.of_type(NODE_POOL)}
    assert set(pools) == {"t-eks-pool-general", "t-eks-pool-scrapers"}
    scrapers = pools["t-eks-pool-scrapers"].inputs
    assert (scrapers["apiVersion"], scrapers["kind"], scrapers["metadata"]) == (
        "karpenter.sh/v1",
        "NodePool",
        {"name": "scrapers"},
    )
    template = scrapers["spec"]["template"]
    assert template["metadata"] == {"labels": {"workload": "scrapers"}}
    assert template["spec"]["nodeClassRef"] == {"group": "eks.amazonaws.com", "kind": "NodeClass", "name": "default"}
    assert template["spec"]["taints"] == [{"key": "workload", "value": "scrapers", "effect": "NoSchedule"}]
    assert template["spec"]["expireAfter"] == "336h"
    requirements = {r["key"]: (r["operator"], r["values"]) for r in template["spec"]["requirements"]}
    assert requirements["karpenter.sh/capacity-type"] == ("In", ["spot", "on-demand"])
    assert requirements["eks.amazonaws.com/instance-category"] == ("In", ["c", "m"])
    assert requirements["kubernetes.io/arch"] == ("In", ["amd64"])
    assert scrapers["spec"]["limits"] == {"cpu": 32}
    assert scrapers["spec"]["disruption"] == {
        "consolidationPolicy": "WhenEmptyOrUnderutilized",
        "consolidateAfter": "1m",
    }
    assert "taints" not in pools["t-eks-pool-general"].inputs["spec"]["template"]["spec"]


def test_node_pools_go_through_the_clusters_provider_after_the_cluster(production: StackRun) -> None:
    provider, cluster = production.one(K8S_PROVIDER), production.one(CLUSTER)
    for pool in production.of_type(NODE_POOL):
        assert pool.provider.rsplit("::", 1)[0] == provider.urn
        assert cluster.urn in pool.dependencies


def test_node_pool_spec_carries_expiry_in_the_template_as_v1_wants() -> None:
    spec = node_pool_spec(EksNodePoolSpec(cpu_limit=8))
    assert set(spec) == {"template", "limits", "disruption"}
    assert "expireAfter" not in spec["disruption"]
    assert spec["template"]["spec"]["expireAfter"] == "336h"


def test_provider_authenticates_through_aws_eks_get_token(production: StackRun) -> None:
    provider = production.one(K8S_PROVIDER)
    assert "kubeconfig" in provider.secret_inputs
    config = json.loads(provider.inputs["kubeconfig"])
    cluster = production.one(CLUSTER).outputs
    assert config["clusters"][0]["cluster"] == {
        "server": cluster["endpoint"],
        "certificate-authority-data": cluster["certificateAuthority"]["data"],
    }
    (user,) = config["users"]
    assert set(user["user"]) == {"exec"}
    assert user["user"]["exec"]["command"] == "aws"
    assert user["user"]["exec"]["args"] == ["eks", "get-token", "--cluster-name", "t-eks", "--region", "us-east-1"]


def test_kubeconfig_holds_no_credential() -> None:
    text = kubeconfig("c", "https://x.eks.amazonaws.com", "Q0E=", "eu-west-1")
    assert "token" not in json.loads(text)["users"][0]["user"]
    assert "password" not in text
    assert json.loads(text)["current-context"] == "c"


def test_outputs_are_exposed_and_only_the_kubeconfig_is_secret(production: StackRun) -> None:
    cluster = production.one(CLUSTER).outputs
    assert production.outputs["cluster_name"] == "t-eks"
    assert production.outputs["cluster_arn"] == cluster["arn"]
    assert production.outputs["endpoint"] == cluster["endpoint"]
    assert production.outputs["oidc_issuer"] == cluster["identities"][0]["oidcs"][0]["issuer"]
    assert production.outputs["vpc_id"] == production.one("aws:ec2/vpc:Vpc").id
    assert production.secret_outputs == {"kubeconfig"}


# --- Ownership


def test_every_aws_resource_uses_the_components_own_provider(production: StackRun) -> None:
    provider = production.one("pulumi:providers:aws")
    assert provider.inputs["region"] == "us-east-1"
    assert json.loads(provider.inputs["defaultTags"]) == {"tags": {"tenant": "t", "environment": "production"}}
    aws_resources = [r for r in production.resources if r.type.startswith("aws:")]
    assert {r.provider.rsplit("::", 1)[0] for r in aws_resources} == {provider.urn}


def test_every_child_is_parented_to_the_component(production: StackRun) -> None:
    component = production.one("platform:k8s:EksCluster")
    assert {r.urn for r in production.resources} - {r.urn for r in production.children_of(component)} == {component.urn}


def test_preview_registers_the_same_resources_with_computed_values_unknown(
    production: StackRun, preview: StackRun
) -> None:
    assert sorted(r.urn for r in preview.resources) == sorted(r.urn for r in production.resources)
    assert preview.one(K8S_PROVIDER).inputs.get("kubeconfig", UNKNOWN) == UNKNOWN
    assert preview.one(CLUSTER).inputs["encryptionConfig"]["provider"]["keyArn"] == UNKNOWN
    assert preview.outputs["endpoint"] == UNKNOWN


# --- Issue 18: what a real deploy from CI would have refused


def test_zones_whose_id_eks_refuses_are_skipped() -> None:
    names = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]
    # us-east-1b is use1-az3 in this (made-up) account: EKS answers UnsupportedAvailabilityZoneException.
    ids = ["use1-az1", "use1-az3", "use1-az2", "use1-az4"]
    assert select_zones(names, 3, ids) == ["us-east-1a", "us-east-1c", "us-east-1d"]
    with pytest.raises(ValueError, match="2 are needed"):
        select_zones(["us-west-1a", "us-west-1b"], 2, ["usw1-az1", "usw1-az2"])
    assert {"use1-az3", "usw1-az2", "cac1-az3"} <= UNSUPPORTED_ZONE_IDS


def test_the_zone_lookup_excludes_those_ids_at_the_source(production: StackRun) -> None:
    (args,) = [a for token, a in production.calls if token.endswith("getAvailabilityZones")]
    assert sorted(args["excludeZoneIds"]) == sorted(UNSUPPORTED_ZONE_IDS)


def test_the_deploy_role_is_admitted_explicitly_and_the_pools_wait_for_it(production: StackRun) -> None:
    entry = production.one("aws:eks/accessEntry:AccessEntry", "t-eks-admin-platform-deploy")
    policy = production.one(
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "t-eks-admin-platform-deploy-policy"
    )
    assert policy.inputs["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")
    for pool in production.of_type(NODE_POOL):
        assert {entry.urn, policy.urn} <= set(pool.dependencies), pool.name


def test_the_preview_role_may_only_read(production: StackRun) -> None:
    entry = production.one("aws:eks/accessEntry:AccessEntry", "t-eks-preview-platform-preview")
    assert entry.inputs["kubernetesGroups"] == [PREVIEW_GROUP]
    policy = production.one(
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "t-eks-preview-platform-preview-policy"
    )
    assert (policy.inputs["principalArn"], policy.inputs["policyArn"]) == (PREVIEW, VIEW_POLICY)
    assert policy.inputs["accessScope"] == {"type": "cluster"}
    role = production.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
    assert role.inputs["rules"] == preview_rules()
    assert {v for rule in role.inputs["rules"] for v in rule["verbs"]} == {"get", "list", "watch"}
    binding = production.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
    assert binding.inputs["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": PREVIEW_GROUP}
    ]
    assert binding.inputs["roleRef"]["name"] == role.inputs["metadata"]["name"]


def test_declared_networks_reach_the_private_api_on_443_only(production: StackRun) -> None:
    cluster = production.one(CLUSTER)
    rules = {r.name: r.inputs for r in production.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")}
    assert set(rules) == {"t-eks-api-from-10-200-0-0-24", f"t-eks-api-from-{RUNNER_SG}"}
    for inputs in rules.values():
        assert inputs["securityGroupId"] == cluster.outputs["vpcConfig"]["clusterSecurityGroupId"]
        assert (inputs["ipProtocol"], inputs["fromPort"], inputs["toPort"]) == ("tcp", 443, 443)
    assert rules["t-eks-api-from-10-200-0-0-24"]["cidrIpv4"] == RUNNERS
    assert rules[f"t-eks-api-from-{RUNNER_SG}"]["referencedSecurityGroupId"] == RUNNER_SG


def test_the_cluster_outlives_its_node_roles_permissions(production: StackRun) -> None:
    cluster = production.one(CLUSTER)
    node_grants = [r.urn for r in production.of_type(ATTACHMENT) if "-node-role-" in r.name]
    assert len(node_grants) == len(NODE_POLICIES)
    assert set(node_grants) <= set(cluster.dependencies)


def test_deletion_protection_is_its_own_switch() -> None:
    run = component_run(lambda: build(protect=True, deletion_protection=False), stack="production")
    cluster = run.one(CLUSTER)
    assert (cluster.protect, cluster.inputs["deletionProtection"]) == (True, False)
