"""AWS data-service guards (issue 15): RDS, ElastiCache, SQS queues, Pod Identity roles and GPU NodePools.

As in aws_eks.py, an unset input is read as the AWS default it stands for (RDS: unencrypted, one-day or
no backups; ElastiCache: no TLS, no auth) and only an unknown value (a preview) as "cannot judge yet".
A read replica (``replicateSourceDb`` set) takes its password and retention from its source, so the
guards about those judge primaries only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import Severity

from ._base import Context, StackResource, as_list, dig, is_unknown, number, resource_guard, stack_guard, truthy

GROUP = "aws-data"

RDS_INSTANCE = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
REDRIVE_ALLOW = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"
GPU_LIMIT = "nvidia.com/gpu"
GPU_REQUIREMENT_KEYS = frozenset(
    {
        "eks.amazonaws.com/instance-gpu-manufacturer",
        "eks.amazonaws.com/instance-gpu-count",
        "karpenter.k8s.aws/instance-gpu-count",
    }
)
GPU_CATEGORIES = frozenset({"g", "p"})

PRODUCTION_ONLY: Mapping[str, Any] = {
    "type": "boolean",
    "description": "Apply only to production stacks.",
    "default": True,
}


def _replica(props: dict[str, Any]) -> bool | None:
    """True for a read replica, None while that is unknown."""
    source = props.get("replicateSourceDb")
    if is_unknown(source):
        return None
    return bool(source)


@resource_guard(
    "aws-rds-encrypted",
    types=(RDS_INSTANCE,),
    description="RDS storage is encrypted at rest, with a customer-managed KMS key.",
    severity=Severity.HIGH,
    remediation="Set storage_encrypted=True and kms_key_id to the component's key (AwsPostgres does both). "
    "Encryption cannot be added to an existing instance: restore a snapshot copy encrypted.",
    group=GROUP,
)
def rds_encrypted(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    encrypted = props.get("storageEncrypted")
    if not is_unknown(encrypted) and truthy(encrypted) is not True:
        yield "storageEncrypted is not true: the database and its snapshots sit unencrypted."
    if props.get("kmsKeyId") is None:
        yield "no kmsKeyId: storage would use the aws/rds key, whose use no key policy of ours controls."


@resource_guard(
    "aws-rds-not-public",
    types=(RDS_INSTANCE,),
    description="RDS instances have no public address.",
    severity=Severity.CRITICAL,
    remediation="Set publicly_accessible=False; clients reach the database from the cluster's VPC.",
    group=GROUP,
)
def rds_not_public(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    if truthy(props.get("publiclyAccessible")) is True:
        yield "publiclyAccessible is true: the database resolves to a public IP."


@resource_guard(
    "aws-rds-production-resilience",
    types=(RDS_INSTANCE,),
    description="Production databases have deletion protection, and production primaries a Multi-AZ standby.",
    severity=Severity.HIGH,
    remediation="Set deletion_protection=True (all) and multi_az=True (primaries): AwsPostgres does both when "
    "highly_available.",
    group=GROUP,
    config={"productionOnly": PRODUCTION_ONLY},
)
def rds_production_resilience(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    if not (ctx.production or not cfg["productionOnly"]):
        return
    protection = props.get("deletionProtection")
    if not is_unknown(protection) and truthy(protection) is not True:
        yield "deletionProtection is off: one `pulumi destroy` or console click deletes the database."
    multi_az = props.get("multiAz")
    if _replica(props) is False and not is_unknown(multi_az) and truthy(multi_az) is not True:
        yield "multiAz is off: a zone failure takes the primary down until a restore (hours, over the RTO)."


@resource_guard(
    "aws-rds-backup-retention",
    types=(RDS_INSTANCE,),
    description="RDS primaries keep automated backups (point-in-time recovery) for at least the seed's period.",
    severity=Severity.HIGH,
    remediation="Set backup_retention_period to at least minDays (seed 004: 7).",
    group=GROUP,
    config={
        "minDays": {
            "type": "integer",
            "minimum": 1,
            "maximum": 35,
            "description": "Shortest automated backup retention, in days.",
            "default": 7,
        }
    },
)
def rds_backup_retention(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    if _replica(props) is not False:
        return
    retention = props.get("backupRetentionPeriod")
    if is_unknown(retention):
        return
    days = number(retention) or 0
    if days < cfg["minDays"]:
        yield f"backupRetentionPeriod is {days:g} days, under {cfg['minDays']}: too little point-in-time recovery."


@resource_guard(
    "aws-rds-managed-password",
    types=(RDS_INSTANCE,),
    description="RDS master credentials are generated and kept by RDS in Secrets Manager, never passed in.",
    severity=Severity.HIGH,
    remediation="Drop password and set manage_master_user_password=True; readers get the secret through "
    "their Pod Identity role.",
    group=GROUP,
)
def rds_managed_password(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    if _replica(props) is not False or props.get("snapshotIdentifier"):
        return
    password = props.get("password")
    if password is not None and not is_unknown(password):
        yield "a master password is passed in: it sits in the program's config and the state."
    managed = props.get("manageMasterUserPassword")
    if not is_unknown(managed) and truthy(managed) is not True:
        yield "manageMasterUserPassword is not true: nobody rotates the master password."


@resource_guard(
    "aws-elasticache-encryption",
    types=(REPLICATION_GROUP,),
    description="ElastiCache encrypts in transit (TLS required, not preferred) and at rest.",
    severity=Severity.HIGH,
    remediation='Set transit_encryption_enabled=True, transit_encryption_mode="required" and '
    "at_rest_encryption_enabled=True (AwsCache does).",
    group=GROUP,
)
def elasticache_encryption(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    transit = props.get("transitEncryptionEnabled")
    if not is_unknown(transit) and truthy(transit) is not True:
        yield "transitEncryptionEnabled is not true: cache traffic and AUTH go in clear text."
    mode = props.get("transitEncryptionMode")
    if mode == "preferred":
        yield 'transitEncryptionMode is "preferred": clear-text connections are still accepted.'
    at_rest = props.get("atRestEncryptionEnabled")
    if not is_unknown(at_rest) and truthy(at_rest) is not True:
        yield "atRestEncryptionEnabled is not true: snapshots and swap are unencrypted."


@resource_guard(
    "aws-elasticache-auth",
    types=(REPLICATION_GROUP,),
    description="ElastiCache requires authentication (RBAC user groups, or an AUTH token).",
    severity=Severity.CRITICAL,
    remediation="Attach a user group (AwsCache: the default user off, an IAM-authenticated app user).",
    group=GROUP,
)
def elasticache_auth(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    groups = props.get("userGroupIds")
    token = props.get("authToken")
    if is_unknown(groups) or is_unknown(token):
        return
    if not as_list(groups) and not token:
        yield "neither userGroupIds nor authToken: anything in the VPC can read and write the cache."


@resource_guard(
    "aws-elasticache-multi-az",
    types=(REPLICATION_GROUP,),
    description="Production caches keep a replica in another zone with automatic failover.",
    severity=Severity.MEDIUM,
    remediation="Set num_cache_clusters >= 2, automatic_failover_enabled=True and multi_az_enabled=True.",
    group=GROUP,
    config={"productionOnly": PRODUCTION_ONLY},
)
def elasticache_multi_az(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    if not (ctx.production or not cfg["productionOnly"]):
        return
    for key in ("multiAzEnabled", "automaticFailoverEnabled"):
        value = props.get(key)
        if not is_unknown(value) and truthy(value) is not True:
            yield f"{key} is not true: a zone failure empties the cache and stalls its clients."


def _gpu_pool(props: dict[str, Any]) -> bool | None:
    requirements = dig(props, "spec", "template", "spec", "requirements")
    if is_unknown(requirements):
        return None
    for r in as_list(requirements):
        key = dig(r, "key")
        if is_unknown(key):
            return None
        if key in GPU_REQUIREMENT_KEYS:
            return True
        if key == "eks.amazonaws.com/instance-category" and GPU_CATEGORIES & set(map(str, as_list(dig(r, "values")))):
            return True
    return False


@resource_guard(
    "eks-gpu-pool-bounded",
    types=(NODE_POOL,),
    description="A GPU NodePool caps its GPUs and is tainted, so only GPU workloads keep GPU nodes alive.",
    severity=Severity.HIGH,
    remediation="Set eks.nodePools.<name>.gpuLimit (spec.limits['nvidia.com/gpu']) and a NoSchedule taint.",
    group=GROUP,
)
def gpu_pool_bounded(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    if _gpu_pool(props) is not True:
        return
    limit = dig(props, "spec", "limits", GPU_LIMIT)
    if not is_unknown(limit) and not number(limit):
        yield f"spec.limits['{GPU_LIMIT}'] is unset: GPU nodes (USD 0.5-30 an hour each) without bound."
    taints = dig(props, "spec", "template", "spec", "taints")
    if is_unknown(taints) or any(is_unknown(dig(t, "effect")) for t in as_list(taints)):
        return
    if not any(dig(t, "effect") == "NoSchedule" for t in as_list(taints)):
        yield "no NoSchedule taint: any pod may land on a GPU node and keep it running."


def _many(value: Any) -> list[Any]:
    """An IAM policy element (Statement, Action, Resource, Principal.Service): one value or a list of them."""
    if isinstance(value, (str, dict)) and not is_unknown(value):
        return [value]
    return as_list(value)


def _pod_identity_role(role: StackResource) -> bool | None:
    trust = role.props.get("assumeRolePolicy")
    if is_unknown(trust):
        return None
    try:
        document = json.loads(trust) if isinstance(trust, str) else trust
    except ValueError:
        return False
    for statement in _many(dig(document, "Statement")):
        services = _many(dig(statement, "Principal", "Service"))
        if POD_IDENTITY_PRINCIPAL in services:
            return True
    return False


def _attached(side: StackResource, role: StackResource) -> bool:
    value = side.props.get("role")
    names = {v for v in (role.props.get("name"), role.props.get("id")) if isinstance(v, str) and not is_unknown(v)}
    if isinstance(value, str) and not is_unknown(value) and names and value in names:
        return True
    return side.depends_on(role)


def _wildcards(document: Any) -> list[str]:
    found = []
    for s in _many(dig(document, "Statement")):
        if dig(s, "Effect") != "Allow":
            continue
        if dig(s, "NotAction") is not None or dig(s, "NotResource") is not None:
            found.append("NotAction/NotResource")
        found += [f"action {a}" for a in _many(dig(s, "Action")) if isinstance(a, str) and "*" in a]
        for r in _many(dig(s, "Resource")):
            if isinstance(r, str) and (r == "*" or ("*" in r and not _object_path(r))):
                found.append(f"resource {r}")
    return found


def _object_path(arn: str) -> bool:
    """``arn:aws:s3:::bucket/prefix/*``: the objects under one named prefix (not a wildcard grant)."""
    if not arn.startswith("arn:aws:s3:::") or not arn.endswith("/*"):
        return False
    parts = arn.removeprefix("arn:aws:s3:::").removesuffix("/*").split("/")
    return len(parts) >= 2 and all(parts) and not any("*" in p for p in parts)


@stack_guard(
    "stack-pod-identity-least-privilege",
    description="Pod Identity roles carry only inline policies without wildcard actions or resources.",
    severity=Severity.HIGH,
    remediation="Build the role's statements with components/aws_pod_identity.py's helpers (named actions on "
    "named ARNs, objects under a named prefix); attach no managed policy.",
    group=GROUP,
)
def pod_identity_least_privilege(
    resources: list[StackResource], cfg: Mapping[str, Any]
) -> Iterable[tuple[str, str | None]]:
    for role in resources:
        if role.type != ROLE or _pod_identity_role(role) is not True:
            continue
        for side in resources:
            if side.type == ROLE_POLICY_ATTACHMENT and _attached(side, role):
                arn = side.props.get("policyArn")
                yield f"Pod Identity role {role.name!r} has the managed policy {arn} attached (not scoped).", side.urn
            if side.type != ROLE_POLICY or not _attached(side, role):
                continue
            policy = side.props.get("policy")
            if is_unknown(policy):
                continue
            try:
                document = json.loads(policy) if isinstance(policy, str) else policy
            except ValueError:
                continue
            found = _wildcards(document)
            if found:
                yield f"Pod Identity role {role.name!r}: wildcards in its policy ({', '.join(found)}).", side.urn


# ------------------------------------------------------------------------------------------------
# SQS (components/aws_queue.py). Stack guards: a queue's TLS policy and redrive-allow policy are resources of
# their own, and whether a queue is a dead-letter queue is said by the other queues' redrive policies.


def _json(value: Any) -> Any:
    """A policy attribute as a document (the provider takes JSON strings); None when absent or not JSON."""
    if value is None or is_unknown(value):
        return value
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _queue_ref(side: StackResource, queue: StackResource) -> bool | None:
    """Whether ``side`` (a QueuePolicy, RedriveAllowPolicy) is about ``queue``: its queueUrl is the queue's URL (or
    id, which is the URL); None when the URL is unknown (a preview) and ``side`` depends on the queue."""
    url = side.props.get("queueUrl")
    own = {v for v in (queue.props.get("url"), queue.props.get("id")) if isinstance(v, str) and not is_unknown(v)}
    if isinstance(url, str) and not is_unknown(url) and own:
        return url in own
    return None if side.depends_on(queue) else False


def _denies_plain_http(document: Any) -> bool:
    """A Deny of every SQS action to everyone when ``aws:SecureTransport`` is false (components/aws_queue.py)."""
    for statement in _many(dig(document, "Statement")):
        if dig(statement, "Effect") != "Deny":
            continue
        principal = dig(statement, "Principal")
        everyone = principal == "*" or "*" in _many(dig(principal, "AWS"))
        actions = {a for a in _many(dig(statement, "Action")) if isinstance(a, str)}
        condition = dig(statement, "Condition", "Bool") or {}
        secure = {str(k).lower(): v for k, v in condition.items()} if isinstance(condition, dict) else {}
        if everyone and actions & {"sqs:*", "*"} and str(secure.get("aws:securetransport", "")).lower() == "false":
            return True
    return False


def _queues(resources: list[StackResource]) -> list[StackResource]:
    return [r for r in resources if r.type == QUEUE]


@stack_guard(
    "aws-sqs-encrypted",
    description="SQS queues encrypt messages at rest (SSE-SQS or a KMS key).",
    severity=Severity.HIGH,
    remediation="Set sqs_managed_sse_enabled=True (AwsQueue does) or kms_master_key_id to a key the producers may "
    "GenerateDataKey and the consumers Decrypt with.",
    group=GROUP,
)
def sqs_encrypted(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    for queue in _queues(resources):
        managed, key = queue.props.get("sqsManagedSseEnabled"), queue.props.get("kmsMasterKeyId")
        if is_unknown(managed) or is_unknown(key):
            continue
        # Unset is judged as off: whether SQS turns SSE-SQS on by itself depends on how the queue was created.
        if truthy(managed) is not True and not key:
            message = (
                f"queue {queue.name!r}: neither sqsManagedSseEnabled nor kmsMasterKeyId: messages sit unencrypted."
            )
            yield message, queue.urn


@stack_guard(
    "aws-sqs-tls-only",
    description="Every SQS queue has a policy that denies requests over plain HTTP (aws:SecureTransport false).",
    severity=Severity.HIGH,
    remediation="Attach a QueuePolicy with a Deny of sqs:* to Principal * under Bool aws:SecureTransport = false "
    "(components/aws_queue.py tls_only_policy). Never condition the Deny on a key requests do not carry.",
    group=GROUP,
)
def sqs_tls_only(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    policies = [r for r in resources if r.type == QUEUE_POLICY]
    for queue in _queues(resources):
        documents = [_json(queue.props.get("policy"))]
        unsure = False
        for side in policies:
            attached = _queue_ref(side, queue)
            if attached is None:
                unsure = True
            if attached is not False:
                documents.append(_json(side.props.get("policy")))
        if any(is_unknown(d) for d in documents):
            continue
        if not any(_denies_plain_http(d) for d in documents if d is not None) and not unsure:
            yield f"queue {queue.name!r}: no policy denies plain-HTTP requests (aws:SecureTransport false).", queue.urn


def _dead_letter_targets(queues: list[StackResource]) -> tuple[set[str], bool]:
    """ARNs other queues' redrive policies send to, and whether any redrive policy is still unknown."""
    targets, unknown = set(), False
    for queue in queues:
        policy = _json(queue.props.get("redrivePolicy"))
        target = dig(policy, "deadLetterTargetArn") if policy else None
        if is_unknown(policy) or is_unknown(target):
            unknown = True
        elif isinstance(target, str):
            targets.add(target)
    return targets, unknown


@stack_guard(
    "aws-sqs-dead-letter",
    description="Every SQS work queue sends messages that keep failing to a dead-letter queue.",
    severity=Severity.MEDIUM,
    remediation="Set redrive_policy with deadLetterTargetArn and maxReceiveCount (AwsQueue: its DLQ, 5 receives); "
    "without one a poison message is received forever and holds a worker (and a GPU node) up.",
    group=GROUP,
)
def sqs_dead_letter(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    queues = _queues(resources)
    targets, unknown_targets = _dead_letter_targets(queues)
    allows = [r for r in resources if r.type == REDRIVE_ALLOW]
    for queue in queues:
        policy = _json(queue.props.get("redrivePolicy"))
        if is_unknown(policy):
            continue
        if policy and dig(policy, "deadLetterTargetArn"):
            continue
        arn = queue.props.get("arn")
        if isinstance(arn, str) and not is_unknown(arn) and arn in targets:
            continue  # a dead-letter queue itself
        allowed = [_queue_ref(side, queue) for side in allows]
        if True in allowed:
            continue  # takes redrives (RedriveAllowPolicy): a dead-letter queue
        if unknown_targets or is_unknown(arn) or None in allowed:
            continue
        yield f"queue {queue.name!r} has no redrivePolicy: failing messages are retried forever.", queue.urn


@resource_guard(
    "aws-cloudwatch-alarm-notifies",
    types=(METRIC_ALARM,),
    description="Every CloudWatch alarm has actions enabled and an alarm action (someone hears of it).",
    severity=Severity.MEDIUM,
    remediation="Give the alarm alarm_actions (the stack's SNS topic, AwsAlarms.topic_arn) and leave actions_enabled "
    "true.",
    group=GROUP,
)
def cloudwatch_alarm_notifies(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    enabled = props.get("actionsEnabled")
    # The provider's default is true: only an explicit false silences the alarm.
    if truthy(enabled) is False:
        yield "actionsEnabled is false: the alarm changes state and tells nobody."
    actions = props.get("alarmActions")
    if not is_unknown(actions) and not as_list(actions):
        yield "no alarmActions: the alarm changes state and tells nobody."


GUARDS = [
    rds_encrypted,
    rds_not_public,
    rds_production_resilience,
    rds_backup_retention,
    rds_managed_password,
    elasticache_encryption,
    elasticache_auth,
    elasticache_multi_az,
    gpu_pool_bounded,
    pod_identity_least_privilege,
    sqs_encrypted,
    sqs_tls_only,
    sqs_dead_letter,
    cloudwatch_alarm_notifies,
]
