"""Every resource guard: a passing case, a failing case (one value changed), and the same value unknown.

Cases go through the policy's own ``validate`` with props wrapped in pulumi_policy's unknown-checking
proxy, as the analyzer calls it. The unknown variant proves a preview never turns into a false
violation (and never raises, which the SDK would downgrade to an advisory "can't run" notice).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from policies.guards import GUARDS, ResourceGuard
from tests.policies import samples as s
from tests.policy_adapter import synthetic, violations

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CRONJOB = "kubernetes:batch/v1:CronJob"
DO_CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
POD = "spec.template.spec"
C0 = f"{POD}.containers.0"
EKS = "aws:eks/cluster:Cluster"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
RDS = "aws:rds/instance:Instance"
ELASTICACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
GOLDEN = Path(__file__).parent / "golden" / "resource_violations.json"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
READS_SEVERAL = {("do-db-standby", "engine"), ("do-node-pool-bounds", "autoScale"), ("do-node-pool-bounds", "maxNodes")}
"""(guard, top-level key) pairs where an unknown key legitimately hides the violation of another one."""


@dataclass(frozen=True)
class Case:
    guard: str
    type: str
    good: Callable[[], dict[str, Any]]
    path: str | tuple[str, ...]
    bad: Any
    stack: str = "production"
    config: dict[str, Any] = field(default_factory=dict)
    ignore_changes: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        path = self.path if isinstance(self.path, str) else ".".join(self.path)
        return f"{self.guard}:{path}={self.bad if self.bad is not s.DELETE else '<deleted>'}"


CASES = [
    # --- Kubernetes workload security
    Case("k8s-run-as-non-root", DEPLOYMENT, s.deployment, f"{C0}.securityContext.runAsUser", 0),
    Case("k8s-run-as-non-root", DEPLOYMENT, s.deployment, f"{C0}.securityContext.runAsNonRoot", False),
    Case(
        "k8s-run-as-non-root",
        CRONJOB,
        s.cronjob,
        "spec.jobTemplate.spec.template.spec.containers.0.securityContext.runAsNonRoot",
        False,
    ),
    Case(
        "k8s-read-only-root-filesystem", DEPLOYMENT, s.deployment, f"{C0}.securityContext.readOnlyRootFilesystem", False
    ),
    Case(
        "k8s-read-only-root-filesystem",
        CRONJOB,
        s.cronjob,
        "spec.jobTemplate.spec.template.spec.containers.0.securityContext.readOnlyRootFilesystem",
        s.DELETE,
    ),
    Case(
        "k8s-no-privilege-escalation", DEPLOYMENT, s.deployment, f"{C0}.securityContext.allowPrivilegeEscalation", True
    ),
    Case("k8s-no-privilege-escalation", DEPLOYMENT, s.deployment, f"{C0}.securityContext.privileged", True),
    Case("k8s-drop-all-capabilities", DEPLOYMENT, s.deployment, f"{C0}.securityContext.capabilities.drop", ["NET_RAW"]),
    Case(
        "k8s-drop-all-capabilities", DEPLOYMENT, s.deployment, f"{C0}.securityContext.capabilities.add", ["SYS_ADMIN"]
    ),
    Case("k8s-seccomp-profile", DEPLOYMENT, s.deployment, f"{C0}.securityContext.seccompProfile.type", "Unconfined"),
    Case("k8s-no-host-namespaces", DEPLOYMENT, s.deployment, f"{POD}.hostNetwork", True),
    Case("k8s-no-host-namespaces", DEPLOYMENT, s.deployment, f"{POD}.hostPID", True),
    Case("k8s-no-host-namespaces", DEPLOYMENT, s.deployment, f"{POD}.hostIPC", True),
    Case(
        "k8s-no-host-path",
        DEPLOYMENT,
        s.deployment,
        f"{POD}.volumes.1",
        {"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}},
    ),
    Case("k8s-resources-requests-limits", DEPLOYMENT, s.deployment, f"{C0}.resources.limits", s.DELETE),
    Case("k8s-resources-requests-limits", DEPLOYMENT, s.deployment, f"{C0}.resources.requests.cpu", s.DELETE),
    Case("k8s-probes", DEPLOYMENT, s.deployment, f"{C0}.livenessProbe", s.DELETE),
    Case("k8s-probes", DEPLOYMENT, s.deployment, f"{C0}.readinessProbe", s.DELETE),
    Case("k8s-image-pinned", DEPLOYMENT, s.deployment, f"{C0}.image", "registry.digitalocean.com/nde/api:latest"),
    Case("k8s-image-pinned", DEPLOYMENT, s.deployment, f"{C0}.image", "registry.digitalocean.com/nde/api"),
    Case(
        "k8s-image-pinned",
        CRONJOB,
        s.cronjob,
        "spec.jobTemplate.spec.template.spec.containers.0.image",
        "postgres:latest",
    ),
    Case("k8s-no-default-service-account-token", DEPLOYMENT, s.deployment, f"{POD}.automountServiceAccountToken", True),
    Case(
        "k8s-no-default-service-account-token",
        DEPLOYMENT,
        s.deployment,
        f"{POD}.automountServiceAccountToken",
        s.DELETE,
    ),
    Case(
        "k8s-no-secrets-in-configmaps",
        "kubernetes:core/v1:ConfigMap",
        s.config_map,
        "data.DATABASE_URL",
        "postgresql://app:hunter2@db.example:25060/app",
    ),
    Case(
        "k8s-no-secrets-in-configmaps",
        "kubernetes:core/v1:ConfigMap",
        s.config_map,
        "data.JWT_SECRET",
        "0123456789abcdef",
    ),
    Case(
        "k8s-no-plain-secret-env",
        DEPLOYMENT,
        s.deployment,
        f"{C0}.env.0",
        {"name": "REDDIT_CLIENT_SECRET", "value": "abc123"},
    ),
    Case(
        "k8s-no-plain-secret-env",
        DEPLOYMENT,
        s.deployment,
        f"{C0}.env.0.value",
        "rediss://default:pw@private-cache.example:25061",
    ),
    # --- Kubernetes availability and network
    Case(
        "k8s-rolling-update-zero-unavailable",
        DEPLOYMENT,
        s.deployment,
        "spec.strategy.rollingUpdate.maxUnavailable",
        "25%",
    ),
    Case("k8s-rolling-update-zero-unavailable", DEPLOYMENT, s.deployment, "spec.strategy", {"type": "Recreate"}),
    Case("k8s-autoscaler-bounds", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", s.hpa, "spec.minReplicas", 8),
    Case("k8s-autoscaler-bounds", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", s.hpa, "spec.maxReplicas", 50),
    Case(
        "k8s-autoscaler-bounds",
        "kubernetes:keda.sh/v1alpha1:ScaledObject",
        s.scaled_object,
        "spec.maxReplicaCount",
        s.DELETE,
    ),
    Case(
        "k8s-namespace-pod-security",
        "kubernetes:core/v1:Namespace",
        s.namespace,
        ("metadata", "labels", "pod-security.kubernetes.io/enforce"),
        "privileged",
    ),
    Case("k8s-ingress-tls", "kubernetes:networking.k8s.io/v1:Ingress", s.ingress, "spec.tls", s.DELETE),
    Case(
        "k8s-ingress-tls",
        "kubernetes:networking.k8s.io/v1:Ingress",
        s.ingress,
        "spec.rules.0.host",
        "admin.example.com",
    ),
    Case(
        "k8s-ingress-https-redirect",
        "kubernetes:networking.k8s.io/v1:Ingress",
        s.ingress,
        ("metadata", "annotations", "nginx.ingress.kubernetes.io/force-ssl-redirect"),
        "false",
    ),
    Case("k8s-helm-chart-pinned", "kubernetes:helm.sh/v3:Release", s.helm_release, "version", s.DELETE),
    Case("k8s-helm-chart-pinned", "kubernetes:helm.sh/v3:Release", s.helm_release, "version", "~4.12"),
    # --- DigitalOcean
    Case(
        "do-k8s-auto-upgrade",
        "digitalocean:index/kubernetesCluster:KubernetesCluster",
        s.do_cluster,
        "autoUpgrade",
        False,
    ),
    Case(
        "do-k8s-auto-upgrade",
        "digitalocean:index/kubernetesCluster:KubernetesCluster",
        s.do_cluster,
        "maintenancePolicy",
        s.DELETE,
    ),
    Case(
        "do-k8s-surge-upgrade",
        "digitalocean:index/kubernetesCluster:KubernetesCluster",
        s.do_cluster,
        "surgeUpgrade",
        False,
    ),
    Case(
        "do-k8s-ha-control-plane", "digitalocean:index/kubernetesCluster:KubernetesCluster", s.do_cluster, "ha", False
    ),
    Case(
        "do-node-pool-bounds", "digitalocean:index/kubernetesNodePool:KubernetesNodePool", s.node_pool, "nodeCount", 3
    ),
    Case(
        "do-node-pool-bounds", "digitalocean:index/kubernetesNodePool:KubernetesNodePool", s.node_pool, "maxNodes", 30
    ),
    Case("do-node-pool-bounds", "digitalocean:index/kubernetesNodePool:KubernetesNodePool", s.node_pool, "minNodes", 0),
    Case("do-node-pool-bounds", "digitalocean:index/kubernetesNodePool:KubernetesNodePool", s.node_pool, "minNodes", 8),
    Case(
        "do-node-pool-bounds",
        "digitalocean:index/kubernetesCluster:KubernetesCluster",
        s.do_cluster,
        "nodePool.nodeCount",
        12,
    ),
    Case("do-db-standby", "digitalocean:index/databaseCluster:DatabaseCluster", s.database, "nodeCount", 1),
    Case(
        "do-db-private-network",
        "digitalocean:index/databaseCluster:DatabaseCluster",
        s.database,
        "privateNetworkUuid",
        s.DELETE,
    ),
    Case(
        "do-db-maintenance-window",
        "digitalocean:index/databaseCluster:DatabaseCluster",
        s.database,
        "maintenanceWindows",
        [],
    ),
    Case(
        "do-db-firewall-no-public",
        "digitalocean:index/databaseFirewall:DatabaseFirewall",
        s.database_firewall,
        "rules.1",
        {"type": "ip_addr", "value": "0.0.0.0/0"},
    ),
    Case(
        "do-db-firewall-no-public",
        "digitalocean:index/databaseFirewall:DatabaseFirewall",
        s.database_firewall,
        "rules",
        [],
    ),
    Case("do-droplet-monitoring", "digitalocean:index/droplet:Droplet", s.droplet, "monitoring", False),
    Case("do-droplet-backups", "digitalocean:index/droplet:Droplet", s.droplet, "backups", False),
    Case(
        "do-firewall-no-world-admin-ports",
        "digitalocean:index/firewall:Firewall",
        s.firewall,
        "inboundRules.1.sourceAddresses",
        ["0.0.0.0/0"],
    ),
    Case(
        "do-firewall-no-world-admin-ports",
        "digitalocean:index/firewall:Firewall",
        s.firewall,
        "inboundRules.3",
        {"protocol": "tcp", "portRange": "1-65535", "sourceAddresses": ["::/0"]},
    ),
    Case(
        "do-firewall-explicit-targets",
        "digitalocean:index/firewall:Firewall",
        s.firewall,
        "tags",
        ["niche-discovery", "monitoring"],
        config={"sharedTags": ["niche-discovery"]},
    ),
    Case(
        "do-firewall-explicit-targets", "digitalocean:index/firewall:Firewall", s.firewall, "tags.1", "env:production"
    ),
    Case(
        "do-required-tags",
        "digitalocean:index/droplet:Droplet",
        s.droplet,
        "tags",
        ["niche-discovery", "env:production"],
    ),
    Case("do-required-tags", "digitalocean:index/volume:Volume", s.volume, "tags.1", "env:staging"),
    Case(
        "do-required-tags", "digitalocean:index/kubernetesCluster:KubernetesCluster", s.do_cluster, "nodePool.tags", []
    ),
    Case("do-region-allowed", "digitalocean:index/databaseCluster:DatabaseCluster", s.database, "region", "sfo2"),
    Case(
        "do-region-allowed",
        "digitalocean:index/volume:Volume",
        s.volume,
        "region",
        "fra1",
        config={"allowedRegions": ["nyc1"]},
    ),
    # --- AWS backups
    Case(
        "aws-s3-public-access-blocked",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        s.public_access_block,
        "blockPublicPolicy",
        False,
    ),
    Case(
        "aws-s3-public-access-blocked",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        s.public_access_block,
        "restrictPublicBuckets",
        s.DELETE,
    ),
    Case(
        "aws-s3-versioning-enabled",
        "aws:s3/bucketVersioning:BucketVersioning",
        s.versioning,
        "versioningConfiguration.status",
        "Suspended",
    ),
    Case(
        "aws-s3-encryption",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        s.encryption,
        "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm",
        "AES256",
        config={"algorithms": ["aws:kms"]},
    ),
    Case(
        "aws-s3-lifecycle-expiry",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        s.lifecycle,
        "rules.0.status",
        "Disabled",
    ),
    Case(
        "aws-s3-lifecycle-expiry",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        s.lifecycle,
        "rules.0.noncurrentVersionExpiration.noncurrentDays",
        400,
    ),
    Case("aws-s3-no-force-destroy", "aws:s3/bucket:Bucket", s.bucket, "forceDestroy", True),
    # --- AWS EKS
    Case("eks-endpoint-not-public", EKS, s.eks_cluster, "vpcConfig.publicAccessCidrs.+", "0.0.0.0/0"),
    Case("eks-endpoint-not-public", EKS, s.eks_cluster, "vpcConfig.publicAccessCidrs", ["::/0"]),
    Case("eks-endpoint-not-public", EKS, s.eks_cluster, "vpcConfig.publicAccessCidrs", s.DELETE),
    Case("eks-secrets-encrypted", EKS, s.eks_cluster, "encryptionConfig", s.DELETE),
    Case("eks-secrets-encrypted", EKS, s.eks_cluster, "encryptionConfig.resources", []),
    Case("eks-secrets-encrypted", EKS, s.eks_cluster, "encryptionConfig.provider", s.DELETE),
    Case("eks-control-plane-logs", EKS, s.eks_cluster, "enabledClusterLogTypes", ["api", "authenticator"]),
    Case("eks-control-plane-logs", EKS, s.eks_cluster, "enabledClusterLogTypes", s.DELETE),
    Case("eks-api-authentication", EKS, s.eks_cluster, "accessConfig.authenticationMode", "API_AND_CONFIG_MAP"),
    Case("eks-api-authentication", EKS, s.eks_cluster, "accessConfig", s.DELETE),
    Case("eks-version-floor", EKS, s.eks_cluster, "version", "1.29"),
    Case("eks-version-floor", EKS, s.eks_cluster, "version", s.DELETE),
    Case("eks-version-floor", EKS, s.eks_cluster, "version", "1.33", config={"minVersion": "1.34"}),
    Case("eks-standard-support", EKS, s.eks_cluster, "upgradePolicy.supportType", "EXTENDED"),
    Case("eks-standard-support", EKS, s.eks_cluster, "upgradePolicy", s.DELETE),
    Case("aws-log-group-retention", LOG_GROUP, s.log_group, "retentionInDays", 0),
    Case("aws-log-group-retention", LOG_GROUP, s.log_group, "retentionInDays", s.DELETE),
    Case("eks-node-pool-cpu-limit", NODE_POOL, s.karpenter_node_pool, "spec.limits", s.DELETE),
    Case("eks-node-pool-cpu-limit", NODE_POOL, s.karpenter_node_pool, "spec.limits.cpu", "1000"),
    Case(
        "eks-node-pool-cpu-limit", NODE_POOL, s.karpenter_node_pool, "spec.limits.cpu", "96000m", config={"maxCpu": 64}
    ),
    Case("eks-node-pool-on-demand", NODE_POOL, s.karpenter_node_pool, f"{POD}.requirements.0.values", ["spot"]),
    Case("eks-node-pool-on-demand", NODE_POOL, s.karpenter_node_pool, f"{POD}.requirements.0.operator", "NotIn"),
    # --- AWS data services (issue 15)
    Case("aws-rds-encrypted", RDS, s.rds_instance, "storageEncrypted", False),
    Case("aws-rds-encrypted", RDS, s.rds_instance, "storageEncrypted", s.DELETE),
    Case("aws-rds-encrypted", RDS, s.rds_instance, "kmsKeyId", s.DELETE),
    Case("aws-rds-not-public", RDS, s.rds_instance, "publiclyAccessible", True),
    Case("aws-rds-production-resilience", RDS, s.rds_instance, "multiAz", False),
    Case("aws-rds-production-resilience", RDS, s.rds_instance, "deletionProtection", s.DELETE),
    Case("aws-rds-backup-retention", RDS, s.rds_instance, "backupRetentionPeriod", 1),
    Case("aws-rds-backup-retention", RDS, s.rds_instance, "backupRetentionPeriod", s.DELETE),
    Case("aws-rds-backup-retention", RDS, s.rds_instance, "backupRetentionPeriod", 10, config={"minDays": 14}),
    Case("aws-rds-managed-password", RDS, s.rds_instance, "password", "hunter2"),
    Case("aws-rds-managed-password", RDS, s.rds_instance, "manageMasterUserPassword", s.DELETE),
    Case("aws-elasticache-encryption", ELASTICACHE, s.replication_group, "transitEncryptionEnabled", False),
    Case("aws-elasticache-encryption", ELASTICACHE, s.replication_group, "transitEncryptionMode", "preferred"),
    Case("aws-elasticache-encryption", ELASTICACHE, s.replication_group, "atRestEncryptionEnabled", s.DELETE),
    Case("aws-elasticache-auth", ELASTICACHE, s.replication_group, "userGroupIds", []),
    Case("aws-elasticache-multi-az", ELASTICACHE, s.replication_group, "multiAzEnabled", False),
    Case("aws-elasticache-multi-az", ELASTICACHE, s.replication_group, "automaticFailoverEnabled", s.DELETE),
    Case("aws-cloudwatch-alarm-notifies", METRIC_ALARM, s.metric_alarm, "alarmActions", s.DELETE),
    Case("aws-cloudwatch-alarm-notifies", METRIC_ALARM, s.metric_alarm, "alarmActions", []),
    Case("aws-cloudwatch-alarm-notifies", METRIC_ALARM, s.metric_alarm, "actionsEnabled", False),
    Case("eks-gpu-pool-bounded", NODE_POOL, s.gpu_node_pool, ("spec", "limits", "nvidia.com/gpu"), s.DELETE),
    Case("eks-gpu-pool-bounded", NODE_POOL, s.gpu_node_pool, f"{POD}.taints.0.effect", "PreferNoSchedule"),
]


def _record(case: Case, props: dict[str, Any]) -> Any:
    return synthetic(case.type, props, stack=case.stack, ignore_changes=case.ignore_changes)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_good_props_pass(case: Case) -> None:
    assert violations(case.guard, _record(case, case.good()), case.config) == []


def _golden() -> dict[str, list[str]]:
    return json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_one_bad_value_fires_with_exactly_the_expected_messages(case: Case) -> None:
    # Exactly this guard's messages, pinned in a reviewed golden file (UPDATE_GOLDEN=1 rewrites it).
    found = violations(case.guard, _record(case, s.patched(case.good(), case.path, case.bad)), case.config)
    assert found, f"{case.guard} did not fire"
    if UPDATE:
        golden = _golden()
        golden[case.id] = found
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(dict(sorted(golden.items())), indent=2) + "\n")
    assert found == _golden().get(case.id), f"{case.id}: messages differ from {GOLDEN.name} (UPDATE_GOLDEN=1)"


def test_the_golden_messages_belong_to_existing_cases() -> None:
    assert set(_golden()) == {c.id for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_same_value_unknown_at_preview_is_not_a_violation(case: Case) -> None:
    # Also proves the guard reads through the SDK's proxy without raising UnknownValueError.
    assert violations(case.guard, _record(case, s.patched(case.good(), case.path, s.UNKNOWN)), case.config) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_whole_unknown_section_of_good_props_is_never_a_violation(case: Case) -> None:
    # At a first preview whole objects are unknown; reading through them must neither raise (the SDK
    # would downgrade the policy to advisory) nor report what cannot be known yet.
    good = case.good()
    for key in good:
        assert violations(case.guard, _record(case, s.patched(good, key, s.UNKNOWN)), case.config) == [], key


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_bad_value_still_fires_when_an_unrelated_section_is_unknown(case: Case) -> None:
    head = (case.path if isinstance(case.path, str) else ".".join(case.path)).split(".")[0]
    bad = s.patched(case.good(), case.path, case.bad)
    for key in [k for k in bad if k != head and not _reads(case.guard, k)]:
        assert violations(case.guard, _record(case, s.patched(bad, key, s.UNKNOWN)), case.config), key


def _reads(guard: str, key: str) -> bool:
    """Top-level keys a guard reads besides the changed one (an unknown there rightly silences it)."""
    return (guard, key) in READS_SEVERAL


def test_every_resource_guard_has_cases() -> None:
    resource_guards = {g.name for g in GUARDS if isinstance(g, ResourceGuard)}
    assert resource_guards - {c.guard for c in CASES} == set()


# --- Behaviours beyond one changed value


PRODUCTION_ONLY_CASES = [
    ("do-k8s-ha-control-plane", DO_CLUSTER, s.patched(s.do_cluster(), "ha", False)),
    ("do-db-standby", "digitalocean:index/databaseCluster:DatabaseCluster", s.patched(s.database(), "nodeCount", 1)),
    ("do-droplet-backups", "digitalocean:index/droplet:Droplet", s.patched(s.droplet(), "backups", False)),
    ("aws-s3-no-force-destroy", "aws:s3/bucket:Bucket", s.patched(s.bucket(), "forceDestroy", True)),
    (
        "eks-node-pool-on-demand",
        NODE_POOL,
        s.patched(s.karpenter_node_pool(), f"{POD}.requirements.0.values", ["spot"]),
    ),
    ("aws-rds-production-resilience", RDS, s.patched(s.rds_instance(), "multiAz", False)),
    ("aws-elasticache-multi-az", ELASTICACHE, s.patched(s.replication_group(), "multiAzEnabled", False)),
]


@pytest.mark.parametrize(("guard", "type_token", "props"), PRODUCTION_ONLY_CASES, ids=lambda v: str(v)[:40])
def test_production_only_guards_follow_the_configured_environment(guard: str, type_token: str, props: dict) -> None:
    # The environment comes from the pack's config (policies/config/<stack>.json), never the stack name:
    # a production-named stack configured as staging is judged as staging, and the reverse.
    record = synthetic(type_token, props, stack="production")
    assert violations(guard, record, {"environment": "staging"}) == []
    assert violations(guard, record, {"environment": "staging", "productionOnly": False}) != []
    assert violations(guard, synthetic(type_token, props, stack="staging"), {"environment": "production"}) != []
    assert violations(guard, synthetic(type_token, props, stack="staging")) != []  # unset: production's rules


def test_autoscaled_pool_may_hold_node_count_it_ignores() -> None:
    pool = synthetic(
        "digitalocean:index/kubernetesNodePool:KubernetesNodePool",
        s.patched(s.node_pool(), "nodeCount", 3),
        ignore_changes=("nodeCount",),
    )
    assert violations("do-node-pool-bounds", pool) == []


def test_standby_engines_come_from_config() -> None:
    cache = synthetic(
        "digitalocean:index/databaseCluster:DatabaseCluster", s.patched(s.database("valkey"), "nodeCount", 1)
    )
    assert violations("do-db-standby", cache) == []
    assert violations("do-db-standby", cache, {"engines": ["pg", "valkey"]}) != []


def test_dedicated_service_account_may_mount_its_token() -> None:
    props = s.patched(s.deployment(), f"{POD}.automountServiceAccountToken", True)
    props = s.patched(props, f"{POD}.serviceAccountName", "keda-operator")
    assert violations("k8s-no-default-service-account-token", synthetic(DEPLOYMENT, props)) == []


def test_image_pinned_by_digest_passes() -> None:
    props = s.patched(s.deployment(), f"{C0}.image", "ghcr.io/org/api@sha256:" + "a" * 64)
    assert violations("k8s-image-pinned", synthetic(DEPLOYMENT, props)) == []


def test_registry_port_is_not_a_tag() -> None:
    props = s.patched(s.deployment(), f"{C0}.image", "registry.example:5000/api")
    assert violations("k8s-image-pinned", synthetic(DEPLOYMENT, props)) != []


def test_worker_without_ports_needs_no_readiness_probe() -> None:
    props = s.patched(s.deployment(), f"{C0}.ports", [])
    props = s.patched(props, f"{C0}.readinessProbe", s.DELETE)
    assert violations("k8s-probes", synthetic(DEPLOYMENT, props)) == []


def test_firewall_ssh_from_admin_cidr_passes_but_https_from_world_too() -> None:
    props = s.patched(
        s.firewall(), "inboundRules.3", {"protocol": "tcp", "portRange": "443", "sourceAddresses": ["0.0.0.0/0"]}
    )
    assert (
        violations("do-firewall-no-world-admin-ports", synthetic("digitalocean:index/firewall:Firewall", props)) == []
    )


def test_guards_ignore_other_types() -> None:
    assert (
        violations("k8s-run-as-non-root", synthetic("kubernetes:core/v1:Service", {"spec": {"hostNetwork": True}}))
        == []
    )


def test_private_endpoint_needs_no_cidrs() -> None:
    props = s.patched(s.eks_cluster(), "vpcConfig.endpointPublicAccess", False)
    props = s.patched(props, "vpcConfig.publicAccessCidrs", s.DELETE)
    assert violations("eks-endpoint-not-public", synthetic(EKS, props)) == []


def test_unset_public_access_means_public_as_eks_defaults_it() -> None:
    props = s.patched(s.eks_cluster(), "vpcConfig", {"subnetIds": ["subnet-a"]})
    assert violations("eks-endpoint-not-public", synthetic(EKS, props)) != []


def test_on_demand_rule_is_production_only_and_a_pool_without_the_requirement_is_on_demand() -> None:
    spot_only = s.patched(s.karpenter_node_pool(), f"{POD}.requirements.0.values", ["spot"])
    staging = {"environment": "staging"}
    assert violations("eks-node-pool-on-demand", synthetic(NODE_POOL, spot_only), staging) == []
    assert violations("eks-node-pool-on-demand", synthetic(NODE_POOL, spot_only), {**staging, "productionOnly": False})
    without_requirement = s.patched(s.karpenter_node_pool(), f"{POD}.requirements.0", s.DELETE)
    assert violations("eks-node-pool-on-demand", synthetic(NODE_POOL, without_requirement)) == []


@pytest.mark.parametrize("cpu", [64, "64", "64000m", 64.0])
def test_cpu_limits_are_read_in_every_quantity_form(cpu: Any) -> None:
    pool = synthetic(NODE_POOL, s.karpenter_node_pool(cpu))
    assert violations("eks-node-pool-cpu-limit", pool, {"maxCpu": 64}) == []
    assert violations("eks-node-pool-cpu-limit", pool, {"maxCpu": 63}) != []
