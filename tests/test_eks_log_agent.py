"""The EKS tenants' logs: the DOKS log agent (components/log_agent.py) on EKS, pushing to the droplet's Loki through
the same nginx endpoint as the metrics (https://<reserved ip>:9443/loki/api/v1/push, basic auth, pinned CA).

The nginx side is judged by real nginx (tests/observability/test_remote_write_proxy.py). The Alloy syntax of the
``basic_auth``/``tls_config`` blocks is verified against Alloy's loki.write reference only (no Alloy binary here):
https://grafana.com/docs/alloy/latest/reference/components/loki/loki.write/ (``endpoint > basic_auth``:
``username``, ``password_file``; ``endpoint > tls_config``: ``ca_file``).
"""

from __future__ import annotations

import json
from typing import Any

from components.eks_metrics_agent import REMOTE_WRITE_SECRET
from components.log_agent import (
    AGENT_POD_LABELS,
    CREDENTIALS_PATH,
    CREDENTIALS_VOLUME,
    LogAgentAuth,
    chart_values,
)
from observability.loki import PUSH_PATH, LogAgentSettings, render_alloy_config
from observability.remote_write_proxy import REMOTE_WRITE_USER, render_server_block
from tests.harness import Resource, StackRun
from tests.observability.support import assert_golden

LOG_AGENT = "platform:monitoring:LogAgent"
EKS_AGENT = "platform:monitoring:EksMetricsAgent"
RELEASE = "kubernetes:helm.sh/v3:Release"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
AUTH = LogAgentAuth(secret_name=REMOTE_WRITE_SECRET, username=REMOTE_WRITE_USER)


def eks_settings() -> LogAgentSettings:
    return LogAgentSettings(
        push_url=f"https://203.0.113.40:9443{PUSH_PATH}",
        cluster="niche-discovery-production-eks",
        tenant="niche-discovery",
        environment="production",
        auth=AUTH.push_auth(),
    )


def test_eks_alloy_config_matches_golden() -> None:
    assert_golden("alloy-eks.alloy", render_alloy_config(eks_settings()))


def test_eks_alloy_config_authenticates_from_files_and_pins_the_ca() -> None:
    text = render_alloy_config(eks_settings())
    assert f'password_file = "{CREDENTIALS_PATH}/password"' in text
    assert f'ca_file = "{CREDENTIALS_PATH}/ca.crt"' in text
    assert f'username      = "{REMOTE_WRITE_USER}"' in text
    assert "password =" not in text.replace("password_file =", "")


def test_without_auth_the_config_and_values_are_the_doks_ones() -> None:
    plain = LogAgentSettings(
        push_url="http://10.110.0.30:3100/loki/api/v1/push", cluster="c", tenant="t", environment="e"
    )
    text = render_alloy_config(plain)
    assert "basic_auth" not in text
    assert "tls_config" not in text
    assert chart_values("x") == chart_values("x", None)
    assert CREDENTIALS_VOLUME not in json.dumps(chart_values("x"))


def test_auth_mounts_the_existing_secret_read_only() -> None:
    values = chart_values("x", AUTH)
    assert {"name": CREDENTIALS_VOLUME, "mountPath": CREDENTIALS_PATH, "readOnly": True} in values["alloy"]["mounts"][
        "extra"
    ]
    assert {"name": CREDENTIALS_VOLUME, "secret": {"secretName": REMOTE_WRITE_SECRET}} in values["controller"][
        "volumes"
    ]["extra"]


# ------------------------------------------------------------------------------------------------
# Whole program (mocked): production with an aws tenant.


def eks_log_agent(run: StackRun) -> Resource:
    eks_agent = run.one(EKS_AGENT)
    (agent,) = [r for r in run.of_type(LOG_AGENT) if run.is_descendant(r, eks_agent.urn)]
    return agent


def child(run: StackRun, parent: Resource, type_token: str) -> Resource:
    (found,) = [r for r in run.of_type(type_token) if r.parent == parent.urn]
    return found


def reserved_ip(run: StackRun) -> str:
    return str(run.one("digitalocean:index/reservedIp:ReservedIp").outputs["ipAddress"])


def test_each_cluster_runs_one_log_agent(production_aws: StackRun) -> None:
    assert len(production_aws.of_type(LOG_AGENT)) == 2  # DOKS's and EKS's
    eks_log_agent(production_aws)


def test_the_eks_log_agent_runs_on_the_eks_cluster(production_aws: StackRun) -> None:
    release = child(production_aws, eks_log_agent(production_aws), RELEASE)
    eks_provider = production_aws.one("pulumi:providers:kubernetes", "niche-discovery-production-eks-provider").urn
    assert release.provider.startswith(eks_provider + "::")
    assert release.inputs["namespace"] == "monitoring"


def test_the_eks_log_agent_pushes_to_the_public_endpoint_with_file_credentials(production_aws: StackRun) -> None:
    values: dict[str, Any] = child(production_aws, eks_log_agent(production_aws), RELEASE).inputs["values"]
    content = values["alloy"]["configMap"]["content"]
    assert f'url = "https://{reserved_ip(production_aws)}:9443/loki/api/v1/push"' in content
    assert f'password_file = "{CREDENTIALS_PATH}/password"' in content
    assert f'ca_file = "{CREDENTIALS_PATH}/ca.crt"' in content
    assert {"name": CREDENTIALS_VOLUME, "secret": {"secretName": REMOTE_WRITE_SECRET}} in values["controller"][
        "volumes"
    ]["extra"]


def test_one_copy_of_the_password_and_never_in_a_config_map_or_values(production_aws: StackRun) -> None:
    password = production_aws.one("random:index/randomPassword:RandomPassword").outputs["result"]
    assert password
    secrets = [r for r in production_aws.of_type(SECRET) if password in json.dumps(r.inputs)]
    assert [r.inputs["metadata"]["name"] for r in secrets] == [REMOTE_WRITE_SECRET]
    for resource in [*production_aws.of_type(CONFIG_MAP), *production_aws.of_type(RELEASE)]:
        assert password not in json.dumps(resource.inputs), resource.name


def test_the_log_agent_waits_for_the_secret_it_mounts(production_aws: StackRun) -> None:
    eks_agent = production_aws.one(EKS_AGENT)
    (secret,) = [r for r in production_aws.of_type(SECRET) if r.parent == eks_agent.urn]
    assert secret.urn in eks_log_agent(production_aws).dependencies


def test_the_eks_log_agent_may_reach_only_the_reserved_ip_on_the_tls_port(production_aws: StackRun) -> None:
    policy = child(production_aws, eks_log_agent(production_aws), POLICY)
    spec = policy.inputs["spec"]
    assert spec["podSelector"] == {"matchLabels": AGENT_POD_LABELS}
    assert spec["policyTypes"] == ["Egress"]
    assert spec["egress"] == [
        {
            "to": [{"ipBlock": {"cidr": f"{reserved_ip(production_aws)}/32"}}],
            "ports": [{"protocol": "TCP", "port": 9443}],
        }
    ]


def test_the_doks_log_agent_is_unchanged(production_aws: StackRun) -> None:
    eks = eks_log_agent(production_aws)
    (doks,) = [r for r in production_aws.of_type(LOG_AGENT) if r.urn != eks.urn]
    values = child(production_aws, doks, RELEASE).inputs["values"]
    assert "basic_auth" not in values["alloy"]["configMap"]["content"]
    assert CREDENTIALS_VOLUME not in json.dumps(values)
    (port,) = child(production_aws, doks, POLICY).inputs["spec"]["egress"][0]["ports"]
    assert port == {"protocol": "TCP", "port": 3100}


def test_the_push_path_is_the_one_nginx_serves() -> None:
    assert f"location = {PUSH_PATH} {{" in render_server_block()
