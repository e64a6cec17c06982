"""The pricing rules on hand-made inventories, and the estimate of the committed stacks as a whole."""

from __future__ import annotations

import json
from typing import Any

import pytest

from costing import PRICES, Item, estimate
from costing.estimate import Estimate, Line, _runs_per_day, storage_days
from costing.evaluate import items_of
from costing.report import as_json, comparison, table
from tests.harness import StackRun

STACK = "urn:pulumi:production::platform"
UNKNOWN_NUMBER = "3eeb2bf0-c639-47a8-9e75-3b44932eb421"
"""What a number unknown at preview looks like to a policy (pulumi_policy.proxy)."""


def item(type_token: str, name: str, props: dict[str, Any], dependencies: tuple[str, ...] = ()) -> Item:
    return Item(type_token, name, f"{STACK}::{type_token}::{name}", props, dependencies)


def only(result: Estimate, kind: str) -> Line:
    (line,) = [line for line in result.lines if line.kind == kind]
    return line


def price(key: str) -> float:
    return PRICES[key].usd


# --- DigitalOcean ------------------------------------------------------------------------------


def test_an_autoscaling_pool_is_priced_at_its_min_and_max_nodes() -> None:
    pool = item(
        "digitalocean:index/kubernetesNodePool:KubernetesNodePool",
        "general",
        {"size": "s-2vcpu-4gb", "autoScale": True, "minNodes": 2.0, "maxNodes": 5.0},
    )
    line = only(estimate([pool]), "DOKS node pool")
    assert (line.count, line.min_usd, line.max_usd) == ("2-5", 48.0, 120.0)
    assert line.price_keys == ("do.droplet.s-2vcpu-4gb",) and line.confidence == "likely"


def test_a_fixed_pool_is_priced_at_its_node_count() -> None:
    pool = item(
        "digitalocean:index/kubernetesNodePool:KubernetesNodePool",
        "fixed",
        {"size": "s-4vcpu-8gb", "autoScale": False, "nodeCount": 3.0},
    )
    line = only(estimate([pool]), "DOKS node pool")
    assert (line.count, line.min_usd, line.max_usd) == ("3", 144.0, 144.0)


def test_the_ha_control_plane_and_the_embedded_pool_are_priced() -> None:
    cluster = item(
        "digitalocean:index/kubernetesCluster:KubernetesCluster",
        "cluster",
        {"ha": True, "nodePool": {"name": "system", "size": "s-2vcpu-4gb", "nodeCount": 2.0}},
    )
    result = estimate([cluster])
    assert only(result, "DOKS control plane").max_usd == 40.0
    assert only(result, "DOKS node pool").max_usd == 48.0
    assert result.max_total == 88.0


def test_the_control_plane_without_ha_is_free_and_says_so() -> None:
    cluster = item("digitalocean:index/kubernetesCluster:KubernetesCluster", "c", {"ha": False})
    line = only(estimate([cluster]), "DOKS control plane")
    assert (line.status, line.max_usd, line.confidence) == ("priced", 0.0, "confirmed")


def test_a_database_with_a_standby_is_priced_per_node() -> None:
    db = item(
        "digitalocean:index/databaseCluster:DatabaseCluster",
        "pg",
        {"engine": "pg", "size": "db-s-2vcpu-4gb", "nodeCount": 2.0},
    )
    line = only(estimate([db]), "PostgreSQL")
    assert (line.min_usd, line.max_usd) == (2 * price("do.db.db-s-2vcpu-4gb"),) * 2 == (120.0, 120.0)
    assert "standby" in line.note


def test_a_valkey_pair_is_two_nodes_of_its_plan() -> None:
    cache = item(
        "digitalocean:index/databaseCluster:DatabaseCluster",
        "valkey",
        {"engine": "valkey", "size": "db-s-1vcpu-2gb", "nodeCount": 2.0},
    )
    line = only(estimate([cache]), "Valkey")
    assert (line.count, line.max_usd) == ("2", 60.0)


def test_a_load_balancer_asked_for_by_helm_values_is_priced_per_size_unit() -> None:
    release = item(
        "kubernetes:helm.sh/v3:Release",
        "ingress-nginx",
        {
            "values": {
                "controller": {
                    "service": {
                        "type": "LoadBalancer",
                        "annotations": {
                            "service.beta.kubernetes.io/do-loadbalancer-name": "edge-lb",
                            "service.beta.kubernetes.io/do-loadbalancer-size-unit": "2",
                        },
                    }
                }
            }
        },
    )
    line = only(estimate([release]), "load balancer")
    assert (line.resource, line.unit, line.max_usd) == ("edge-lb", "2 size unit(s)", 24.0)


def test_a_load_balancer_service_is_priced_and_a_cluster_ip_service_is_free() -> None:
    def service(kind: str, units: str) -> Item:
        return item(
            "kubernetes:core/v1:Service",
            f"svc-{kind}",
            {
                "metadata": {"annotations": {"service.beta.kubernetes.io/do-loadbalancer-size-unit": units}},
                "spec": {"type": kind},
            },
        )

    result = estimate([service("LoadBalancer", "2"), service("ClusterIP", "1")])
    assert only(result, "load balancer").max_usd == 24.0
    assert only(result, "Service").status == "free"


def test_a_droplet_with_backups_pays_a_share_for_them() -> None:
    droplet = item("digitalocean:index/droplet:Droplet", "mon", {"size": "s-2vcpu-4gb", "backups": True})
    result = estimate([droplet])
    assert only(result, "droplet").max_usd == 24.0
    assert only(result, "droplet backups").max_usd == pytest.approx(24.0 * price("do.droplet.backups-weekly"))


def test_a_volume_is_priced_per_gib() -> None:
    volume = item("digitalocean:index/volume:Volume", "data", {"size": 50.0})
    assert only(estimate([volume]), "volume").max_usd == 5.0


def test_a_value_unknown_at_preview_is_unpriced_not_zero() -> None:
    pool = item(
        "digitalocean:index/kubernetesNodePool:KubernetesNodePool",
        "general",
        {"size": "s-2vcpu-4gb", "autoScale": True, "minNodes": UNKNOWN_NUMBER, "maxNodes": 5.0},
    )
    result = estimate([pool])
    line = only(result, "DOKS node pool")
    assert line.status == "unpriced" and line.max_usd is None
    assert result.unpriced == [line]


def test_kubernetes_objects_unknown_at_a_first_preview_are_unpriced_not_free() -> None:
    """On a real first preview the cluster's provider is unconfigured: a policy sees no props at all."""
    result = estimate(
        [
            item("kubernetes:helm.sh/v3:Release", "ingress-nginx", {}),
            item("kubernetes:core/v1:Service", "svc", {}),
            item("kubernetes:core/v1:PersistentVolumeClaim", "data", {}),
        ]
    )
    assert [line.status for line in result.lines] == ["unpriced"] * 3
    assert all("first preview" in line.note for line in result.lines)


def test_a_bucket_whose_writer_is_unknown_at_a_first_preview_is_unpriced() -> None:
    bucket, lifecycle, writer = _vault(TIERS, 365.0)
    unseen = Item(writer.type, writer.name, writer.urn, {}, dependencies=(bucket.urn,))
    line = only(estimate([bucket, lifecycle, unseen]), "S3 storage")
    assert line.status == "unpriced" and "schedule of its writer dump is unknown" in line.note


def test_a_size_without_a_price_row_is_unpriced() -> None:
    pool = item(
        "digitalocean:index/kubernetesNodePool:KubernetesNodePool",
        "big",
        {"size": "g-32vcpu-128gb", "autoScale": False, "nodeCount": 1.0},
    )
    line = only(estimate([pool]), "DOKS node pool")
    assert line.status == "unpriced" and "g-32vcpu-128gb" in line.note


def test_a_type_without_a_rule_is_listed_as_unpriced() -> None:
    result = estimate([item("digitalocean:index/kafkaTopic:KafkaTopic", "t", {})])
    (line,) = result.lines
    assert line.status == "unpriced" and "no price rule" in line.note
    assert result.max_total == 0.0 and result.unpriced == [line]


def test_free_types_are_listed_with_their_count_and_reason() -> None:
    configmaps = [item("kubernetes:core/v1:ConfigMap", f"cm{i}", {}) for i in range(3)]
    result = estimate([item("digitalocean:index/vpc:Vpc", "vpc", {}), *configmaps])
    counts = {line.resource: (line.count, line.note) for line in result.free}
    assert counts["Vpc"] == ("1", "VPCs are free")
    assert counts["ConfigMap"][0] == "3"


def test_components_and_the_stack_are_not_resources() -> None:
    result = estimate(
        [
            item("platform:data:Cache", "cache", {}),
            item("pulumi:pulumi:Stack", "platform-production", {}),
            item("pulumi:providers:kubernetes", "provider", {}),
        ]
    )
    assert [line.resource for line in result.lines] == ["kubernetes"]
    assert result.lines[0].status == "free"


def test_live_prices_replace_the_table_and_are_marked_confirmed() -> None:
    pool = item(
        "digitalocean:index/kubernetesNodePool:KubernetesNodePool",
        "general",
        {"size": "s-2vcpu-4gb", "autoScale": True, "minNodes": 1.0, "maxNodes": 2.0},
    )
    line = only(estimate([pool], live_prices={"do.droplet.s-2vcpu-4gb": 25.0}), "DOKS node pool")
    assert (line.min_usd, line.max_usd, line.confidence) == (25.0, 50.0, "confirmed")


# --- AWS ---------------------------------------------------------------------------------------


def _vault(transitions: list[dict[str, Any]], expiration: float | None, noncurrent: float = 30.0) -> list[Item]:
    bucket = item("aws:s3/bucket:Bucket", "vault", {"bucket": "vault-1234", "objectLockEnabled": True})
    rule: dict[str, Any] = {
        "status": "Enabled",
        "transitions": transitions,
        "noncurrentVersionExpiration": {"noncurrentDays": noncurrent},
    }
    if expiration is not None:
        rule["expiration"] = {"days": expiration}
    lifecycle = item(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "lc",
        {"bucket": "vault-1234", "rules": [rule]},
    )
    writer = item(
        "kubernetes:batch/v1:CronJob",
        "dump",
        {"spec": {"schedule": "0 * * * *", "jobTemplate": {"env": [{"name": "S3_BUCKET", "value": "vault-1234"}]}}},
    )
    return [bucket, lifecycle, writer]


TIERS = [{"days": 30.0, "storageClass": "STANDARD_IA"}, {"days": 90.0, "storageClass": "GLACIER_IR"}]


def test_s3_with_lifecycle_is_priced_per_class_over_the_dumps_it_keeps() -> None:
    line = only(estimate(_vault(TIERS, 365.0)), "S3 storage")
    # 24 dumps a day: 30 days STANDARD, 60 days STANDARD_IA, 275 + 30 noncurrent days GLACIER_IR.
    per_gib_of_daily_dumps = 24 * (30 * 0.023 + 60 * 0.0125 + 305 * 0.004)
    low, high = price("assume.backup-dump-gib.min"), price("assume.backup-dump-gib.max")
    assert line.min_usd == round(per_gib_of_daily_dumps * low, 2)
    assert line.max_usd == round(per_gib_of_daily_dumps * high, 2)
    assert line.count == f"{24 * 395:,} dumps"
    assert line.confidence == "assumption"  # the dump size is an assumption, and says so


def test_s3_without_expiration_is_unpriced_because_it_grows() -> None:
    line = only(estimate(_vault(TIERS, None)), "S3 storage")
    assert line.status == "unpriced" and "grows" in line.note


def test_s3_without_a_writer_is_unpriced() -> None:
    bucket = item("aws:s3/bucket:Bucket", "lonely", {"bucket": "lonely-1"})
    line = only(estimate([bucket]), "S3 storage")
    assert line.status == "unpriced" and "usage-based" in line.note


def test_storage_days_bill_each_class_its_minimum_duration() -> None:
    # Into STANDARD_IA at day 10 and expired at day 20: billed 30 days of STANDARD_IA anyway.
    assert storage_days("STANDARD", [(10.0, "STANDARD_IA")], 20.0) == [("STANDARD", 10.0), ("STANDARD_IA", 30.0)]
    assert storage_days("STANDARD", [(30.0, "GLACIER_IR")], 365.0, 30.0) == [("STANDARD", 30.0), ("GLACIER_IR", 365.0)]
    assert storage_days("STANDARD", [], None) is None


@pytest.mark.parametrize(
    ("schedule", "runs"),
    [("0 * * * *", 24), ("*/15 * * * *", 96), ("0,30 * * * *", 48), ("0 */2 * * *", 12), ("5 1-5 * * *", 5)],
)
def test_cron_schedules_count_their_runs_a_day(schedule: str, runs: int) -> None:
    assert _runs_per_day(schedule) == runs


def test_an_unusual_cron_schedule_is_not_guessed() -> None:
    assert _runs_per_day("0 * * * 1") is None


def test_kms_keys_eks_and_nat_gateways_are_priced() -> None:
    result = estimate(
        [
            item("aws:kms/key:Key", "key", {"enableKeyRotation": True}),
            item("aws:eks/cluster:Cluster", "eks", {}),
            item("aws:ec2/natGateway:NatGateway", "nat", {}),
            item("aws:ec2/eip:Eip", "eip", {}),
        ]
    )
    assert only(result, "KMS key").max_usd == 1.0
    assert only(result, "EKS control plane").max_usd == pytest.approx(73.0)
    assert only(result, "NAT gateway").max_usd == pytest.approx(32.85)
    assert only(result, "public IPv4").max_usd == pytest.approx(3.65)


def test_an_eks_node_pool_scales_from_zero_to_its_cpu_cap() -> None:
    pool = item("kubernetes:karpenter.sh/v1:NodePool", "general", {"spec": {"limits": {"cpu": "64"}}})
    line = only(estimate([pool]), "EKS node pool")
    assert line.min_usd == 0.0
    assert line.max_usd == pytest.approx(64 * price("aws.eks.auto-mode-vcpu"), abs=0.01)


def test_an_eks_node_pool_without_a_cap_is_unpriced() -> None:
    pool = item("kubernetes:karpenter.sh/v1:NodePool", "open", {"spec": {}})
    assert only(estimate([pool]), "EKS node pool").status == "unpriced"


# --- The committed stacks ----------------------------------------------------------------------


def _accounted(result: Estimate) -> int:
    """Resources the estimate accounts for: priced/unpriced lines by URN, free ones by count."""
    return len({line.urn for line in result.lines if line.status != "free"}) + sum(
        int(line.count) for line in result.free
    )


@pytest.mark.parametrize("fixture", ["staging", "production", "production_eks"])
def test_every_resource_of_a_stack_is_priced_free_or_listed_as_unpriced(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    run: StackRun = request.getfixturevalue(fixture)
    result = estimate(items_of(run))
    custom = [r for r in run.resources if r.custom]
    assert _accounted(result) == len(custom)
    assert result.min_total > 0 and result.max_total >= result.min_total


def test_the_committed_stacks_have_nothing_unpriced(staging: StackRun, production: StackRun) -> None:
    for run in (staging, production):
        assert estimate(items_of(run)).unpriced == [], run.stack


def test_production_costs_more_than_staging_at_both_scales(staging: StackRun, production: StackRun) -> None:
    low, high = estimate(items_of(staging)), estimate(items_of(production))
    assert high.min_total > low.min_total and high.max_total > low.max_total


def test_the_eks_target_adds_its_control_plane_nat_gateways_and_capped_pools(production_eks: StackRun) -> None:
    kinds = {line.kind for line in estimate(items_of(production_eks)).priced}
    assert {"EKS control plane", "NAT gateway", "EKS node pool", "public IPv4"} <= kinds


def test_the_table_and_json_show_every_line_and_the_sources(production: StackRun) -> None:
    result = estimate(items_of(production))
    text = table(result, "production")
    for line in result.priced:
        assert line.resource[:60] in text
    assert f"${result.max_total:,.2f} at full scale" in text
    data = as_json(result, "production")
    assert json.loads(json.dumps(data))["total"] == {"min": result.min_total, "max": result.max_total}
    assert set(data["prices"]) == {key for line in result.lines for key in line.price_keys}
    assert all({"source", "asOf", "confidence"} <= set(row) for row in data["prices"].values())


def test_the_pull_request_comment_shows_the_change_against_main(production: StackRun) -> None:
    head = as_json(estimate(items_of(production)), "production")
    base = json.loads(json.dumps(head))
    pool = next(line for line in base["lines"] if line["resource"].endswith("-general"))
    pool["max"] -= 48.0
    base["total"]["max"] -= 48.0
    text = comparison(head, base)
    assert "+48.00" in text and pool["resource"] in text
    assert "| main | n/a | n/a |" in comparison(head, None)


def test_every_price_row_has_a_source_date_and_confidence() -> None:
    for key, row in PRICES.items():
        assert row.key == key and row.source and row.as_of and row.unit
        assert row.confidence in ("confirmed", "likely", "unverified", "assumption")
