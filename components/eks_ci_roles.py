"""Least-privilege IAM policy documents of the CI roles that deploy and preview an ``EksCluster``.

Pure functions, no resources: the roles themselves live outside the stack (they run it), so these
documents are *shipped* for the account owner to attach (docs/ci.md), printed with

    python -m components.eks_ci_roles --account 123456789012 --region us-east-1 \
        --cluster niche-discovery-production-eks

The deploy document grants what ``EksCluster`` makes AWS do on create, update, refresh and destroy,
and no more: roles only under the cluster's name, only the managed policies Auto Mode documents,
``PassRole`` only to EKS, clusters created only with the access settings the component uses,
access entries given only the admin and view policies. The backup resources' permissions are a
separate document (docs/ci.md). tests/test_eks_ci_roles.py has a real IAM evaluator judge both
documents against every call the program's EKS resources make.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from components.eks_cluster import CLUSTER_ADMIN_POLICY, CLUSTER_POLICIES, NODE_POLICIES, POLICY_ARN, VIEW_POLICY

EC2_NETWORK_ACTIONS = (
    "ec2:CreateVpc",
    "ec2:DeleteVpc",
    "ec2:ModifyVpcAttribute",
    "ec2:CreateSubnet",
    "ec2:DeleteSubnet",
    "ec2:ModifySubnetAttribute",
    "ec2:CreateInternetGateway",
    "ec2:DeleteInternetGateway",
    "ec2:AttachInternetGateway",
    "ec2:DetachInternetGateway",
    "ec2:AllocateAddress",
    "ec2:ReleaseAddress",
    "ec2:DisassociateAddress",
    "ec2:CreateNatGateway",
    "ec2:DeleteNatGateway",
    "ec2:CreateRouteTable",
    "ec2:DeleteRouteTable",
    "ec2:CreateRoute",
    "ec2:ReplaceRoute",
    "ec2:DeleteRoute",
    "ec2:AssociateRouteTable",
    "ec2:DisassociateRouteTable",
    "ec2:CreateTags",
    "ec2:DeleteTags",
)
"""The VPC of ``EksCluster._network``: VPC, subnets, gateways, EIPs, NATs, route tables, their tags."""
EC2_READ_ACTIONS = ("ec2:Describe*",)
"""Every Describe call the provider makes on read/refresh, and the zone lookup. All are wildcard-only."""
CLUSTER_SG_ACTIONS = (
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:ModifySecurityGroupRules",
    "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
)
"""The API ingress rules (eks.apiIngress*) on the security group EKS creates for the cluster."""
EKS_CLUSTER_ACTIONS = (
    "eks:DescribeCluster",
    "eks:UpdateClusterConfig",
    "eks:UpdateClusterVersion",
    "eks:DeleteCluster",
    "eks:TagResource",
    "eks:UntagResource",
    "eks:ListTagsForResource",
    "eks:CreateAccessEntry",
    "eks:ListAccessEntries",
)
EKS_ACCESS_ENTRY_ACTIONS = (
    "eks:DescribeAccessEntry",
    "eks:UpdateAccessEntry",
    "eks:DeleteAccessEntry",
    "eks:ListAssociatedAccessPolicies",
    "eks:DisassociateAccessPolicy",
    "eks:TagResource",
    "eks:UntagResource",
    "eks:ListTagsForResource",
)
IAM_ROLE_ACTIONS = (
    "iam:CreateRole",
    "iam:GetRole",
    "iam:DeleteRole",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:PutRolePolicy",
    "iam:GetRolePolicy",
    "iam:DeleteRolePolicy",
)
KMS_KEY_ACTIONS = (
    "kms:DescribeKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyRotationStatus",
    "kms:GetKeyPolicy",
    "kms:ListResourceTags",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    # EKS's CreateCluster with encryptionConfig creates a grant on the key in the caller's name.
    "kms:CreateGrant",
)
LOG_GROUP_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:DeleteLogGroup",
    "logs:PutRetentionPolicy",
    "logs:DeleteRetentionPolicy",
    "logs:TagResource",
    "logs:UntagResource",
    "logs:ListTagsForResource",
)
EKS_SERVICE_LINKED_ROLE = "role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS"


def managed_policy_arns() -> list[str]:
    """The AWS-managed policies EksCluster attaches to its two roles, and nothing else may be."""
    return sorted(POLICY_ARN + p for p in (*CLUSTER_POLICIES, *NODE_POLICIES))


def deploy_role_policy(*, account_id: str, region: str, cluster_name: str) -> dict[str, Any]:
    """Everything `pulumi up`/`refresh`/`destroy` of an EksCluster needs, scoped to that cluster."""
    ec2 = f"arn:aws:ec2:{region}:{account_id}"
    eks = f"arn:aws:eks:{region}:{account_id}"
    roles = f"arn:aws:iam::{account_id}:role/{cluster_name}-*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadNetwork", "Effect": "Allow", "Action": list(EC2_READ_ACTIONS), "Resource": "*"},
            {
                "Sid": "ManageNetwork",
                "Effect": "Allow",
                "Action": list(EC2_NETWORK_ACTIONS),
                "Resource": f"{ec2}:*",
            },
            {
                # The cluster security group is EKS's, tagged with the cluster's name: only its rules.
                "Sid": "ApiIngressOnTheClusterSecurityGroup",
                "Effect": "Allow",
                "Action": list(CLUSTER_SG_ACTIONS),
                "Resource": f"{ec2}:security-group/*",
                "Condition": {"StringEquals": {"aws:ResourceTag/aws:eks:cluster-name": cluster_name}},
            },
            {
                "Sid": "ApiIngressRules",
                "Effect": "Allow",
                "Action": list(CLUSTER_SG_ACTIONS),
                "Resource": f"{ec2}:security-group-rule/*",
            },
            {
                # CreateCluster has no resource type; its condition keys pin what EksCluster asks for.
                "Sid": "CreateTheClusterAsConfigured",
                "Effect": "Allow",
                "Action": ["eks:CreateCluster"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:RequestedRegion": region, "eks:authenticationMode": "API"},
                    "Bool": {"eks:bootstrapClusterCreatorAdminPermissions": "false"},
                },
            },
            {
                "Sid": "ManageTheCluster",
                "Effect": "Allow",
                "Action": list(EKS_CLUSTER_ACTIONS),
                "Resource": f"{eks}:cluster/{cluster_name}",
            },
            {
                "Sid": "ManageItsAccessEntries",
                "Effect": "Allow",
                "Action": list(EKS_ACCESS_ENTRY_ACTIONS),
                "Resource": f"{eks}:access-entry/{cluster_name}/*",
            },
            {
                "Sid": "GrantOnlyAdminOrView",
                "Effect": "Allow",
                "Action": ["eks:AssociateAccessPolicy"],
                "Resource": f"{eks}:access-entry/{cluster_name}/*",
                "Condition": {"ArnEquals": {"eks:policyArn": [CLUSTER_ADMIN_POLICY, VIEW_POLICY]}},
            },
            {"Sid": "ManageItsRoles", "Effect": "Allow", "Action": list(IAM_ROLE_ACTIONS), "Resource": roles},
            {
                "Sid": "AttachOnlyAutoModePolicies",
                "Effect": "Allow",
                "Action": ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
                "Resource": roles,
                "Condition": {"ArnEquals": {"iam:PolicyARN": managed_policy_arns()}},
            },
            {
                # The cluster role (roleArn) and the node role (computeConfig.nodeRoleArn), both to EKS.
                "Sid": "PassItsRolesToEksOnly",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": roles,
                "Condition": {"StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}},
            },
            {
                "Sid": "EksServiceLinkedRole",
                "Effect": "Allow",
                "Action": ["iam:CreateServiceLinkedRole"],
                "Resource": f"arn:aws:iam::{account_id}:{EKS_SERVICE_LINKED_ROLE}",
                "Condition": {"StringEquals": {"iam:AWSServiceName": "eks.amazonaws.com"}},
            },
            {
                "Sid": "CreateKeysInTheRegion",
                "Effect": "Allow",
                "Action": ["kms:CreateKey", "kms:ListAliases"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
            },
            {
                "Sid": "ManageKeys",
                "Effect": "Allow",
                "Action": list(KMS_KEY_ACTIONS),
                "Resource": f"arn:aws:kms:{region}:{account_id}:key/*",
            },
            {
                "Sid": "ManageItsKeyAlias",
                "Effect": "Allow",
                "Action": ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
                "Resource": [
                    f"arn:aws:kms:{region}:{account_id}:alias/{cluster_name}-*",
                    f"arn:aws:kms:{region}:{account_id}:key/*",
                ],
            },
            {
                "Sid": "ManageItsLogGroup",
                "Effect": "Allow",
                "Action": list(LOG_GROUP_ACTIONS),
                "Resource": [
                    f"arn:aws:logs:{region}:{account_id}:log-group:/aws/eks/{cluster_name}/cluster",
                    f"arn:aws:logs:{region}:{account_id}:log-group:/aws/eks/{cluster_name}/cluster:*",
                ],
            },
            {"Sid": "FindLogGroups", "Effect": "Allow", "Action": ["logs:DescribeLogGroups"], "Resource": "*"},
        ],
    }


def preview_role_policy(*, account_id: str, region: str, cluster_name: str) -> dict[str, Any]:
    """What `pulumi preview --refresh` (PR previews, the drift check) reads of an EksCluster; no write."""
    eks = f"arn:aws:eks:{region}:{account_id}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadNetwork", "Effect": "Allow", "Action": list(EC2_READ_ACTIONS), "Resource": "*"},
            {
                "Sid": "ReadTheCluster",
                "Effect": "Allow",
                "Action": ["eks:DescribeCluster", "eks:ListAccessEntries", "eks:ListTagsForResource"],
                "Resource": f"{eks}:cluster/{cluster_name}",
            },
            {
                "Sid": "ReadItsAccessEntries",
                "Effect": "Allow",
                "Action": ["eks:DescribeAccessEntry", "eks:ListAssociatedAccessPolicies", "eks:ListTagsForResource"],
                "Resource": f"{eks}:access-entry/{cluster_name}/*",
            },
            {
                "Sid": "ReadItsRoles",
                "Effect": "Allow",
                "Action": [
                    "iam:GetRole",
                    "iam:GetRolePolicy",
                    "iam:ListRolePolicies",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListInstanceProfilesForRole",
                ],
                "Resource": f"arn:aws:iam::{account_id}:role/{cluster_name}-*",
            },
            {
                "Sid": "ReadKeys",
                "Effect": "Allow",
                "Action": ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"],
                "Resource": f"arn:aws:kms:{region}:{account_id}:key/*",
            },
            {"Sid": "ListAliases", "Effect": "Allow", "Action": ["kms:ListAliases"], "Resource": "*"},
            {
                "Sid": "ReadItsLogGroup",
                "Effect": "Allow",
                "Action": ["logs:ListTagsForResource"],
                "Resource": f"arn:aws:logs:{region}:{account_id}:log-group:/aws/eks/{cluster_name}/cluster",
            },
            {"Sid": "FindLogGroups", "Effect": "Allow", "Action": ["logs:DescribeLogGroups"], "Resource": "*"},
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the EKS deploy and preview role policy documents.")
    parser.add_argument("--account", required=True, help="12-digit AWS account id")
    parser.add_argument("--region", required=True, help="eks.awsRegion, e.g. us-east-1")
    parser.add_argument("--cluster", required=True, help="cluster name: <tenant>-<stack>-eks")
    parser.add_argument("--role", choices=["deploy", "preview"], help="print one document only")
    args = parser.parse_args(argv)
    names = {"account_id": args.account, "region": args.region, "cluster_name": args.cluster}
    documents = {"deploy": deploy_role_policy(**names), "preview": preview_role_policy(**names)}
    chosen = documents[args.role] if args.role else documents
    json.dump(chosen, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
