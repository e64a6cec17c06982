"""prometheus.yml of the droplet and of the in-cluster agent, checked by promtool."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from observability.agent import (
    JOB_API,
    JOB_API_SERVER,
    JOB_CADVISOR,
    JOB_KUBE_STATE_METRICS,
    JOB_KUBELET,
    JOB_PODS,
    JOB_POSTGRES,
    JOB_SCRAPERS,
    JOB_VALKEY,
    JOB_WORKERS,
    METRICS_PORT_NAME,
    SECRETS_DIR,
    SERVICE_ACCOUNT_DIR,
    private_metrics_targets,
    render_agent_config,
)
from observability.cloud_init import DATA_DIR
from observability.prometheus import RULES_DIR, prometheus_args, render_prometheus_config
from observability.rules import render_rule_files
from tests.observability.support import AGENT, HOST, assert_golden, run_tool


def test_server_keeps_the_seed_global_settings_and_loads_the_rule_directory() -> None:
    config = yaml.safe_load(render_prometheus_config(HOST))
    assert config["global"]["scrape_interval"] == "15s"
    assert config["global"]["evaluation_interval"] == "15s"
    assert config["rule_files"] == [f"{RULES_DIR}/*.yml"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["localhost:9093"]


def test_server_scrapes_itself_node_exporter_alertmanager_and_grafana() -> None:
    jobs = {j["job_name"] for j in yaml.safe_load(render_prometheus_config(HOST))["scrape_configs"]}
    assert jobs == {"prometheus", "node", "alertmanager", "grafana"}


def test_server_flags_store_on_the_volume_with_retention_and_the_remote_write_receiver() -> None:
    args = prometheus_args(HOST, DATA_DIR)
    assert f"--storage.tsdb.path={DATA_DIR}/prometheus" in args
    assert "--storage.tsdb.retention.time=30d" in args
    assert "--storage.tsdb.retention.size=40GB" in args
    assert "--web.enable-remote-write-receiver" in args


def test_promtool_accepts_the_server_config(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for name, text in render_rule_files().items():
        (rules / name).write_text(text)
    (tmp_path / "prometheus.yml").write_text(render_prometheus_config(HOST).replace(RULES_DIR, str(rules)))
    result = run_tool("promtool", "check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(render_rule_files())} rule files found" in result.stdout


def test_promtool_accepts_the_agent_config(tmp_path: Path) -> None:
    """Debian's promtool is built without Kubernetes service discovery (it rejects the
    ``kubernetes_sd_configs`` field), so those blocks are swapped for file discovery; everything
    else (relabelling, remote write, basic auth, TLS) is checked as rendered, in agent mode, with
    the mounted credential files pointed at stand-ins."""
    config = yaml.safe_load(render_agent_config(AGENT))
    for job in config["scrape_configs"]:
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["file_sd_configs"] = [{"files": [str(tmp_path / "targets" / "*.json")]}]
    text = yaml.safe_dump(config)
    for real in (SECRETS_DIR, SERVICE_ACCOUNT_DIR):
        stand_in = tmp_path / real.strip("/").replace("/", "_")
        stand_in.mkdir()
        for name in ("password", "postgres-ca.crt", "valkey-ca.crt", "ca.crt", "token"):
            (stand_in / name).write_text("x\n")
        text = text.replace(real, str(stand_in))
    (tmp_path / "agent.yml").write_text(text)
    result = run_tool("promtool", "check", "config", "--agent", "agent.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_agent_scrapes_pods_kube_state_metrics_kubelet_cadvisor_and_both_databases() -> None:
    config = yaml.safe_load(render_agent_config(AGENT))
    jobs = {
        t["labels"]["job"] if "static_configs" in j else j["job_name"]
        for j in config["scrape_configs"]
        for t in j.get("static_configs", [{}])
    }
    assert jobs == {
        JOB_API_SERVER,
        JOB_API,
        JOB_WORKERS,
        JOB_SCRAPERS,
        JOB_PODS,
        JOB_KUBE_STATE_METRICS,
        JOB_KUBELET,
        JOB_CADVISOR,
        JOB_POSTGRES,
        JOB_VALKEY,
    }


def _job(name: str) -> dict:
    (job,) = [j for j in yaml.safe_load(render_agent_config(AGENT))["scrape_configs"] if j["job_name"] == name]
    return job


def test_agent_scrapes_at_the_seed_intervals() -> None:
    config = yaml.safe_load(render_agent_config(AGENT))
    assert config["global"]["scrape_interval"] == "15s"  # seed: cluster-wide 15 s
    assert _job(JOB_API)["scrape_interval"] == "10s"  # seed: api-service 10 s
    assert _job(JOB_WORKERS)["scrape_interval"] == "30s"  # seed: worker-metrics 30 s
    databases = [j for j in config["scrape_configs"] if "basic_auth" in j]
    assert {j["scrape_interval"] for j in databases} == {"30s"}  # seed: database exporters 30 s


def test_agent_scrapes_the_api_server_like_the_seed() -> None:
    job = _job(JOB_API_SERVER)
    assert job["kubernetes_sd_configs"] == [{"role": "endpoints"}]
    assert job["scheme"] == "https"
    (keep,) = job["relabel_configs"]
    assert keep["action"] == "keep" and keep["regex"] == "default;kubernetes;https"
    assert job["authorization"] == {"credentials_file": f"{SERVICE_ACCOUNT_DIR}/token"}


@pytest.mark.parametrize(
    ("job", "pod", "scraped"),
    [
        (JOB_API, "api-service", True),
        (JOB_API, "api-service-canary", False),
        (JOB_WORKERS, "flower", True),
        (JOB_WORKERS, "celery-exporter", True),
        (JOB_WORKERS, "worker-discovery", True),
        (JOB_WORKERS, "frontend", False),
        (JOB_SCRAPERS, "youtube-scraper", True),
        (JOB_SCRAPERS, "proxy-manager", False),
    ],
)
def test_application_jobs_select_pods_by_name_label(job: str, pod: str, scraped: bool) -> None:
    keep = _job(job)["relabel_configs"][0]
    assert keep["source_labels"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    assert keep["action"] == "keep"
    assert bool(re.fullmatch(keep["regex"], pod)) is scraped


@pytest.mark.parametrize("job", [JOB_API, JOB_WORKERS, JOB_SCRAPERS])
def test_application_jobs_scrape_only_the_port_named_metrics(job: str) -> None:
    port = _job(job)["relabel_configs"][1]
    assert port == {
        "source_labels": ["__meta_kubernetes_pod_container_port_name"],
        "action": "keep",
        "regex": METRICS_PORT_NAME,
    }


def test_application_pods_are_not_scraped_twice_by_the_annotation_job() -> None:
    drop = _job(JOB_PODS)["relabel_configs"][0]
    assert drop["action"] == "drop"
    for pod in ("api-service", "flower", "worker-validation", "tiktok-scraper"):
        assert re.fullmatch(drop["regex"], pod), pod
    assert not re.fullmatch(drop["regex"], "cert-manager")


def test_worker_job_renames_the_exporter_queue_label_to_the_seed_one() -> None:
    rules = _job(JOB_WORKERS)["metric_relabel_configs"]
    assert {"source_labels": ["queue_name"], "regex": "(.+)", "target_label": "queue"} in rules
    assert {"action": "labeldrop", "regex": "queue_name"} in rules


def test_agent_remote_writes_to_the_droplet() -> None:
    config = yaml.safe_load(render_agent_config(AGENT))
    assert [w["url"] for w in config["remote_write"]] == ["http://10.110.0.30:9090/api/v1/write"]
    assert config["global"]["external_labels"]["cluster"] == "niche-discovery-staging"


def test_agent_honours_the_prometheus_io_annotations() -> None:
    config = yaml.safe_load(render_agent_config(AGENT))
    (pods,) = [j for j in config["scrape_configs"] if j["job_name"] == JOB_PODS]
    sources = [tuple(r.get("source_labels", ())) for r in pods["relabel_configs"]]
    assert ("__meta_kubernetes_pod_annotation_prometheus_io_scrape",) in sources
    assert ("__meta_kubernetes_pod_annotation_prometheus_io_path",) in sources
    assert ("__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port") in sources
    assert pods["kubernetes_sd_configs"] == [{"role": "pod"}]


def test_agent_reads_node_metrics_through_the_api_server() -> None:
    config = yaml.safe_load(render_agent_config(AGENT))
    for name, suffix in ((JOB_KUBELET, "metrics"), (JOB_CADVISOR, "metrics/cadvisor")):
        (job,) = [j for j in config["scrape_configs"] if j["job_name"] == name]
        assert job["kubernetes_sd_configs"] == [{"role": "node"}]
        replacements = {r.get("replacement") for r in job["relabel_configs"]}
        assert "kubernetes.default.svc:443" in replacements
        assert f"/api/v1/nodes/${{1}}/proxy/{suffix}" in replacements


def test_agent_scrapes_databases_privately_with_basic_auth_from_a_mounted_secret() -> None:
    text = render_agent_config(AGENT)
    config = yaml.safe_load(text)
    databases = [j for j in config["scrape_configs"] if "basic_auth" in j]
    assert len(databases) == 3  # one PostgreSQL node, two Valkey nodes
    for job in databases:
        assert job["scheme"] == "https"
        assert job["basic_auth"] == {"username": "metrics-user", "password_file": f"{SECRETS_DIR}/password"}
        (target,) = job["static_configs"][0]["targets"]
        assert target.startswith("private-") and target.endswith(":9273")
        assert job["tls_config"]["server_name"] == target.removeprefix("private-").removesuffix(":9273")
    assert "password:" not in text


@pytest.mark.parametrize(
    ("endpoint", "address"),
    [
        ("db-host.db.ondigitalocean.com:9273", "private-db-host.db.ondigitalocean.com:9273"),
        ("https://db-host.db.ondigitalocean.com:9273/metrics", "private-db-host.db.ondigitalocean.com:9273"),
        ("private-db-host.db.ondigitalocean.com:9273", "private-db-host.db.ondigitalocean.com:9273"),
        ("db-host.db.ondigitalocean.com", "private-db-host.db.ondigitalocean.com:9273"),
    ],
)
def test_reported_endpoints_map_to_private_hostnames(endpoint: str, address: str) -> None:
    (target,) = private_metrics_targets([endpoint])
    assert target.address == address
    assert target.server_name == "db-host.db.ondigitalocean.com"


def test_an_unparseable_endpoint_is_refused() -> None:
    with pytest.raises(ValueError, match="unparseable"):
        private_metrics_targets(["https://:9273"])


def test_server_config_matches_golden() -> None:
    assert_golden("prometheus.yml", render_prometheus_config(HOST))


def test_agent_config_matches_golden() -> None:
    assert_golden("agent-prometheus.yml", render_agent_config(AGENT))
