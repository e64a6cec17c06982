"""Issue 18 items 4 and 5: the deploy and preview roles' policy documents, judged by a real IAM evaluator.

The calls are derived from what the program registers with EKS enabled (conftest's ``production_eks``):
for every AWS resource of the EKS box, the API calls the provider makes to create, update, read and
delete it, with the request context taken from the resource's own inputs where a condition depends on
it (CreateCluster's access settings, the policy ARN of each attachment and access-policy association,
PassRole's target service). The deploy role must be allowed every call; the preview role every read
and no write; both are refused the escalations listed at the end. Decisions come from
@cloud-copilot/iam-simulate (tests/iam_simulator.py); the table is printed under "reported figures".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import yaml

from components.eks_ci_roles import EKS_SERVICE_LINKED_ROLE, deploy_role_policy, main, preview_role_policy
from tests.harness import ROOT, Resource, StackRun
from tests.iam_simulator import ACCOUNT, ALLOWED, DEFAULT_KEY_POLICY, IMPLICIT_DENY, Case, Decision, evaluate, table

DEPLOY = f"arn:aws:iam::{ACCOUNT}:role/platform-deploy"
PREVIEW = f"arn:aws:iam::{ACCOUNT}:role/platform-preview"
COMPONENT = "platform:k8s:EksCluster"


@dataclass(frozen=True)
class Call:
    """One AWS API call the provider makes for a resource; ``write`` calls change something."""

    label: str
    action: str
    resource: str
    write: bool
    context: dict[str, str | list[str]]


def _call(label: str, action: str, resource: str, *, write: bool = True, **context: str | list[str]) -> Call:
    return Call(label, action, resource, write, {k.replace("__", ":"): v for k, v in context.items()})


class Arns:
    """ARNs of the EKS box's resources in one run (ids and names as the run recorded them)."""

    def __init__(self, run: StackRun, region: str) -> None:
        self.run, self.region = run, region
        self.cluster = run.one("aws:eks/cluster:Cluster")
        self.cluster_name = self.cluster.inputs["name"]

    def ec2(self, kind: str, rid: str) -> str:
        return f"arn:aws:ec2:{self.region}:{ACCOUNT}:{kind}/{rid}"

    def role(self, resource: Resource) -> str:
        return f"arn:aws:iam::{ACCOUNT}:role/{resource.outputs['name']}"

    def role_named(self, name: str) -> str:
        return f"arn:aws:iam::{ACCOUNT}:role/{name}"

    def eks_cluster(self) -> str:
        return f"arn:aws:eks:{self.region}:{ACCOUNT}:cluster/{self.cluster_name}"

    def access_entry(self, principal_arn: str) -> str:
        role = principal_arn.rsplit("/", 1)[-1]
        return f"arn:aws:eks:{self.region}:{ACCOUNT}:access-entry/{self.cluster_name}/role/{ACCOUNT}/{role}/0acb1234"

    def key(self) -> str:
        return self.run.one("aws:kms/key:Key", f"{self.cluster_name}-secrets-key").outputs["arn"]

    def alias(self, name: str) -> str:
        return f"arn:aws:kms:{self.region}:{ACCOUNT}:{name}"

    def log_group(self, name: str) -> str:
        return f"arn:aws:logs:{self.region}:{ACCOUNT}:log-group:{name}"


def _ec2(kind: str, create: str, delete: str, describe: str, *extra: str) -> Callable[[Arns, Resource], list[Call]]:
    def calls(arns: Arns, r: Resource) -> list[Call]:
        arn = arns.ec2(kind, r.id)
        return [
            _call(f"{create} {kind}", f"ec2:{create}", arn),
            *(_call(f"{action} {kind}", f"ec2:{action}", arn) for action in extra),
            _call(f"CreateTags {kind}", "ec2:CreateTags", arn, ec2__CreateAction=create),
            _call(f"{describe}", f"ec2:{describe}", "*", write=False),
            _call(f"{delete} {kind}", f"ec2:{delete}", arn),
        ]

    return calls


def _route_table_association(arns: Arns, r: Resource) -> list[Call]:
    table_arn = arns.ec2("route-table", r.inputs["routeTableId"])
    return [
        _call("AssociateRouteTable", "ec2:AssociateRouteTable", table_arn),
        _call("DescribeRouteTables", "ec2:DescribeRouteTables", "*", write=False),
        _call("DisassociateRouteTable", "ec2:DisassociateRouteTable", table_arn),
    ]


def _ingress_rule(arns: Arns, r: Resource) -> list[Call]:
    sg = arns.ec2("security-group", r.inputs["securityGroupId"])
    # EKS tags the cluster security group it creates with the cluster's name.
    tag = {"aws:ResourceTag/aws:eks:cluster-name": arns.cluster_name}
    return [
        Call("AuthorizeSecurityGroupIngress cluster SG", "ec2:AuthorizeSecurityGroupIngress", sg, True, dict(tag)),
        _call("DescribeSecurityGroupRules", "ec2:DescribeSecurityGroupRules", "*", write=False),
        Call("RevokeSecurityGroupIngress cluster SG", "ec2:RevokeSecurityGroupIngress", sg, True, dict(tag)),
    ]


def _key(arns: Arns, r: Resource) -> list[Call]:
    key = r.outputs["arn"]
    return [
        _call("CreateKey", "kms:CreateKey", "*", aws__RequestedRegion=arns.region),
        _call("EnableKeyRotation", "kms:EnableKeyRotation", key),
        _call("TagResource key", "kms:TagResource", key),
        *(_call(a, f"kms:{a}", key, write=False) for a in ("DescribeKey", "GetKeyRotationStatus", "GetKeyPolicy")),
        _call("ListResourceTags", "kms:ListResourceTags", key, write=False),
        _call("ScheduleKeyDeletion", "kms:ScheduleKeyDeletion", key),
    ]


def _alias(arns: Arns, r: Resource) -> list[Call]:
    alias = arns.alias(r.inputs["name"])
    return [
        _call("CreateAlias (alias)", "kms:CreateAlias", alias),
        _call("CreateAlias (key)", "kms:CreateAlias", arns.key()),
        _call("ListAliases", "kms:ListAliases", "*", write=False),
        _call("DeleteAlias", "kms:DeleteAlias", alias),
    ]


def _log_group(arns: Arns, r: Resource) -> list[Call]:
    group = arns.log_group(r.inputs["name"])
    return [
        _call("CreateLogGroup", "logs:CreateLogGroup", group),
        _call("PutRetentionPolicy", "logs:PutRetentionPolicy", group),
        _call("TagResource log group", "logs:TagResource", group),
        _call("DescribeLogGroups", "logs:DescribeLogGroups", "*", write=False),
        _call("ListTagsForResource log group", "logs:ListTagsForResource", group, write=False),
        _call("DeleteLogGroup", "logs:DeleteLogGroup", group),
    ]


def _role(arns: Arns, r: Resource) -> list[Call]:
    role = arns.role(r)
    return [
        _call(f"CreateRole {r.name}", "iam:CreateRole", role),
        _call(f"TagRole {r.name}", "iam:TagRole", role),
        *(
            _call(f"{a} {r.name}", f"iam:{a}", role, write=False)
            for a in ("GetRole", "ListRolePolicies", "ListAttachedRolePolicies", "ListInstanceProfilesForRole")
        ),
        _call(f"DeleteRole {r.name}", "iam:DeleteRole", role),
    ]


def _role_by_name(arns: Arns, name: str) -> str:
    (role,) = [r for r in arns.run.of_type("aws:iam/role:Role") if r.outputs["name"] == name]
    return arns.role(role)


def _attachment(arns: Arns, r: Resource) -> list[Call]:
    role = _role_by_name(arns, r.inputs["role"])
    policy = r.inputs["policyArn"]
    short = policy.rsplit("/", 1)[-1]
    return [
        _call(f"AttachRolePolicy {short}", "iam:AttachRolePolicy", role, iam__PolicyARN=policy),
        _call(f"DetachRolePolicy {short}", "iam:DetachRolePolicy", role, iam__PolicyARN=policy),
    ]


def _role_policy(arns: Arns, r: Resource) -> list[Call]:
    (role,) = [x for x in arns.run.of_type("aws:iam/role:Role") if x.id == r.inputs["role"]]
    arn = arns.role(role)
    return [
        _call("PutRolePolicy", "iam:PutRolePolicy", arn),
        _call("GetRolePolicy", "iam:GetRolePolicy", arn, write=False),
        _call("DeleteRolePolicy", "iam:DeleteRolePolicy", arn),
    ]


def _cluster(arns: Arns, r: Resource) -> list[Call]:
    access = r.inputs["accessConfig"]
    cluster = arns.eks_cluster()
    passed = {"cluster role": r.inputs["roleArn"], "node role": r.inputs["computeConfig"]["nodeRoleArn"]}
    return [
        _call(
            "CreateCluster",
            "eks:CreateCluster",
            "*",
            aws__RequestedRegion=arns.region,
            eks__authenticationMode=access["authenticationMode"],
            eks__bootstrapClusterCreatorAdminPermissions=str(access["bootstrapClusterCreatorAdminPermissions"]).lower(),
        ),
        *(
            _call(
                f"PassRole {which} to EKS",
                "iam:PassRole",
                arn,
                iam__PassedToService="eks.amazonaws.com",
            )
            for which, arn in passed.items()
        ),
        _call(
            "CreateServiceLinkedRole EKS",
            "iam:CreateServiceLinkedRole",
            f"arn:aws:iam::{ACCOUNT}:{EKS_SERVICE_LINKED_ROLE}",
            iam__AWSServiceName="eks.amazonaws.com",
        ),
        _call("CreateGrant secrets key", "kms:CreateGrant", r.inputs["encryptionConfig"]["provider"]["keyArn"]),
        _call("TagResource cluster", "eks:TagResource", cluster),
        _call("DescribeCluster", "eks:DescribeCluster", cluster, write=False),
        _call("ListTagsForResource cluster", "eks:ListTagsForResource", cluster, write=False),
        _call("UpdateClusterConfig", "eks:UpdateClusterConfig", cluster),
        _call("UpdateClusterVersion", "eks:UpdateClusterVersion", cluster),
        _call("DeleteCluster", "eks:DeleteCluster", cluster),
    ]


def _access_entry(arns: Arns, r: Resource) -> list[Call]:
    entry = arns.access_entry(r.inputs["principalArn"])
    who = r.inputs["principalArn"].rsplit("/", 1)[-1]
    return [
        _call(f"CreateAccessEntry {who}", "eks:CreateAccessEntry", arns.eks_cluster()),
        _call(f"DescribeAccessEntry {who}", "eks:DescribeAccessEntry", entry, write=False),
        _call(f"DeleteAccessEntry {who}", "eks:DeleteAccessEntry", entry),
    ]


def _association(arns: Arns, r: Resource) -> list[Call]:
    entry = arns.access_entry(r.inputs["principalArn"])
    policy = r.inputs["policyArn"]
    short = policy.rsplit("/", 1)[-1]
    return [
        _call(f"AssociateAccessPolicy {short}", "eks:AssociateAccessPolicy", entry, eks__policyArn=policy),
        _call(f"ListAssociatedAccessPolicies {short}", "eks:ListAssociatedAccessPolicies", entry, write=False),
        _call(f"DisassociateAccessPolicy {short}", "eks:DisassociateAccessPolicy", entry),
    ]


CALLS: dict[str, Callable[[Arns, Resource], list[Call]]] = {
    "aws:ec2/vpc:Vpc": _ec2("vpc", "CreateVpc", "DeleteVpc", "DescribeVpcs", "ModifyVpcAttribute"),
    "aws:ec2/subnet:Subnet": _ec2("subnet", "CreateSubnet", "DeleteSubnet", "DescribeSubnets", "ModifySubnetAttribute"),
    "aws:ec2/internetGateway:InternetGateway": _ec2(
        "internet-gateway",
        "CreateInternetGateway",
        "DeleteInternetGateway",
        "DescribeInternetGateways",
        "AttachInternetGateway",
        "DetachInternetGateway",
    ),
    "aws:ec2/eip:Eip": _ec2(
        "elastic-ip", "AllocateAddress", "ReleaseAddress", "DescribeAddresses", "DisassociateAddress"
    ),
    "aws:ec2/natGateway:NatGateway": _ec2("natgateway", "CreateNatGateway", "DeleteNatGateway", "DescribeNatGateways"),
    "aws:ec2/routeTable:RouteTable": _ec2(
        "route-table", "CreateRouteTable", "DeleteRouteTable", "DescribeRouteTables", "CreateRoute", "DeleteRoute"
    ),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _route_table_association,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _ingress_rule,
    "aws:kms/key:Key": _key,
    "aws:kms/alias:Alias": _alias,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _attachment,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:eks/cluster:Cluster": _cluster,
    "aws:eks/accessEntry:AccessEntry": _access_entry,
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": _association,
}
"""Per resource type of the EKS box: the calls its create, update, read and delete make."""


def program_calls(run: StackRun) -> list[Call]:
    """Every call of the EKS box's AWS resources, deduplicated by label (one row per kind of call)."""
    component = run.one(COMPONENT)
    region = run.one("pulumi:providers:aws", f"{component.name}-aws").inputs["region"]
    arns = Arns(run, region)
    calls = [_call("DescribeAvailabilityZones", "ec2:DescribeAvailabilityZones", "*", write=False)]
    for resource in run.children_of(component):
        if resource.type.startswith("aws:"):
            calls += CALLS[resource.type](arns, resource)
    unique: dict[str, Call] = {}
    for call in calls:
        unique.setdefault(call.label, call)
    return list(unique.values())


def escalations(arns: Arns) -> list[Call]:
    """What neither role may do, whatever the program does."""
    own_role = arns.role(arns.run.one("aws:iam/role:Role", f"{arns.cluster_name}-node-role"))
    cluster, region = arns.eks_cluster(), arns.region
    return [
        _call(
            "attach AdministratorAccess to its own role",
            "iam:AttachRolePolicy",
            own_role,
            iam__PolicyARN="arn:aws:iam::aws:policy/AdministratorAccess",
        ),
        _call("PassRole its node role to EC2", "iam:PassRole", own_role, iam__PassedToService="ec2.amazonaws.com"),
        _call("CreateRole outside the cluster's prefix", "iam:CreateRole", arns.role_named("backdoor")),
        _call(
            "PassRole another role to EKS",
            "iam:PassRole",
            arns.role_named("admin"),
            iam__PassedToService="eks.amazonaws.com",
        ),
        _call(
            "CreateCluster with creator bootstrap admin",
            "eks:CreateCluster",
            "*",
            aws__RequestedRegion=region,
            eks__authenticationMode="API",
            eks__bootstrapClusterCreatorAdminPermissions="true",
        ),
        _call(
            "CreateCluster with aws-auth ConfigMap auth",
            "eks:CreateCluster",
            "*",
            aws__RequestedRegion=region,
            eks__authenticationMode="CONFIG_MAP",
            eks__bootstrapClusterCreatorAdminPermissions="false",
        ),
        _call(
            "AssociateAccessPolicy AmazonEKSAdminViewPolicy (reads Secrets)",
            "eks:AssociateAccessPolicy",
            arns.access_entry(PREVIEW),
            eks__policyArn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy",
        ),
        _call("DeleteCluster of another cluster", "eks:DeleteCluster", cluster.rsplit("/", 1)[0] + "/other"),
        _call("kms:Decrypt with the secrets key", "kms:Decrypt", arns.key()),
        _call("iam:CreateUser", "iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/ci-backdoor"),
        _call(
            "AuthorizeSecurityGroupIngress on another SG",
            "ec2:AuthorizeSecurityGroupIngress",
            arns.ec2("security-group", "sg-0000000000000000a"),
        ),
    ]


def display(call: Call) -> str:
    service, short = call.action.split(":")
    return f"{service}:{call.label}" if call.label.startswith(short) else f"{call.action} ({call.label})"


def as_cases(
    calls: list[Call], principal: str, policy: dict[str, Any], region: str, expect: Callable[[Call], str]
) -> list[Case]:
    """Each call as the principal's request; every AWS request carries aws:RequestedRegion."""
    return [
        Case(
            name=display(call),
            action=call.action,
            resource=call.resource,
            principal=principal,
            account_id=ACCOUNT,
            identity_policies={"eks-ci": policy},
            resource_policy=DEFAULT_KEY_POLICY if call.resource.startswith("arn:aws:kms:") else None,
            context={"aws:RequestedRegion": region, **call.context},
            expected=expect(call),
        )
        for call in calls
    ]


@dataclass(frozen=True)
class Judged:
    calls: list[Call]
    deploy: list[Decision]
    preview: list[Decision]
    escalations: list[Decision]


@pytest.fixture(scope="module")
def judged(production_eks: StackRun) -> Judged:
    component = production_eks.one(COMPONENT)
    region = production_eks.one("pulumi:providers:aws", f"{component.name}-aws").inputs["region"]
    arns = Arns(production_eks, region)
    names = {"account_id": ACCOUNT, "region": region, "cluster_name": arns.cluster_name}
    deploy, preview = deploy_role_policy(**names), preview_role_policy(**names)
    calls = program_calls(production_eks)
    bad = escalations(arns)
    deploy_cases = as_cases(calls, DEPLOY, deploy, region, lambda c: ALLOWED)
    preview_cases = as_cases(calls, PREVIEW, preview, region, lambda c: IMPLICIT_DENY if c.write else ALLOWED)
    bad_deploy = as_cases(bad, DEPLOY, deploy, region, lambda c: IMPLICIT_DENY)
    bad_preview = as_cases(bad, PREVIEW, preview, region, lambda c: IMPLICIT_DENY)
    bad_cases = [replace(c, name=f"deploy: {c.name}") for c in bad_deploy]
    bad_cases += [replace(c, name=f"preview: {c.name}") for c in bad_preview]
    decisions = evaluate([*deploy_cases, *preview_cases, *bad_cases])
    n, m = len(deploy_cases), len(preview_cases)
    return Judged(calls=calls, deploy=decisions[:n], preview=decisions[n : n + m], escalations=decisions[n + m :])


def all_decisions(judged: Judged) -> Iterator[Decision]:
    yield from judged.deploy
    yield from judged.preview
    yield from judged.escalations


def test_every_resource_type_of_the_eks_box_has_its_calls(production_eks: StackRun) -> None:
    types = {r.type for r in production_eks.children_of(production_eks.one(COMPONENT)) if r.type.startswith("aws:")}
    assert types <= set(CALLS), types - set(CALLS)


def test_the_calls_cover_create_read_and_delete(judged: Judged) -> None:
    actions = {c.action for c in judged.calls}
    assert {"eks:CreateCluster", "iam:PassRole", "iam:CreateServiceLinkedRole", "kms:CreateKey"} <= actions
    assert {"eks:DeleteCluster", "iam:DeleteRole", "ec2:DeleteVpc", "logs:DeleteLogGroup"} <= actions
    assert sum(not c.write for c in judged.calls) >= 10


def test_the_evaluator_judged_every_call_with_every_context_key(judged: Judged) -> None:
    for decision in all_decisions(judged):
        assert decision.errors is None, (decision.case.name, decision.errors)
        assert decision.ignored_context_keys == (), (decision.case.name, decision.ignored_context_keys)


def test_the_deploy_role_may_make_every_call_the_program_makes(judged: Judged, record_property: Any) -> None:
    for line in table("eks-deploy-role", judged.deploy):
        record_property("report", line)
    assert [(d.case.name, d.decision) for d in judged.deploy if not d.as_expected] == []


def test_the_preview_role_may_read_everything_and_change_nothing(judged: Judged, record_property: Any) -> None:
    for line in table("eks-preview-role", judged.preview):
        record_property("report", line)
    assert [(d.case.name, d.decision) for d in judged.preview if not d.as_expected] == []


def test_neither_role_may_escalate(judged: Judged, record_property: Any) -> None:
    for line in table("eks-ci-escalation", judged.escalations):
        record_property("report", line)
    assert [(d.case.name, d.decision) for d in judged.escalations if not d.as_expected] == []


def test_the_documents_are_printable_for_the_account_owner(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["--account", ACCOUNT, "--region", "us-east-1", "--cluster", "t-production-eks", "--role", "deploy"]) == 0
    )
    printed = capsys.readouterr().out
    assert '"Sid": "PassItsRolesToEksOnly"' in printed
    assert "arn:aws:iam::123456789012:role/t-production-eks-*" in printed


# --- The workflows that assume these roles (item 5: previews and drift with EKS on)

WORKFLOWS = ROOT / ".github" / "workflows"
PULUMI_RUNNER = "${{ vars.PULUMI_RUNNER || 'ubuntu-24.04' }}"


def pulumi_jobs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(workflow, job id, job) of every job that runs the Pulumi CLI against a stack."""
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job_id, job in (yaml.safe_load(path.read_text()).get("jobs") or {}).items():
            steps = job.get("steps") or []
            runs = any("pulumi-stack.sh" in str(s.get("run", "")) for s in steps)
            action = any(str(s.get("uses", "")).startswith("pulumi/actions") for s in steps)
            if runs or action:
                yield path.name, job_id, job


def test_the_pulumi_jobs_are_the_previews_deploys_and_drift_checks() -> None:
    assert {(w, j) for w, j, _ in pulumi_jobs()} == {
        ("pull-request.yml", "preview"),
        ("deploy.yml", "staging"),
        ("deploy.yml", "production"),
        ("drift.yml", "drift"),
    }


def test_every_pulumi_job_can_run_on_a_runner_inside_the_eks_network_path() -> None:
    for workflow, job_id, job in pulumi_jobs():
        assert job["runs-on"] == PULUMI_RUNNER, f"{workflow}:{job_id}"


def test_previews_and_drift_assume_the_read_only_role_deploys_the_deploy_role() -> None:
    for workflow, job_id, job in pulumi_jobs():
        environment = job["environment"]["name"]
        read_only = workflow in ("pull-request.yml", "drift.yml")
        assert environment.endswith("-preview") is read_only, f"{workflow}:{job_id}"
        assert job["permissions"]["id-token"] == "write", f"{workflow}:{job_id}"
        (setup,) = [s for s in job["steps"] if s.get("uses") == "./.github/actions/pulumi-setup"]
        assert setup["with"]["aws-role-arn"] == "${{ vars.AWS_BACKUP_ROLE_ARN }}", f"{workflow}:{job_id}"


def test_docs_tell_how_to_wire_the_roles_and_the_runner() -> None:
    ci = (ROOT / "docs" / "ci.md").read_text()
    for needle in ("PULUMI_RUNNER", "eks.deployRoleArn", "eks.previewRoleArn", "python -m components.eks_ci_roles"):
        assert needle in ci, needle
