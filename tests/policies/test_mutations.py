"""Deliberately broken variants of the real stacks: each must make exactly the expected guard fire.

Mutants are deep copies of the recorded resources of a committed stack with one thing changed (the
config validators would refuse most of these before anything is registered, which is tested
elsewhere); the pack, configured for that stack, must report the expected policy as a mandatory
violation and nothing else that the unmutated stack does not already report.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.harness import Resource, StackRun
from tests.policies.samples import DELETE, patched
from tests.policy_adapter import PolicyEvaluator, Violation, describe, mutate

Records = list[Resource]

DB = "digitalocean:index/databaseCluster:DatabaseCluster"
DB_FW = "digitalocean:index/databaseFirewall:DatabaseFirewall"
DROPLET = "digitalocean:index/droplet:Droplet"
FIREWALL = "digitalocean:index/firewall:Firewall"
VOLUME = "digitalocean:index/volume:Volume"
ATTACHMENT = "digitalocean:index/volumeAttachment:VolumeAttachment"
CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
QUOTA = "kubernetes:core/v1:ResourceQuota"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
SECURITY_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"
NAMESPACE = "kubernetes:core/v1:Namespace"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
HELM = "kubernetes:helm.sh/v3:Release"
BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
EKS = "aws:eks/cluster:Cluster"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KARPENTER_POOL = "kubernetes:karpenter.sh/v1:NodePool"
RDS = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SQS_QUEUE = "aws:sqs/queue:Queue"
SQS_QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
SSL_REDIRECT = "nginx.ingress.kubernetes.io/ssl-redirect"
FORCE_SSL_REDIRECT = "nginx.ingress.kubernetes.io/force-ssl-redirect"


def index(records: Records, type_token: str, suffix: str = "") -> int:
    for i, r in enumerate(records):
        if r.type == type_token and r.name.endswith(suffix):
            return i
    # A renamed or removed target must fail the mutant, never hide it (a skip would pass silently).
    raise AssertionError(f"the stack has no {type_token} named *{suffix}: update the mutant's target")


def set_input(type_token: str, suffix: str, path: str | tuple[str, ...], value: Any) -> Callable[[Records], Records]:
    def change(records: Records) -> Records:
        i = index(records, type_token, suffix)
        records[i] = mutate(records[i], inputs=patched(records[i].inputs, path, value))
        return records

    return change


def set_option(type_token: str, suffix: str, **options: Any) -> Callable[[Records], Records]:
    def change(records: Records) -> Records:
        i = index(records, type_token, suffix)
        records[i] = mutate(records[i], **options)
        return records

    return change


def remove(type_token: str, suffix: str) -> Callable[[Records], Records]:
    def change(records: Records) -> Records:
        del records[index(records, type_token, suffix)]
        return records

    return change


def duplicate(type_token: str, suffix: str) -> Callable[[Records], Records]:
    def change(records: Records) -> Records:
        original = records[index(records, type_token, suffix)]
        records.append(mutate(original, urn=original.urn + "-second", name=original.name + "-second"))
        return records

    return change


API = "-app-api-service-deployment"
"""The Deployment the container/pod mutants change: it has ports, env, probes and its own ServiceAccount."""
POD = "spec.template.spec"


def container_input(field: str, value: Any) -> Callable[[Records], Records]:
    return set_input(DEPLOYMENT, API, f"{POD}.containers.0.{field}", value)


def pod_input(field: str, value: Any) -> Callable[[Records], Records]:
    return set_input(DEPLOYMENT, API, f"{POD}.{field}", value)


def configmap_secret(records: Records) -> Records:
    i = index(records, CONFIG_MAP, "-app-config")
    records[i] = mutate(records[i], inputs=patched(records[i].inputs, "data.DATABASE_PASSWORD", "hunter2-in-clear"))
    return records


@dataclass(frozen=True)
class Mutant:
    id: str
    stack: str
    change: Callable[[Records], Records]
    fires: str
    eks: bool = False
    """Mutate the stack with the opt-in EKS target enabled (conftest.EKS_ENABLED)."""
    aws: bool = False
    """Mutate the stack with EKS and seed 004's AWS tenant enabled (conftest.AWS_TENANT_ENABLED)."""
    also: frozenset[str] = frozenset()
    """Guards that rightly fire too (more nodes also cost money: stack-monthly-budget)."""


MUTANTS = [
    Mutant("production-db-with-one-node", "production", set_input(DB, "-pg-cluster", "nodeCount", 1), "do-db-standby"),
    Mutant(
        "production-broker-with-one-node",
        "production",
        set_input(DB, "-valkey-cluster", "nodeCount", 1),
        "do-db-standby",
    ),
    Mutant("db-firewall-missing", "production", remove(DB_FW, "-pg-firewall"), "stack-db-exactly-one-firewall"),
    Mutant("db-firewall-doubled", "staging", duplicate(DB_FW, "-valkey-firewall"), "stack-db-exactly-one-firewall"),
    Mutant(
        "db-firewall-open-to-world",
        "production",
        set_input(DB_FW, "-pg-firewall", "rules.+", {"type": "ip_addr", "value": "0.0.0.0/0"}),
        "do-db-firewall-no-public",
    ),
    Mutant(
        "ssh-open-to-world",
        "production",
        set_input(
            FIREWALL,
            "-monitoring-firewall",
            "inboundRules.+",
            {"protocol": "tcp", "portRange": "22", "sourceAddresses": ["0.0.0.0/0"]},
        ),
        "do-firewall-no-world-admin-ports",
    ),
    Mutant(
        "firewall-selecting-every-stack-droplet",
        "production",
        set_input(FIREWALL, "-monitoring-firewall", "tags", ["niche-discovery", "env:production", "managed-by:pulumi"]),
        "do-firewall-explicit-targets",
    ),
    Mutant(
        "unprotected-production-volume",
        "production",
        set_option(VOLUME, "-monitoring-data", protect=False),
        "stack-stateful-protected",
    ),
    Mutant(
        "unprotected-production-database",
        "production",
        set_option(DB, "-pg-cluster", protect=False),
        "stack-stateful-protected",
    ),
    Mutant(
        "droplet-without-metrics-agent",
        "staging",
        set_input(DROPLET, "-monitoring-droplet", "monitoring", False),
        "do-droplet-monitoring",
    ),
    Mutant(
        "production-droplet-without-backups",
        "production",
        set_input(DROPLET, "-monitoring-droplet", "backups", False),
        "do-droplet-backups",
    ),
    Mutant(
        "production-cluster-without-ha",
        "production",
        set_input(CLUSTER, "-cluster", "ha", False),
        "do-k8s-ha-control-plane",
    ),
    Mutant(
        "cluster-without-auto-upgrade",
        "staging",
        set_input(CLUSTER, "-cluster", "autoUpgrade", False),
        "do-k8s-auto-upgrade",
    ),
    Mutant(
        "cluster-without-surge-upgrade",
        "production",
        set_input(CLUSTER, "-cluster", "surgeUpgrade", False),
        "do-k8s-surge-upgrade",
    ),
    Mutant("pool-above-per-pool-cap", "production", set_input(POOL, "-general", "maxNodes", 11), "do-node-pool-bounds"),
    Mutant(
        "autoscaled-pool-pins-node-count",
        "staging",
        lambda rs: set_option(POOL, "-general", ignore_changes=())(set_input(POOL, "-general", "nodeCount", 2)(rs)),
        "do-node-pool-bounds",
    ),
    Mutant(
        "staging-over-node-budget",
        "staging",
        set_input(CLUSTER, "-cluster", "nodePool.nodeCount", 4),
        "stack-budget-caps",
        also=frozenset({"stack-monthly-budget"}),
    ),
    Mutant(
        "database-plan-over-budget",
        "production",
        set_input(DB, "-pg-cluster", "size", "db-s-8vcpu-32gb"),
        "stack-budget-caps",
    ),
    Mutant(
        "database-off-the-vpc",
        "production",
        set_input(DB, "-pg-cluster", "privateNetworkUuid", DELETE),
        "do-db-private-network",
    ),
    Mutant(
        "database-without-maintenance-window",
        "production",
        set_input(DB, "-valkey-cluster", "maintenanceWindows", []),
        "do-db-maintenance-window",
    ),
    Mutant("volume-detached", "production", remove(ATTACHMENT, "-monitoring-data-attachment"), "stack-volume-attached"),
    Mutant(
        "droplet-missing-managed-by-tag",
        "production",
        set_input(DROPLET, "-monitoring-droplet", "tags.2", "owner:nobody"),
        "do-required-tags",
    ),
    Mutant(
        "database-in-another-region", "staging", set_input(DB, "-pg-cluster", "region", "sfo3"), "do-region-allowed"
    ),
    Mutant(
        "staging-names-a-production-resource",
        "staging",
        set_input(
            VOLUME, "-monitoring-data", "description", "restored from niche-discovery-production-monitoring-data"
        ),
        "stack-no-cross-environment-references",
    ),
    Mutant(
        "container-running-as-root",
        "production",
        container_input("securityContext.runAsUser", 0),
        "k8s-run-as-non-root",
    ),
    Mutant(
        "image-tagged-latest",
        "production",
        container_input("image", "registry.digitalocean.com/nde/api:latest"),
        "k8s-image-pinned",
    ),
    Mutant(
        "container-may-escalate",
        "staging",
        container_input("securityContext.allowPrivilegeEscalation", True),
        "k8s-no-privilege-escalation",
    ),
    Mutant(
        "container-writes-its-image",
        "production",
        container_input("securityContext.readOnlyRootFilesystem", False),
        "k8s-read-only-root-filesystem",
    ),
    Mutant(
        "container-without-limits",
        "production",
        container_input("resources.limits", DELETE),
        "k8s-resources-requests-limits",
    ),
    Mutant("container-without-liveness-probe", "production", container_input("livenessProbe", DELETE), "k8s-probes"),
    Mutant(
        "database-password-as-plain-env",
        "production",
        container_input("env.0", {"name": "DATABASE_PASSWORD", "value": "hunter2-in-clear"}),
        "k8s-no-plain-secret-env",
    ),
    Mutant("pod-on-host-network", "production", pod_input("hostNetwork", True), "k8s-no-host-namespaces"),
    Mutant(
        "pod-mounts-host-path",
        "staging",
        pod_input("volumes.0", {"name": "host", "hostPath": {"path": "/"}}),
        "k8s-no-host-path",
    ),
    Mutant(
        "pod-mounts-default-token",
        "production",
        lambda rs: pod_input("automountServiceAccountToken", True)(pod_input("serviceAccountName", "default")(rs)),
        "k8s-no-default-service-account-token",
    ),
    Mutant("secret-value-in-configmap", "staging", configmap_secret, "k8s-no-secrets-in-configmaps"),
    Mutant(
        "rollout-may-drop-pods",
        "production",
        set_input(DEPLOYMENT, "-app-frontend-deployment", "spec.strategy.rollingUpdate.maxUnavailable", 1),
        "k8s-rolling-update-zero-unavailable",
    ),
    Mutant(
        "production-hpa-floor-of-one",
        "production",
        set_input(HPA, "-rwp-app-api-hpa", "spec.minReplicas", 1),
        "k8s-replica-floor",
    ),
    Mutant(
        "production-queue-workers-scale-to-zero",
        "production",
        set_input(SCALED_OBJECT, "-app-worker-discovery-scaledobject", "spec.minReplicaCount", 0),
        "k8s-replica-floor",
    ),
    Mutant(
        "autoscaler-above-cap",
        "production",
        set_input(SCALED_OBJECT, "-app-worker-validation-scaledobject", "spec.maxReplicaCount", 100),
        "k8s-autoscaler-bounds",
    ),
    Mutant("multi-replica-workload-without-pdb", "production", remove(PDB, "-app-api-service-pdb"), "k8s-pdb-required"),
    Mutant(
        "namespace-without-default-deny", "staging", remove(NETPOL, "-app-default-deny"), "k8s-namespace-default-deny"
    ),
    Mutant(
        "namespace-admits-privileged-pods",
        "production",
        set_input(
            NAMESPACE, "-app-namespace", ("metadata", "labels", "pod-security.kubernetes.io/enforce"), "privileged"
        ),
        "k8s-namespace-pod-security",
    ),
    # The edge is the Gateway (ingress-nginx's Ingress guards keep their unit cases in test_resource_guards).
    Mutant(
        "gateway-listener-without-certificate",
        "production",
        set_input(GATEWAY, "-addons-gateway-gateway", "spec.listeners.1.tls.certificateRefs", []),
        "k8s-gateway-https-only",
    ),
    Mutant(
        "gateway-serving-content-on-port-80",
        "production",
        set_input(
            HTTP_ROUTE, "-addons-gateway-https-redirect", "spec.rules.0", {"backendRefs": [{"name": "api", "port": 80}]}
        ),
        "k8s-gateway-https-only",
    ),
    Mutant(
        "gateway-admits-routes-from-every-namespace",
        "production",
        set_input(GATEWAY, "-addons-gateway-gateway", "spec.listeners.1.allowedRoutes.namespaces", {"from": "All"}),
        "k8s-gateway-allowed-routes",
    ),
    Mutant(
        "staging-route-claims-a-production-hostname",
        "staging",
        set_input(HTTP_ROUTE, "-edge-routes-api", "spec.hostnames", ["api.nichediscovery.com"]),
        "k8s-edge-hostnames",
    ),
    Mutant(
        "flower-without-authentication",
        "production",
        remove(SECURITY_POLICY, "-edge-routes-api-basic-auth-policy"),
        "k8s-edge-admin-auth",
    ),
    Mutant(
        "helm-chart-floating",
        "production",
        set_input(HELM, "-addons-gateway-envoy-gateway", "version", "v1.x"),
        "k8s-helm-chart-pinned",
    ),
    Mutant(
        "backup-bucket-public-policy-allowed",
        "production",
        set_input(PUBLIC_ACCESS_BLOCK, "-backups-primary-public-access-block", "blockPublicPolicy", False),
        "aws-s3-public-access-blocked",
    ),
    Mutant(
        "backup-versioning-suspended",
        "staging",
        set_input(VERSIONING, "-backups-primary-versioning", "versioningConfiguration.status", "Suspended"),
        "aws-s3-versioning-enabled",
    ),
    Mutant(
        "backup-bucket-without-lifecycle",
        "production",
        remove(LIFECYCLE, "-backups-primary-lifecycle"),
        "stack-s3-bucket-complete",
    ),
    Mutant(
        "production-backup-bucket-force-destroy",
        "production",
        set_input(BUCKET, "-backups-primary-bucket", "forceDestroy", True),
        "aws-s3-no-force-destroy",
    ),
    Mutant(
        "unprotected-production-backup-bucket",
        "production",
        set_option(BUCKET, "-backups-primary-bucket", protect=False),
        "stack-stateful-protected",
    ),
    Mutant(
        "eks-api-open-to-the-world",
        "production",
        lambda rs: set_input(EKS, "-eks-cluster", "vpcConfig.endpointPublicAccess", True)(
            set_input(EKS, "-eks-cluster", "vpcConfig.publicAccessCidrs", ["0.0.0.0/0"])(rs)
        ),
        "eks-endpoint-not-public",
        eks=True,
    ),
    Mutant(
        "eks-secrets-without-envelope-encryption",
        "production",
        set_input(EKS, "-eks-cluster", "encryptionConfig", DELETE),
        "eks-secrets-encrypted",
        eks=True,
    ),
    Mutant(
        "eks-audit-log-off",
        "production",
        set_input(EKS, "-eks-cluster", "enabledClusterLogTypes", ["api", "authenticator"]),
        "eks-control-plane-logs",
        eks=True,
    ),
    Mutant(
        "eks-aws-auth-configmap",
        "production",
        set_input(EKS, "-eks-cluster", "accessConfig.authenticationMode", "API_AND_CONFIG_MAP"),
        "eks-api-authentication",
        eks=True,
    ),
    Mutant(
        "eks-out-of-standard-support",
        "production",
        set_input(EKS, "-eks-cluster", "version", "1.29"),
        "eks-version-floor",
        eks=True,
    ),
    Mutant(
        "eks-extended-support-billing",
        "production",
        set_input(EKS, "-eks-cluster", "upgradePolicy.supportType", "EXTENDED"),
        "eks-standard-support",
        eks=True,
    ),
    Mutant(
        "eks-control-plane-logs-kept-forever",
        "production",
        set_input(LOG_GROUP, "-eks-control-plane-logs", "retentionInDays", DELETE),
        "aws-log-group-retention",
        eks=True,
    ),
    Mutant(
        "eks-node-pool-without-cpu-limit",
        "production",
        set_input(KARPENTER_POOL, "-eks-pool-general", "spec.limits", DELETE),
        "eks-node-pool-cpu-limit",
        eks=True,
    ),
    Mutant(
        "eks-production-pool-spot-only",
        "production",
        set_input(KARPENTER_POOL, "-eks-pool-general", "spec.template.spec.requirements.0.values", ["spot"]),
        "eks-node-pool-on-demand",
        eks=True,
    ),
    Mutant(
        "eks-uncapped-general-purpose-pool",
        "production",
        set_input(EKS, "-eks-cluster", "computeConfig.nodePools", ["general-purpose", "system"]),
        "stack-eks-cpu-budget",
        eks=True,
    ),
    Mutant(
        "eks-unprotected-production-cluster",
        "production",
        set_option(EKS, "-eks-cluster", protect=False),
        "stack-stateful-protected",
        eks=True,
    ),
    # --- Seed 004's AWS tenant (issue 15)
    Mutant(
        "rds-public",
        "production",
        set_input(RDS, "-pg-primary", "publiclyAccessible", True),
        "aws-rds-not-public",
        aws=True,
    ),
    Mutant(
        "rds-unencrypted",
        "production",
        set_input(RDS, "-pg-primary", "storageEncrypted", False),
        "aws-rds-encrypted",
        aws=True,
    ),
    Mutant(
        "rds-production-single-az",
        "production",
        set_input(RDS, "-pg-primary", "multiAz", False),
        "aws-rds-production-resilience",
        aws=True,
    ),
    Mutant(
        "rds-one-day-of-backups",
        "production",
        set_input(RDS, "-pg-primary", "backupRetentionPeriod", 1),
        "aws-rds-backup-retention",
        aws=True,
    ),
    Mutant(
        "rds-password-passed-in",
        "production",
        lambda rs: set_input(RDS, "-pg-primary", "password", "hunter2")(
            set_input(RDS, "-pg-primary", "manageMasterUserPassword", DELETE)(rs)
        ),
        "aws-rds-managed-password",
        aws=True,
    ),
    Mutant(
        "cache-clear-text",
        "production",
        set_input(REPLICATION_GROUP, "-cache-valkey", "transitEncryptionEnabled", False),
        "aws-elasticache-encryption",
        aws=True,
    ),
    Mutant(
        "cache-without-auth",
        "production",
        set_input(REPLICATION_GROUP, "-cache-valkey", "userGroupIds", []),
        "aws-elasticache-auth",
        aws=True,
    ),
    Mutant(
        "cache-production-single-az",
        "production",
        set_input(REPLICATION_GROUP, "-cache-valkey", "multiAzEnabled", False),
        "aws-elasticache-multi-az",
        aws=True,
    ),
    Mutant(
        "pod-identity-wildcard",
        "production",
        set_input(
            ROLE_POLICY,
            "-aws-api-policy",
            "policy",
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}',
        ),
        "stack-pod-identity-least-privilege",
        aws=True,
    ),
    Mutant(
        "dlq-alarm-silent",
        "production",
        set_input(METRIC_ALARM, "-episodes-dlq", "alarmActions", []),
        "aws-cloudwatch-alarm-notifies",
        aws=True,
    ),
    Mutant(
        "gpu-pool-uncapped",
        "production",
        set_input(KARPENTER_POOL, "-eks-pool-gpu", ("spec", "limits", "nvidia.com/gpu"), DELETE),
        "eks-gpu-pool-bounded",
        aws=True,
    ),
    Mutant(
        "sqs-queue-unencrypted",
        "production",
        set_input(SQS_QUEUE, "-queue-episodes-queue", "sqsManagedSseEnabled", False),
        "aws-sqs-encrypted",
        aws=True,
    ),
    Mutant(
        "sqs-queue-without-tls-policy",
        "production",
        remove(SQS_QUEUE_POLICY, "-queue-episodes-queue-tls-only"),
        "aws-sqs-tls-only",
        aws=True,
    ),
    Mutant(
        "sqs-queue-without-dead-letter-queue",
        "production",
        set_input(SQS_QUEUE, "-queue-episodes-queue", "redrivePolicy", DELETE),
        "aws-sqs-dead-letter",
        aws=True,
    ),
    # Issue 14: tenants on the shared platform stay isolated.
    Mutant("tenant-without-quota", "production", remove(QUOTA, "-rwp-app-quota"), "tenant-namespace-quota"),
    Mutant(
        "tenant-without-default-deny",
        "production",
        remove(NETPOL, "-video-analysis-app-default-deny"),
        "k8s-namespace-default-deny",
    ),
    Mutant(
        "tenant-admits-another-tenant",
        "production",
        set_input(
            NETPOL,
            "-rwp-app-ai-processor-netpol",
            "spec.ingress.0.from.+",
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "doc-scraper-production"}}},
        ),
        "tenant-no-cross-tenant-traffic",
    ),
    Mutant(
        "tenant-route-to-another-tenant",
        "production",
        set_input(HTTP_ROUTE, "-rwp-routes-api", "spec.rules.0.backendRefs.0.namespace", "doc-scraper-production"),
        "tenant-no-cross-tenant-traffic",
    ),
]


@functools.cache
def _analyzer(stack: str) -> PolicyEvaluator:
    return PolicyEvaluator.for_stack(stack)


_baselines: dict[int, list[Violation]] = {}


def _baseline(run: StackRun) -> list[Violation]:
    """What the unmutated stack already reports (session stacks are evaluated once, so is this).

    Keyed by the run itself: the EKS-enabled production run shares its stack name with production.
    """
    if id(run) not in _baselines:
        _baselines[id(run)] = _analyzer(run.stack).analyze(run.resources)
    return _baselines[id(run)]


def _policies(found: list[Violation]) -> Counter[str]:
    return Counter(v.policy for v in found)


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_mutant_fires_exactly_the_expected_guard(mutant: Mutant, request: pytest.FixtureRequest) -> None:
    # Fixtures by name, so the EKS-enabled stack is only evaluated where an EKS mutant needs it.
    suffix = "_aws" if mutant.aws else "_eks" if mutant.eks else ""
    run: StackRun = request.getfixturevalue(f"{mutant.stack}{suffix}")
    analyzer = _analyzer(mutant.stack)
    before = _baseline(run)
    after = analyzer.analyze(mutant.change(list(run.resources)))
    new = _policies(after) - _policies(before)
    assert set(new) == {mutant.fires, *mutant.also}, "\n" + describe(after)
    levels = {v.level for v in after if v.policy == mutant.fires}
    expected = "advisory" if (mutant.stack, mutant.fires) in _STAGING_ADVISORY else "mandatory"
    assert levels == {expected}


_STAGING_ADVISORY = {("staging", "do-db-maintenance-window"), ("staging", "stack-volume-attached")}


def test_there_are_at_least_twelve_mutants() -> None:
    assert len(MUTANTS) >= 12
