"""Workload: secure defaults, probes, rollouts, autoscalers, disruption budget and network policy."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.workload import (
    ComputeResources,
    KedaScaling,
    NetworkPeer,
    ProbeSpec,
    PrometheusTrigger,
    RedisListTrigger,
    ResourceScaling,
    SecretKeyRef,
    UtilizationTrigger,
    Workload,
    WorkloadArgs,
)
from tests.harness import StackRun, component_run

BASE: dict[str, Any] = {
    "namespace": "tenant",
    "object_name": "web",
    "image": "registry.example.com/acme/web:1.2.3",
    "resources": ComputeResources("100m", "128Mi", "200m", "256Mi"),
    "liveness": ProbeSpec(http_path="/health"),
    "readiness": ProbeSpec(http_path="/ready"),
    "port": 8000,
}


def build(**changes: Any) -> StackRun:
    return component_run(lambda: Workload("web", WorkloadArgs(**{**BASE, **changes})))


@pytest.fixture(scope="module")
def web() -> StackRun:
    return build(
        scaling=ResourceScaling(3, 20, cpu_percent=70, memory_percent=80),
        secret_env={"DATABASE_URL": SecretKeyRef("app-secrets", "DATABASE_URL")},
        ingress_from=[NetworkPeer(namespace_labels={"kubernetes.io/metadata.name": "ingress-nginx"})],
        egress_to=[NetworkPeer(cidr="10.0.0.0/16", ports=(25061,))],
    )


def pod(run: StackRun) -> dict[str, Any]:
    return run.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]


def test_pods_are_restricted_by_default(web: StackRun) -> None:
    spec = pod(web)
    container = spec["containers"][0]["securityContext"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] >= 10000
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["allowPrivilegeEscalation"] is False
    assert container["readOnlyRootFilesystem"] is True
    assert container["capabilities"] == {"drop": ["ALL"]}
    assert spec["automountServiceAccountToken"] is False


def test_tmp_is_a_writable_empty_dir(web: StackRun) -> None:
    spec = pod(web)
    assert spec["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]
    assert spec["containers"][0]["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]


def test_service_account_token_is_not_mounted(web: StackRun) -> None:
    assert web.one("kubernetes:core/v1:ServiceAccount").inputs["automountServiceAccountToken"] is False


def test_read_only_root_filesystem_is_an_explicit_opt_out() -> None:
    run = build(read_only_root_filesystem=False)
    assert pod(run)["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is False


def test_requests_limits_and_http_probes(web: StackRun) -> None:
    container = pod(web)["containers"][0]
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "200m", "memory": "256Mi"},
    }
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}


def test_workers_use_exec_probes() -> None:
    ping = ProbeSpec(exec_command=["celery", "inspect", "ping"])
    run = build(port=None, liveness=ping, readiness=ping)
    assert pod(run)["containers"][0]["livenessProbe"]["exec"] == {"command": ["celery", "inspect", "ping"]}
    assert not run.of_type("kubernetes:core/v1:Service")


def test_rollouts_never_reduce_capacity_and_spread_over_nodes(web: StackRun) -> None:
    spec = web.one("kubernetes:apps/v1:Deployment").inputs["spec"]
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    spread = spec["template"]["spec"]["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "kubernetes.io/hostname"


def test_autoscaled_deployments_leave_the_replica_count_to_the_autoscaler(web: StackRun) -> None:
    assert "replicas" not in web.one("kubernetes:apps/v1:Deployment").inputs["spec"]
    assert build(replicas=2).one("kubernetes:apps/v1:Deployment").inputs["spec"]["replicas"] == 2


def test_hpa_targets_cpu_and_memory(web: StackRun) -> None:
    spec = web.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 20)
    targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in spec["metrics"]}
    assert targets == {"cpu": 70, "memory": 80}


def test_queue_scaling_is_a_keda_redis_trigger_over_tls_and_no_hpa() -> None:
    ping = ProbeSpec(exec_command=["true"])
    run = build(
        port=None,
        liveness=ping,
        readiness=ping,
        scaling=KedaScaling(
            2,
            15,
            triggers=[
                RedisListTrigger(
                    list_name="discovery", address="valkey.internal:25061", authentication_ref="auth", database_index=1
                )
            ],
        ),
    )
    assert not run.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    spec = run.one("kubernetes:keda.sh/v1alpha1:ScaledObject").inputs["spec"]
    trigger = spec["triggers"][0]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 15)
    assert trigger["type"] == "redis"
    assert trigger["metadata"] == {
        "address": "valkey.internal:25061",
        "listName": "discovery",
        "listLength": "10",
        "activationListLength": "0",
        "enableTLS": "true",
        "databaseIndex": "1",
    }
    assert trigger["authenticationRef"] == {"name": "auth"}


def test_request_rate_scaling_keeps_cpu_and_memory_in_the_same_scaled_object() -> None:
    behavior = {
        "scaleUp": {
            "stabilizationWindowSeconds": 60,
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 30}],
        }
    }
    run = build(
        metrics_port=9100,
        scaling=KedaScaling(
            3,
            20,
            triggers=[
                UtilizationTrigger("cpu", 70),
                PrometheusTrigger(server_address="http://10.0.0.5:9090", query="sum(rate(x[2m]))", threshold=100),
            ],
            behavior=behavior,
        ),
    )
    assert not run.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    spec = run.one("kubernetes:keda.sh/v1alpha1:ScaledObject").inputs["spec"]
    assert spec["triggers"] == [
        {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}},
        {
            "type": "prometheus",
            "metricType": "AverageValue",
            "metadata": {
                "serverAddress": "http://10.0.0.5:9090",
                "query": "sum(rate(x[2m]))",
                "threshold": "100",
                "activationThreshold": "0",
                "ignoreNullValues": "true",
            },
        },
    ]
    assert spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"] == behavior


def test_hpa_takes_the_callers_behaviour(web: StackRun) -> None:
    behavior = web.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs["spec"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 300
    custom = build(
        scaling=ResourceScaling(
            1,
            2,
            cpu_percent=50,
            behavior={
                "scaleUp": {
                    "stabilizationWindowSeconds": 0,
                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 15}],
                }
            },
        )
    )
    spec = custom.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs["spec"]["behavior"]
    assert spec == {
        "scaleUp": {"stabilizationWindowSeconds": 0, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 15}]}
    }


def test_metrics_port_is_named_on_pod_and_service_and_a_metrics_only_workload_gets_a_service() -> None:
    ping = ProbeSpec(exec_command=["true"])
    run = build(port=None, liveness=ping, readiness=ping, metrics_port=9808)
    assert run.one("kubernetes:core/v1:Service").inputs["spec"]["ports"] == [
        {"name": "metrics", "protocol": "TCP", "port": 9808, "targetPort": "metrics"}
    ]
    assert pod(run)["containers"][0]["ports"] == [{"name": "metrics", "containerPort": 9808, "protocol": "TCP"}]


def test_service_port_forwards_to_the_named_container_port() -> None:
    run = build(service_port=80)
    assert run.one("kubernetes:core/v1:Service").inputs["spec"]["ports"] == [
        {"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http"}
    ]


def test_empty_dirs_are_writable_scratch_mounts() -> None:
    spec = pod(build(empty_dirs={"/app/logs": "64Mi"}))
    assert {"name": "scratch-0", "mountPath": "/app/logs"} in spec["containers"][0]["volumeMounts"]
    assert {"name": "scratch-0", "emptyDir": {"sizeLimit": "64Mi"}} in spec["volumes"]


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"metrics_port": 8000}, "must differ from the HTTP port"),
        ({"port": None, "service_port": 80}, "service_port needs a container port"),
        ({"config_map_mounts": {"/a": "cm", "/b": "cm"}}, "mounted twice"),
        ({"empty_dirs": {"/tmp": "1Mi"}}, "mounted twice"),
    ],
)
def test_inconsistent_ports_and_mounts_are_refused(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        build(**changes)


def test_secret_env_reads_single_keys(web: StackRun) -> None:
    env = pod(web)["containers"][0]["env"]
    assert env == [
        {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "app-secrets", "key": "DATABASE_URL"}}}
    ]


def test_disruption_budget_always_lets_a_node_drain(web: StackRun) -> None:
    assert web.one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]["maxUnavailable"] == 1


def test_network_policy_admits_only_declared_peers(web: StackRun) -> None:
    spec = web.one("kubernetes:networking.k8s.io/v1:NetworkPolicy").inputs["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8000}]
    assert spec["egress"] == [
        {"to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 25061}]}
    ]


@pytest.mark.parametrize("image", ["registry.example.com/acme/web:latest", "registry.example.com/acme/web"])
def test_unpinned_images_are_refused(image: str) -> None:
    with pytest.raises(ValueError, match="not pinned"):
        Workload("web", WorkloadArgs(**{**BASE, "image": image}), opts=pulumi.ResourceOptions())


def test_every_catalog_workload_is_restricted(staging: StackRun, production: StackRun) -> None:
    for run in (staging, production):
        deployments = run.of_type("kubernetes:apps/v1:Deployment")
        ours = [
            d
            for d in deployments
            if d.parent_type == "platform:workload:Workload"
            and d.inputs["metadata"]["namespace"] == f"niche-discovery-{run.stack}"
        ]
        assert len(ours) == 10  # seed 000's catalog, celery-exporter included
        for deployment in ours:
            container = deployment.inputs["spec"]["template"]["spec"]["containers"][0]
            assert not container["image"].endswith(":latest")
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert "livenessProbe" in container and "readinessProbe" in container


def test_fixed_replicas_must_be_positive() -> None:
    with pytest.raises(ValueError, match="replicas must be >= 1"):
        Workload("web", WorkloadArgs(**{**BASE, "replicas": 0}))


def test_a_probe_needs_exactly_one_kind() -> None:
    with pytest.raises(Exception, match="exactly one of http_path or exec_command"):
        build(liveness=ProbeSpec())


def test_an_http_probe_needs_a_port() -> None:
    with pytest.raises(Exception, match="needs a port"):
        build(port=None)
