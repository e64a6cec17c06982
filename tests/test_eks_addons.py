"""Issue 15: metrics-server, KEDA and the edge on the EKS cluster (components/eks_addons.py).

Component-level intent first, then the whole program with the AWS tenant (``production_aws``): the api route
attaches to the EKS cluster's Gateway, whose proxies sit behind an Auto Mode NLB with the PROXY protocol,
the host's CNAME points at the NLB's hostname read back from the Service, and KEDA and metrics-server run
exactly once per cluster. Judges beyond our reading: the vendored Envoy Gateway / Gateway API / cert-manager
CRDs (tests/crd_validation.py) on every custom resource EksAddons renders, the policy pack's edge guards.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.eks_addons import (
    NLB_CLASS,
    PROXY_SERVICE,
    EksAddons,
    EksAddonsArgs,
    eks_addons_problems,
    nlb_hostname,
)
from components.gateway import GATEWAY_NAME, GATEWAY_NAMESPACE, listener_name
from components.platform_addons import keda_values
from tests import crd_validation
from tests.harness import Resource, StackRun, component_run
from tests.policy_adapter import PolicyEvaluator, describe, mutate

RELEASE = "kubernetes:helm.sh/v3:Release"
HTTPROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
ENVOY_PROXY = "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy"
DNS = "digitalocean:index/dnsRecord:DnsRecord"
API_HOST = "api.podcast-summariser.nichediscovery.com"
EKS_PROVIDER = "niche-discovery-production-eks-provider"


def args(**overrides: Any) -> EksAddonsArgs:
    values: dict[str, Any] = {
        "keda_version": "2.20.2",
        "metrics_server_version": "3.13.0",
        "cert_manager_version": "v1.21.1",
        "envoy_gateway_version": "v1.9.1",
        "acme_email": "ops@example.com",
        "dns_zone": "example.com",
        "gateway_hosts": ["api.shop.example.com"],
        "gateway_tenants": ["shop"],
        **overrides,
    }
    return EksAddonsArgs(**values)


@pytest.fixture(scope="module")
def addons_run() -> StackRun:
    return component_run(lambda: EksAddons("eks-addons", args()))


def releases(run: StackRun) -> dict[str, Resource]:
    found = run.of_type(RELEASE)
    by_name = {r.inputs["name"]: r for r in found}
    assert len(by_name) == len(found), [r.inputs["name"] for r in found]
    return by_name


def envoy_service(run: StackRun) -> dict[str, Any]:
    (proxy,) = run.of_type(ENVOY_PROXY)
    return proxy.inputs["spec"]["provider"]["kubernetes"]["envoyService"]


# --------------------------------------------------------------------------------------------------
# The component


def test_it_installs_metrics_server_keda_envoy_gateway_and_cert_manager_once(addons_run: StackRun) -> None:
    found = releases(addons_run)
    assert set(found) == {"metrics-server", "keda", "envoy-gateway", "cert-manager"}
    assert found["metrics-server"].inputs["namespace"] == "kube-system"
    # The DigitalOcean cluster's chart and values, not a copy that drifts.
    assert (found["keda"].inputs["chart"], found["keda"].inputs["version"]) == ("keda", "2.20.2")
    assert found["keda"].inputs["values"] == keda_values()


def test_metrics_server_can_be_left_to_eks_and_no_hosts_means_no_edge() -> None:
    run = component_run(lambda: EksAddons("eks-addons", args(metrics_server=False, gateway_hosts=[])))
    assert set(releases(run)) == {"keda"}
    assert not run.of_type(GATEWAY) and not run.of_type(DNS)


def test_the_proxies_service_is_an_internet_facing_auto_mode_nlb_with_proxy_protocol(addons_run: StackRun) -> None:
    service = envoy_service(addons_run)
    assert service["type"] == "LoadBalancer"
    assert service["loadBalancerClass"] == NLB_CLASS == "eks.amazonaws.com/nlb"
    assert service["name"] == PROXY_SERVICE
    assert service["allocateLoadBalancerNodePorts"] is False
    annotations = service["annotations"]
    assert annotations == {
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
        "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": "*",
    }
    assert not [k for k in annotations if "do-loadbalancer" in k]


def test_the_gateway_requires_the_proxy_header_the_nlb_sends(addons_run: StackRun) -> None:
    (policy,) = addons_run.of_type("kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy")
    assert policy.inputs["spec"]["proxyProtocol"] == {"optional": False}


def test_certificates_come_from_http01_on_the_gateways_http_listener(addons_run: StackRun) -> None:
    (gateway,) = addons_run.of_type(GATEWAY)
    assert gateway.inputs["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    (issuer,) = addons_run.of_type("kubernetes:cert-manager.io/v1:ClusterIssuer")
    solver = issuer.inputs["spec"]["acme"]["solvers"][0]["http01"]["gatewayHTTPRoute"]["parentRefs"][0]
    assert (solver["name"], solver["namespace"], solver["sectionName"]) == (GATEWAY_NAME, GATEWAY_NAMESPACE, "http")
    cert_manager = releases(addons_run)["cert-manager"]
    assert cert_manager.inputs["values"]["config"]["enableGatewayAPI"] is True
    envoy = releases(addons_run)["envoy-gateway"].urn
    assert envoy in cert_manager.dependencies  # the gateway-shim needs the Gateway API CRDs at start


def test_each_host_gets_a_cname_to_the_nlb_hostname_read_back_from_the_service(addons_run: StackRun) -> None:
    (record,) = addons_run.of_type(DNS)
    assert (record.inputs["domain"], record.inputs["type"], record.inputs["name"]) == (
        "example.com",
        "CNAME",
        "api.shop",
    )
    assert record.inputs["value"].endswith(".elb.us-east-1.amazonaws.com.")
    assert record.inputs["ttl"] == 300


def test_a_preview_reads_no_service_and_still_plans_the_records() -> None:
    run = component_run(lambda: EksAddons("eks-addons", args()), preview=True)
    (record,) = run.of_type(DNS)
    assert record.inputs["type"] == "CNAME"


def test_a_service_without_a_hostname_stops_the_deployment_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"no load balancer hostname.*kubernetes.io/role/elb"):
        nlb_hostname(None)


def test_every_custom_resource_fits_its_vendored_crd(addons_run: StackRun) -> None:
    resources = list(crd_validation.custom_resources(addons_run.resources))
    assert {r.type for r in resources} >= {GATEWAY, ENVOY_PROXY, "kubernetes:cert-manager.io/v1:ClusterIssuer"}
    for resource in resources:
        assert crd_validation.validate(resource.type, crd_validation.as_sent(dict(resource.body))) == [], resource.name


def test_bad_arguments_are_all_reported_and_nothing_is_registered() -> None:
    bad = args(acme_server="prod", gateway_hosts=["api.other.org"], gateway_tenants=[], replicas=0)
    problems = eks_addons_problems(bad)
    assert len(problems) == 4, problems
    assert any("acme_server 'prod'" in p for p in problems)
    assert any("api.other.org" in p and "example.com" in p for p in problems)
    assert any("gateway_tenants" in p for p in problems)
    assert any("replicas 0" in p for p in problems)
    with pytest.raises(Exception, match="eks addons") as raised:
        component_run(lambda: EksAddons("eks-addons", bad))
    assert raised.value.stack_run.resources == []  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------
# The whole program with the AWS tenant


def on_eks(run: StackRun, resource: Resource) -> bool:
    return resource.provider.startswith(run.one("pulumi:providers:kubernetes", EKS_PROVIDER).urn + "::")


def test_keda_and_metrics_server_run_exactly_once_on_the_eks_cluster(production_aws: StackRun) -> None:
    # The metrics and log agents (components/eks_metrics_agent.py) are the only releases beyond the addons.
    eks_releases = [r.inputs["name"] for r in production_aws.of_type(RELEASE) if on_eks(production_aws, r)]
    assert sorted(eks_releases) == [
        "cert-manager",
        "envoy-gateway",
        "keda",
        "log-agent",
        "metrics-agent",
        "metrics-server",
    ]


def test_the_digitalocean_edge_neither_listens_for_nor_points_dns_at_the_aws_hosts(production_aws: StackRun) -> None:
    # Its cert-manager would try HTTP-01 for a host whose DNS points at the NLB, forever; its A records would
    # fight the CNAMEs.
    (do_gateway,) = [g for g in production_aws.of_type(GATEWAY) if not on_eks(production_aws, g)]
    assert API_HOST not in {listener.get("hostname") for listener in do_gateway.inputs["spec"]["listeners"]}
    records = [r.inputs for r in production_aws.of_type(DNS) if r.inputs["name"] == "api.podcast-summariser"]
    assert [r["type"] for r in records] == ["CNAME"]


def test_the_api_route_attaches_to_the_eks_gateway(production_aws: StackRun) -> None:
    (route,) = [r for r in production_aws.of_type(HTTPROUTE) if API_HOST in r.inputs["spec"].get("hostnames", [])]
    assert on_eks(production_aws, route)
    assert route.inputs["metadata"]["namespace"] == "podcast-summariser-production"
    (parent,) = route.inputs["spec"]["parentRefs"]
    assert (parent["name"], parent["namespace"], parent["sectionName"]) == (
        GATEWAY_NAME,
        GATEWAY_NAMESPACE,
        listener_name(API_HOST),
    )
    (eks_gateway,) = [g for g in production_aws.of_type(GATEWAY) if on_eks(production_aws, g)]
    listeners = {listener["name"]: listener for listener in eks_gateway.inputs["spec"]["listeners"]}
    assert listeners[listener_name(API_HOST)]["hostname"] == API_HOST
    # Only the aws tenant's hosts: the DigitalOcean tenants are served by DOKS's Gateway.
    assert set(listeners) == {"http", listener_name(API_HOST)}
    # The routed Service exists in the same namespace on the same cluster.
    backend = route.inputs["spec"]["rules"][0]["backendRefs"][0]
    services = [
        r
        for r in production_aws.of_type("kubernetes:core/v1:Service")
        if on_eks(production_aws, r) and r.inputs["metadata"]["name"] == backend["name"]
    ]
    assert len(services) == 1
    assert backend["port"] in [p["port"] for p in services[0].inputs["spec"]["ports"]]


def test_the_api_service_admits_the_eks_envoy_proxies(production_aws: StackRun) -> None:
    (policy,) = [
        r
        for r in production_aws.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if r.inputs["metadata"]["name"] == "allow-edge-gateway"
        and r.inputs["metadata"]["namespace"] == "podcast-summariser-production"
    ]
    peer = policy.inputs["spec"]["ingress"][0]["from"][0]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": GATEWAY_NAMESPACE}


def test_the_api_host_is_a_cname_to_the_nlb_in_the_stacks_zone(production_aws: StackRun) -> None:
    records = [r for r in production_aws.of_type(DNS) if r.inputs["name"] == "api.podcast-summariser"]
    assert len(records) == 1  # no A record to the DigitalOcean LB beside it
    (record,) = records
    assert (record.inputs["domain"], record.inputs["type"]) == ("nichediscovery.com", "CNAME")
    assert record.inputs["value"].endswith(".elb.us-east-1.amazonaws.com.")
    assert production_aws.outputs["eksUrls"] == {API_HOST: f"https://{API_HOST}"}
    assert production_aws.outputs["eksLoadBalancerHostname"] == record.inputs["value"].removesuffix(".")


def test_every_custom_resource_on_eks_fits_its_vendored_crd(production_aws: StackRun) -> None:
    resources = [r for r in crd_validation.custom_resources(production_aws.resources) if r.type != RELEASE]
    types = {r.type for r in resources}
    assert {GATEWAY, ENVOY_PROXY, HTTPROUTE} <= types
    for resource in resources:
        assert crd_validation.validate(resource.type, crd_validation.as_sent(dict(resource.body))) == [], resource.name


def edge_violations(records: list[Resource]) -> list[Any]:
    found = PolicyEvaluator.for_stack("production").analyze(records)
    # The kubernetes_edge guards (k8s-gateway-https-only, -allowed-routes, k8s-edge-hostnames, -admin-auth).
    return [v for v in found if v.policy.startswith(("k8s-gateway-", "k8s-edge-"))]


def test_the_policy_packs_edge_guards_are_clean_on_the_eks_edge(production_aws: StackRun) -> None:
    eks_urns = {r.urn for r in production_aws.resources if on_eks(production_aws, r)}
    found = [v for v in edge_violations(production_aws.resources) if v.urn in eks_urns]
    assert found == [], describe(found)


def test_the_edge_guard_fires_on_an_eks_gateway_serving_tenants_over_plain_http(production_aws: StackRun) -> None:
    (gateway,) = [g for g in production_aws.of_type(GATEWAY) if on_eks(production_aws, g)]
    inputs = dict(gateway.inputs)
    spec = dict(inputs["spec"])
    spec["listeners"] = [
        {**listener, "protocol": "HTTP", "port": 8080, "tls": None} if listener["protocol"] == "HTTPS" else listener
        for listener in spec["listeners"]
    ]
    inputs["spec"] = spec
    broken = mutate(gateway, inputs=inputs)
    records = [broken if r.urn == gateway.urn else r for r in production_aws.resources]
    found = [v for v in edge_violations(records) if v.urn == gateway.urn]
    assert {v.policy for v in found} >= {"k8s-gateway-https-only"}, describe(found)
