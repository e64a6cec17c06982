"""MetricsAgent: a pinned chart in agent mode, its config ours, credentials in a Secret, and
NetworkPolicies that admit exactly the scrape and remote-write paths."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from components import DatabaseMetricsSource, MetricsAgent, MetricsAgentArgs
from components.application import ApplicationArgs
from components.metrics_agent import CHART_REPOSITORY, CONFIG_MAP_NAME, DB_METRICS_SECRET, SCRAPER_NAMESPACE_LABELS
from tests.harness import StackRun, component_run

RELEASE = "kubernetes:helm.sh/v3:Release"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
NAMESPACE = "kubernetes:core/v1:Namespace"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


def agent() -> MetricsAgent:
    return MetricsAgent(
        "agent",
        MetricsAgentArgs(
            remote_write_url="http://10.110.0.30:9090/api/v1/write",
            remote_write_ip="10.110.0.30",
            vpc_cidr="10.110.0.0/16",
            cluster_name="niche-discovery-staging",
            tenant="niche-discovery",
            environment="staging",
            chart_version="27.19.0",
            postgres=DatabaseMetricsSource("pg-1", ["pg-host.db.ondigitalocean.com:9273"]),
            valkey=DatabaseMetricsSource("valkey-1", ["valkey-host.db.ondigitalocean.com:9273"]),
        ),
    )


@pytest.fixture(scope="module")
def run() -> StackRun:
    return component_run(agent)


def policies(run: StackRun) -> dict[str, dict]:
    return {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in run.of_type(POLICY)}


def test_chart_is_pinned_from_prometheus_community(run: StackRun) -> None:
    release = run.one(RELEASE).inputs
    assert release["chart"] == "prometheus"
    assert release["version"] == "27.19.0"
    assert release["repositoryOpts"]["repo"] == CHART_REPOSITORY
    assert release["namespace"] == "monitoring"


def test_server_runs_in_agent_mode_on_our_config(run: StackRun) -> None:
    server = run.one(RELEASE).inputs["values"]["server"]
    assert "--agent" in server["defaultFlagsOverride"]
    assert "--config.file=/etc/config/prometheus.yml" in server["defaultFlagsOverride"]
    assert f"{run.one(RELEASE).inputs['name']}-{server['configMapOverrideName']}" == CONFIG_MAP_NAME
    assert run.one(CONFIG_MAP).inputs["metadata"]["name"] == CONFIG_MAP_NAME


def test_only_the_server_and_kube_state_metrics_are_deployed(run: StackRun) -> None:
    values = run.one(RELEASE).inputs["values"]
    assert values["kube-state-metrics"]["enabled"] is True
    for sub in ("alertmanager", "prometheus-pushgateway", "prometheus-node-exporter"):
        assert values[sub]["enabled"] is False


def test_containers_satisfy_pod_security_restricted(run: StackRun) -> None:
    values = run.one(RELEASE).inputs["values"]
    for context in (
        values["server"]["containerSecurityContext"],
        values["configmapReload"]["prometheus"]["containerSecurityContext"],
        values["kube-state-metrics"]["containerSecurityContext"],
    ):
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["runAsNonRoot"] is True
    labels = run.one(NAMESPACE).inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_config_map_remote_writes_and_scrapes_the_databases_privately(run: StackRun) -> None:
    config = yaml.safe_load(run.one(CONFIG_MAP).inputs["data"]["prometheus.yml"])
    assert config["remote_write"][0]["url"] == "http://10.110.0.30:9090/api/v1/write"
    targets = {t for j in config["scrape_configs"] for s in j.get("static_configs", []) for t in s["targets"]}
    assert targets == {"private-pg-host.db.ondigitalocean.com:9273", "private-valkey-host.db.ondigitalocean.com:9273"}
    assert "metrics-password" not in run.one(CONFIG_MAP).inputs["data"]["prometheus.yml"]


def test_database_metrics_credentials_are_a_secret_mounted_into_the_agent(run: StackRun) -> None:
    secret = run.one(SECRET)
    assert secret.inputs["metadata"]["name"] == DB_METRICS_SECRET
    assert "stringData" in secret.secret_inputs
    assert secret.inputs["stringData"]["password"] == "metrics-password"
    mounts = run.one(RELEASE).inputs["values"]["server"]["extraSecretMounts"]
    assert [m["secretName"] for m in mounts] == [DB_METRICS_SECRET]


def test_namespace_carries_the_application_scrape_plug_point_label(run: StackRun) -> None:
    (field,) = [f for f in dataclasses.fields(ApplicationArgs) if f.name == "metrics_scraper_namespace_labels"]
    factory = field.default_factory
    assert callable(factory)
    admitted = factory()
    labels = run.one(NAMESPACE).inputs["metadata"]["labels"]
    assert admitted.items() <= labels.items()
    assert SCRAPER_NAMESPACE_LABELS.items() <= labels.items()


def test_everything_is_denied_by_default(run: StackRun) -> None:
    spec = policies(run)["default-deny"]
    assert spec["podSelector"] == {}
    assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
    assert not spec.get("egress") and not spec.get("ingress")


def test_remote_write_goes_only_to_the_droplet_on_9090(run: StackRun) -> None:
    (rule,) = policies(run)["allow-remote-write"]["egress"]
    assert rule["to"] == [{"ipBlock": {"cidr": "10.110.0.30/32"}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 9090}]


def test_database_metrics_only_inside_the_vpc_on_9273(run: StackRun) -> None:
    (rule,) = policies(run)["allow-database-metrics"]["egress"]
    assert rule["to"] == [{"ipBlock": {"cidr": "10.110.0.0/16"}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 9273}]


def test_dns_and_api_server_are_reachable(run: StackRun) -> None:
    (dns,) = policies(run)["allow-dns"]["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    (api,) = policies(run)["allow-api-server"]["egress"]
    assert api["ports"] == [{"protocol": "TCP", "port": 443}]


def test_pods_are_scraped_only_on_the_named_metrics_port_and_exporter_ports(run: StackRun) -> None:
    (rule,) = policies(run)["allow-scrape-pods"]["egress"]
    assert {p["port"] for p in rule["ports"]} == {"metrics", 8000, 8080, 9090, 9402}


def test_kube_state_metrics_admits_only_the_agent(run: StackRun) -> None:
    spec = policies(run)["allow-agent-to-kube-state-metrics"]
    (rule,) = spec["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"platform.io/role": "metrics-agent"}}}]


def test_agent_pods_carry_the_label_the_policies_select(run: StackRun) -> None:
    assert run.one(RELEASE).inputs["values"]["server"]["podLabels"] == {"platform.io/role": "metrics-agent"}
    assert policies(run)["allow-remote-write"]["podSelector"] == {"matchLabels": {"platform.io/role": "metrics-agent"}}


def test_the_stack_deploys_the_agent_through_the_cluster_provider(up_run: StackRun) -> None:
    (release,) = [r for r in up_run.of_type(RELEASE) if r.inputs.get("name") == "metrics-agent"]
    assert "pulumi:providers:kubernetes" in release.provider


def test_the_stack_agent_writes_to_the_monitoring_droplet(up_run: StackRun) -> None:
    (config_map,) = [r for r in up_run.of_type(CONFIG_MAP) if r.inputs["metadata"]["name"] == CONFIG_MAP_NAME]
    config = yaml.safe_load(config_map.inputs["data"]["prometheus.yml"])
    private_ip = up_run.one("digitalocean:index/droplet:Droplet").outputs["ipv4AddressPrivate"]
    assert config["remote_write"][0]["url"] == f"http://{private_ip}:9090/api/v1/write"
    (policy,) = [r for r in up_run.of_type(POLICY) if r.inputs["metadata"]["name"] == "allow-remote-write"]
    assert policy.inputs["spec"]["egress"][0]["to"] == [{"ipBlock": {"cidr": f"{private_ip}/32"}}]
