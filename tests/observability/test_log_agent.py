"""LogAgent: a pinned Alloy chart tailing every pod through the API, pushing only to the droplet's Loki.

The chart's values are unverified offline (the alloy chart ships no values schema and is not on
any registry this project reaches): the keys used are those of grafana/alloy's values.yaml for the
pinned chart, read from its source, and are pinned here.
"""

from __future__ import annotations

import pytest

from components import LogAgent, LogAgentArgs
from components.log_agent import AGENT_POD_LABELS, CHART_REPOSITORY, STORAGE_PATH
from tests.harness import StackRun, component_run

RELEASE = "kubernetes:helm.sh/v3:Release"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def agent() -> LogAgent:
    return LogAgent(
        "logs",
        LogAgentArgs(
            namespace="monitoring",
            loki_push_url="http://10.110.0.30:3100/loki/api/v1/push",
            loki_ip="10.110.0.30",
            cluster_name="niche-discovery-staging",
            tenant="niche-discovery",
            environment="staging",
            chart_version="1.2.1",
        ),
    )


@pytest.fixture(scope="module")
def run() -> StackRun:
    return component_run(agent)


def test_chart_is_pinned_from_grafana(run: StackRun) -> None:
    release = run.one(RELEASE).inputs
    assert release["chart"] == "alloy"
    assert release["version"] == "1.2.1"
    assert release["repositoryOpts"]["repo"] == CHART_REPOSITORY
    assert release["namespace"] == "monitoring"


def test_the_agent_runs_our_config_pushing_to_the_droplet(run: StackRun) -> None:
    values = run.one(RELEASE).inputs["values"]
    content = values["alloy"]["configMap"]["content"]
    assert 'url = "http://10.110.0.30:3100/loki/api/v1/push"' in content
    assert "loki.source.kubernetes" in content


def test_no_host_paths_and_a_restricted_read_only_container(run: StackRun) -> None:
    values = run.one(RELEASE).inputs["values"]
    assert values["alloy"]["mounts"]["varlog"] is False
    assert values["alloy"]["mounts"]["dockercontainers"] is False
    context = values["alloy"]["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert values["configReloader"]["securityContext"]["runAsNonRoot"] is True
    # The state directory is a writable emptyDir under the read-only root.
    assert values["alloy"]["storagePath"] == STORAGE_PATH
    assert {"name": "data", "mountPath": STORAGE_PATH} in values["alloy"]["mounts"]["extra"]
    assert {"name": "data", "emptyDir": {"sizeLimit": "1Gi"}} in values["controller"]["volumes"]["extra"]


def test_one_replica_carries_the_label_the_push_policy_selects(run: StackRun) -> None:
    values = run.one(RELEASE).inputs["values"]
    assert values["controller"]["type"] == "deployment"
    assert values["controller"]["podLabels"] == AGENT_POD_LABELS
    (policy,) = run.of_type(POLICY)
    assert policy.inputs["spec"]["podSelector"] == {"matchLabels": AGENT_POD_LABELS}


def test_logs_go_only_to_loki_on_the_droplet(run: StackRun) -> None:
    (policy,) = run.of_type(POLICY)
    spec = policy.inputs["spec"]
    assert spec["policyTypes"] == ["Egress"]
    (rule,) = spec["egress"]
    assert rule["to"] == [{"ipBlock": {"cidr": "10.110.0.30/32"}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 3100}]


def test_usage_reporting_is_off(run: StackRun) -> None:
    assert run.one(RELEASE).inputs["values"]["alloy"]["enableReporting"] is False


def test_the_stack_ships_logs_to_its_monitoring_droplet(up_run: StackRun) -> None:
    (release,) = [r for r in up_run.of_type(RELEASE) if r.inputs.get("name") == "log-agent"]
    private_ip = up_run.one("digitalocean:index/droplet:Droplet").outputs["ipv4AddressPrivate"]
    assert (
        f'url = "http://{private_ip}:3100/loki/api/v1/push"'
        in release.inputs["values"]["alloy"]["configMap"]["content"]
    )
    assert release.inputs["namespace"] == "monitoring"
