"""The EKS metrics agent and the droplet's public remote-write endpoint: the aws tenants' series reach the same
monitoring host over TLS + basic auth, from the NAT addresses only, and their alerts are loaded there."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.eks_metrics_agent import REMOTE_WRITE_SECRET, EksMetricsAgent, EksMetricsAgentArgs
from components.metrics_agent import CHART_REPOSITORY, CONFIG_MAP_NAME, SCRAPER_NAMESPACE_LABELS, chart_values
from components.monitoring_server import (
    SERVER_CERT_EARLY_RENEWAL_HOURS,
    SERVER_CERT_VALIDITY_HOURS,
)
from observability.agent import (
    JOB_CADVISOR,
    JOB_KUBE_STATE_METRICS,
    JOB_KUBELET,
    JOB_PODS,
    JOB_POSTGRES,
    JOB_VALKEY,
    REMOTE_WRITE_SECRETS_DIR,
    SERVICE_ACCOUNT_DIR,
    AgentSettings,
    RemoteWriteAuth,
    render_agent_config,
)
from observability.cloud_init import RemoteWriteTls, render_files, render_user_data
from observability.remote_write_proxy import REMOTE_WRITE_TLS_PORT, SITE_PATH, TLS_DIR, render_server_block
from tests.harness import StackRun, component_run, fake_resource_id, run_main
from tests.k8s_manifests import is_rendered, manifest
from tests.observability.support import HOST, SECRETS, assert_golden, run_tool

RELEASE = "kubernetes:helm.sh/v3:Release"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
FIREWALL = "digitalocean:index/firewall:Firewall"
DROPLET = "digitalocean:index/droplet:Droplet"
AGENT = "platform:monitoring:EksMetricsAgent"
URL = "https://203.0.113.40:9443/api/v1/write"
NATS = ("198.51.100.7", "198.51.100.8", "198.51.100.9")
PASSWORD = "s3cret-remote-write-password"
HASH = "$2a$10$" + "N" * 53


def args(**changes: Any) -> EksMetricsAgentArgs:
    base = EksMetricsAgentArgs(
        remote_write_url=URL,
        remote_write_ip="203.0.113.40",
        remote_write_ca_pem="-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n",
        remote_write_password=PASSWORD,
        droplet_id="4242",
        nat_public_ips=NATS,
        cluster_name="niche-discovery-production-eks",
        tenant="niche-discovery",
        environment="production",
        chart_version="27.19.0",
        dns_cidrs=["172.20.0.10/32"],
        api_server_cidrs=["10.20.0.0/16"],
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture(scope="module")
def run() -> StackRun:
    return component_run(lambda: EksMetricsAgent("eks-agent", args()))


def agent_config(run: StackRun) -> dict[str, Any]:
    return yaml.safe_load(run.one(CONFIG_MAP).inputs["data"]["prometheus.yml"])


def policies(run: StackRun) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in run.of_type(POLICY)}


# --- the agent -----------------------------------------------------------------------------------


def test_the_agent_is_the_doks_chart_in_agent_mode(run: StackRun) -> None:
    release = run.one(RELEASE).inputs
    assert (release["chart"], release["version"], release["repositoryOpts"]["repo"]) == (
        "prometheus",
        "27.19.0",
        CHART_REPOSITORY,
    )
    server = release["values"]["server"]
    assert server["defaultFlagsOverride"] == chart_values()["server"]["defaultFlagsOverride"]
    assert release["values"]["kube-state-metrics"]["enabled"] is True
    assert run.one(CONFIG_MAP).inputs["metadata"]["name"] == CONFIG_MAP_NAME


def test_the_remote_write_secret_is_the_only_mounted_secret(run: StackRun) -> None:
    mounts = run.one(RELEASE).inputs["values"]["server"]["extraSecretMounts"]
    assert mounts == [
        {
            "name": REMOTE_WRITE_SECRET,
            "mountPath": REMOTE_WRITE_SECRETS_DIR,
            "secretName": REMOTE_WRITE_SECRET,
            "readOnly": True,
        }
    ]


def test_remote_write_uses_basic_auth_from_a_file_and_pins_the_ca(run: StackRun) -> None:
    (target,) = agent_config(run)["remote_write"]
    assert target["url"] == URL
    assert target["basic_auth"] == {"username": "remote-write", "password_file": f"{REMOTE_WRITE_SECRETS_DIR}/password"}
    assert target["tls_config"] == {"ca_file": f"{REMOTE_WRITE_SECRETS_DIR}/ca.crt"}


def test_the_password_is_only_in_the_secret_and_secret(run: StackRun) -> None:
    secret = run.one(SECRET)
    assert secret.inputs["metadata"]["name"] == REMOTE_WRITE_SECRET
    assert secret.inputs["stringData"]["password"] == PASSWORD
    assert "stringData" in secret.secret_inputs
    assert [r.name for r in run.resources if PASSWORD in json.dumps(r.inputs)] == [secret.name]


def test_the_agent_has_no_database_jobs_and_labels_its_cluster(run: StackRun) -> None:
    config = agent_config(run)
    jobs = {j["job_name"] for j in config["scrape_configs"]}
    assert {JOB_PODS, JOB_KUBE_STATE_METRICS, JOB_KUBELET, JOB_CADVISOR} <= jobs
    assert not any(j.startswith((JOB_POSTGRES, JOB_VALKEY)) for j in jobs)
    assert config["global"]["external_labels"]["cluster"] == "niche-discovery-production-eks"


def test_tenant_pod_series_carry_their_namespace_as_on_doks(run: StackRun) -> None:
    """observability/tenants.py scopes the aws tenants' alerts with namespace="<tenant>-<env>"."""
    doks = yaml.safe_load(render_agent_config(AgentSettings("http://10.0.0.30:9090/api/v1/write", "c", "t", "e")))
    eks = agent_config(run)
    doks_jobs = {j["job_name"]: j for j in doks["scrape_configs"]}
    for job in eks["scrape_configs"]:
        assert job["relabel_configs"] == doks_jobs[job["job_name"]]["relabel_configs"]
        if job["job_name"] == JOB_PODS or job["kubernetes_sd_configs"] == [{"role": "pod"}]:
            assert {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"} in job[
                "relabel_configs"
            ]


def test_promtool_accepts_the_eks_agent_config(tmp_path: Path, run: StackRun) -> None:
    """As for the DOKS agent (tests/observability/test_prometheus_config.py): Debian's promtool lacks Kubernetes
    discovery, so those blocks become file discovery; remote write, basic auth and TLS are checked as rendered."""
    config = agent_config(run)
    for job in config["scrape_configs"]:
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["file_sd_configs"] = [{"files": [str(tmp_path / "targets" / "*.json")]}]
    text = yaml.safe_dump(config)
    for real in (REMOTE_WRITE_SECRETS_DIR, SERVICE_ACCOUNT_DIR):
        stand_in = tmp_path / real.strip("/").replace("/", "_")
        stand_in.mkdir()
        for name in ("password", "ca.crt", "token"):
            (stand_in / name).write_text("x\n")
        text = text.replace(real, str(stand_in))
    (tmp_path / "agent.yml").write_text(text)
    result = run_tool("promtool", "check", "config", "--agent", "agent.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_eks_agent_config_matches_golden(run: StackRun) -> None:
    assert_golden("eks-agent-prometheus.yml", run.one(CONFIG_MAP).inputs["data"]["prometheus.yml"])


def test_credentials_need_https() -> None:
    with pytest.raises(ValueError, match=r"'http://10.0.0.30:9090/api/v1/write' is not https"):
        render_agent_config(
            AgentSettings("http://10.0.0.30:9090/api/v1/write", "c", "t", "e", remote_write_auth=RemoteWriteAuth("u"))
        )


def test_the_namespace_is_a_scraper_namespace(run: StackRun) -> None:
    labels = run.one("kubernetes:core/v1:Namespace").inputs["metadata"]["labels"]
    assert SCRAPER_NAMESPACE_LABELS.items() <= labels.items()
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_only_way_out_is_the_droplet_on_the_tls_port_dns_and_the_api_server(run: StackRun) -> None:
    specs = policies(run)
    assert specs["default-deny"]["policyTypes"] == ["Ingress", "Egress"]
    outward = {
        (peer["ipBlock"]["cidr"], port["port"])
        for spec in specs.values()
        for rule in spec.get("egress") or []
        for peer in rule["to"]
        if "ipBlock" in peer
        for port in rule["ports"]
    }
    assert outward == {
        ("203.0.113.40/32", REMOTE_WRITE_TLS_PORT),
        ("172.20.0.10/32", 53),
        ("10.20.0.0/16", 443),
    }
    assert specs["allow-remote-write"]["podSelector"] == {"matchLabels": {"platform.io/role": "metrics-agent"}}


def test_the_second_firewall_admits_only_the_nat_addresses_on_the_tls_port(run: StackRun) -> None:
    firewall = run.one(FIREWALL).inputs
    assert firewall["dropletIds"] == [4242]
    assert firewall["inboundRules"] == [
        {"protocol": "tcp", "portRange": "9443", "sourceAddresses": [f"{ip}/32" for ip in NATS]}
    ]
    assert not firewall.get("outboundRules")
    assert "tags" not in firewall


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"nat_public_ips": ()}, "nat_public_ips is empty: .* pass EksCluster.nat_public_ips"),
        ({"api_server_cidrs": ()}, "api_server_cidrs is empty: .* pass the EKS VPC's CIDR"),
        ({"dns_cidrs": ()}, r"dns_cidrs is empty: pass \[EksCluster.cluster_dns_cidr\]"),
    ],
)
def test_bad_args_are_refused_before_anything_is_registered(changes: dict[str, Any], message: str) -> None:
    registered: list[str] = []

    def build() -> None:
        with pytest.raises(ValueError, match=message):
            EksMetricsAgent("eks-agent", args(**changes))
        registered.append("checked")

    result = component_run(build)
    assert registered == ["checked"]
    assert result.resources == []


def test_all_problems_are_reported_at_once() -> None:
    def build() -> None:
        with pytest.raises(ValueError, match=r"nat_public_ips is empty.*api_server_cidrs is empty.*dns_cidrs is empty"):
            EksMetricsAgent("eks-agent", args(nat_public_ips=(), api_server_cidrs=(), dns_cidrs=()))

    component_run(build)


@pytest.mark.tools
def test_kubernetes_validate_accepts_the_agents_objects_at_the_eks_version(
    tmp_path: Path, production_aws: StackRun
) -> None:
    agent = production_aws.one(AGENT)
    paths = []
    for resource in production_aws.resources:
        if is_rendered(resource) and production_aws.is_descendant(resource, agent.urn):
            doc = manifest(resource)
            path = tmp_path / f"{doc['kind'].lower()}-{resource.name}.yaml"
            path.write_text(yaml.safe_dump(doc, sort_keys=False))
            paths.append(path)
    # namespace, secret, config map, 6 network policies, the log agent's push policy
    assert len(paths) == 10
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "kubernetes-validate"),
            "--strict",
            "--quiet",
            "--kubernetes-version",
            "1.35.0",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the droplet's side --------------------------------------------------------------------------


def test_the_nginx_site_matches_golden() -> None:
    assert_golden("remote-write.conf", render_server_block())


ENDPOINT_HOST = dataclasses.replace(HOST, remote_write_proxy=True)
ENDPOINT_SECRETS = dataclasses.replace(
    SECRETS,
    remote_write=RemoteWriteTls(
        certificate_pem="-----BEGIN CERTIFICATE-----\nSERVER\n-----END CERTIFICATE-----\n",
        private_key_pem="-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n",
        password_bcrypt_hash=HASH,
    ),
)


def test_cloud_init_schema_accepts_the_user_data_with_the_endpoint(tmp_path: Path) -> None:
    path = tmp_path / "user-data.yaml"
    path.write_text(render_user_data(ENDPOINT_HOST, ENDPOINT_SECRETS))
    result = run_tool("cloud-init", "schema", "--config-file", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_endpoint_files_are_written_key_and_hash_root_only() -> None:
    document = yaml.safe_load(render_user_data(ENDPOINT_HOST, ENDPOINT_SECRETS))
    modes = {f["path"]: f["permissions"] for f in document["write_files"]}
    assert modes[f"{TLS_DIR}/server.key"] == "0600"
    assert modes[f"{TLS_DIR}/htpasswd"] == "0600"
    assert modes[SITE_PATH] == "0644"
    files = render_files(ENDPOINT_HOST, ENDPOINT_SECRETS)
    assert files[f"{TLS_DIR}/htpasswd"] == f"remote-write:{HASH}\n"
    installer = next(f["content"] for f in document["write_files"] if f["path"] == "/usr/local/sbin/install-monitoring")
    assert "install -y -o Dpkg::Options::=--force-confold nginx" in installer
    assert f"chown root:www-data {TLS_DIR}/htpasswd" in installer
    assert "nginx -t" in installer


def test_without_the_endpoint_nothing_of_it_is_written() -> None:
    text = render_user_data(HOST, SECRETS)
    assert "nginx" not in text and TLS_DIR not in text


@pytest.mark.parametrize(
    ("host", "secrets", "said"),
    [(ENDPOINT_HOST, SECRETS, "missing"), (HOST, ENDPOINT_SECRETS, "given")],
)
def test_the_endpoint_and_its_material_come_together(host: Any, secrets: Any, said: str) -> None:
    with pytest.raises(ValueError, match=f"TLS material is {said}: pass MonitoringSecrets.remote_write exactly"):
        render_files(host, secrets)


# --- the whole program, production with the AWS tenant ------------------------------------------


def test_the_agent_runs_on_eks(production_aws: StackRun) -> None:
    agent = production_aws.one(AGENT)
    eks_provider = production_aws.one("pulumi:providers:kubernetes", "niche-discovery-production-eks-provider").urn
    objects = [r for r in production_aws.resources if r.custom and production_aws.is_descendant(r, agent.urn)]
    assert {r.type for r in objects} >= {RELEASE, SECRET, CONFIG_MAP, POLICY, FIREWALL}
    assert all(r.provider.startswith(eks_provider + "::") for r in objects if r.type.startswith("kubernetes:"))


def test_the_agent_writes_to_the_public_https_endpoint(production_aws: StackRun) -> None:
    agent = production_aws.one(AGENT)
    (config_map,) = [r for r in production_aws.of_type(CONFIG_MAP) if r.parent == agent.urn]
    (target,) = yaml.safe_load(config_map.inputs["data"]["prometheus.yml"])["remote_write"]
    reserved = production_aws.one("digitalocean:index/reservedIp:ReservedIp").outputs["ipAddress"]
    assert target["url"] == f"https://{reserved}:9443/api/v1/write"


def test_the_remote_write_password_is_only_in_a_secret(production_aws: StackRun) -> None:
    password = production_aws.one("random:index/randomPassword:RandomPassword").outputs["result"]
    holders = [r for r in production_aws.resources if password in json.dumps(r.inputs)]
    assert [r.type for r in holders] == [SECRET]
    assert "stringData" in holders[0].secret_inputs
    assert production_aws.one("random:index/randomPassword:RandomPassword").outputs["bcryptHash"].startswith("$2a$")


def test_the_second_firewall_admits_exactly_the_nat_eips(production_aws: StackRun) -> None:
    agent = production_aws.one(AGENT)
    (firewall,) = [r for r in production_aws.of_type(FIREWALL) if r.parent == agent.urn]
    eips = {r.outputs["publicIp"] for r in production_aws.of_type("aws:ec2/eip:Eip")}
    assert len(eips) == 3  # production: a NAT gateway per zone
    (rule,) = firewall.inputs["inboundRules"]
    assert (rule["protocol"], rule["portRange"]) == ("tcp", str(REMOTE_WRITE_TLS_PORT))
    assert set(rule["sourceAddresses"]) == {f"{ip}/32" for ip in eips}
    droplet = production_aws.one(DROPLET)
    assert firewall.inputs["dropletIds"] == [int(fake_resource_id(DROPLET, droplet.name))]


def test_the_droplet_serves_the_endpoint_and_loads_the_podcast_alerts(production_aws: StackRun) -> None:
    user_data = production_aws.one(DROPLET).inputs["userData"]
    document = yaml.safe_load(user_data)
    files = {f["path"]: f.get("content", "") for f in document["write_files"]}
    assert f"listen {REMOTE_WRITE_TLS_PORT} ssl;" in files[SITE_PATH]
    rules = yaml.safe_load(files["/etc/prometheus/rules/tenant-podcast-summariser.yml"])
    (group,) = rules["groups"]
    assert {r["labels"]["tenant"] for r in group["rules"]} == {"podcast-summariser"}
    assert all('namespace="podcast-summariser-production"' in r["expr"] for r in group["rules"])
    assert "userData" in production_aws.one(DROPLET).secret_inputs


def test_the_server_certificate_names_the_reserved_ip(production_aws: StackRun) -> None:
    request = production_aws.one("tls:index/certRequest:CertRequest").inputs
    reserved = production_aws.one("digitalocean:index/reservedIp:ReservedIp").outputs["ipAddress"]
    assert request["ipAddresses"] == [reserved]
    cert = production_aws.one("tls:index/locallySignedCert:LocallySignedCert").inputs
    assert (cert["validityPeriodHours"], cert["earlyRenewalHours"]) == (
        SERVER_CERT_VALIDITY_HOURS,
        SERVER_CERT_EARLY_RENEWAL_HOURS,
    )
    assert "server_auth" in cert["allowedUses"]


def test_stacks_without_eks_get_no_endpoint() -> None:
    staging = run_main("staging")
    assert not staging.of_type(AGENT)
    assert not [r for r in staging.resources if r.type.startswith(("tls:", "random:"))]
    assert "nginx" not in staging.one(DROPLET).inputs["userData"]
