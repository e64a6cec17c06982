"""Known-good props per resource type, shaped like the platform's own resources, and a path patcher.

Each failing case in the tests is one of these with a single value changed, so a case proves that
exactly that value makes the guard fire.
"""

from __future__ import annotations

import copy
from typing import Any

from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

UNKNOWN = UNKNOWN_STRING_VALUE
DELETE = object()
"""Patch value that removes the key (or list item)."""

TAGS = ["niche-discovery", "env:production", "managed-by:pulumi"]


def patched(props: dict[str, Any], path: str | tuple[str, ...], value: Any) -> dict[str, Any]:
    """A deep copy of ``props`` with ``path`` set to ``value``.

    ``path`` is dotted (list indices as numbers, ``+`` appends), or a tuple of steps for keys that
    contain dots.
    """
    result = copy.deepcopy(props)
    *parents, last = path.split(".") if isinstance(path, str) else path
    node: Any = result
    for step in parents:
        key: Any = int(step) if step.isdigit() else step
        if isinstance(node, dict) and key not in node:
            node[key] = {}
        node = node[key]
    key = int(last) if last.isdigit() else last
    if value is DELETE:
        del node[key]
    elif isinstance(node, list) and key in ("+", len(node)):
        node.append(copy.deepcopy(value))
    else:
        node[key] = copy.deepcopy(value)
    return result


def container(name: str = "api", image: str = "registry.digitalocean.com/nde/api:1.4.2") -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "ports": [{"containerPort": 8000, "name": "http"}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}},
        "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "JWT_SECRET_FILE", "value": "/run/secrets/jwt"},
            {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "app-db", "key": "uri"}}},
        ],
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def pod_spec() -> dict[str, Any]:
    return {
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container()],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
    }


def deployment(name: str = "api", replicas: int | None = 2, namespace: str = "app") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec()},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


def cronjob() -> dict[str, Any]:
    spec = pod_spec()
    spec["restartPolicy"] = "OnFailure"
    job = container("backup", "registry.digitalocean.com/nde/pg-backup:2.0.1")
    del job["ports"], job["livenessProbe"], job["readinessProbe"]
    spec["containers"] = [job]
    return {
        "metadata": {"name": "pg-backup", "namespace": "app"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": spec}}}},
    }


def namespace(name: str = "app") -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        }
    }


def default_deny(namespace_name: str = "app") -> dict[str, Any]:
    return {
        "metadata": {"name": "default-deny", "namespace": namespace_name},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }


def config_map() -> dict[str, Any]:
    return {
        "metadata": {"name": "app-config", "namespace": "app"},
        "data": {"LOG_LEVEL": "info", "DATABASE_HOST": "private-db.example", "SENTRY_DSN_FILE": "/run/secrets/dsn"},
    }


def ingress() -> dict[str, Any]:
    return {
        "metadata": {
            "name": "api",
            "namespace": "app",
            "annotations": {"nginx.ingress.kubernetes.io/force-ssl-redirect": "true"},
        },
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["api.example.com"], "secretName": "api-tls"}],
            "rules": [{"host": "api.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix"}]}}],
        },
    }


def hpa(target: str = "api", low: int = 2, high: int = 6) -> dict[str, Any]:
    return {
        "metadata": {"name": target, "namespace": "app"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": low,
            "maxReplicas": high,
        },
    }


def scaled_object(target: str = "worker", low: int = 1, high: int = 10) -> dict[str, Any]:
    return {
        "metadata": {"name": target, "namespace": "app"},
        "spec": {"scaleTargetRef": {"name": target}, "minReplicaCount": low, "maxReplicaCount": high},
    }


def pdb(app: str = "api") -> dict[str, Any]:
    return {
        "metadata": {"name": app, "namespace": "app"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": app}}},
    }


def helm_release() -> dict[str, Any]:
    return {
        "chart": "ingress-nginx",
        "version": "4.12.1",
        "namespace": "ingress-nginx",
        "repositoryOpts": {"repo": "https://kubernetes.github.io/ingress-nginx"},
    }


def do_cluster() -> dict[str, Any]:
    return {
        "name": "niche-discovery-production",
        "region": "nyc1",
        "version": "1.35.4-do.0",
        "vpcUuid": "vpc-1",
        "ha": True,
        "autoUpgrade": True,
        "surgeUpgrade": True,
        "maintenancePolicy": {"day": "sunday", "startTime": "02:00"},
        "nodePool": {"name": "system", "size": "s-2vcpu-4gb", "autoScale": False, "nodeCount": 2, "tags": TAGS},
        "tags": TAGS,
    }


def node_pool() -> dict[str, Any]:
    return {
        "clusterId": "cluster-1",
        "name": "general",
        "size": "s-2vcpu-4gb",
        "autoScale": True,
        "minNodes": 2,
        "maxNodes": 6,
        "tags": TAGS,
    }


def database(engine: str = "pg") -> dict[str, Any]:
    return {
        "name": "niche-discovery-production-pg",
        "engine": engine,
        "version": "17",
        "size": "db-s-2vcpu-4gb",
        "nodeCount": 2,
        "region": "nyc1",
        "privateNetworkUuid": "vpc-1",
        "maintenanceWindows": [{"day": "sunday", "hour": "02:00"}],
        "tags": TAGS,
    }


def database_firewall() -> dict[str, Any]:
    return {"clusterId": "db-1", "rules": [{"type": "k8s", "value": "cluster-1"}]}


def droplet() -> dict[str, Any]:
    return {
        "name": "niche-discovery-production-monitoring",
        "region": "nyc1",
        "size": "s-2vcpu-4gb",
        "image": "ubuntu-24-04-x64",
        "vpcUuid": "vpc-1",
        "monitoring": True,
        "backups": True,
        "tags": [*TAGS, "monitoring"],
    }


def firewall() -> dict[str, Any]:
    return {
        "name": "monitoring-firewall",
        "dropletIds": [12345],
        "inboundRules": [
            {"protocol": "tcp", "portRange": "9090", "sourceAddresses": ["10.120.0.0/16"]},
            {"protocol": "tcp", "portRange": "22", "sourceAddresses": ["203.0.113.0/24"]},
            {"protocol": "icmp", "sourceAddresses": ["10.120.0.0/16"]},
        ],
        "outboundRules": [{"protocol": "tcp", "portRange": "1-65535", "destinationAddresses": ["0.0.0.0/0", "::/0"]}],
        "tags": ["monitoring"],
    }


def volume() -> dict[str, Any]:
    return {"name": "monitoring-data", "region": "nyc1", "size": 50, "tags": [*TAGS, "monitoring"]}


def public_access_block() -> dict[str, Any]:
    return {
        "bucket": "nde-backups",
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }


def versioning() -> dict[str, Any]:
    return {"bucket": "nde-backups", "versioningConfiguration": {"status": "Enabled"}}


def encryption() -> dict[str, Any]:
    return {
        "bucket": "nde-backups",
        "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "key-1"}}],
    }


def lifecycle() -> dict[str, Any]:
    return {
        "bucket": "nde-backups",
        "rules": [
            {
                "id": "expire",
                "status": "Enabled",
                "expiration": {"days": 90},
                "noncurrentVersionExpiration": {"noncurrentDays": 30},
                "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7},
            }
        ],
    }


def bucket() -> dict[str, Any]:
    return {"bucket": "nde-backups", "forceDestroy": False, "tags": {"tenant": "niche-discovery"}}


def eks_cluster() -> dict[str, Any]:
    return {
        "name": "niche-discovery-production-eks",
        "version": "1.34",
        "roleArn": "arn:aws:iam::123456789012:role/eks-cluster",
        "vpcConfig": {
            "subnetIds": ["subnet-a", "subnet-b", "subnet-c"],
            "endpointPrivateAccess": True,
            "endpointPublicAccess": True,
            "publicAccessCidrs": ["203.0.113.0/24"],
        },
        "accessConfig": {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True},
        "computeConfig": {"enabled": True, "nodePools": ["system"], "nodeRoleArn": "arn:aws:iam::123456789012:role/n"},
        "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "arn:aws:kms:us-east-1:1:key/k"}},
        "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
        "upgradePolicy": {"supportType": "STANDARD"},
    }


def log_group() -> dict[str, Any]:
    return {"name": "/aws/eks/niche-discovery-production-eks/cluster", "retentionInDays": 90}


def karpenter_node_pool(cpu: Any = 64) -> dict[str, Any]:
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "general"},
        "spec": {
            "template": {
                "metadata": {"labels": {"workload": "general"}},
                "spec": {
                    "nodeClassRef": {"group": "eks.amazonaws.com", "kind": "NodeClass", "name": "default"},
                    "requirements": [
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand", "spot"]},
                        {"key": "eks.amazonaws.com/instance-category", "operator": "In", "values": ["c", "m", "r"]},
                    ],
                    "expireAfter": "336h",
                },
            },
            "limits": {"cpu": cpu},
            "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "5m"},
        },
    }


def rds_instance() -> dict[str, Any]:
    """A production RDS PostgreSQL primary as components/aws_postgres.py registers it."""
    return {
        "engine": "postgres",
        "engineVersion": "17",
        "instanceClass": "db.t4g.medium",
        "storageEncrypted": True,
        "kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/k",
        "publiclyAccessible": False,
        "multiAz": True,
        "deletionProtection": True,
        "backupRetentionPeriod": 14,
        "manageMasterUserPassword": True,
        "username": "app_admin",
    }


def replication_group() -> dict[str, Any]:
    """A production ElastiCache for Valkey group as components/aws_cache.py registers it."""
    return {
        "engine": "valkey",
        "numCacheClusters": 2,
        "transitEncryptionEnabled": True,
        "transitEncryptionMode": "required",
        "atRestEncryptionEnabled": True,
        "userGroupIds": ["psm-cache-app-group"],
        "multiAzEnabled": True,
        "automaticFailoverEnabled": True,
    }


def metric_alarm() -> dict[str, Any]:
    """A dead-letter-queue alarm as components/aws_alarms.py registers it: notifies the topic on ALARM and OK."""
    topic = "arn:aws:sns:us-east-1:123456789012:niche-discovery-production-aws-alarms"
    return {
        "namespace": "AWS/SQS",
        "metricName": "ApproximateNumberOfMessagesVisible",
        "dimensions": {"QueueName": "psm-episodes-dlq-abc"},
        "comparisonOperator": "GreaterThanOrEqualToThreshold",
        "threshold": 1,
        "actionsEnabled": True,
        "alarmActions": [topic],
        "okActions": [topic],
    }


def gpu_node_pool() -> dict[str, Any]:
    """A GPU NodePool on Auto Mode's built-in NodeClass, spot first, tainted, capped in GPUs."""
    pool = karpenter_node_pool(cpu=32)
    pool["metadata"]["name"] = "gpu"
    spec = pool["spec"]["template"]["spec"]
    spec["requirements"][1]["values"] = ["g"]
    spec["requirements"].append(
        {"key": "eks.amazonaws.com/instance-gpu-manufacturer", "operator": "In", "values": ["nvidia"]}
    )
    spec["taints"] = [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]
    pool["spec"]["limits"]["nvidia.com/gpu"] = 4
    return pool
