"""Issue 15: the stack guard over Pod Identity roles, and the resource guards beyond one changed value.

One-value cases of every resource guard of policies/guards/aws_data.py live with the others in
tests/policies/test_resource_guards.py (good props in tests/policies/samples.py).
"""

from __future__ import annotations

import json
from typing import Any

from tests.harness import Resource, StackRun
from tests.policies import samples as s
from tests.policy_adapter import mutate, stack_violations, synthetic, violations

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
RDS = "aws:rds/instance:Instance"
GUARD = "stack-pod-identity-least-privilege"
POD_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    ],
}
"""components/aws_pod_identity.py's trust_policy(), written out: the pack's tests import no component."""
SCOPED = [
    {"Sid": "Objects", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::media/transcripts/*"]}
]


def _role(trust: dict[str, Any] | None = None, name: str = "psm-api-role") -> Resource:
    props = {"assumeRolePolicy": json.dumps(trust or POD_TRUST), "name": name}
    return synthetic(ROLE, props, name=name)


def _policy(role: Resource, statements: list[dict[str, Any]], role_ref: Any = None) -> Resource:
    document = json.dumps({"Version": "2012-10-17", "Statement": statements})
    props = {"role": role_ref if role_ref is not None else role.name, "policy": document}
    return synthetic(ROLE_POLICY, props, name=f"{role.name}-policy", dependencies=[role.urn])


def fired(records: list[Resource]) -> list[str]:
    return [message for message, _ in stack_violations(GUARD, records)]


def test_scoped_pod_identity_role_passes() -> None:
    role = _role()
    assert fired([role, _policy(role, SCOPED)]) == []


def test_wildcard_action_on_a_pod_identity_role_fires() -> None:
    role = _role()
    statements = [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::media/transcripts/*"]}]
    assert any("action s3:*" in m for m in fired([role, _policy(role, statements)]))


def test_whole_bucket_or_star_resource_fires() -> None:
    role = _role()
    for resource in ("*", "arn:aws:s3:::media/*", "arn:aws:s3:::*/x/*"):
        statements = [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": resource}]
        assert fired([role, _policy(role, statements)]), resource


def test_not_action_fires() -> None:
    role = _role()
    statements = [{"Effect": "Allow", "NotAction": ["iam:PassRole"], "Resource": ["arn:aws:s3:::media/a/b"]}]
    assert any("NotAction" in m for m in fired([role, _policy(role, statements)]))


def test_a_managed_policy_on_a_pod_identity_role_fires() -> None:
    role = _role()
    attachment = synthetic(
        ATTACHMENT,
        {"role": role.name, "policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"},
        name="attach",
        dependencies=[role.urn],
    )
    assert any("AmazonS3FullAccess" in m for m in fired([role, _policy(role, SCOPED), attachment]))


def test_wildcards_in_a_deny_statement_are_fine() -> None:
    role = _role()
    deny = {"Effect": "Deny", "Action": ["s3:*"], "Resource": "*"}
    assert fired([role, _policy(role, [*SCOPED, deny])]) == []


def test_roles_not_trusting_pod_identity_are_not_judged() -> None:
    ec2 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}}]}
    role = _role(ec2, name="node-role")
    statements = [{"Effect": "Allow", "Action": ["*"], "Resource": "*"}]
    assert fired([role, _policy(role, statements)]) == []


def test_policy_found_through_dependency_while_the_role_name_is_unknown() -> None:
    role = _role()
    statements = [{"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}]
    assert fired([role, _policy(role, statements, role_ref=s.UNKNOWN)]) != []


def test_unknown_policy_or_trust_is_not_judged() -> None:
    role = _role()
    unknown_policy = synthetic(ROLE_POLICY, {"role": role.name, "policy": s.UNKNOWN}, dependencies=[role.urn])
    assert fired([role, unknown_policy]) == []
    unknown_trust = synthetic(ROLE, {"assumeRolePolicy": s.UNKNOWN, "name": "r"}, name="r")
    star = [{"Effect": "Allow", "Action": ["*"], "Resource": "*"}]
    assert fired([unknown_trust, _policy(unknown_trust, star)]) == []


def test_read_replicas_are_not_asked_for_their_own_password_or_retention() -> None:
    replica = s.patched(s.rds_instance(), "replicateSourceDb", "arn:aws:rds:us-east-1:1:db:primary")
    replica.pop("manageMasterUserPassword")
    replica["backupRetentionPeriod"] = 0
    replica["multiAz"] = False
    record = synthetic(RDS, replica)
    for guard in ("aws-rds-managed-password", "aws-rds-backup-retention", "aws-rds-production-resilience"):
        assert violations(guard, record) == [], guard


def test_cpu_pools_are_not_gpu_pools() -> None:
    pool = synthetic("kubernetes:karpenter.sh/v1:NodePool", s.karpenter_node_pool())
    assert violations("eks-gpu-pool-bounded", pool) == []


def test_an_auth_token_counts_as_authentication() -> None:
    props = s.patched(s.patched(s.replication_group(), "userGroupIds", []), "authToken", "from-a-secret")
    assert (
        violations("aws-elasticache-auth", synthetic("aws:elasticache/replicationGroup:ReplicationGroup", props)) == []
    )


# --------------------------------------------------------------------------------------------------
# SQS (issue 15, components/aws_queue.py): each guard clean on seed 004's stack, and fired by one change to it.

QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
SQS_GUARDS = ("aws-sqs-encrypted", "aws-sqs-tls-only", "aws-sqs-dead-letter")


def _sqs(run: StackRun) -> list[Resource]:
    return [r for r in run.resources if r.type.startswith("aws:sqs/")]


def _work_queue(records: list[Resource]) -> int:
    (index,) = [i for i, r in enumerate(records) if r.type == QUEUE and r.name.endswith("-queue")]
    return index


def _sqs_fired(guard: str, records: list[Resource], preview: bool = False) -> list[str]:
    return [message for message, _ in stack_violations(guard, records, preview=preview)]


def test_the_stacks_queues_pass_every_sqs_guard(production_aws: StackRun) -> None:
    records = _sqs(production_aws)
    assert len([r for r in records if r.type == QUEUE]) == 2
    for guard in SQS_GUARDS:
        assert _sqs_fired(guard, records) == [], guard
        assert _sqs_fired(guard, records, preview=True) == [], guard


def test_a_queue_without_encryption_fires(production_aws: StackRun) -> None:
    records = _sqs(production_aws)
    i = _work_queue(records)
    records[i] = mutate(records[i], inputs=s.patched(records[i].inputs, "sqsManagedSseEnabled", False))
    assert _sqs_fired("aws-sqs-encrypted", records) == [
        f"queue {records[i].name!r}: neither sqsManagedSseEnabled nor kmsMasterKeyId: messages sit unencrypted."
    ]
    # A customer key counts as encryption too.
    records[i] = mutate(records[i], inputs=s.patched(records[i].inputs, "kmsMasterKeyId", "alias/queues"))
    assert _sqs_fired("aws-sqs-encrypted", records) == []


def test_a_queue_without_its_tls_policy_fires(production_aws: StackRun) -> None:
    records = _sqs(production_aws)
    work = records[_work_queue(records)]
    url = work.outputs["url"]
    without = [r for r in records if not (r.type == QUEUE_POLICY and r.inputs["queueUrl"] == url)]
    assert _sqs_fired("aws-sqs-tls-only", without) == [
        f"queue {work.name!r}: no policy denies plain-HTTP requests (aws:SecureTransport false)."
    ]


def test_a_tls_policy_conditioned_on_the_wrong_value_fires(production_aws: StackRun) -> None:
    records = _sqs(production_aws)
    url = records[_work_queue(records)].outputs["url"]
    (i,) = [i for i, r in enumerate(records) if r.type == QUEUE_POLICY and r.inputs["queueUrl"] == url]
    document = json.loads(records[i].inputs["policy"])
    document["Statement"][0]["Condition"] = {"Bool": {"aws:SecureTransport": "true"}}
    records[i] = mutate(records[i], inputs=s.patched(records[i].inputs, "policy", json.dumps(document)))
    assert len(_sqs_fired("aws-sqs-tls-only", records)) == 1


def test_a_work_queue_without_a_dead_letter_queue_fires_and_the_dead_letter_queue_needs_none(
    production_aws: StackRun,
) -> None:
    records = _sqs(production_aws)
    i = _work_queue(records)
    records[i] = mutate(records[i], inputs=s.patched(records[i].inputs, "redrivePolicy", s.DELETE))
    # Only the work queue: the DLQ is still known as one by the redrive-allow policy that targets it.
    assert _sqs_fired("aws-sqs-dead-letter", records) == [
        f"queue {records[i].name!r} has no redrivePolicy: failing messages are retried forever."
    ]


def test_a_lone_queue_without_redrive_fires_and_unknowns_are_not_judged() -> None:
    lone = synthetic(QUEUE, {"sqsManagedSseEnabled": True, "arn": "arn:aws:sqs:us-east-1:1:q", "url": "u"}, name="q")
    assert _sqs_fired("aws-sqs-dead-letter", [lone]) != []
    assert _sqs_fired("aws-sqs-tls-only", [lone]) != []
    unknown = synthetic(QUEUE, {"sqsManagedSseEnabled": s.UNKNOWN, "redrivePolicy": s.UNKNOWN, "policy": s.UNKNOWN})
    for guard in SQS_GUARDS:
        assert _sqs_fired(guard, [unknown]) == [], guard
