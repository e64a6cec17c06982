"""CloudWatch alarms and their SNS topic on the AWS tenants' data services (components/aws_alarms.py).

Judges: the whole program under mocks on ``production_aws`` (tests/conftest.py: seed 004 on EKS) for what is
registered and that every dimension is a value the data services really output; the IAM evaluator
(tests/iam_simulator.py, @cloud-copilot/iam-simulate) for the topic policy; checkov (terraform framework,
CKV_AWS_26) for the topic's encryption; the cost estimator for "nothing unpriced".
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.aws_alarms import (
    MISSING_DATA,
    AwsAlarmsArgs,
    DatabaseTarget,
    TenantAlarmTargets,
    alarm_specs,
    free_storage_threshold_bytes,
    key_policy,
    max_connections,
    topic_policy,
)
from components.cloud_alerts import AlertThresholds
from costing import estimate
from costing.evaluate import items_of
from tests.conftest import AWS_TENANT_ENABLED
from tests.harness import ROOT, Resource, StackRun, run_main
from tests.iam_simulator import ACCOUNT, ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, Case, evaluate, node_ready, table
from tests.policy_adapter import mutate, violations
from tests.test_k8s_manifests import _checkov

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
KEY = "aws:kms/key:Key"
RDS = "aws:rds/instance:Instance"
RG = "aws:elasticache/replicationGroup:ReplicationGroup"
QUEUE = "aws:sqs/queue:Queue"
COMPONENT = "platform:aws:Alarms"
TENANT = "podcast-summariser"
GIB = 1024**3
DEFAULTS = AlertThresholds(cpu_percent=85, memory_percent=90, disk_percent=85)
"""``observability.database``'s defaults (stack_config/observability.py), which production keeps."""


def _mine(run: StackRun, type_token: str) -> list[Resource]:
    component = run.one(COMPONENT)
    return [r for r in run.of_type(type_token) if run.is_descendant(r, component.urn)]


def _alarms(run: StackRun) -> dict[str, Resource]:
    """Alarms by the suffix after ``<prefix>-<tenant>-`` (``pg-primary-cpu``, ``cache-1-memory``...)."""
    return {r.inputs["name"].split(f"-{TENANT}-", 1)[1]: r for r in _mine(run, ALARM)}


# --------------------------------------------------------------------------------------------------
# The whole program: which alarms, on which metric and dimension, at which threshold


def test_production_watches_the_dlq_both_database_instances_and_both_cache_nodes(production_aws: StackRun) -> None:
    assert sorted(_alarms(production_aws)) == sorted(
        [
            "episodes-dlq",
            *(f"pg-{role}-{m}" for role in ("primary", "replica") for m in ("cpu", "storage", "connections")),
            "pg-replica-lag",
            *(f"cache-{n}-{m}" for n in (1, 2) for m in ("memory", "engine-cpu", "evictions")),
        ]
    )


@pytest.mark.parametrize(
    ("key", "namespace", "metric", "statistic", "comparison", "threshold"),
    [
        (
            "episodes-dlq",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "Maximum",
            "GreaterThanOrEqualToThreshold",
            1,
        ),
        ("pg-primary-cpu", "AWS/RDS", "CPUUtilization", "Average", "GreaterThanThreshold", 85),
        ("pg-primary-storage", "AWS/RDS", "FreeStorageSpace", "Minimum", "LessThanThreshold", 20 * GIB * 15 // 100),
        ("pg-primary-connections", "AWS/RDS", "DatabaseConnections", "Maximum", "GreaterThanThreshold", 360),
        ("pg-replica-lag", "AWS/RDS", "ReplicaLag", "Maximum", "GreaterThanThreshold", 300),
        ("cache-1-memory", "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "Average", "GreaterThanThreshold", 90),
        ("cache-2-engine-cpu", "AWS/ElastiCache", "EngineCPUUtilization", "Average", "GreaterThanThreshold", 85),
        ("cache-1-evictions", "AWS/ElastiCache", "Evictions", "Sum", "GreaterThanThreshold", 0),
    ],
)
def test_each_alarm_watches_its_metric_at_the_configured_threshold(  # noqa: PLR0917 - one table row
    production_aws: StackRun, key: str, namespace: str, metric: str, statistic: str, comparison: str, threshold: float
) -> None:
    inputs = _alarms(production_aws)[key].inputs
    assert (inputs["namespace"], inputs["metricName"], inputs["statistic"]) == (namespace, metric, statistic)
    assert (inputs["comparisonOperator"], inputs["threshold"]) == (comparison, threshold)
    assert inputs["period"] == 300


def test_the_dimensions_are_the_ids_the_data_services_really_have(production_aws: StackRun) -> None:
    """Not a guessed name: the RDS identifiers, the replication group's member clusters, the DLQ's name."""
    alarms = _alarms(production_aws)
    instances = {r.name.rsplit("-", 1)[1]: r.outputs["identifier"] for r in production_aws.of_type(RDS)}
    (group,) = production_aws.of_type(RG)
    (dlq,) = [q for q in production_aws.of_type(QUEUE) if q.inputs["tags"]["queue-role"] == "dead-letter"]
    for key, alarm in alarms.items():
        dimensions = alarm.inputs["dimensions"]
        if key.startswith("pg-"):
            assert dimensions == {"DBInstanceIdentifier": instances[key.split("-")[1]]}
        elif key.startswith("cache-"):
            node = int(key.split("-")[1])
            assert dimensions == {"CacheClusterId": sorted(group.outputs["memberClusters"])[node - 1]}
        else:
            assert dimensions == {"QueueName": dlq.outputs["name"]}
    assert instances["primary"] != instances["replica"]


def test_staging_has_no_replica_so_no_replica_alarms_and_preview_registers_the_same() -> None:
    """Staging (no replica) up and preview: the same alarms, dimensions unknown at preview, nothing fails."""
    up, preview = (run_main("staging", preview=p, overrides=AWS_TENANT_ENABLED) for p in (False, True))
    assert sorted(_alarms(up)) == sorted(_alarms(preview))
    assert not [k for k in _alarms(up) if "replica" in k]
    assert len(_alarms(up)) == 10


def test_every_alarm_notifies_the_topic_on_alarm_and_on_ok(production_aws: StackRun) -> None:
    (topic,) = _mine(production_aws, TOPIC)
    for alarm in _alarms(production_aws).values():
        assert alarm.inputs["actionsEnabled"] is True
        assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]]
        assert alarm.inputs["okActions"] == [topic.outputs["arn"]]


def test_missing_data_is_breaching_only_where_silence_means_down(production_aws: StackRun) -> None:
    wanted = {
        "episodes-dlq": "notBreaching",
        "pg-primary-cpu": "breaching",
        "pg-primary-storage": "missing",
        "pg-replica-lag": "breaching",
        "cache-1-engine-cpu": "breaching",
        "cache-1-evictions": "notBreaching",
        "cache-2-memory": "missing",
    }
    alarms = _alarms(production_aws)
    assert {k: alarms[k].inputs["treatMissingData"] for k in wanted} == wanted
    assert set(MISSING_DATA.values()) <= {"breaching", "notBreaching", "missing", "ignore"}


def test_the_window_is_the_digitalocean_alerts_window_in_five_minute_periods(production_aws: StackRun) -> None:
    alarms = _alarms(production_aws)
    # observability.window defaults to 10m: two 5-minute periods, all of them breaching.
    assert (
        alarms["pg-primary-cpu"].inputs["evaluationPeriods"],
        alarms["pg-primary-cpu"].inputs["datapointsToAlarm"],
    ) == (2, 2)
    # A message in the DLQ or one eviction is news at once.
    assert alarms["episodes-dlq"].inputs["evaluationPeriods"] == 1
    assert alarms["cache-1-evictions"].inputs["evaluationPeriods"] == 1


def test_the_topic_is_encrypted_with_a_key_cloudwatch_may_use(production_aws: StackRun) -> None:
    (topic,) = _mine(production_aws, TOPIC)
    (key,) = _mine(production_aws, KEY)
    (policy,) = _mine(production_aws, KEY_POLICY)
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    assert key.inputs["enableKeyRotation"] is True
    assert key.protect, "production protects the topic's key"
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["CloudWatchPublishesToTheTopic"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statements["EnableIamPolicies"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


def test_each_alert_email_is_subscribed_by_email(production_aws: StackRun) -> None:
    (topic,) = _mine(production_aws, TOPIC)
    subscriptions = _mine(production_aws, SUBSCRIPTION)
    assert [(s.inputs["protocol"], s.inputs["endpoint"]) for s in subscriptions] == [
        ("email", "ops@nichediscovery.com")
    ]
    assert subscriptions[0].inputs["topic"] == topic.outputs["arn"]


def test_nothing_of_the_alarms_is_unpriced(production_aws: StackRun, record_property: Any) -> None:
    component = production_aws.one(COMPONENT)
    urns = {r.urn for r in production_aws.resources if production_aws.is_descendant(r, component.urn)}
    result = estimate(items_of(production_aws))
    assert [line for line in result.unpriced if line.urn in urns] == []
    mine = [line for line in result.priced if line.urn in urns]
    alarms = [line for line in mine if line.kind == "CloudWatch alarm"]
    assert len(alarms) == 14
    total = sum(line.min_usd or 0 for line in mine)
    assert total == pytest.approx(14 * 0.10 + 1.0, abs=0.01)
    record_property("report", f"aws-alarms cost production: {len(alarms)} alarms + topic key ${total:,.2f}/month")


# --------------------------------------------------------------------------------------------------
# Pure rules


def _args(**extra: Any) -> AwsAlarmsArgs:
    db = DatabaseTarget(primary_id="db-1", instance_class="db.t4g.medium", allocated_storage_gib=20)
    fields: dict[str, Any] = {
        "name_prefix": "p",
        "tenants": [TenantAlarmTargets(tenant="t", database=db, cache_nodes=["c-001"])],
        "thresholds": DEFAULTS,
        "window": "10m",
    } | extra
    return AwsAlarmsArgs(**fields)


def test_max_connections_follows_rds_postgres_default_formula() -> None:
    # LEAST(DBInstanceClassMemory/9531392, 5000) on the nominal memory.
    assert max_connections("db.t4g.micro") == 112
    assert max_connections("db.t4g.medium") == 450
    assert max_connections("db.x9.huge") is None


def test_a_class_without_a_known_memory_gets_no_connections_alarm() -> None:
    db = DatabaseTarget(primary_id="db-1", instance_class="db.r9.weird", allocated_storage_gib=20)
    specs = alarm_specs(_args(tenants=[TenantAlarmTargets(tenant="t", database=db)]))
    assert sorted(s.key for s in specs) == ["t-pg-primary-cpu", "t-pg-primary-storage"]


def test_free_storage_threshold_is_relative_to_the_allocation() -> None:
    assert free_storage_threshold_bytes(100, 85) == 15 * GIB
    assert free_storage_threshold_bytes(20, 90) == 2 * GIB


def test_no_replica_means_no_lag_alarm() -> None:
    assert not [s for s in alarm_specs(_args()) if s.metric == "ReplicaLag"]


def test_an_unknown_window_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"window '2m' is not one of \['10m', '1h', '30m', '5m'\]"):
        alarm_specs(_args(window="2m"))


def test_two_tenants_of_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="repeat a name"):
        alarm_specs(_args(tenants=[TenantAlarmTargets(tenant="t"), TenantAlarmTargets(tenant="t")]))


def test_a_one_hour_window_is_twelve_periods() -> None:
    (cpu,) = [s for s in alarm_specs(_args(window="1h")) if s.key == "t-pg-primary-cpu"]
    assert cpu.evaluation_periods == 12


# --------------------------------------------------------------------------------------------------
# Judges outside the program: the IAM evaluator and checkov

TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:niche-discovery-production-aws-alarms"
OTHER_ACCOUNT = "210987654321"
CLOUDWATCH = "cloudwatch.amazonaws.com"


def _publish(name: str, policy: dict[str, Any], account: str, secure: str, want: str) -> Case:
    context = {
        "aws:SecureTransport": secure,
        "aws:SourceAccount": account,
        "aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{account}:alarm:episodes-dlq",
    }
    return Case(name, "sns:Publish", TOPIC_ARN, CLOUDWATCH, ACCOUNT, {}, policy, context, want)


@pytest.mark.skipif(node_ready() is not None, reason=str(node_ready()))
def test_only_cloudwatch_of_this_account_may_publish_and_only_over_tls(
    production_aws: StackRun, record_property: Any
) -> None:
    (registered,) = _mine(production_aws, TOPIC_POLICY)
    policy = json.loads(registered.inputs["policy"])
    assert policy == topic_policy(registered.inputs["arn"])
    policy = topic_policy(TOPIC_ARN)
    decisions = evaluate(
        [
            _publish("an alarm of this account publishes", policy, ACCOUNT, "true", ALLOWED),
            _publish("an alarm of another account cannot", policy, OTHER_ACCOUNT, "true", IMPLICIT_DENY),
            _publish("plain HTTP is denied", policy, ACCOUNT, "false", EXPLICIT_DENY),
        ]
    )
    for line in table("sns", decisions):
        record_property("report", line)
    wrong = [d for d in decisions if not d.as_expected]
    assert not wrong, "\n".join(table("sns", wrong))
    for key in ("aws:securetransport", "aws:sourceaccount", "aws:sourcearn"):
        assert not any(key in (k.lower() for k in d.ignored_context_keys) for d in decisions)


@pytest.mark.skipif(node_ready() is not None, reason=str(node_ready()))
def test_our_tls_deny_spares_a_request_without_the_key_where_an_ifexists_deny_would_not() -> None:
    """The last round's lesson: a Deny on a key the request lacks must not catch every request."""
    ours = topic_policy(TOPIC_ARN)
    trap = copy.deepcopy(ours)
    trap["Statement"][1]["Condition"] = {"StringNotEqualsIfExists": {"sns:Protocol": "email"}}
    context = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:x"}
    cases = [
        Case(name, "sns:Publish", TOPIC_ARN, CLOUDWATCH, ACCOUNT, {}, policy, context, want)
        for name, policy, want in (("ours", ours, ALLOWED), ("trap", trap, EXPLICIT_DENY))
    ]
    decisions = evaluate(cases)
    assert [d.decision for d in decisions] == [ALLOWED, EXPLICIT_DENY], table("sns-trap", decisions)


def _hcl(value: Any) -> str:
    return json.dumps(value)


def _terraform(topics: dict[str, dict[str, Any]]) -> str:
    """The registered topics as Terraform (the same provider schema: pulumi-aws bridges it), for checkov."""
    blocks = []
    for name, inputs in topics.items():
        body = [f"  name = {_hcl(inputs['name'])}"]
        if inputs.get("kmsMasterKeyId"):
            body.append(f"  kms_master_key_id = {_hcl(inputs['kmsMasterKeyId'])}")
        blocks.append(f'resource "aws_sns_topic" "{name}" {{\n' + "\n".join(body) + "\n}\n")
    return "\n".join(blocks)


def _checkov_on(directory: Path) -> dict[str, set[str]]:
    result = subprocess.run(
        [
            _checkov(),
            "--framework",
            "terraform",
            "--check",
            "CKV_AWS_26",
            "--directory",
            str(directory),
            "--output",
            "json",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    results = json.loads(result.stdout)["results"]
    return {outcome: {c["resource"] for c in results[f"{outcome}_checks"]} for outcome in ("passed", "failed")}


@pytest.mark.tools
def test_checkov_finds_the_alarm_topic_encrypted(production_aws: StackRun, tmp_path: Path) -> None:
    (topic,) = _mine(production_aws, TOPIC)
    unencrypted = {**topic.inputs, "kmsMasterKeyId": None}
    (tmp_path / "main.tf").write_text(_terraform({"alarms": topic.inputs, "control": unencrypted}))
    found = _checkov_on(tmp_path)
    # The control proves checkov judged the attribute, not merely parsed nothing.
    assert found == {"passed": {"aws_sns_topic.alarms"}, "failed": {"aws_sns_topic.control"}}


def test_the_key_policy_keeps_the_account_in_control() -> None:
    """Without the root statement a key policy locks the account out (KMS refuses it, or worse accepts it)."""
    statements = key_policy(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abc")["Statement"]
    assert statements[0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert statements[0]["Action"] == "kms:*"


# --------------------------------------------------------------------------------------------------
# The guard: every CloudWatch alarm of the stack tells someone (policies/guards/aws_data.py)

GUARD = "aws-cloudwatch-alarm-notifies"


def test_the_guard_passes_every_alarm_of_the_stack(production_aws: StackRun) -> None:
    assert {
        key: violations(GUARD, alarm) for key, alarm in _alarms(production_aws).items() if violations(GUARD, alarm)
    } == {}


def test_the_guard_fires_on_an_alarm_without_an_alarm_action(production_aws: StackRun) -> None:
    alarm = _alarms(production_aws)["episodes-dlq"]
    silent = mutate(alarm, inputs={k: v for k, v in alarm.inputs.items() if k != "alarmActions"})
    assert violations(GUARD, silent) == ["no alarmActions: the alarm changes state and tells nobody."]


def test_the_guard_fires_on_an_alarm_with_its_actions_disabled(production_aws: StackRun) -> None:
    alarm = _alarms(production_aws)["pg-replica-lag"]
    disabled = mutate(alarm, inputs={**alarm.inputs, "actionsEnabled": False})
    assert violations(GUARD, disabled) == ["actionsEnabled is false: the alarm changes state and tells nobody."]
