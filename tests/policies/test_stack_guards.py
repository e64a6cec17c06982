"""Every stack guard: a passing and a failing stack, plus relations resolved while names/ids are unknown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from policies.guards import GUARDS, StackGuard
from tests.harness import Resource
from tests.policies import samples as s
from tests.policy_adapter import mutate, stack_violations, synthetic

DB = "digitalocean:index/databaseCluster:DatabaseCluster"
DB_FW = "digitalocean:index/databaseFirewall:DatabaseFirewall"
VOLUME = "digitalocean:index/volume:Volume"
ATTACHMENT = "digitalocean:index/volumeAttachment:VolumeAttachment"
CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


STAGING = {"environment": "staging"}


def fired(name: str, records: list[Resource], config: dict[str, Any] | None = None) -> list[str]:
    return [message for message, _ in stack_violations(name, records, config)]


def with_id(record: Resource, rid: str) -> Resource:
    """A created resource: AnalyzeStack sees its id among its outputs."""
    return mutate(record, custom=True, id=rid)


# --- stack-db-exactly-one-firewall


def _db(stack: str = "production") -> Resource:
    return synthetic(DB, s.database(), name="pg-cluster", stack=stack, protect=True)


def _db_firewall(db: Resource, name: str = "pg-firewall", cluster_id: Any = s.UNKNOWN) -> Resource:
    return synthetic(DB_FW, s.patched(s.database_firewall(), "clusterId", cluster_id), name=name, dependencies=[db.urn])


def test_database_with_one_firewall_passes() -> None:
    db = _db()
    assert fired("stack-db-exactly-one-firewall", [db, _db_firewall(db)]) == []


def test_database_without_firewall_fires() -> None:
    assert fired("stack-db-exactly-one-firewall", [_db()]) != []


def test_database_with_two_firewalls_fires() -> None:
    db = _db()
    assert fired("stack-db-exactly-one-firewall", [db, _db_firewall(db), _db_firewall(db, "pg-firewall-2")]) != []


def test_firewall_matches_its_database_by_id_once_known() -> None:
    db = with_id(_db(), "db-1")
    matching = _db_firewall(db, cluster_id="db-1")
    elsewhere = mutate(_db_firewall(db, cluster_id="db-other"), dependencies=(db.urn,))
    assert fired("stack-db-exactly-one-firewall", [db, mutate(matching, dependencies=())]) == []
    assert fired("stack-db-exactly-one-firewall", [db, elsewhere]) != []


# --- stack-stateful-protected


def test_protected_production_volume_passes() -> None:
    assert fired("stack-stateful-protected", [synthetic(VOLUME, s.volume(), protect=True)]) == []


def test_unprotected_production_volume_fires() -> None:
    assert fired("stack-stateful-protected", [synthetic(VOLUME, s.volume(), protect=False)]) != []


def test_unprotected_staging_database_passes() -> None:
    assert fired("stack-stateful-protected", [synthetic(DB, s.database())], STAGING) == []


# --- stack-budget-caps


def _pools(max_nodes: int, size: str = "s-2vcpu-4gb") -> list[Resource]:
    return [
        synthetic(CLUSTER, s.do_cluster(), name="cluster"),
        synthetic(POOL, s.patched(s.patched(s.node_pool(), "maxNodes", max_nodes), "size", size), name="general"),
    ]


def test_pools_within_budget_pass() -> None:
    assert fired("stack-budget-caps", _pools(6), {"maxClusterNodes": 8}) == []


def test_pools_beyond_node_cap_fire() -> None:
    assert fired("stack-budget-caps", _pools(10), {"maxClusterNodes": 8}) != []


def test_pool_size_outside_allow_list_fires() -> None:
    assert fired("stack-budget-caps", _pools(2, "s-8vcpu-16gb"), {"allowedNodeSizes": ["s-2vcpu-4gb"]}) != []


def test_database_plan_outside_allow_list_fires() -> None:
    db = synthetic(DB, s.patched(s.database(), "size", "db-s-8vcpu-32gb"))
    assert fired("stack-budget-caps", [db]) != []


def test_database_nodes_beyond_cap_fire() -> None:
    dbs = [synthetic(DB, s.database(), name=f"db{i}") for i in range(3)]
    assert fired("stack-budget-caps", dbs, {"maxDatabaseNodes": 4}) != []
    assert fired("stack-budget-caps", dbs[:2], {"maxDatabaseNodes": 4}) == []


# --- stack-volume-attached


def test_attached_volume_passes() -> None:
    volume = synthetic(VOLUME, s.volume(), name="data")
    attachment = synthetic(ATTACHMENT, {"dropletId": s.UNKNOWN, "volumeId": s.UNKNOWN}, dependencies=[volume.urn])
    assert fired("stack-volume-attached", [volume, attachment]) == []


def test_detached_volume_fires() -> None:
    assert fired("stack-volume-attached", [synthetic(VOLUME, s.volume(), name="data")]) != []


# --- stack-no-cross-environment-references


def test_clean_staging_stack_passes() -> None:
    props = s.patched(s.volume(), "tags", ["niche-discovery", "env:staging", "managed-by:pulumi"])
    assert fired("stack-no-cross-environment-references", [synthetic(VOLUME, props, stack="staging")], STAGING) == []


def test_staging_value_naming_production_fires() -> None:
    props = s.patched(s.volume(), "tags", ["niche-discovery", "env:staging", "managed-by:pulumi"])
    props = s.patched(props, "description", "restored from niche-discovery-production-monitoring-data")
    found = fired("stack-no-cross-environment-references", [synthetic(VOLUME, props, stack="staging")], STAGING)
    assert found == [
        "'subject' description = 'restored from niche-discovery-production-monitoring-data' matches "
        "'[a-z0-9]-production\\\\b'."
    ]


def test_staging_stack_reference_to_production_fires() -> None:
    reference = synthetic("pulumi:pulumi:StackReference", {"name": "acme/platform/production"}, stack="staging")
    assert fired("stack-no-cross-environment-references", [reference], STAGING) != []
    # The environment, not the stack name, says which side a stack is on.
    assert fired("stack-no-cross-environment-references", [reference], {"environment": "production"}) == []


def test_production_naming_itself_passes() -> None:
    assert fired("stack-no-cross-environment-references", [synthetic(VOLUME, s.volume(), stack="production")]) == []


# --- stack-s3-bucket-complete


def _bucket_stack() -> list[Resource]:
    bucket = synthetic("aws:s3/bucket:Bucket", s.bucket(), name="backups")
    sides = [
        ("aws:s3/bucketVersioning:BucketVersioning", s.versioning()),
        ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", s.encryption()),
        ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", s.public_access_block()),
        ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", s.lifecycle()),
    ]
    return [bucket] + [
        synthetic(t, s.patched(p, "bucket", s.UNKNOWN), name=t.rsplit(":", 1)[-1], dependencies=[bucket.urn])
        for t, p in sides
    ]


def test_bucket_with_all_side_resources_passes() -> None:
    assert fired("stack-s3-bucket-complete", _bucket_stack()) == []


def test_bucket_without_lifecycle_fires() -> None:
    records = [r for r in _bucket_stack() if "Lifecycle" not in r.type]
    assert any("BucketLifecycleConfiguration" in m for m in fired("stack-s3-bucket-complete", records))


# --- stack-eks-cpu-budget

EKS = "aws:eks/cluster:Cluster"
KARPENTER_POOL = "kubernetes:karpenter.sh/v1:NodePool"


def _eks_pools(*limits: Any) -> list[Resource]:
    return [synthetic(KARPENTER_POOL, s.karpenter_node_pool(cpu), name=f"pool-{i}") for i, cpu in enumerate(limits)]


def test_node_pools_within_the_budget_pass() -> None:
    assert fired("stack-eks-cpu-budget", _eks_pools(64, "32", "32000m"), {"maxTotalCpu": 128}) == []


def test_node_pools_over_the_budget_together_fire() -> None:
    assert fired("stack-eks-cpu-budget", _eks_pools(64, 96), {"maxTotalCpu": 128}) != []


def test_the_uncapped_built_in_pool_fires() -> None:
    cluster = synthetic(EKS, s.patched(s.eks_cluster(), "computeConfig.nodePools", ["general-purpose", "system"]))
    assert fired("stack-eks-cpu-budget", [cluster, *_eks_pools(8)]) != []
    assert fired("stack-eks-cpu-budget", [synthetic(EKS, s.eks_cluster()), *_eks_pools(8)]) == []


def test_unknown_limits_and_pools_are_not_judged() -> None:
    cluster = synthetic(EKS, s.patched(s.eks_cluster(), "computeConfig.nodePools", s.UNKNOWN))
    assert fired("stack-eks-cpu-budget", [cluster, *_eks_pools(s.UNKNOWN, 600)], {"maxTotalCpu": 600}) == []


# --- k8s-replica-floor


def _deployment(replicas: int | None, name: str = "api", stack: str = "production", meta_name: Any = None) -> Resource:
    props = s.deployment(name, replicas)
    if meta_name is not None:
        props = s.patched(props, "metadata.name", meta_name)
    return synthetic(DEPLOYMENT, props, name=name, stack=stack)


def test_replicas_at_floor_pass() -> None:
    assert fired("k8s-replica-floor", [_deployment(2)]) == []


def test_single_replica_in_production_fires() -> None:
    assert fired("k8s-replica-floor", [_deployment(1)]) != []


def test_single_replica_in_staging_passes() -> None:
    assert fired("k8s-replica-floor", [_deployment(1)], STAGING) == []
    assert fired("k8s-replica-floor", [_deployment(1)], {**STAGING, "productionOnly": False}) != []


def test_hpa_floor_counts_instead_of_replicas() -> None:
    workload = _deployment(None)
    ok = synthetic(HPA, s.hpa("api", 2, 6), name="api-hpa")
    low = synthetic(HPA, s.hpa("api", 1, 6), name="api-hpa")
    assert fired("k8s-replica-floor", [workload, ok]) == []
    assert fired("k8s-replica-floor", [workload, low]) != []


def test_hpa_found_through_dependency_while_names_are_unknown() -> None:
    workload = _deployment(None, meta_name=s.UNKNOWN)
    low = synthetic(
        HPA, s.patched(s.hpa("api", 1, 6), "spec.scaleTargetRef.name", s.UNKNOWN), dependencies=[workload.urn]
    )
    assert fired("k8s-replica-floor", [workload, low]) != []


def test_keda_scale_to_zero_fires_unless_exempt() -> None:
    worker = _deployment(None, "worker")
    scaler = synthetic(SCALED_OBJECT, s.scaled_object("worker", 0, 10), name="worker-scaler")
    assert fired("k8s-replica-floor", [worker, scaler]) != []
    assert fired("k8s-replica-floor", [worker, scaler], {"exempt": ["worker"]}) == []


# --- k8s-pdb-required


def test_multi_replica_workload_with_pdb_passes() -> None:
    assert fired("k8s-pdb-required", [_deployment(2), synthetic(PDB, s.pdb("api"), name="api-pdb")]) == []


def test_multi_replica_workload_without_pdb_fires() -> None:
    assert fired("k8s-pdb-required", [_deployment(2)]) != []


def test_pdb_selecting_other_pods_does_not_count() -> None:
    assert fired("k8s-pdb-required", [_deployment(2), synthetic(PDB, s.pdb("web"), name="web-pdb")]) != []


def test_autoscaled_workload_needs_pdb_even_at_one_replica() -> None:
    records = [_deployment(None, stack="staging"), synthetic(HPA, s.hpa("api", 1, 4), name="api-hpa")]
    assert fired("k8s-pdb-required", records) != []


def test_single_replica_workload_needs_no_pdb() -> None:
    assert fired("k8s-pdb-required", [_deployment(1)]) == []


# --- k8s-namespace-default-deny


def test_namespace_with_default_deny_passes() -> None:
    ns = synthetic(NAMESPACE, s.namespace(), name="app")
    assert fired("k8s-namespace-default-deny", [ns, synthetic(NETPOL, s.default_deny(), name="deny")]) == []


def test_namespace_without_network_policy_fires() -> None:
    assert fired("k8s-namespace-default-deny", [synthetic(NAMESPACE, s.namespace(), name="app")]) != []


def test_allow_all_policy_is_not_default_deny() -> None:
    ns = synthetic(NAMESPACE, s.namespace(), name="app")
    allow = synthetic(NETPOL, s.patched(s.default_deny(), "spec.ingress", [{}]), name="allow")
    assert fired("k8s-namespace-default-deny", [ns, allow]) != []


def test_ingress_only_deny_when_egress_is_required_fires() -> None:
    ns = synthetic(NAMESPACE, s.namespace(), name="app")
    ingress_only = synthetic(NETPOL, s.patched(s.default_deny(), "spec.policyTypes", ["Ingress"]), name="deny")
    assert fired("k8s-namespace-default-deny", [ns, ingress_only]) != []
    assert fired("k8s-namespace-default-deny", [ns, ingress_only], {"policyTypes": ["Ingress"]}) == []


def test_default_deny_found_through_dependency_while_namespace_name_is_unknown() -> None:
    ns = synthetic(NAMESPACE, s.patched(s.namespace(), "metadata.name", s.UNKNOWN), name="app")
    deny = synthetic(NETPOL, s.patched(s.default_deny(), "metadata.namespace", s.UNKNOWN), dependencies=[ns.urn])
    assert fired("k8s-namespace-default-deny", [ns, deny]) == []


def test_every_stack_guard_has_fire_tests() -> None:
    text = "\n".join(p.read_text() for p in Path(__file__).parent.parent.rglob("test_*.py"))
    untested = [g.name for g in GUARDS if isinstance(g, StackGuard) and f'"{g.name}"' not in text]
    assert untested == []
