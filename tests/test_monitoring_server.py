"""MonitoringServer: a replaceable droplet, data on a protectable volume, secrets only in secret
user-data, a replacement order that never strands the volume, and a firewall that admits remote
write from the cluster's pods and nodes only."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import pulumi
import pytest
import yaml

from components import MonitoringServer, MonitoringServerArgs
from components.monitoring_server import TenantReceiver, tenant_receivers
from observability.prometheus import RULES_DIR
from observability.tenants import TenantRuleGroup, tenant_dashboards, tenant_rule_groups
from stack_config.tenants import TenantEntry
from tests.harness import TEST_SECRETS, StackRun, component_run, stack_file_config

DROPLET = "digitalocean:index/droplet:Droplet"
FIREWALL = "digitalocean:index/firewall:Firewall"
VOLUME = "digitalocean:index/volume:Volume"
ATTACHMENT = "digitalocean:index/volumeAttachment:VolumeAttachment"
IP_ASSIGNMENT = "digitalocean:index/reservedIpAssignment:ReservedIpAssignment"
POD_SUBNET = "10.111.0.0/16"
MONITORING_SECRET_KEYS = ("grafanaAdminPassword", "alertPagingWebhookUrl", "alertChatWebhookUrl")


def server(
    admin_cidrs: tuple[str, ...] = ("198.51.100.0/24",), protect: bool = True, **tenants: Any
) -> MonitoringServer:
    return MonitoringServer(
        "mon",
        MonitoringServerArgs(
            **tenants,
            region="nyc1",
            vpc_id="vpc-1",
            vpc_cidr="10.110.0.0/16",
            cluster_id="k8s-1",
            cluster_subnet=POD_SUBNET,
            size="s-2vcpu-4gb",
            image="ubuntu-24-04-x64",
            volume_size_gib=50,
            retention_days=30,
            backups=True,
            admin_cidrs=admin_cidrs,
            tenant="niche-discovery",
            environment="production",
            tags=["t"],
            protect=protect,
            grafana_admin_password=TEST_SECRETS["grafanaAdminPassword"],
            paging_webhook_url=TEST_SECRETS["alertPagingWebhookUrl"],
            chat_webhook_url=TEST_SECRETS["alertChatWebhookUrl"],
        ),
    )


@pytest.fixture(scope="module")
def run() -> StackRun:
    return component_run(server)


def strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def test_user_data_is_a_secret_input(run: StackRun) -> None:
    assert "userData" in run.one(DROPLET).secret_inputs


def test_user_data_carries_the_receivers_and_the_grafana_password(run: StackRun) -> None:
    user_data = run.one(DROPLET).inputs["userData"]
    document = yaml.safe_load(user_data)
    assert document["write_files"]
    for key in MONITORING_SECRET_KEYS:
        assert TEST_SECRETS[key] in user_data


def test_no_plain_input_carries_a_monitoring_secret(run: StackRun) -> None:
    for resource in run.resources:
        for key, value in resource.inputs.items():
            if key in resource.secret_inputs:
                continue
            for text in strings(value):
                for secret in MONITORING_SECRET_KEYS:
                    assert TEST_SECRETS[secret] not in text, (resource.name, key)


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_stack_leaks_no_monitoring_secret_to_outputs_or_plain_inputs(
    stack: str, request: pytest.FixtureRequest
) -> None:
    stack_run: StackRun = request.getfixturevalue(stack)
    assert "userData" in stack_run.one(DROPLET).secret_inputs
    for name, value in stack_run.outputs.items():
        if name in stack_run.secret_outputs:
            continue
        for text in strings(value):
            for secret in MONITORING_SECRET_KEYS:
                assert TEST_SECRETS[secret] not in text, name
    for resource in stack_run.resources:
        for key, value in resource.inputs.items():
            if key in resource.secret_inputs:
                continue
            for text in strings(value):
                for secret in MONITORING_SECRET_KEYS:
                    assert TEST_SECRETS[secret] not in text, (resource.type, resource.name, key)


def test_remote_write_admits_the_clusters_pods_and_nodes_only(run: StackRun) -> None:
    rules = run.one(FIREWALL).inputs["inboundRules"]
    tcp = {r["portRange"]: r for r in rules if r["protocol"] == "tcp"}
    # VPC-native pods write from their pod-subnet address; the whole VPC range is not admitted.
    assert tcp["9090"]["sourceAddresses"] == [POD_SUBNET]
    assert tcp["9090"]["sourceKubernetesIds"] == ["k8s-1"]
    assert "9093" not in tcp and "9100" not in tcp


def test_log_push_admits_the_clusters_pods_and_nodes_only(run: StackRun) -> None:
    rules = run.one(FIREWALL).inputs["inboundRules"]
    tcp = {r["portRange"]: r for r in rules if r["protocol"] == "tcp"}
    assert tcp["3100"]["sourceAddresses"] == [POD_SUBNET]
    assert tcp["3100"]["sourceKubernetesIds"] == ["k8s-1"]


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_each_stack_admits_its_own_pod_subnet_to_remote_write(stack: str, request: pytest.FixtureRequest) -> None:
    stack_run: StackRun = request.getfixturevalue(stack)
    pods = stack_file_config(stack)["platform:network"]["clusterSubnet"]
    rules = stack_run.one(FIREWALL).inputs["inboundRules"]
    (remote_write,) = [r for r in rules if r.get("portRange") == "9090"]
    assert remote_write["sourceAddresses"] == [pods]


@pytest.mark.parametrize("type_token", [ATTACHMENT, IP_ASSIGNMENT])
def test_a_replaced_droplet_gets_its_volume_and_ip_detached_first(run: StackRun, type_token: str) -> None:
    """A volume (and a reserved IP) belongs to one droplet at a time: the old attachment must go
    before the new one is created, or the replacement fails with the data left on the old droplet."""
    attachment = run.one(type_token)
    assert attachment.delete_before_replace
    assert "dropletId" in attachment.replace_on_changes
    assert attachment.inputs["dropletId"] == float(run.one(DROPLET).id)


def test_the_droplet_itself_is_replaced_create_before_delete(run: StackRun) -> None:
    # The new droplet boots (its mount script waits for the volume) while the old one still serves.
    assert not run.one(DROPLET).delete_before_replace


def test_ssh_and_grafana_only_from_admin_networks(run: StackRun) -> None:
    rules = run.one(FIREWALL).inputs["inboundRules"]
    tcp = {r["portRange"]: r for r in rules if r["protocol"] == "tcp"}
    assert tcp["22"]["sourceAddresses"] == ["198.51.100.0/24"]
    assert tcp["3000"]["sourceAddresses"] == ["198.51.100.0/24"]
    for rule in rules:
        assert "0.0.0.0/0" not in rule.get("sourceAddresses", [])


def test_without_admin_networks_nothing_outside_the_vpc_gets_in() -> None:
    rules = component_run(lambda: server(admin_cidrs=())).one(FIREWALL).inputs["inboundRules"]
    assert {r.get("portRange") for r in rules} == {"9090", "3100", None}


def test_the_data_volume_is_protected(run: StackRun) -> None:
    assert run.one(VOLUME).protect


def test_the_droplet_runs_digitaloceans_metrics_agent(run: StackRun) -> None:
    assert run.one(DROPLET).inputs["monitoring"] is True


def test_retention_from_config_reaches_prometheus(run: StackRun) -> None:
    assert "--storage.tsdb.retention.time=30d" in run.one(DROPLET).inputs["userData"]


# --- Tenants: rules, dashboards and a receiver of their own, through explicit args -------------------

TENANT_WEBHOOK = "https://hooks.example.test/video-analysis/t0ken"


@functools.cache
def tenant_entries() -> tuple[TenantEntry, ...]:
    return tuple(
        TenantEntry.model_validate(
            {"catalog": f"tenants/{t}.yaml", "imageTag": "1"}, context={"environment": "staging"}
        )
        for t in ("video-analysis", "doc-scraper", "rwp", "podcast-summariser")
    )


def tenant_server() -> MonitoringServer:
    return server(
        tenant_rule_groups=tenant_rule_groups(tenant_entries(), "staging"),
        tenant_dashboards=tenant_dashboards(tenant_entries(), "staging"),
        tenant_receivers=(TenantReceiver("video-analysis", pulumi.Output.secret(TENANT_WEBHOOK)),),
    )


@pytest.fixture(scope="module")
def tenant_run() -> StackRun:
    return component_run(tenant_server)


def test_tenant_rules_dashboards_and_receiver_reach_the_droplet(tenant_run: StackRun) -> None:
    droplet = tenant_run.one(DROPLET)
    assert "userData" in droplet.secret_inputs
    files = {f["path"]: f for f in yaml.safe_load(droplet.inputs["userData"])["write_files"]}
    assert {f"{RULES_DIR}/tenant-{t}.yml" for t in ("video-analysis", "doc-scraper", "rwp")} <= set(files)
    assert {d.path for d in tenant_dashboards(tenant_entries(), "staging")} <= set(files)
    alertmanager = yaml.safe_load(files["/etc/prometheus/alertmanager.yml"]["content"])
    (receiver,) = [r for r in alertmanager["receivers"] if r["name"] == "tenant-video-analysis"]
    assert receiver["webhook_configs"][0]["url"] == TENANT_WEBHOOK


def test_a_tenant_webhook_is_never_a_plain_input(tenant_run: StackRun) -> None:
    for resource in tenant_run.resources:
        for key, value in resource.inputs.items():
            if key not in resource.secret_inputs:
                assert not any(TENANT_WEBHOOK in text for text in strings(value)), (resource.name, key)


def test_the_lead_wires_receivers_from_the_catalogs_secret_keys() -> None:
    # No seed catalog declares a receiver today: the helper returns none and reads no secret.
    assert tenant_receivers(tenant_entries(), lambda key: pytest.fail(f"read {key}")) == ()


def test_bad_tenant_args_register_nothing() -> None:
    receiver = TenantReceiver("rwp", "https://hooks.example.test/x")
    with pytest.raises(ValueError) as err:
        server(
            tenant_rule_groups=(TenantRuleGroup("rwp", ""), TenantRuleGroup("rwp", "")),
            tenant_receivers=(receiver, receiver),
        )
    assert "tenant_receivers: tenant 'rwp' is given twice: one receiver per tenant" in str(err.value)
    assert "tenant_rule_groups: tenant 'rwp' is given twice" in str(err.value)
