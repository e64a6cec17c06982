"""EKS Pod Identity: one IAM role per Kubernetes service account, so pods reach AWS without static keys.

The DigitalOcean backups use a writer access key stored as a Secret; here nothing is stored: the EKS Pod
Identity agent (built into Auto Mode nodes) hands the pods of exactly one (namespace, service account)
short-lived credentials of the role associated with it. The role trusts only the Pod Identity service
principal, with the two actions it needs (``sts:AssumeRole`` and ``sts:TagSession``, which attaches the
cluster, namespace and service account as session tags).

Policies are built by pure functions (here and in aws_media_bucket/aws_cache/aws_postgres) and refuse
wildcards, so each role is least privilege by construction; tests/test_aws_iam.py has a real IAM
evaluator judge them, allowed and denied, and the ``stack-pod-identity-least-privilege`` guard checks
the registered roles again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .aws_names import IAM_NAME_PREFIX_MAX, bounded

POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"
TRUST_ACTIONS = ("sts:AssumeRole", "sts:TagSession")


@dataclass(frozen=True)
class AwsPodIdentityArgs:
    cluster_name: pulumi.Input[str]
    """EKS cluster of the service account."""
    namespace: str
    """Namespace of the service account."""
    service_account: str
    """Service account whose pods get the role."""
    statements: pulumi.Input[Sequence[Mapping[str, Any]]]
    """The role's permissions (IAM statements); no ``*`` in actions or resources."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags. Default: none."""


def trust_policy() -> dict[str, Any]:
    """The role may be assumed only by EKS Pod Identity."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EksPodIdentity",
                "Effect": "Allow",
                "Principal": {"Service": POD_IDENTITY_PRINCIPAL},
                "Action": list(TRUST_ACTIONS),
            }
        ],
    }


def wildcards(statements: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every ``*`` in an Allow statement's actions or resources, as 'Sid: value' (empty when there is none)."""
    found = []
    for s in statements:
        if s.get("Effect") != "Allow":
            continue
        actions = s.get("Action", [])
        resources = s.get("Resource", [])
        for value in [*([actions] if isinstance(actions, str) else actions)]:
            if "*" in value:
                found.append(f"{s.get('Sid', '?')}: action {value}")
        for value in [*([resources] if isinstance(resources, str) else resources)]:
            # A trailing "/*" under a concrete prefix (bucket/prefix/*) is an object path, not a wildcard grant.
            if value == "*" or ("*" in value and not _scoped_object_path(value)):
                found.append(f"{s.get('Sid', '?')}: resource {value}")
        if "NotAction" in s or "NotResource" in s:
            found.append(f"{s.get('Sid', '?')}: NotAction/NotResource")
    return found


def _scoped_object_path(arn: str) -> bool:
    """``arn:aws:s3:::bucket/prefix/*``: objects under a named prefix of a named bucket."""
    if not arn.startswith("arn:aws:s3:::") or not arn.endswith("/*"):
        return False
    path = arn.removeprefix("arn:aws:s3:::").removesuffix("/*")
    parts = path.split("/")
    return len(parts) >= 2 and all(parts) and "*" not in path


def policy_document(statements: Sequence[Mapping[str, Any]]) -> str:
    """The role's policy as JSON; refuses wildcards (the guard checks the registered roles again)."""
    found = wildcards(statements)
    if found:
        raise ValueError(f"a Pod Identity role must be least privilege; wildcards in {found}")
    return json.dumps({"Version": "2012-10-17", "Statement": [dict(s) for s in statements]})


def secret_read_statements(secret_arn: str, kms_key_arn: str, region: str) -> list[dict[str, Any]]:
    """Read one Secrets Manager secret (e.g. the RDS-managed master secret) and decrypt it through Secrets Manager."""
    return [
        {
            "Sid": "ReadTheSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [secret_arn],
        },
        {
            "Sid": "DecryptViaSecretsManager",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": [kms_key_arn],
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
        },
    ]


class AwsPodIdentity(pulumi.ComponentResource):
    """An IAM role for one service account, its inline policy and the Pod Identity association."""

    role_arn: pulumi.Output[str]
    """ARN of the role the pods get."""

    def __init__(self, name: str, args: AwsPodIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:aws:PodIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            name_prefix=f"{bounded(name, IAM_NAME_PREFIX_MAX)}-",
            assume_role_policy=json.dumps(trust_policy()),
            description=f"Pod Identity of {args.namespace}/{args.service_account}",
            max_session_duration=3600,
            tags={
                **dict(args.tags),
                "kubernetes-namespace": args.namespace,
                "kubernetes-service-account": args.service_account,
            },
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.from_input(args.statements).apply(policy_document),
            opts=child,
        )
        aws.eks.PodIdentityAssociation(
            f"{name}-association",
            cluster_name=args.cluster_name,
            namespace=args.namespace,
            service_account=args.service_account,
            role_arn=role.arn,
            opts=child,
        )
        self.role_arn = role.arn
        self.register_outputs({"role_arn": self.role_arn})
