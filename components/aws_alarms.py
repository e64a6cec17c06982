"""CloudWatch alarms on the AWS-managed services of the ``target: aws`` tenants, e-mailed through SNS.

The AWS twin of ``CloudAlerts`` (components/cloud_alerts.py), the "second line": the tenants' application
metrics reach the monitoring droplet's Prometheus, but nothing there sees inside RDS, ElastiCache or SQS, and
the droplet itself may be what is down. CloudWatch evaluates these alarms itself and publishes every change of
state (ALARM and back to OK) to one SNS topic per stack, which mails ``observability.alertEmails``.

What is watched, and why (thresholds are the DigitalOcean ``observability.database`` ones where they map):

* **SQS dead-letter queue**: ``ApproximateNumberOfMessagesVisible`` >= 1. A message there is an episode that
  failed ``MAX_RECEIVE_COUNT`` times; nothing else would tell anyone (the DLQ keeps it 14 days).
* **RDS**, on the primary and (production) the read replica: ``CPUUtilization`` above ``cpu_percent``;
  ``FreeStorageSpace`` below ``100 - disk_percent`` percent of the allocated storage (CloudWatch has no
  "used percent" for RDS, so the threshold is computed in bytes from the allocated GiB; storage autoscaling
  raises the allocation only once less than 10% is free, after this alarm); ``ReplicaLag`` on the replica
  above ``replica_lag_seconds`` (seed 004's failover plan promotes the replica: what it lags is what a
  promotion loses); ``DatabaseConnections`` above 80% of the class's ``max_connections`` (below).
* **ElastiCache**, per member node (``CacheClusterId`` is the node's cluster id, ``<group>-001``, read from
  the replication group's ``member_clusters`` output, never guessed): ``DatabaseMemoryUsagePercentage``
  above ``memory_percent``, ``EngineCPUUtilization`` (the single engine thread, which is what saturates)
  above ``cpu_percent``, and ``Evictions`` > 0. The cache runs the default parameter group, whose
  ``maxmemory-policy`` is ``volatile-lru``: only keys with a TTL are evicted, so an eviction means the cache
  is full, entries go before their time, and the next writes of keys without a TTL (locks, job state) fail
  with OOM: work is lost, not just slower.

``treat_missing_data`` is chosen per alarm (``MISSING_DATA``): RDS and ElastiCache report every minute, so
silence on their CPU metric means the instance is down or stopped and is treated as breaching (one liveness
alarm per instance, not one per metric); the DLQ's metric stops when SQS considers the queue inactive (no
traffic for 6 hours), which for a dead-letter queue is the healthy case, so silence is "not breaching".

**Encryption of the topic: a customer-managed KMS key, not ``alias/aws/sns``.** CloudWatch publishes to an
encrypted topic only when it may use the key (``kms:GenerateDataKey*``, ``kms:Decrypt``), and the policy of the
AWS-managed ``alias/aws/sns`` key cannot be edited to admit ``cloudwatch.amazonaws.com``: alarms on a topic
encrypted with it fail to publish, silently. So the topic gets a key of ours ($1/month) whose key policy
admits CloudWatch besides the account. The topic policy lets only CloudWatch alarms of this account publish
(``aws:SourceAccount``, ``aws:SourceArn``) and denies every request over plain HTTP (``Bool
aws:SecureTransport false``: a key that is absent does not match ``Bool``, so the Deny cannot catch a request
that omits it - the last round's lesson; tests/test_aws_alarms.py has the IAM evaluator check both ways).

**E-mail subscriptions stay "pending confirmation"** until each recipient clicks the link AWS mails them;
Pulumi cannot confirm them (``endpoint_auto_confirms`` is for HTTP endpoints). Until then nothing is delivered
to that address (docs/eks.md, "Alarms on the AWS data services").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .aws_kms import customer_key
from .cloud_alerts import AlertThresholds

PERIOD_SECONDS = 300
"""Every alarm averages five-minute periods; the config's window is a whole number of them."""
WINDOW_PERIODS: Mapping[str, int] = {"5m": 1, "10m": 2, "30m": 6, "1h": 12}
"""``observability.window`` (DigitalOcean's averaging window) as a count of 5-minute periods."""
REPLICA_LAG_SECONDS = 300
"""Default lag alarm: seed 004's RPO is 1 h; 5 minutes of lag is already worth a look, long before the RPO."""
CONNECTIONS_PERCENT = 80
POSTGRES_MEMORY_PER_CONNECTION = 9531392
"""RDS for PostgreSQL's default ``max_connections`` is ``LEAST(DBInstanceClassMemory/9531392, 5000)``."""
RDS_CLASS_MEMORY_GIB: Mapping[str, int] = {
    "db.t4g.micro": 1,
    "db.t4g.small": 2,
    "db.t4g.medium": 4,
    "db.t4g.large": 8,
    "db.m7g.large": 8,
}
"""Memory of the classes the estimator prices (costing/prices.py). ``DBInstanceClassMemory`` is this less what
the OS and RDS's processes reserve, so the real ``max_connections`` is somewhat lower than the formula on the
nominal memory: the alarm errs late, not noisy. A class not listed gets no connections alarm (and a warning)."""
MISSING_DATA: Mapping[str, str] = {
    "dlq": "notBreaching",
    "cpu": "breaching",
    "storage": "missing",
    "connections": "missing",
    "replica-lag": "breaching",
    "memory": "missing",
    "engine-cpu": "breaching",
    "evictions": "notBreaching",
}
"""``treat_missing_data`` by alarm kind (module docstring). ``replica-lag`` is breaching: a replica that reports
no lag is one that does not replicate, and the failover plan rests on it."""


@dataclass(frozen=True)
class DatabaseTarget:
    """One tenant's RDS instances, as the alarms need them."""

    primary_id: pulumi.Input[str]
    """``DBInstanceIdentifier`` of the primary."""
    instance_class: str
    allocated_storage_gib: int
    replica_id: pulumi.Input[str] | None = None
    """``DBInstanceIdentifier`` of the read replica. Default: none (no replica, no lag alarm)."""


@dataclass(frozen=True)
class TenantAlarmTargets:
    """What an ``AwsTenant`` exposes for its alarms (``AwsTenant.alarm_targets``)."""

    tenant: str
    database: DatabaseTarget | None = None
    """Default: no database alarms."""
    cache_nodes: Sequence[pulumi.Input[str]] = ()
    """``CacheClusterId`` of every member node of the replication group. Default: no cache alarms."""
    dead_letter_queues: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """SQS ``QueueName`` of each dead-letter queue by catalog queue name. Default: none."""


@dataclass(frozen=True)
class AwsAlarmsArgs:
    name_prefix: str
    """Prefix of every alarm name and of the topic, e.g. ``niche-discovery-production``."""
    tenants: Sequence[TenantAlarmTargets]
    thresholds: AlertThresholds
    """``observability.database``: CPU, memory and disk percentages."""
    window: str
    """``observability.window``: 5m, 10m, 30m or 1h."""
    emails: Sequence[str] = ()
    """Addresses subscribed to the topic. Default: none (the alarms change state, nobody is mailed; warned)."""
    replica_lag_seconds: int = REPLICA_LAG_SECONDS
    """Default: 300 (``REPLICA_LAG_SECONDS``)."""
    protect: bool = False
    """Protect the topic's key (deleting it makes the topic undeliverable). Default: false."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags. Default: none (the provider's default tags apply)."""


@dataclass(frozen=True)
class AlarmSpec:
    """One CloudWatch metric alarm, provider-free (what the intent tests read)."""

    key: str
    """Stable child-name suffix, e.g. ``podcast-pg-primary-cpu``."""
    kind: str
    """A ``MISSING_DATA`` key."""
    description: str
    namespace: str
    metric: str
    dimensions: Mapping[str, pulumi.Input[str]]
    statistic: str
    comparison: str
    threshold: float
    evaluation_periods: int


def max_connections(instance_class: str) -> int | None:
    """RDS PostgreSQL's default ``max_connections`` on the class's nominal memory (None: class not known)."""
    gib = RDS_CLASS_MEMORY_GIB.get(instance_class)
    if gib is None:
        return None
    return min(gib * 1024**3 // POSTGRES_MEMORY_PER_CONNECTION, 5000)


def free_storage_threshold_bytes(allocated_gib: int, disk_percent: int) -> float:
    """Free bytes below which the disk is more than ``disk_percent`` used."""
    return float(allocated_gib * 1024**3 * (100 - disk_percent) // 100)


def alarm_specs(args: AwsAlarmsArgs) -> list[AlarmSpec]:
    """Every alarm of the stack, in a stable order (raises on an unknown window or duplicate tenant)."""
    if args.window not in WINDOW_PERIODS:
        raise ValueError(f"window {args.window!r} is not one of {sorted(WINDOW_PERIODS)} (observability.window)")
    names = [t.tenant for t in args.tenants]
    if len(set(names)) != len(names):
        raise ValueError(f"tenants {names} repeat a name: alarm names would collide")
    periods, t = WINDOW_PERIODS[args.window], args.thresholds
    specs: list[AlarmSpec] = []
    for target in sorted(args.tenants, key=lambda x: x.tenant):
        tenant = target.tenant
        for queue, dlq in sorted(target.dead_letter_queues.items()):
            specs.append(
                AlarmSpec(
                    f"{tenant}-{queue}-dlq",
                    "dlq",
                    f"{tenant}: a message is in the dead-letter queue of {queue} (a job failed "
                    "5 times; inspect and redrive it)",
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    {"QueueName": dlq},
                    "Maximum",
                    "GreaterThanOrEqualToThreshold",
                    1,
                    1,
                )
            )
        if target.database is not None:
            specs += _database_specs(tenant, target.database, t, periods, args.replica_lag_seconds)
        for index, node in enumerate(target.cache_nodes, start=1):
            specs += _cache_specs(f"{tenant}-cache-{index}", tenant, node, t, periods)
    return specs


def _database_specs(
    tenant: str, db: DatabaseTarget, t: AlertThresholds, periods: int, lag_seconds: int
) -> list[AlarmSpec]:
    specs: list[AlarmSpec] = []
    instances = [("primary", db.primary_id)] + ([("replica", db.replica_id)] if db.replica_id is not None else [])
    connections = max_connections(db.instance_class)
    for role, instance in instances:
        key, dims = f"{tenant}-pg-{role}", {"DBInstanceIdentifier": instance}
        specs.append(
            AlarmSpec(
                f"{key}-cpu",
                "cpu",
                f"{tenant}: PostgreSQL {role} CPU above {t.cpu_percent}%",
                "AWS/RDS",
                "CPUUtilization",
                dims,
                "Average",
                "GreaterThanThreshold",
                t.cpu_percent,
                periods,
            )
        )
        specs.append(
            AlarmSpec(
                f"{key}-storage",
                "storage",
                f"{tenant}: PostgreSQL {role} disk more than {t.disk_percent}% used "
                f"(of {db.allocated_storage_gib} GiB allocated)",
                "AWS/RDS",
                "FreeStorageSpace",
                dims,
                "Minimum",
                "LessThanThreshold",
                free_storage_threshold_bytes(db.allocated_storage_gib, t.disk_percent),
                periods,
            )
        )
        if connections is not None:
            limit = connections * CONNECTIONS_PERCENT // 100
            specs.append(
                AlarmSpec(
                    f"{key}-connections",
                    "connections",
                    f"{tenant}: PostgreSQL {role} above {limit} connections ({CONNECTIONS_PERCENT}% of "
                    f"{db.instance_class}'s max_connections, about {connections})",
                    "AWS/RDS",
                    "DatabaseConnections",
                    dims,
                    "Maximum",
                    "GreaterThanThreshold",
                    limit,
                    periods,
                )
            )
        if role == "replica":
            specs.append(
                AlarmSpec(
                    f"{key}-lag",
                    "replica-lag",
                    f"{tenant}: PostgreSQL replica more than {lag_seconds} s behind (a promotion loses that much)",
                    "AWS/RDS",
                    "ReplicaLag",
                    dims,
                    "Maximum",
                    "GreaterThanThreshold",
                    lag_seconds,
                    periods,
                )
            )
    return specs


def _cache_specs(key: str, tenant: str, node: pulumi.Input[str], t: AlertThresholds, periods: int) -> list[AlarmSpec]:
    dims = {"CacheClusterId": node}
    label = f"{tenant}: Valkey node {key.rsplit('-', 1)[-1]}"
    return [
        AlarmSpec(
            f"{key}-memory",
            "memory",
            f"{label} memory above {t.memory_percent}%",
            "AWS/ElastiCache",
            "DatabaseMemoryUsagePercentage",
            dims,
            "Average",
            "GreaterThanThreshold",
            t.memory_percent,
            periods,
        ),
        AlarmSpec(
            f"{key}-engine-cpu",
            "engine-cpu",
            f"{label} engine CPU above {t.cpu_percent}%",
            "AWS/ElastiCache",
            "EngineCPUUtilization",
            dims,
            "Average",
            "GreaterThanThreshold",
            t.cpu_percent,
            periods,
        ),
        AlarmSpec(
            f"{key}-evictions",
            "evictions",
            f"{label} evicted keys (full: volatile-lru drops TTL keys, then writes fail)",
            "AWS/ElastiCache",
            "Evictions",
            dims,
            "Sum",
            "GreaterThanThreshold",
            0,
            1,
        ),
    ]


def account_of(arn: str) -> str:
    """The account id field of an ARN (``arn:aws:sns:us-east-1:123456789012:name``)."""
    parts = arn.split(":")
    if len(parts) < 6 or not parts[4].isdigit():
        raise ValueError(f"{arn!r} is not an ARN with an account id")
    return parts[4]


def topic_policy(topic_arn: str) -> dict[str, Any]:
    """CloudWatch alarms of this account may publish; nothing may use the topic over plain HTTP."""
    account, region = account_of(topic_arn), topic_arn.split(":")[3]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CloudWatchAlarmsOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{region}:{account}:alarm:*"},
                },
            },
            {
                # Bool on a key the request lacks does not match: this denies plain HTTP, never everything.
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:*",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def key_policy(key_arn: str) -> dict[str, Any]:
    """The account administers the key (AWS's default); CloudWatch may encrypt to the topic with it."""
    account = account_of(key_arn)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EnableIamPolicies",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchPublishesToTheTopic",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            },
        ],
    }


class AwsAlarms(pulumi.ComponentResource):
    """One encrypted SNS topic, its e-mail subscriptions, and the CloudWatch alarms (module docstring)."""

    topic_arn: pulumi.Output[str]
    """The topic every alarm notifies (ALARM and OK)."""
    alarm_names: list[pulumi.Output[str]]
    """Every alarm's name, in ``alarm_specs`` order."""

    def __init__(self, name: str, args: AwsAlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        specs = alarm_specs(args)
        super().__init__("platform:aws:Alarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        key = customer_key(
            f"{name}-topic-key",
            f"SNS alarm topic of {args.name_prefix} (CloudWatch may use it)",
            pulumi.ResourceOptions(parent=self, protect=args.protect),
            tags=tags,
        )
        aws.kms.KeyPolicy(
            f"{name}-topic-key-policy",
            key_id=key.id,
            policy=key.arn.apply(lambda arn: json.dumps(key_policy(arn))),
            opts=child,
        )
        topic = aws.sns.Topic(
            f"{name}-topic",
            name=f"{args.name_prefix}-aws-alarms",
            display_name=f"{args.name_prefix} AWS alarms"[:100],
            kms_master_key_id=key.arn,
            tags=tags,
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=topic.arn,
            policy=topic.arn.apply(lambda arn: json.dumps(topic_policy(arn))),
            opts=child,
        )
        for email in sorted(args.emails):
            # Pending until the recipient clicks AWS's confirmation link: nothing reaches them before.
            aws.sns.TopicSubscription(
                f"{name}-email-{email}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )
        if not args.emails:
            pulumi.log.warn(
                f"{name}: no alert e-mails configured: the AWS alarms change state but notify nobody "
                "(set observability.alertEmails)",
                resource=self,
            )
        for tenant in args.tenants:
            if tenant.database is not None and max_connections(tenant.database.instance_class) is None:
                pulumi.log.warn(
                    f"{name}: {tenant.tenant}: no connections alarm: max_connections of "
                    f"{tenant.database.instance_class} is not known (add it to RDS_CLASS_MEMORY_GIB)",
                    resource=self,
                )

        self.alarm_names = []
        for spec in specs:
            alarm = aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.key}",
                name=f"{args.name_prefix}-{spec.key}",
                alarm_description=spec.description,
                namespace=spec.namespace,
                metric_name=spec.metric,
                dimensions=dict(spec.dimensions),
                statistic=spec.statistic,
                comparison_operator=spec.comparison,
                threshold=spec.threshold,
                period=PERIOD_SECONDS,
                evaluation_periods=spec.evaluation_periods,
                datapoints_to_alarm=spec.evaluation_periods,
                treat_missing_data=MISSING_DATA[spec.kind],
                actions_enabled=True,
                alarm_actions=[topic.arn],
                ok_actions=[topic.arn],
                tags=tags,
                opts=child,
            )
            self.alarm_names.append(alarm.name)

        self.topic_arn = topic.arn
        self.register_outputs({"topic_arn": self.topic_arn, "alarm_names": self.alarm_names})
