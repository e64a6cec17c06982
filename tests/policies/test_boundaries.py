"""Every numeric floor and ceiling of the pack on both sides, with the default config, and the helpers the
guards share. Each assertion pins one edge exactly: a guard that moved its threshold by one fails here."""

from __future__ import annotations

import json
import os
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

from policies.guards import GUARDS, guard
from policies.guards._base import (
    UNKNOWN,
    Context,
    ResourceGuard,
    StackGuard,
    StackResource,
    UnknownProps,
    dig,
    is_production,
    number,
    plain,
    settings,
    stack_of,
    strings_in,
    truthy,
)
from policies.guards.aws_eks import allows_on_demand, cpu_cores
from policies.guards.digitalocean import covers_port, is_world
from policies.guards.kubernetes_workloads import image_problem
from tests.harness import Resource
from tests.policies import samples as s
from tests.policy_adapter import stack_violations, synthetic, violations

DO_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
DO_CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
DB = "digitalocean:index/databaseCluster:DatabaseCluster"
DROPLET = "digitalocean:index/droplet:Droplet"
VOLUME = "digitalocean:index/volume:Volume"
FIREWALL = "digitalocean:index/firewall:Firewall"
DB_FIREWALL = "digitalocean:index/databaseFirewall:DatabaseFirewall"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
EKS = "aws:eks/cluster:Cluster"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KARPENTER = "kubernetes:karpenter.sh/v1:NodePool"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
GOLDEN = Path(__file__).parent / "golden" / "pack.json"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def fired(name: str, records: list[Resource], config: dict[str, Any] | None = None) -> list[str]:
    return [message for message, _ in stack_violations(name, records, config)]


# ------------------------------------------------------------------------------------------------
# The pack's interface: names, texts, severities and every parameter's schema and default, pinned


def test_every_guards_metadata_and_config_schema_match_the_golden_file() -> None:
    # What the CLI validates policies/config/<stack>.json against, and the defaults every stack gets.
    described = {
        g.name: {
            "kind": "stack" if isinstance(g, StackGuard) else "resource",
            "types": list(getattr(g, "types", ())),
            "severity": str(g.severity.value),
            "group": g.group,
            "description": g.description,
            "remediation": g.remediation,
            "config": {k: dict(v) for k, v in g.config.items()},
        }
        for g in GUARDS
    }
    text = json.dumps(described, indent=2, sort_keys=True) + "\n"
    if UPDATE:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "the pack's metadata changed: run with UPDATE_GOLDEN=1 and review the diff"


def test_settings_overlay_the_config_file_on_the_schema_defaults() -> None:
    schema: dict[str, dict[str, Any]] = {"a": {"default": 1}, "b": {"type": "integer"}}
    assert settings(schema, None) == {"a": 1}
    assert settings(schema, {"a": 2, "b": 3}) == {"a": 2, "b": 3}


def test_guard_lookup_names_a_missing_guard() -> None:
    assert guard("do-db-standby").name == "do-db-standby"
    with pytest.raises(KeyError):
        guard("no-such-guard")


# ------------------------------------------------------------------------------------------------
# DigitalOcean


def _pool(**fields: Any) -> Resource:
    return synthetic(DO_POOL, {**s.node_pool(), **fields})


@pytest.mark.parametrize(
    ("fields", "messages"),
    [
        ({"maxNodes": 10}, []),
        ({"maxNodes": 11}, ["the pool has maxNodes 11 above the cap of 10."]),
        ({"minNodes": 1}, []),
        ({"minNodes": 0}, ["the pool has minNodes 0 (DOKS needs >= 1)."]),
        ({"minNodes": 6, "maxNodes": 6}, []),
        ({"minNodes": 7, "maxNodes": 6}, ["the pool has minNodes 7 > maxNodes 6."]),
        ({"autoScale": False, "minNodes": None, "maxNodes": None, "nodeCount": 10}, []),
        (
            {"autoScale": False, "minNodes": None, "maxNodes": None, "nodeCount": 11},
            ["the pool has nodeCount 11 above the cap of 10."],
        ),
        ({"minNodes": None}, ["the pool is autoscaled without minNodes."]),
        ({"maxNodes": None}, ["the pool is autoscaled without maxNodes."]),
        ({"minNodes": UNKNOWN, "maxNodes": UNKNOWN}, []),
        ({"nodeCount": 2}, ["the pool pins nodeCount although it is autoscaled (every run fights the autoscaler)."]),
        ({"nodeCount": UNKNOWN}, []),
    ],
)
def test_node_pool_bounds_edges(fields: dict[str, Any], messages: list[str]) -> None:
    assert violations("do-node-pool-bounds", _pool(**fields)) == messages


def test_node_pool_bounds_judge_the_clusters_default_pool_as_such() -> None:
    cluster = s.patched(s.do_cluster(), "nodePool.nodeCount", 11)
    assert violations("do-node-pool-bounds", synthetic(DO_CLUSTER, cluster)) == [
        "the default pool has nodeCount 11 above the cap of 10."
    ]
    assert violations("do-node-pool-bounds", synthetic(DO_CLUSTER, s.patched(s.do_cluster(), "nodePool", "x"))) == []
    assert violations("do-node-pool-bounds", _pool(maxNodes=4), {"maxNodesPerPool": 4}) == []
    assert violations("do-node-pool-bounds", _pool(maxNodes=5), {"maxNodesPerPool": 4}) != []


@pytest.mark.parametrize(("nodes", "messages"), [(2, []), (3, [])])
def test_db_standby_floor_accepts_two_and_more(nodes: int, messages: list[str]) -> None:
    assert violations("do-db-standby", synthetic(DB, s.patched(s.database(), "nodeCount", nodes))) == messages


def test_db_standby_floor_refuses_one_with_the_count_in_the_message() -> None:
    assert violations("do-db-standby", synthetic(DB, s.patched(s.database(), "nodeCount", 1))) == [
        "the pg cluster has 1 node(s): a failed primary means an outage (needs 2)."
    ]
    assert violations("do-db-standby", synthetic(DB, s.patched(s.database(), "nodeCount", 2)), {"minNodes": 3}) != []
    assert violations("do-db-standby", synthetic(DB, s.patched(s.database(), "engine", UNKNOWN))) == []


@pytest.mark.parametrize(
    ("rule", "fires"),
    [
        ({"type": "ip_addr", "value": "0.0.0.0/0"}, True),
        ({"type": "ip_addr", "value": "::/0"}, True),
        ({"type": "ip_addr", "value": "10.0.0.0/8"}, False),
        ({"type": "k8s", "value": "0.0.0.0/0"}, False),
        ({"type": "tag", "value": "0.0.0.0/0"}, False),
        ({"type": "app", "value": "0.0.0.0/0"}, False),
    ],
)
def test_database_firewall_world_rule(rule: dict[str, str], fires: bool) -> None:
    props = {"clusterId": "db-1", "rules": [rule]}
    assert bool(violations("do-db-firewall-no-public", synthetic(DB_FIREWALL, props))) is fires


@pytest.mark.parametrize(
    ("cidr", "world"),
    [
        ("0.0.0.0/0", True),
        ("::/0", True),
        (" 0.0.0.0/0 ", True),
        ("0.0.0.0/1", False),
        ("10.0.0.0/8", False),
        ("garbage", False),
        (5, False),
        (None, False),
        (UNKNOWN, False),
        ("10.0.0.1/0", True),
    ],
)
def test_is_world(cidr: Any, world: bool) -> None:
    assert is_world(cidr) is world


@pytest.mark.parametrize(
    ("port_range", "covers"),
    [
        ("22", True),
        ("23", False),
        ("21", False),
        ("21-22", True),
        ("22-23", True),
        ("23-65535", False),
        ("1-21", False),
        ("all", True),
        ("0", True),
        ("", True),
        (None, True),
        (UNKNOWN, None),
        ("ssh", None),
    ],
)
def test_covers_port_22(port_range: Any, covers: bool | None) -> None:
    assert covers_port(port_range, 22) is covers


@pytest.mark.parametrize(
    ("rule", "messages"),
    [
        ({"protocol": "tcp", "portRange": "all", "sourceAddresses": ["0.0.0.0/0"]}, ["22", "3389"]),
        ({"protocol": "tcp", "portRange": "0", "sourceAddresses": ["::/0"]}, ["22", "3389"]),
        ({"protocol": "tcp", "portRange": "3389", "sourceAddresses": ["0.0.0.0/0"]}, ["3389"]),
        ({"protocol": "tcp", "portRange": "3390", "sourceAddresses": ["0.0.0.0/0"]}, []),
        ({"protocol": "udp", "portRange": "all", "sourceAddresses": ["0.0.0.0/0"]}, []),
        ({"protocol": "tcp", "portRange": "all", "sourceAddresses": ["10.0.0.0/8"]}, []),
    ],
)
def test_world_admin_ports_include_all_port_rules(rule: dict[str, Any], messages: list[str]) -> None:
    props = {"inboundRules": [rule], "tags": ["monitoring"]}
    found = violations("do-firewall-no-world-admin-ports", synthetic(FIREWALL, props))
    sources = ", ".join(rule["sourceAddresses"])
    assert found == [f"tcp port {port} is open to {sources}." for port in messages]


@pytest.mark.parametrize(("value", "fires"), [(True, False), ("true", False), ("TRUE ", False), (False, True)])
def test_droplet_monitoring_reads_string_booleans(value: Any, fires: bool) -> None:
    props = s.patched(s.droplet(), "monitoring", value)
    assert bool(violations("do-droplet-monitoring", synthetic(DROPLET, props))) is fires


def test_droplet_backups_unset_fires_and_unknown_does_not() -> None:
    assert violations("do-droplet-backups", synthetic(DROPLET, s.patched(s.droplet(), "backups", s.DELETE))) == [
        "backups is not true."
    ]
    assert violations("do-droplet-backups", synthetic(DROPLET, s.patched(s.droplet(), "backups", UNKNOWN))) == []


# ------------------------------------------------------------------------------------------------
# Kubernetes


@pytest.mark.parametrize(
    ("low", "high", "config", "messages"),
    [
        (1, 20, {}, []),
        (1, 21, {}, ["the maximum (21) exceeds the cap of 20."]),
        (0, 5, {}, ["the minimum (0) is below 1."]),
        (5, 5, {}, []),
        (6, 5, {}, ["the minimum (6) exceeds the maximum (5)."]),
        (1, 6, {"maxReplicasCap": 6}, []),
        (1, 7, {"maxReplicasCap": 6}, ["the maximum (7) exceeds the cap of 6."]),
    ],
)
def test_hpa_bounds_edges(low: int, high: int, config: dict[str, Any], messages: list[str]) -> None:
    assert violations("k8s-autoscaler-bounds", synthetic(HPA, s.hpa("api", low, high)), config) == messages


def test_hpa_without_min_replicas_defaults_to_one() -> None:
    props = s.patched(s.hpa("api", 1, 4), "spec.minReplicas", s.DELETE)
    assert violations("k8s-autoscaler-bounds", synthetic(HPA, props)) == []
    assert violations("k8s-autoscaler-bounds", synthetic(HPA, props), {"maxReplicasCap": 3}) != []


@pytest.mark.parametrize(
    ("low", "high", "config", "messages"),
    [
        (0, 10, {}, []),
        (0, 10, {"allowScaleToZero": False}, ["the minimum (0) is below 1."]),
        (1, 10, {"allowScaleToZero": False}, []),
        (1, 20, {}, []),
        (1, 21, {}, ["the maximum (21) exceeds the cap of 20."]),
    ],
)
def test_scaled_object_bounds_edges(low: int, high: int, config: dict[str, Any], messages: list[str]) -> None:
    record = synthetic(SCALED_OBJECT, s.scaled_object("worker", low, high))
    assert violations("k8s-autoscaler-bounds", record, config) == messages


def test_scaled_object_defaults_are_keda_s_zero_and_one_hundred() -> None:
    props = s.patched(s.patched(s.scaled_object(), "spec.minReplicaCount", s.DELETE), "spec.maxReplicaCount", s.DELETE)
    record = synthetic(SCALED_OBJECT, props)
    assert violations("k8s-autoscaler-bounds", record, {"maxReplicasCap": 100}) == []
    assert violations("k8s-autoscaler-bounds", record, {"maxReplicasCap": 99}) == [
        "the maximum (100) exceeds the cap of 99."
    ]
    assert violations("k8s-autoscaler-bounds", record, {"maxReplicasCap": 100, "allowScaleToZero": False}) == [
        "the minimum (0) is below 1."
    ]


def _deployment(replicas: int | None, name: str = "api", kind: str = DEPLOYMENT) -> Resource:
    return synthetic(kind, s.deployment(name, replicas), name=name)


@pytest.mark.parametrize(("replicas", "floor"), [(2, 2), (3, 3)])
def test_replica_floor_accepts_the_floor(replicas: int, floor: int) -> None:
    assert fired("k8s-replica-floor", [_deployment(replicas)], {"minReplicas": floor}) == []


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([_deployment(1)], "Deployment 'api' may run 1 replica(s); the floor is 2."),
        ([_deployment(None)], "Deployment 'api' may run 1 replica(s); the floor is 2."),
        (
            [_deployment(None), synthetic(HPA, s.patched(s.hpa("api"), "spec.minReplicas", s.DELETE))],
            "Deployment 'api' may run 1 replica(s); the floor is 2.",
        ),
        (
            [
                _deployment(None, "worker"),
                synthetic(SCALED_OBJECT, s.patched(s.scaled_object(), "spec.minReplicaCount", s.DELETE)),
            ],
            "Deployment 'worker' may run 0 replica(s); the floor is 2.",
        ),
        ([_deployment(1, "db", STATEFULSET)], "StatefulSet 'db' may run 1 replica(s); the floor is 2."),
    ],
)
def test_replica_floor_messages_name_the_floor_reached(records: list[Resource], message: str) -> None:
    assert fired("k8s-replica-floor", records) == [message]


def test_replica_floor_exempts_by_metadata_name_or_resource_name() -> None:
    record = synthetic(DEPLOYMENT, s.patched(s.deployment("api", 1), "metadata.name", "api-x1"), name="api")
    assert fired("k8s-replica-floor", [record], {"exempt": ["api"]}) == []
    assert fired("k8s-replica-floor", [record], {"exempt": ["api-x1"]}) == []
    assert fired("k8s-replica-floor", [record], {"exempt": ["other"]}) != []


def test_a_scaler_of_another_kind_or_namespace_does_not_count() -> None:
    low = synthetic(HPA, s.hpa("api", 1, 6), name="api-hpa")
    other_kind = synthetic(HPA, s.patched(s.hpa("api", 1, 6), "spec.scaleTargetRef.kind", "StatefulSet"))
    other_ns = synthetic(HPA, s.patched(s.hpa("api", 1, 6), "metadata.namespace", "elsewhere"))
    deployment = _deployment(2)
    assert fired("k8s-replica-floor", [deployment, low]) != []
    assert fired("k8s-replica-floor", [deployment, other_kind]) == []
    assert fired("k8s-replica-floor", [deployment, other_ns]) == []
    keda_other = synthetic(SCALED_OBJECT, s.scaled_object("worker", 0, 10))
    assert fired("k8s-replica-floor", [deployment, keda_other]) == []


@pytest.mark.parametrize(
    ("records", "fires"),
    [
        ([_deployment(1)], False),
        ([_deployment(2)], True),
        (
            [
                _deployment(None),
                synthetic(SCALED_OBJECT, s.patched(s.scaled_object("api"), "spec.maxReplicaCount", 1)),
            ],
            False,
        ),
        (
            [
                _deployment(None),
                synthetic(SCALED_OBJECT, s.patched(s.scaled_object("api"), "spec.maxReplicaCount", s.DELETE)),
            ],
            True,
        ),
        ([_deployment(2), synthetic(PDB, s.pdb("api"))], False),
        ([_deployment(2), synthetic(PDB, s.patched(s.pdb("api"), "metadata.namespace", "elsewhere"))], True),
        ([_deployment(2), synthetic(PDB, s.patched(s.pdb("api"), "spec.selector.matchLabels", {}))], True),
        ([_deployment(2), synthetic(PDB, s.patched(s.pdb("api"), "spec.selector.matchLabels", UNKNOWN))], False),
        ([_deployment(2), synthetic(HPA, s.hpa("api", 1, 1))], False),
    ],
)
def test_pdb_required_edges(records: list[Resource], fires: bool) -> None:
    assert bool(fired("k8s-pdb-required", records)) is fires


def test_pdb_selecting_a_subset_of_the_labels_counts_and_a_wrong_value_does_not() -> None:
    deployment = _deployment(2)
    labels = deployment.inputs["spec"]["template"]["metadata"]["labels"]
    key, value = next(iter(labels.items()))
    subset = synthetic(PDB, s.patched(s.pdb("api"), "spec.selector.matchLabels", {key: value}))
    wrong = synthetic(PDB, s.patched(s.pdb("api"), "spec.selector.matchLabels", {key: value + "-x"}))
    assert fired("k8s-pdb-required", [deployment, subset]) == []
    assert fired("k8s-pdb-required", [deployment, wrong]) != []


@pytest.mark.parametrize(
    ("annotations", "fires"),
    [
        ({"nginx.ingress.kubernetes.io/force-ssl-redirect": "true"}, False),
        ({"nginx.ingress.kubernetes.io/ssl-redirect": "True"}, False),
        ({"nginx.ingress.kubernetes.io/ssl-redirect": "false"}, True),
        ({"nginx.ingress.kubernetes.io/force-ssl-redirect": "yes"}, True),
        ({}, True),
    ],
)
def test_https_redirect_accepts_either_annotation_set_to_true(annotations: dict[str, str], fires: bool) -> None:
    props = s.patched(s.ingress(), "metadata.annotations", annotations)
    assert bool(violations("k8s-ingress-https-redirect", synthetic(INGRESS, props))) is fires


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("registry.example/api:1.2.3", None),
        ("registry.example/api@sha256:" + "a" * 64, None),
        ("registry.example/api", "has no tag (pulls :latest)"),
        ("registry.example:5000/api", "has no tag (pulls :latest)"),
        ("registry.example/api:latest", "uses the mutable tag 'latest'"),
        ("registry.example/api:Master", "uses the mutable tag 'Master'"),
        ("registry.example/api:main", "uses the mutable tag 'main'"),
        ("registry.example/api:stable", "uses the mutable tag 'stable'"),
        ("registry.example/api:edge", "uses the mutable tag 'edge'"),
        ("registry.example/api:dev", "uses the mutable tag 'dev'"),
    ],
)
def test_image_tags_that_do_not_identify_a_build(image: str, problem: str | None) -> None:
    forbidden = guard("k8s-image-pinned").config["forbiddenTags"]["default"]
    assert image_problem(image, forbidden) == problem


# ------------------------------------------------------------------------------------------------
# Stack-wide


def _budget_stack(max_nodes: int, db_nodes: list[int]) -> list[Resource]:
    cluster = synthetic(DO_CLUSTER, s.patched(s.do_cluster(), "nodePool.nodeCount", 2), name="cluster")
    pool = synthetic(DO_POOL, {**s.node_pool(), "maxNodes": max_nodes}, name="general")
    fixed = synthetic(DO_POOL, {**s.node_pool(), "autoScale": False, "nodeCount": 2}, name="fixed")
    dbs = [synthetic(DB, s.patched(s.database(), "nodeCount", n), name=f"db{i}") for i, n in enumerate(db_nodes)]
    others = [synthetic(VOLUME, s.volume(), name="data"), synthetic(DEPLOYMENT, s.deployment(), name="api")]
    return [cluster, pool, fixed, *dbs, *others]


def test_budget_caps_count_every_pool_at_its_ceiling_on_both_sides_of_the_cap() -> None:
    # default pool 2 + autoscaled ceiling + fixed 2 against maxClusterNodes 20
    assert fired("stack-budget-caps", _budget_stack(16, [3, 3])) == []
    assert fired("stack-budget-caps", _budget_stack(17, [3, 3])) == ["DOKS pools may reach 21 nodes; the cap is 20."]


def test_budget_caps_count_every_database_node_on_both_sides_of_the_cap() -> None:
    assert fired("stack-budget-caps", _budget_stack(2, [3, 3])) == []
    assert fired("stack-budget-caps", _budget_stack(2, [3, 4])) == ["managed databases run 7 nodes; the cap is 6."]


def test_budget_caps_check_droplet_sizes_but_not_other_types() -> None:
    droplet = synthetic(DROPLET, s.patched(s.droplet(), "size", "s-8vcpu-16gb"), name="mon")
    volume = synthetic(VOLUME, {**s.volume(), "size": "s-8vcpu-16gb"}, name="data")
    assert fired("stack-budget-caps", [droplet, volume], {"allowedNodeSizes": ["s-2vcpu-4gb"]}) == [
        "droplet 'mon' uses size 's-8vcpu-16gb', not in ['s-2vcpu-4gb']."
    ]
    pool = synthetic(DO_POOL, {**s.node_pool(), "size": "s-8vcpu-16gb"}, name="big")
    assert fired("stack-budget-caps", [pool], {"allowedNodeSizes": ["s-2vcpu-4gb"]}) == [
        "node pool of 'big' uses size 's-8vcpu-16gb', not in ['s-2vcpu-4gb']."
    ]


def test_unprotected_stateful_resource_message_names_its_kind() -> None:
    assert fired("stack-stateful-protected", [synthetic(VOLUME, s.volume(), name="data")]) == [
        "Volume 'data' is not protected."
    ]
    assert fired("stack-stateful-protected", [synthetic(DROPLET, s.droplet(), name="mon")]) == []


@pytest.mark.parametrize(("length", "shown"), [(80, None), (81, 77)])
def test_cross_environment_values_are_shown_whole_up_to_80_characters(length: int, shown: int | None) -> None:
    value = ("niche-discovery-production-" + "x" * length)[:length]
    reference = synthetic(VOLUME, {"description": value, "tags": []}, stack="staging", name="v")
    expected = value if shown is None else value[:shown] + "..."
    assert fired("stack-no-cross-environment-references", [reference], {"environment": "staging"}) == [
        f"'v' description = {expected!r} matches '[a-z0-9]-production\\\\b'."
    ]


def test_a_volume_attached_through_a_droplets_volume_ids_counts() -> None:
    volume = synthetic(VOLUME, {**s.volume(), "id": "vol-1"}, name="data")
    droplet = synthetic(DROPLET, {**s.droplet(), "volumeIds": ["vol-1"]}, name="mon")
    other = synthetic(DROPLET, {**s.droplet(), "volumeIds": ["vol-2"]}, name="other")
    unknown = synthetic(DROPLET, {**s.droplet(), "volumeIds": UNKNOWN}, name="unknown")
    assert fired("stack-volume-attached", [volume, droplet]) == []
    assert fired("stack-volume-attached", [volume, other, unknown]) == ["volume 'data' is not attached to any droplet."]
    unknown_id = synthetic(VOLUME, {**s.volume(), "id": UNKNOWN}, name="data")
    assert fired("stack-volume-attached", [unknown_id, droplet]) != []


def test_firewall_reference_by_id_needs_both_ids_known() -> None:
    db = synthetic(DB, {**s.database(), "id": "db-1"}, name="pg")
    by_value = synthetic(DB_FIREWALL, {**s.database_firewall(), "clusterId": "db-1"}, name="fw")
    unknown_value = synthetic(DB_FIREWALL, {**s.database_firewall(), "clusterId": UNKNOWN}, name="fw2")
    assert fired("stack-db-exactly-one-firewall", [db, by_value]) == []
    # Not a dependency and not known: it does not count.
    assert fired("stack-db-exactly-one-firewall", [db, unknown_value]) == [
        "database cluster 'pg' is referenced by 0 DatabaseFirewall(s), not exactly one."
    ]
    other = synthetic(VOLUME, {"clusterId": "db-1"}, name="not-a-firewall")
    assert fired("stack-db-exactly-one-firewall", [db, by_value, other]) == []


# ------------------------------------------------------------------------------------------------
# AWS


@pytest.mark.parametrize(("days", "fires"), [(90, False), (91, True), (1, False)])
def test_noncurrent_version_retention_edge(days: int, fires: bool) -> None:
    props = s.patched(s.lifecycle(), "rules.0.noncurrentVersionExpiration.noncurrentDays", days)
    assert bool(violations("aws-s3-lifecycle-expiry", synthetic(LIFECYCLE, props))) is fires


def test_lifecycle_without_current_expiry_fires_alone() -> None:
    props = s.patched(s.lifecycle(), "rules.0.expiration", s.DELETE)
    assert violations("aws-s3-lifecycle-expiry", synthetic(LIFECYCLE, props)) == [
        "no Enabled rule expires current objects."
    ]


def test_encryption_accepts_only_the_configured_algorithms() -> None:
    encryption = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    aes = s.patched(s.encryption(), "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "AES256")
    assert violations("aws-s3-encryption", synthetic(encryption, aes)) == []
    assert violations("aws-s3-encryption", synthetic(encryption, aes), {"algorithms": ["aws:kms"]}) != []


@pytest.mark.parametrize(("version", "fires"), [("1.34", False), ("1.33", True), ("1.99", False), ("2", True)])
def test_eks_version_floor_edge(version: str, fires: bool) -> None:
    props = s.patched(s.eks_cluster(), "version", version)
    assert bool(violations("eks-version-floor", synthetic(EKS, props))) is fires


@pytest.mark.parametrize(("support", "fires"), [("STANDARD", False), ("EXTENDED", True), ("standard", True)])
def test_eks_support_type(support: str, fires: bool) -> None:
    props = s.patched(s.eks_cluster(), "upgradePolicy.supportType", support)
    assert bool(violations("eks-standard-support", synthetic(EKS, props))) is fires


@pytest.mark.parametrize(("days", "fires"), [(1, False), (0, True), ("0", True), ("7", False)])
def test_log_group_retention_edge(days: Any, fires: bool) -> None:
    assert bool(violations("aws-log-group-retention", synthetic(LOG_GROUP, {"retentionInDays": days}))) is fires


@pytest.mark.parametrize(("cpu", "fires"), [(256, False), (257, True), ("256000m", False), ("257000m", True)])
def test_node_pool_cpu_limit_default_cap(cpu: Any, fires: bool) -> None:
    assert bool(violations("eks-node-pool-cpu-limit", synthetic(KARPENTER, s.karpenter_node_pool(cpu)))) is fires


@pytest.mark.parametrize(("limits", "fires"), [((256, 256), False), ((256, 257), True)])  # total cap: 512
def test_eks_cpu_budget_default_cap(limits: tuple[int, int], fires: bool) -> None:
    pools = [synthetic(KARPENTER, s.karpenter_node_pool(c), name=f"p{i}") for i, c in enumerate(limits)]
    assert bool(fired("stack-eks-cpu-budget", pools)) is fires


@pytest.mark.parametrize(
    ("requirements", "allowed"),
    [
        ([], True),
        ([{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot", "on-demand"]}], True),
        ([{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}], False),
        ([{"key": "karpenter.sh/capacity-type", "operator": "NotIn", "values": ["on-demand"]}], False),
        ([{"key": "karpenter.sh/capacity-type", "operator": "NotIn", "values": ["spot"]}], True),
        ([{"key": "karpenter.sh/capacity-type", "operator": "Exists", "values": []}], True),
        (
            [
                {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]},
            ],
            False,
        ),
        ([{"key": UNKNOWN}], None),
        ([{"key": "karpenter.sh/capacity-type", "operator": UNKNOWN, "values": ["spot"]}], None),
    ],
)
def test_allows_on_demand(requirements: list[Any], allowed: bool | None) -> None:
    assert allows_on_demand(requirements) is allowed


@pytest.mark.parametrize(
    ("quantity", "cores"), [(64, 64.0), ("64", 64.0), ("500m", 0.5), ("64000m", 64.0), ("xm", None), (UNKNOWN, None)]
)
def test_cpu_cores(quantity: Any, cores: float | None) -> None:
    assert cpu_cores(quantity) == cores


def test_eks_public_endpoint_world_and_bad_cidrs() -> None:
    props = s.patched(s.eks_cluster(), "vpcConfig.endpointPublicAccess", True)
    world = s.patched(props, "vpcConfig.publicAccessCidrs", ["203.0.113.0/24", "0.0.0.0/0"])
    listed = s.patched(props, "vpcConfig.publicAccessCidrs", ["203.0.113.0/24", "not-a-cidr"])
    assert violations("eks-endpoint-not-public", synthetic(EKS, world)) == [
        "publicAccessCidrs ['203.0.113.0/24', '0.0.0.0/0'] admit the whole internet."
    ]
    assert violations("eks-endpoint-not-public", synthetic(EKS, listed)) == []


# ------------------------------------------------------------------------------------------------
# The shared helpers


@pytest.mark.parametrize(
    ("value", "path", "expected"),
    [
        ([1, 2], (-2,), 1),
        ([1, 2], (-3,), "d"),
        ([1, 2], (1,), 2),
        ([1, 2], (2,), "d"),
        ({"a": [1, 2]}, ("a", -1), 2),
        ({"a": 1}, (0,), "d"),
        ([1], ("a",), "d"),
        ({"a": None}, ("a",), "d"),
        ({"a": UNKNOWN}, ("a", "b"), UNKNOWN),
        (UNKNOWN, ("a",), UNKNOWN),
    ],
)
def test_dig(value: Any, path: tuple[Any, ...], expected: Any) -> None:
    assert dig(value, *path, default="d") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        (" TRUE ", True),
        ("no", False),
        ("yes", False),
        (1, True),
        (0, False),
        (None, None),
        (UNKNOWN, None),
    ],
)
def test_truthy(value: Any, expected: bool | None) -> None:
    assert truthy(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 3.0), (2.5, 2.5), ("3", 3.0), ("x", None), (True, None), (None, None), (UNKNOWN, None), ([1], None)],
)
def test_number(value: Any, expected: float | None) -> None:
    assert number(value) == expected


@pytest.mark.parametrize(
    ("urn", "stack"),
    [
        ("urn:pulumi:production::platform::a:b:C::x", "production"),
        ("urn:pulumi:niche-discovery-staging::platform::a:b:C::x", "niche-discovery-staging"),
        ("not-a-urn", ""),
        ("", ""),
    ],
)
def test_stack_of(urn: str, stack: str) -> None:
    assert stack_of(urn) == stack


def test_plain_keeps_plain_values() -> None:
    assert plain({"a": [1, {"b": "c"}], "d": None, "e": 1.5, "f": True}) == {
        "a": [1, {"b": "c"}],
        "d": None,
        "e": 1.5,
        "f": True,
    }


def test_a_resource_guard_ignores_types_it_does_not_judge_and_reads_the_environment() -> None:
    g = guard("do-k8s-ha-control-plane")
    assert isinstance(g, ResourceGuard)
    props = s.patched(s.do_cluster(), "ha", False)
    assert g.evaluate(props, None, Context(DROPLET, "urn:pulumi:x::p::t::n", "n")) == []
    assert g.evaluate(props, {"environment": "staging"}, Context(DO_CLUSTER, "urn:pulumi:x::p::t::n", "n")) == []
    assert g.evaluate(props, None, Context(DO_CLUSTER, "urn:pulumi:x::p::t::n", "n")) != []
    assert Context(DO_CLUSTER, "u", "n", environment="staging").production is False
    assert Context(DO_CLUSTER, "u", "n").production is True


# ------------------------------------------------------------------------------------------------
# Relations and edges found by mutation testing (docs/mutation-testing.md)


def test_any_environment_but_staging_is_judged_as_production() -> None:
    assert is_production({"environment": "zzz"}) is True
    assert is_production({"environment": "dev"}) is True


def test_a_resource_guards_context_carries_the_resource_options() -> None:
    seen: list[Context] = []

    def check(props: dict[str, Any], cfg: Any, ctx: Context) -> list[str]:
        seen.append(ctx)
        return []

    def ignore(message: str, urn: str | None = None) -> None:
        return None

    probe = ResourceGuard(
        name="probe",
        description="Probe.",
        severity=guard("do-db-standby").severity,
        remediation="None.",
        group="test",
        types=(VOLUME,),
        check=check,
    )
    options = PolicyResourceOptions(
        protect=True,
        ignore_changes=["size"],
        delete_before_replace=False,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=None,
    )
    probe.validate(ResourceValidationArgs(VOLUME, s.volume(), "urn:pulumi:p::x::t::v", "v", options, None, {}), ignore)
    assert (seen[0].protect, seen[0].ignore_changes) == (True, ("size",))
    no_options: Any = None
    probe.validate(ResourceValidationArgs(VOLUME, s.volume(), "u", "v", no_options, None, {}), ignore)
    assert (seen[1].protect, seen[1].ignore_changes) == (False, ())


@pytest.mark.parametrize(
    ("windows", "fires"),
    [([{"day": "sunday", "hour": "02:00"}], False), ([{"day": "sunday"}], True), ([{"hour": "02:00"}], True)],
)
def test_a_maintenance_window_needs_both_day_and_hour(windows: list[dict[str, str]], fires: bool) -> None:
    props = s.patched(s.database(), "maintenanceWindows", windows)
    assert bool(violations("do-db-maintenance-window", synthetic(DB, props))) is fires


def test_a_scaler_with_a_known_target_name_follows_the_dependency_while_the_workload_name_is_unknown() -> None:
    workload = synthetic(DEPLOYMENT, s.patched(s.deployment("api", None), "metadata.name", UNKNOWN), name="api")
    scaler = synthetic(HPA, s.hpa("api", 3, 6), name="api-hpa", dependencies=[workload.urn])
    assert fired("k8s-replica-floor", [workload, scaler]) == []  # the HPA's floor of 3, not the default 1
    assert fired("k8s-replica-floor", [workload]) == ["Deployment 'api' may run 1 replica(s); the floor is 2."]


def test_only_network_policies_can_be_the_default_deny() -> None:
    ns = synthetic("kubernetes:core/v1:Namespace", s.namespace(), name="app")
    look_alike = synthetic("kubernetes:policy/v1:PodDisruptionBudget", s.default_deny(), name="not-a-policy")
    assert fired("k8s-namespace-default-deny", [ns, look_alike]) != []


def test_init_containers_need_no_probes() -> None:
    init = {"name": "migrate", "image": "registry.example/api:1.2.3"}
    props = s.patched(s.deployment(), "spec.template.spec.initContainers", [init])
    assert violations("k8s-probes", synthetic(DEPLOYMENT, props)) == []


def test_budget_caps_count_the_default_pool_of_clusters_only() -> None:
    records = _budget_stack(16, [3, 3])
    other = synthetic("aws:eks/cluster:Cluster", {"nodePool": {"nodeCount": 5, "size": "s-2vcpu-4gb"}}, name="eks")
    assert fired("stack-budget-caps", [*records, other]) == []


def test_a_database_without_a_known_node_count_adds_none() -> None:
    unknown = synthetic(DB, s.patched(s.database(), "nodeCount", UNKNOWN), name="later")
    assert fired("stack-budget-caps", [*_budget_stack(2, [3, 3]), unknown]) == []


def test_only_volume_attachments_attach() -> None:
    volume = synthetic(VOLUME, s.volume(), name="data")
    vpc = synthetic("digitalocean:index/vpc:Vpc", {"name": "vpc"}, name="vpc", dependencies=[volume.urn])
    assert fired("stack-volume-attached", [volume, vpc]) == ["volume 'data' is not attached to any droplet."]


def test_a_resource_naming_production_twice_is_reported_once() -> None:
    props = {"description": "niche-discovery-production-a", "labels": ["env:production"], "tags": []}
    record = synthetic(VOLUME, props, stack="staging", name="v")
    assert len(fired("stack-no-cross-environment-references", [record], {"environment": "staging"})) == 1


def test_strings_in_walks_lists_and_maps_with_their_paths() -> None:
    value = {"a": ["x", {"b": "y"}], "c": UNKNOWN, "d": 3}
    assert list(strings_in(value)) == [("a[0]", "x"), ("a[1].b", "y")]


def test_a_scaler_whose_namespace_is_unknown_still_matches_by_name() -> None:
    scaler = synthetic(HPA, s.patched(s.hpa("api", 1, 6), "metadata.namespace", UNKNOWN), name="api-hpa")
    assert fired("k8s-replica-floor", [_deployment(3), scaler]) == [
        "Deployment 'api' may run 1 replica(s); the floor is 2."
    ]


def test_values_compare_by_equality_not_identity() -> None:
    # Values from the engine are never the interned literals of the guard modules.
    standard = "".join(["STAN", "DARD"])
    props = s.patched(s.eks_cluster(), "upgradePolicy.supportType", standard)
    assert violations("eks-standard-support", synthetic(EKS, props)) == []


def test_a_deployment_scaler_does_not_scale_a_statefulset_of_the_same_name() -> None:
    workload = _deployment(2, "api", STATEFULSET)
    scaler = synthetic(HPA, s.hpa("api", 1, 6), name="api-hpa")  # kind: Deployment
    assert fired("k8s-replica-floor", [workload, scaler]) == []


def test_a_floor_above_the_minimum_passes() -> None:
    assert fired("k8s-replica-floor", [_deployment(3)], {"minReplicas": 2}) == []


def test_a_pool_of_unknown_size_is_not_judged_by_size() -> None:
    pool = synthetic(DO_POOL, {**s.node_pool(), "size": UNKNOWN}, name="later")
    assert fired("stack-budget-caps", [pool], {"allowedNodeSizes": ["s-2vcpu-4gb"]}) == []


def test_only_droplets_attach_volumes_through_volume_ids() -> None:
    volume = synthetic(VOLUME, {**s.volume(), "id": "vol-1"}, name="data")
    not_a_droplet = synthetic(DB, {**s.database(), "volumeIds": ["vol-1"]}, name="pg")
    assert fired("stack-volume-attached", [volume, not_a_droplet]) == ["volume 'data' is not attached to any droplet."]


def test_a_scaler_in_an_earlier_sorting_namespace_is_another_namespace() -> None:
    scaler = synthetic(HPA, s.patched(s.hpa("api", 1, 6), "metadata.namespace", "a-team"), name="api-hpa")
    assert fired("k8s-replica-floor", [_deployment(2), scaler]) == []


def test_an_unknown_capability_list_of_one_container_does_not_hide_the_next() -> None:
    first = s.patched(s.container("a"), "securityContext.capabilities.drop", UNKNOWN)
    second = s.patched(s.container("b"), "securityContext.capabilities", s.DELETE)
    props = s.patched(s.deployment(), "spec.template.spec.containers", [first, second])
    assert violations("k8s-drop-all-capabilities", synthetic(DEPLOYMENT, props)) == [
        "container 'b' does not drop ALL capabilities (capabilities.drop: [\"ALL\"])."
    ]


def test_a_known_cluster_id_with_an_unknown_database_id_follows_the_dependency() -> None:
    db = synthetic(DB, {**s.database(), "id": UNKNOWN}, name="pg")
    firewall = synthetic(DB_FIREWALL, {**s.database_firewall(), "clusterId": "db-1"}, name="fw", dependencies=[db.urn])
    bucket = synthetic("aws:s3/bucket:Bucket", s.bucket(), name="backups")
    assert fired("stack-db-exactly-one-firewall", [db, firewall, bucket]) == []


def test_a_budget_over_no_resources_reports_nothing() -> None:
    assert fired("stack-monthly-budget", []) == []


def test_only_a_kubernetes_cluster_has_a_default_pool_to_tag() -> None:
    props = {**s.database(), "nodePool": {"tags": []}}
    assert violations("do-required-tags", synthetic(DB, props)) == []


def test_init_containers_are_held_to_the_same_security_rules() -> None:
    init = s.patched(s.container("migrate"), "securityContext.runAsUser", 0)
    props = s.patched(s.deployment(), "spec.template.spec.initContainers", [init])
    assert violations("k8s-run-as-non-root", synthetic(DEPLOYMENT, props)) == [
        "container 'migrate' runs as UID 0 (root)."
    ]


def test_a_stack_far_over_its_budget_fires() -> None:
    plan = {**s.database(), "size": "db-s-4vcpu-8gb", "nodeCount": 3}
    records = [synthetic(DB, plan, name=f"db{i}") for i in range(10)]
    assert fired("stack-monthly-budget", records) != []


def test_a_resource_guards_stack_context_defaults_to_unprotected_without_options() -> None:
    no_options: Any = None
    record = PolicyResource(
        VOLUME, s.volume(), "urn:pulumi:production::p::t::data", "data", no_options, None, None, [], {}
    )
    found: list[str] = []
    guard("stack-stateful-protected").policy().validate(  # type: ignore[attr-defined]
        StackValidationArgs([record], {}), lambda message, urn=None: found.append(message)
    )
    assert found == ["Volume 'data' is not protected."]


def test_a_requirement_on_another_key_says_nothing_about_capacity() -> None:
    assert allows_on_demand([{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]) is True


def test_a_workload_scaled_to_zero_needs_no_disruption_budget() -> None:
    assert fired("k8s-pdb-required", [_deployment(0)]) == []


def test_a_network_policy_selecting_some_pods_is_not_the_default_deny() -> None:
    ns = synthetic("kubernetes:core/v1:Namespace", s.namespace(), name="app")
    some = s.patched(s.default_deny(), "spec.podSelector", {"matchLabels": {"app": "api"}})
    netpol = synthetic("kubernetes:networking.k8s.io/v1:NetworkPolicy", some, name="some")
    assert fired("k8s-namespace-default-deny", [ns, netpol]) != []


def test_an_unknown_resources_block_of_one_container_does_not_hide_the_next() -> None:
    first = s.patched(s.container("a"), "resources", UNKNOWN)
    second = s.patched(s.container("b"), "resources", s.DELETE)
    props = s.patched(s.deployment(), "spec.template.spec.containers", [first, second])
    assert violations("k8s-resources-requests-limits", synthetic(DEPLOYMENT, props)) == [
        "container 'b' has no resources requests.cpu, requests.memory, limits.memory, limits.cpu."
    ]


def test_an_unnamed_env_entry_does_not_hide_the_next() -> None:
    env = [{"valueFrom": {"fieldRef": {"fieldPath": "x"}}}, "junk", {"name": "API_TOKEN", "value": "abc"}]
    props = s.patched(s.deployment(), "spec.template.spec.containers.0.env", env)
    assert violations("k8s-no-plain-secret-env", synthetic(DEPLOYMENT, props)) == [
        "container 'api' env 'API_TOKEN' is a plain value but its name says it is a credential."
    ]


def test_each_database_counts_only_its_own_firewall() -> None:
    dbs = [synthetic(DB, {**s.database(), "id": f"db-{i}"}, name=f"pg{i}") for i in (1, 2)]
    firewalls = [
        synthetic(DB_FIREWALL, {**s.database_firewall(), "clusterId": f"db-{i}"}, name=f"fw{i}") for i in (1, 2)
    ]
    assert fired("stack-db-exactly-one-firewall", [*dbs, *firewalls]) == []


def test_budget_caps_count_only_known_ceilings_and_only_cluster_default_pools() -> None:
    records = _budget_stack(16, [3, 3])
    later = synthetic(DO_POOL, {**s.node_pool(), "maxNodes": UNKNOWN}, name="later")
    config_map = synthetic("kubernetes:core/v1:ConfigMap", {"nodePool": {"nodeCount": 5}}, name="cm")
    assert fired("stack-budget-caps", [*records, later, config_map]) == []


def test_a_lifecycle_status_is_case_sensitive() -> None:
    props = s.patched(s.lifecycle(), "rules.0.status", "enabled")
    assert "no Enabled rule expires current objects." in violations(
        "aws-s3-lifecycle-expiry", synthetic(LIFECYCLE, props)
    )


def test_an_unknown_user_of_one_container_does_not_hide_the_next() -> None:
    first = s.patched(s.container("a"), "securityContext.runAsUser", UNKNOWN)
    second = s.patched(s.container("b"), "securityContext.runAsUser", 0)
    props = s.patched(s.deployment(), "spec.template.spec.containers", [first, second])
    assert violations("k8s-run-as-non-root", synthetic(DEPLOYMENT, props)) == ["container 'b' runs as UID 0 (root)."]


def test_dig_past_the_end_of_a_list_is_the_default() -> None:
    assert dig([1, 2], 3, default="d") == "d"
    assert dig([1, 2], 9, default="d") == "d"


def test_non_tcp_rules_are_not_admin_port_rules() -> None:
    for protocol in ("icmp", "udp"):
        props = {"inboundRules": [{"protocol": protocol, "portRange": "all", "sourceAddresses": ["0.0.0.0/0"]}]}
        assert violations("do-firewall-no-world-admin-ports", synthetic(FIREWALL, {**props, "tags": []})) == []


def test_only_scalers_set_the_replica_floor() -> None:
    workload = _deployment(2)
    service = synthetic("kubernetes:core/v1:Service", {"spec": {}}, name="api-svc", dependencies=[workload.urn])
    assert fired("k8s-replica-floor", [workload, service]) == []


def test_every_workload_is_judged_after_an_exempt_or_unrelated_one() -> None:
    records = [synthetic(VOLUME, s.volume(), name="data"), _deployment(1, "flower"), _deployment(1, "api")]
    assert fired("k8s-replica-floor", records, {"exempt": ["flower"]}) == [
        "Deployment 'api' may run 1 replica(s); the floor is 2."
    ]
    assert fired("k8s-pdb-required", [synthetic(VOLUME, s.volume(), name="data"), _deployment(2)]) != []


def test_only_disruption_budgets_count_as_disruption_budgets() -> None:
    role = synthetic("kubernetes:rbac.authorization.k8s.io/v1:Role", s.pdb("api"), name="look-alike")
    assert fired("k8s-pdb-required", [_deployment(2), role]) != []


def test_a_selector_with_match_expressions_only_is_not_the_default_deny() -> None:
    ns = synthetic("kubernetes:core/v1:Namespace", s.namespace(), name="app")
    expressions = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["api"]}]}
    netpol = synthetic(
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        s.patched(s.default_deny(), "spec.podSelector", expressions),
        name="some",
    )
    assert fired("k8s-namespace-default-deny", [ns, netpol]) != []


def test_only_database_firewalls_count_as_firewalls() -> None:
    db = synthetic(DB, {**s.database(), "id": "db-1"}, name="pg")
    firewall = synthetic(DB_FIREWALL, {**s.database_firewall(), "clusterId": "db-1"}, name="fw")
    other = synthetic("aws:s3/bucket:Bucket", {"clusterId": "db-1"}, name="not-a-firewall")
    assert fired("stack-db-exactly-one-firewall", [db, firewall, other]) == []


def test_stateful_and_attachment_checks_go_on_after_an_unrelated_resource() -> None:
    droplet = synthetic(DROPLET, s.droplet(), name="mon")
    assert fired("stack-stateful-protected", [droplet, synthetic(VOLUME, s.volume(), name="data")]) != []
    assert fired("stack-volume-attached", [droplet, synthetic(VOLUME, s.volume(), name="data")]) != []


def test_a_database_of_unknown_size_adds_nothing_and_removes_nothing() -> None:
    unknown = synthetic(DB, s.patched(s.database(), "nodeCount", UNKNOWN), name="later")
    assert fired("stack-budget-caps", [*_budget_stack(2, [3, 4]), unknown]) == [
        "managed databases run 7 nodes; the cap is 6."
    ]


def test_only_eks_clusters_can_enable_the_uncapped_built_in_pool() -> None:
    log_group = synthetic(LOG_GROUP, {"computeConfig": {"nodePools": ["general-purpose"]}}, name="logs")
    assert fired("stack-eks-cpu-budget", [log_group]) == []


@pytest.mark.parametrize("added", [["NET_BIND_SERVICE"], ["net_bind_service"], ["NET_BIND_SERVICE", UNKNOWN]])
def test_allowed_and_unknown_added_capabilities_are_not_extra(added: list[str]) -> None:
    props = s.patched(s.deployment(), "spec.template.spec.containers.0.securityContext.capabilities.add", added)
    assert violations("k8s-drop-all-capabilities", synthetic(DEPLOYMENT, props)) == []


def test_only_database_clusters_count_as_database_nodes() -> None:
    other = synthetic("aws:rds/cluster:Cluster", {"nodeCount": 5, "size": "db-s-1vcpu-1gb"}, name="rds")
    assert fired("stack-budget-caps", [*_budget_stack(2, [3, 3]), other]) == []


def test_the_environment_compares_by_value() -> None:
    fresh = "".join(["stag", "ing"])
    assert Context(DO_CLUSTER, "u", "n", environment=fresh).production is False


def test_a_selector_value_that_sorts_before_the_label_does_not_select() -> None:
    deployment = _deployment(2)
    key, value = next(iter(deployment.inputs["spec"]["template"]["metadata"]["labels"].items()))
    shorter = synthetic(PDB, s.patched(s.pdb("api"), "spec.selector.matchLabels", {key: value[:-1]}))
    assert fired("k8s-pdb-required", [deployment, shorter]) != []


def test_a_policy_of_a_namespace_with_an_unknown_name_is_found_through_its_dependency() -> None:
    ns = synthetic("kubernetes:core/v1:Namespace", s.patched(s.namespace(), "metadata.name", UNKNOWN), name="app")
    deny = synthetic(
        "kubernetes:networking.k8s.io/v1:NetworkPolicy", s.default_deny(), name="deny", dependencies=[ns.urn]
    )
    assert fired("k8s-namespace-default-deny", [ns, deny]) == []


def test_an_unknown_seccomp_profile_of_one_container_does_not_hide_the_next() -> None:
    first = s.patched(s.container("a"), "securityContext.seccompProfile", UNKNOWN)
    second = s.patched(s.container("b"), "securityContext.seccompProfile.type", "Unconfined")
    props = s.patched(s.deployment(), "spec.template.spec", {**s.pod_spec(), "containers": [first, second]})
    props = s.patched(props, "spec.template.spec.securityContext", {})
    assert violations("k8s-seccomp-profile", synthetic(DEPLOYMENT, props)) == [
        "container 'b' has seccomp profile Unconfined (RuntimeDefault or Localhost required)."
    ]


def test_a_pool_of_unknown_ceiling_adds_nothing_to_a_stack_over_its_cap() -> None:
    later = synthetic(DO_POOL, {**s.node_pool(), "maxNodes": UNKNOWN}, name="later")
    assert fired("stack-budget-caps", [*_budget_stack(17, [3, 3]), later]) == [
        "DOKS pools may reach 21 nodes; the cap is 20."
    ]


def test_no_resource_but_a_droplet_attaches_through_volume_ids() -> None:
    volume = synthetic(VOLUME, {**s.volume(), "id": "vol-1"}, name="data")
    vpc = synthetic("digitalocean:index/vpc:Vpc", {"volumeIds": ["vol-1"]}, name="vpc")
    assert fired("stack-volume-attached", [volume, vpc]) == ["volume 'data' is not attached to any droplet."]


def test_every_database_is_judged_after_an_unrelated_resource() -> None:
    bucket = synthetic("aws:s3/bucket:Bucket", s.bucket(), name="backups")
    db = synthetic(DB, s.database(), name="pg")
    assert fired("stack-db-exactly-one-firewall", [bucket, db]) == [
        "database cluster 'pg' is referenced by 0 DatabaseFirewall(s), not exactly one."
    ]


def test_unknown_props_answer_unknown_for_every_key() -> None:
    props = UnknownProps()
    assert ("anything" in props) is True
    assert props["x"] == props.get("x") == UNKNOWN
    assert dig(props, "spec", "replicas") == UNKNOWN


def test_assets_are_serialized_as_the_sdk_serializes_them() -> None:
    assert plain({"a": pulumi.StringAsset("x")})["a"]["text"] == "x"


BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"


def test_a_side_resource_matches_its_bucket_by_a_known_id_without_a_dependency() -> None:
    bucket = synthetic(BUCKET, {**s.bucket(), "id": "b-1"}, name="backups")
    sides = [
        synthetic(t, {**props, "bucket": "b-1"}, name=t.rsplit(":", 1)[-1])
        for t, props in (
            (VERSIONING, s.versioning()),
            (
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                s.encryption(),
            ),
            ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", s.public_access_block()),
            (LIFECYCLE, s.lifecycle()),
        )
    ]
    role = synthetic("aws:iam/role:Role", {"name": "writer"}, name="writer")
    assert fired("stack-s3-bucket-complete", [role, bucket, *sides]) == []
    assert fired("stack-s3-bucket-complete", [role, bucket, *sides[:3]]) == [
        "bucket 'backups' has no BucketLifecycleConfiguration."
    ]


def test_only_karpenter_node_pools_count_against_the_eks_cpu_budget() -> None:
    other = synthetic("kubernetes:policy/v1:Fake", {"spec": {"limits": {"cpu": 600}}}, name="other")
    role = synthetic("aws:iam/role:Role", {"computeConfig": {"nodePools": ["general-purpose"]}}, name="role")
    assert fired("stack-eks-cpu-budget", [other, role]) == []


def test_a_node_pool_of_unknown_cpu_adds_nothing_to_pools_over_the_budget() -> None:
    pools = [synthetic(KARPENTER, s.karpenter_node_pool(c), name=f"p{i}") for i, c in enumerate((256, 257, UNKNOWN))]
    assert fired("stack-eks-cpu-budget", pools) == ["NodePools may reach 513 vCPUs together; the budget is 512."]


def test_a_negative_minimum_is_refused_even_where_scale_to_zero_is_allowed() -> None:
    record = synthetic(SCALED_OBJECT, s.scaled_object("worker", -1, 10))
    assert violations("k8s-autoscaler-bounds", record) == ["the minimum (-1) is below 0."]


def test_only_namespaces_need_a_default_deny_and_the_message_names_the_namespace() -> None:
    assert fired("k8s-namespace-default-deny", [_deployment(2)]) == []
    ns = synthetic("kubernetes:core/v1:Namespace", s.namespace(), name="app-ns")
    assert fired("k8s-namespace-default-deny", [ns]) == [
        "namespace 'app' has no default-deny NetworkPolicy closing Ingress, Egress."
    ]


def test_a_negative_uid_is_not_root() -> None:
    props = s.patched(s.deployment(), "spec.template.spec.containers.0.securityContext.runAsUser", -1)
    assert violations("k8s-run-as-non-root", synthetic(DEPLOYMENT, props)) == []


def test_a_container_without_a_name_is_called_a_container() -> None:
    props = s.patched(s.deployment(), "spec.template.spec.containers.0.name", s.DELETE)
    props = s.patched(props, "spec.template.spec.containers.0.securityContext.privileged", True)
    assert violations("k8s-no-privilege-escalation", synthetic(DEPLOYMENT, props)) == ["a container is privileged."]


def test_every_workload_needs_its_own_disruption_budget() -> None:
    single, covered, bare = _deployment(1, "single"), _deployment(2, "api"), _deployment(2, "web")
    records = [single, covered, synthetic(PDB, s.pdb("api"), name="api-pdb"), bare]
    assert fired("k8s-pdb-required", records) == [
        "Deployment 'web' can run 2 replicas but no PodDisruptionBudget selects its pods."
    ]


@pytest.mark.parametrize(("status", "fires"), [("Enabled", False), ("Suspended", True), ("Disabled", True)])
def test_versioning_must_be_enabled(status: str, fires: bool) -> None:
    props = s.patched(s.versioning(), "versioningConfiguration.status", status)
    assert bool(violations("aws-s3-versioning-enabled", synthetic(VERSIONING, props))) is fires


def test_the_context_of_a_check_is_immutable() -> None:
    ctx = Context(DO_CLUSTER, "u", "n")
    with pytest.raises(FrozenInstanceError):
        ctx.name = "other"  # type: ignore[misc]


def test_a_stack_guard_sees_each_resources_parent() -> None:
    seen: list[StackResource] = []

    def check(resources: list[StackResource], cfg: Any) -> list[tuple[str, str | None]]:
        seen.extend(resources)
        return []

    probe = StackGuard(
        name="probe",
        description="Probe.",
        severity=guard("do-db-standby").severity,
        remediation="None.",
        group="test",
        check=check,
    )
    options = PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=False,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent="urn:pulumi:p::x::parent::p",
    )
    record = PolicyResource(VOLUME, s.volume(), "urn:pulumi:p::x::t::v", "v", options, None, None, [], {})

    def ignore(message: str, urn: str | None = None) -> None:
        return None

    probe.validate(StackValidationArgs([record], {}), ignore)
    assert seen[0].parent == "urn:pulumi:p::x::parent::p"


def test_only_network_policies_are_policies_whatever_their_type_sorts_like() -> None:
    ns = synthetic("kubernetes:core/v1:Namespace", s.namespace(), name="app")
    look_alike = synthetic("kubernetes:apps/v1:ReplicaSet", s.default_deny(), name="rs")
    assert fired("k8s-namespace-default-deny", [ns, look_alike]) != []


def test_a_droplet_depending_on_a_volume_does_not_attach_it() -> None:
    volume = synthetic(VOLUME, s.volume(), name="data")
    droplet = synthetic(DROPLET, {**s.droplet(), "volumeIds": []}, name="mon", dependencies=[volume.urn])
    assert fired("stack-volume-attached", [volume, droplet]) == ["volume 'data' is not attached to any droplet."]


def test_a_context_is_unprotected_unless_told() -> None:
    assert Context(DO_CLUSTER, "u", "n").protect is False


def test_a_bucket_without_known_names_is_matched_through_dependencies() -> None:
    bucket = synthetic(BUCKET, {"forceDestroy": False}, name="backups")
    sides = [
        synthetic(t, {**props, "bucket": "later-known"}, name=t.rsplit(":", 1)[-1], dependencies=[bucket.urn])
        for t, props in (
            (VERSIONING, s.versioning()),
            (
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                s.encryption(),
            ),
            ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", s.public_access_block()),
            (LIFECYCLE, s.lifecycle()),
        )
    ]
    assert fired("stack-s3-bucket-complete", [bucket, *sides]) == []


@pytest.mark.parametrize("missing", ["day", "startTime"])
def test_a_maintenance_policy_needs_both_day_and_start_time(missing: str) -> None:
    props = s.patched(s.do_cluster(), f"maintenancePolicy.{missing}", s.DELETE)
    assert violations("do-k8s-auto-upgrade", synthetic(DO_CLUSTER, props)) == [
        "maintenancePolicy needs both day and startTime."
    ]


def test_only_a_cluster_has_a_default_pool_whatever_its_type_sorts_like() -> None:
    props = {**s.volume(), "nodePool": {"tags": []}}
    assert violations("do-required-tags", synthetic(VOLUME, props)) == []


def test_a_disruption_budget_that_depends_on_a_workload_is_no_scaler() -> None:
    workload = _deployment(2)
    pdb = synthetic(PDB, s.pdb("api"), name="api-pdb", dependencies=[workload.urn])
    assert fired("k8s-replica-floor", [workload, pdb]) == []


def test_each_namespace_is_judged_after_other_resources() -> None:
    ns = synthetic("kubernetes:core/v1:Namespace", s.namespace(), name="app-ns")
    assert fired("k8s-namespace-default-deny", [_deployment(2), ns]) != []


def test_a_default_deny_in_another_namespace_does_not_count() -> None:
    ns = synthetic("kubernetes:core/v1:Namespace", s.namespace(), name="app-ns")
    elsewhere = s.patched(s.default_deny(), "metadata.namespace", "a-team")
    netpol = synthetic("kubernetes:networking.k8s.io/v1:NetworkPolicy", elsewhere, name="deny")
    assert fired("k8s-namespace-default-deny", [ns, netpol]) != []


def test_an_unknown_image_of_one_container_does_not_hide_the_next() -> None:
    first = s.patched(s.container("a"), "image", UNKNOWN)
    second = s.container("b", "registry.example/api:latest")
    props = s.patched(s.deployment(), "spec.template.spec.containers", [first, second])
    assert violations("k8s-image-pinned", synthetic(DEPLOYMENT, props)) == [
        "container 'b' image 'registry.example/api:latest' uses the mutable tag 'latest'."
    ]


def test_a_slash_zero_with_host_bits_still_opens_the_eks_endpoint_to_the_world() -> None:
    props = s.patched(s.eks_cluster(), "vpcConfig.endpointPublicAccess", True)
    props = s.patched(props, "vpcConfig.publicAccessCidrs", ["10.0.0.1/0"])
    assert violations("eks-endpoint-not-public", synthetic(EKS, props)) != []


def test_a_scaler_of_another_name_does_not_scale_the_workload() -> None:
    low = synthetic(HPA, s.hpa("api", 1, 6), name="api-hpa")
    assert fired("k8s-replica-floor", [_deployment(2, "web"), low]) == []


def test_an_unknown_tls_host_leaves_the_ingress_unjudged() -> None:
    props = s.patched(s.ingress(), "spec.tls.0.hosts", [UNKNOWN])
    assert violations("k8s-ingress-tls", synthetic(INGRESS, props)) == []


def test_every_namespace_is_judged_after_one_that_passes() -> None:
    good = synthetic("kubernetes:core/v1:Namespace", s.namespace("app"), name="app-ns")
    deny = synthetic("kubernetes:networking.k8s.io/v1:NetworkPolicy", s.default_deny("app"), name="deny")
    bare = synthetic("kubernetes:core/v1:Namespace", s.namespace("other"), name="other-ns")
    assert fired("k8s-namespace-default-deny", [good, deny, bare]) == [
        "namespace 'other' has no default-deny NetworkPolicy closing Ingress, Egress."
    ]


def test_an_hpa_without_min_replicas_may_have_a_maximum_of_one() -> None:
    props = s.patched(s.hpa("api", 1, 1), "spec.minReplicas", s.DELETE)
    assert violations("k8s-autoscaler-bounds", synthetic(HPA, props)) == []


def test_the_budget_is_the_pack_configs_whatever_the_stack_is_named() -> None:
    # 10 nodes at $120: $1,200. The figure judged is the one the pack config states, never one looked up
    # from a stack file by name (a stack named `staging` with production's config is production).
    plan = {**s.database(), "size": "db-s-4vcpu-8gb", "nodeCount": 1}
    records = [synthetic(DB, plan, name=f"db{i}", stack="staging") for i in range(10)]
    assert (
        fired("stack-monthly-budget", records, {"environment": "production", "fullScaleUsd": 1300, "minScaleUsd": 1300})
        == []
    )
    assert (
        fired("stack-monthly-budget", records, {"environment": "production", "fullScaleUsd": 1100, "minScaleUsd": 1100})
        != []
    )


@pytest.mark.parametrize(
    ("guard_name", "type_token", "path", "message"),
    [
        (
            "k8s-run-as-non-root",
            DEPLOYMENT,
            "spec.template.spec.containers.0.securityContext.runAsNonRoot",
            "container 'api' does not set runAsNonRoot: true (pod or container securityContext).",
        ),
        (
            "k8s-no-privilege-escalation",
            DEPLOYMENT,
            "spec.template.spec.containers.0.securityContext.allowPrivilegeEscalation",
            "container 'api' does not set allowPrivilegeEscalation: false.",
        ),
        (
            "do-k8s-auto-upgrade",
            DO_CLUSTER,
            "autoUpgrade",
            "autoUpgrade is not true (security patches wait for a manual upgrade).",
        ),
        ("do-k8s-ha-control-plane", DO_CLUSTER, "ha", None),
        ("do-droplet-monitoring", DROPLET, "monitoring", "monitoring is not true."),
    ],
)
def test_an_unset_flag_is_judged_as_not_set(guard_name: str, type_token: str, path: str, message: str | None) -> None:
    good = {DEPLOYMENT: s.deployment, DO_CLUSTER: s.do_cluster, DROPLET: s.droplet}[type_token]()
    props = s.patched(good, path, s.DELETE)
    if guard_name == "k8s-run-as-non-root":
        props = s.patched(props, "spec.template.spec.securityContext.runAsNonRoot", s.DELETE)
    found = violations(guard_name, synthetic(type_token, props))
    assert found and (message is None or found == [message])


def test_an_unexpected_environment_is_judged_as_production() -> None:
    assert Context(DO_CLUSTER, "u", "n", environment="zzz").production is True


def test_a_stack_resource_is_unprotected_unless_told() -> None:
    assert StackResource(VOLUME, "u", "n", {}).protect is False


def test_a_default_deny_in_a_later_sorting_namespace_does_not_count() -> None:
    ns = synthetic("kubernetes:core/v1:Namespace", s.namespace(), name="app-ns")
    elsewhere = s.patched(s.default_deny(), "metadata.namespace", "zoo")
    netpol = synthetic("kubernetes:networking.k8s.io/v1:NetworkPolicy", elsewhere, name="deny")
    assert fired("k8s-namespace-default-deny", [ns, netpol]) != []


def test_a_droplet_of_unknown_size_is_not_judged_by_size() -> None:
    droplet = synthetic(DROPLET, {**s.droplet(), "size": UNKNOWN}, name="later")
    assert fired("stack-budget-caps", [droplet], {"allowedNodeSizes": ["s-2vcpu-4gb"]}) == []
