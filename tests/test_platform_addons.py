"""PlatformAddons: pinned charts, the values passed to them, the CCM load balancer's annotations."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from components.platform_addons import LB_ANNOTATION, PlatformAddons, PlatformAddonsArgs
from stack_config import ConfigError, load
from stack_config.edge import SUPPORTED_KUBERNETES, ChartVersions
from stack_config.infra import ClusterConfig
from tests.harness import TEST_SECRETS, StackRun, component_run, deep_merge, run, run_main, stack_file_config

RELEASE = "kubernetes:helm.sh/v3:Release"


def release(run: StackRun, chart: str) -> dict:
    found = [r for r in run.of_type(RELEASE) if r.inputs["chart"] == chart]
    assert len(found) == 1, chart
    return found[0].inputs


def custom(run: StackRun, kind: str, api: str = "gateway.envoyproxy.io/v1alpha1") -> dict:
    return run.one(f"kubernetes:{api}:{kind}").inputs


def lb_annotations(run: StackRun) -> dict[str, str]:
    """The Envoy proxies' Service annotations: the CCM load balancer, declared."""
    return custom(run, "EnvoyProxy")["spec"]["provider"]["kubernetes"]["envoyService"]["annotations"]


def gateway(run: StackRun) -> dict:
    return custom(run, "Gateway", "gateway.networking.k8s.io/v1")


@functools.cache
def migrating(stack: str) -> StackRun:
    """ingress-nginx still serving, the Gateway standing by (docs/kubernetes.md, migration step 2)."""
    return run_main(stack, overrides={"edge": {"implementation": "ingress-nginx", "standby": "gateway"}})


@pytest.mark.parametrize(
    ("chart", "repo"),
    [("cert-manager", "https://charts.jetstack.io"), ("keda", "https://kedacore.github.io/charts")],
)
def test_charts_are_pinned_to_exact_versions(up_run: StackRun, chart: str, repo: str) -> None:
    inputs = release(up_run, chart)
    assert re.fullmatch(r"v?\d+\.\d+\.\d+", inputs["version"])
    assert inputs["repositoryOpts"]["repo"] == repo


def test_envoy_gateway_is_the_pinned_oci_chart(up_run: StackRun) -> None:
    inputs = release(up_run, "oci://docker.io/envoyproxy/gateway-helm")
    assert inputs["version"] == ChartVersions().envoy_gateway == "v1.9.1"
    assert inputs["namespace"] == "envoy-gateway-system"


def test_metrics_server_is_left_to_doks_by_default(up_run: StackRun) -> None:
    assert not [r for r in up_run.of_type(RELEASE) if r.inputs["chart"] == "metrics-server"]


def test_metrics_server_can_be_installed_where_missing() -> None:
    run = component_run(
        lambda: PlatformAddons(
            "addons",
            PlatformAddonsArgs(
                load_balancer_name="lb",
                load_balancer_hostname="lb.example.com",
                load_balancer_size_unit=1,
                acme_email="ops@example.com",
                ingress_nginx_version="4.13.3",
                cert_manager_version="v1.18.2",
                keda_version="2.17.2",
                metrics_server_version="3.13.0",
                metrics_server=True,
            ),
        )
    )
    assert release(run, "metrics-server")["version"] == "3.13.0"


def test_the_gateway_edge_needs_its_chart_lb_name_and_hosts() -> None:
    with pytest.raises(Exception, match="envoy_gateway_version, gateway_load_balancer_name and gateway_hosts"):
        component_run(
            lambda: PlatformAddons(
                "addons",
                PlatformAddonsArgs(
                    load_balancer_name="lb",
                    load_balancer_hostname="lb.example.com",
                    load_balancer_size_unit=1,
                    acme_email="ops@example.com",
                    ingress_nginx_version="4.13.3",
                    cert_manager_version="v1.21.1",
                    keda_version="2.20.2",
                    metrics_server_version="3.13.0",
                    implementations=("gateway",),
                ),
            )
        )


def test_load_balancer_is_configured_through_the_envoy_proxy_service(production: StackRun) -> None:
    found = lb_annotations(production)
    assert found[LB_ANNOTATION + "name"] == "niche-discovery-production-gateway"
    assert found[LB_ANNOTATION + "size-unit"] == "2"
    assert found[LB_ANNOTATION + "type"] == "REGIONAL"
    assert found[LB_ANNOTATION + "protocol"] == "tcp"
    assert found[LB_ANNOTATION + "hostname"] == "lb.nichediscovery.com"
    # The CCM's default health check (health-check node port /healthz) is the right one: not overridden.
    assert not {LB_ANNOTATION + "override-health-check", LB_ANNOTATION + "healthcheck-path"} & set(found)
    service = custom(production, "EnvoyProxy")["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service["type"] == "LoadBalancer"
    assert service["externalTrafficPolicy"] == "Local"


def test_the_gateway_class_is_parameterised_by_that_envoy_proxy(up_run: StackRun) -> None:
    spec = custom(up_run, "GatewayClass", "gateway.networking.k8s.io/v1")["spec"]
    assert spec["parametersRef"] == {
        "group": "gateway.envoyproxy.io",
        "kind": "EnvoyProxy",
        "name": "edge-proxy",
        "namespace": "envoy-gateway-system",
    }
    assert gateway(up_run)["spec"]["gatewayClassName"] == "envoy"


def test_staging_load_balancer_has_its_own_name_and_size(staging: StackRun) -> None:
    found = lb_annotations(staging)
    assert found[LB_ANNOTATION + "name"] == "niche-discovery-staging-gateway"
    assert found[LB_ANNOTATION + "size-unit"] == "1"


def test_proxy_protocol_is_enabled_on_both_sides(up_run: StackRun) -> None:
    assert lb_annotations(up_run)[LB_ANNOTATION + "enable-proxy-protocol"] == "true"
    assert custom(up_run, "ClientTrafficPolicy")["spec"]["proxyProtocol"] == {"optional": False}


CCM_ANNOTATIONS = Path(__file__).parent / "vendor" / "digitalocean-ccm" / "v0.1.68" / "lb_annotations.go"


def ccm_annotations() -> set[str]:
    """Every do-loadbalancer-* annotation the pinned CCM source declares."""
    text = CCM_ANNOTATIONS.read_text()
    return {LB_ANNOTATION + m for m in re.findall(r'annDOLoadBalancerBase \+ "([a-z0-9-]+)"', text)}


def test_every_lb_annotation_is_one_the_ccm_reads(up_run: StackRun) -> None:
    known = ccm_annotations()
    assert len(known) > 30
    legacy = release(migrating(up_run.stack), "ingress-nginx")["values"]["controller"]["service"]["annotations"]
    for declared in (lb_annotations(up_run), legacy):
        ours = {k for k in declared if k.startswith(LB_ANNOTATION)}
        assert ours and ours <= known, ours - known
    assert LB_ANNOTATION + "healthcheck-pathh" not in known


def test_no_competing_load_balancer_resource(up_run: StackRun) -> None:
    assert not up_run.of_type("digitalocean:index/loadBalancer:LoadBalancer")


def test_every_response_carries_the_security_headers_and_hsts(up_run: StackRun) -> None:
    spec = custom(up_run, "ClientTrafficPolicy")["spec"]
    assert spec["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge"}]
    headers = {h["name"]: h["value"] for h in spec["headers"]["lateResponseHeaders"]["set"]}
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_port_80_only_redirects_to_https(up_run: StackRun) -> None:
    listeners = {item["name"]: item for item in gateway(up_run)["spec"]["listeners"]}
    assert listeners["http"]["port"] == 80
    assert listeners["http"]["allowedRoutes"]["namespaces"] == {"from": "Same"}
    on_http = [
        r.inputs
        for r in up_run.of_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
        if any(ref.get("sectionName") == "http" for ref in r.inputs["spec"]["parentRefs"])
    ]
    assert [r["metadata"]["name"] for r in on_http] == ["https-redirect"]
    assert on_http[0]["spec"]["rules"] == [
        {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}
    ]


def test_https_listeners_serve_the_stacks_hosts_to_its_tenants_only(staging: StackRun) -> None:
    spec = gateway(staging)
    https = [item for item in spec["spec"]["listeners"] if item["protocol"] == "HTTPS"]
    hosts = {item["hostname"] for item in https}
    assert {"api.staging.nichediscovery.com", "dashboard.staging.nichediscovery.com"} <= hosts
    assert all(host.endswith(".staging.nichediscovery.com") for host in hosts)
    for item in https:
        assert item["port"] == 443
        assert item["tls"]["certificateRefs"] == [{"kind": "Secret", "name": f"{item['hostname']}-tls"}]
        (expression,) = item["allowedRoutes"]["namespaces"]["selector"]["matchExpressions"]
        assert expression["key"] == "app.kubernetes.io/part-of"
        assert expression["operator"] == "In"
        assert "niche-discovery" in expression["values"]
    # Staging's certificates come from Let's Encrypt's staging directory (its own issuer).
    assert spec["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-staging"
    assert spec["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Programmed"


def test_each_client_address_gets_the_configured_rate_limit(up_run: StackRun) -> None:
    spec = custom(up_run, "BackendTrafficPolicy")["spec"]
    (rule,) = spec["rateLimit"]["local"]["rules"]
    assert rule["clientSelectors"] == [{"sourceCIDR": {"type": "Distinct", "value": "0.0.0.0/0"}}]
    assert rule["limit"] == {"requests": 100, "unit": "Minute"}


def test_the_rate_limit_follows_the_stack_file() -> None:
    run = run_main("staging", overrides={"edge": {"rateLimitRpm": 1000}})
    (rule,) = custom(run, "BackendTrafficPolicy")["spec"]["rateLimit"]["local"]["rules"]
    assert rule["limit"]["requests"] == 1000


def test_backends_keep_the_seeds_balancing_and_failure_settings(up_run: StackRun) -> None:
    spec = custom(up_run, "BackendTrafficPolicy")["spec"]
    assert spec["loadBalancer"] == {"type": "LeastRequest"}
    assert spec["healthCheck"]["passive"] == {"consecutive5XxErrors": 3, "interval": "30s", "baseEjectionTime": "30s"}


def test_production_runs_redundant_proxies(staging: StackRun, production: StackRun) -> None:
    def replicas(run: StackRun) -> int:
        return custom(run, "EnvoyProxy")["spec"]["provider"]["kubernetes"]["envoyDeployment"]["replicas"]

    assert replicas(production) == 2
    assert replicas(staging) == 1
    # A disruption budget only where it leaves room to drain a node.
    assert custom(production, "EnvoyProxy")["spec"]["provider"]["kubernetes"]["envoyPDB"] == {"minAvailable": 1}
    assert "envoyPDB" not in custom(staging, "EnvoyProxy")["spec"]["provider"]["kubernetes"]


def test_cert_manager_installs_its_crds_keeps_them_and_watches_gateways(up_run: StackRun) -> None:
    values = release(up_run, "cert-manager")["values"]
    assert values["crds"] == {"enabled": True, "keep": True}
    assert values["config"]["enableGatewayAPI"] is True
    cert_manager = next(r for r in up_run.of_type(RELEASE) if r.inputs["chart"] == "cert-manager")
    envoy = next(r for r in up_run.of_type(RELEASE) if r.inputs["chart"].endswith("gateway-helm"))
    # The Gateway API CRDs (from Envoy Gateway's chart) exist before cert-manager starts.
    assert envoy.urn in cert_manager.dependencies


def test_cluster_issuer_solves_http01_on_the_gateways_http_listener_after_cert_manager(up_run: StackRun) -> None:
    issuer = up_run.one("kubernetes:cert-manager.io/v1:ClusterIssuer")
    acme = issuer.inputs["spec"]["acme"]
    assert acme["email"] == "ops@nichediscovery.com"
    (solver,) = acme["solvers"]
    assert solver["http01"]["gatewayHTTPRoute"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "edge",
            "namespace": "envoy-gateway-system",
            "sectionName": "http",
        }
    ]
    cert_manager = next(r for r in up_run.of_type(RELEASE) if r.inputs["chart"] == "cert-manager")
    assert cert_manager.urn in issuer.dependencies


def test_staging_certificates_come_from_lets_encrypt_staging(staging: StackRun, production: StackRun) -> None:
    def issuer(run: StackRun) -> tuple[str, str, str]:
        found = run.one("kubernetes:cert-manager.io/v1:ClusterIssuer").inputs
        acme = found["spec"]["acme"]
        return found["metadata"]["name"], acme["server"], acme["privateKeySecretRef"]["name"]

    assert issuer(production) == (
        "letsencrypt-prod",
        "https://acme-v02.api.letsencrypt.org/directory",
        "letsencrypt-prod-account-key",
    )
    assert issuer(staging) == (
        "letsencrypt-staging",
        "https://acme-staging-v02.api.letsencrypt.org/directory",
        "letsencrypt-staging-account-key",
    )
    assert gateway(production)["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"


# --- ingress-nginx, while a stack migrates -------------------------------------------------------------


def test_legacy_ingress_nginx_keeps_its_own_load_balancer_and_proxy_protocol() -> None:
    values = release(migrating("production"), "ingress-nginx")["values"]["controller"]
    annotations = values["service"]["annotations"]
    assert annotations[LB_ANNOTATION + "name"] == "niche-discovery-production-ingress"
    assert annotations[LB_ANNOTATION + "enable-proxy-protocol"] == "true"
    assert values["config"]["use-proxy-protocol"] == "true"
    assert values["addHeaders"]["X-Frame-Options"] == "DENY"
    assert values["config"]["allow-snippet-annotations"] == "false"
    # Both load balancers exist side by side, each under its own name.
    assert lb_annotations(migrating("production"))[LB_ANNOTATION + "name"] == "niche-discovery-production-gateway"


# --- Kubernetes support of the pinned add-ons ------------------------------------------------------
CHARTS = {"keda": "keda", "cert_manager": "cert-manager", "envoy_gateway": "oci://docker.io/envoyproxy/gateway-helm"}
"""ChartVersions field -> Helm chart name."""


def stack_config(stack: str) -> dict:
    return {k.removeprefix("platform:"): v for k, v in stack_file_config(stack).items()}


@pytest.mark.parametrize("stack", ["staging", "production"])
@pytest.mark.parametrize("field", sorted(CHARTS))
def test_the_deployed_release_supports_the_stacks_kubernetes_minor(
    stack: str, field: str, request: pytest.FixtureRequest
) -> None:
    """The version each stack deploys, looked up in its project's support matrix, covers the
    cluster minor the stack configures (cluster.versionPrefix, or its code default)."""
    run_: StackRun = request.getfixturevalue(stack)
    version = release(run_, CHARTS[field])["version"]
    prefix = stack_config(stack).get("cluster", {}).get("versionPrefix") or ClusterConfig().version_prefix
    minor = int(prefix.split(".")[1])
    low, high = SUPPORTED_KUBERNETES[field][".".join(version.removeprefix("v").split(".")[:2])]
    assert low <= minor <= high, f"{CHARTS[field]} {version} supports 1.{low}-1.{high}, the cluster runs 1.{minor}"


@pytest.mark.parametrize(
    ("charts", "phrase"),
    [
        ({"keda": "2.17.2"}, "charts.keda 2.17.2 supports Kubernetes 1.30-1.32, not the cluster's 1.35"),
        (
            {"certManager": "v1.18.2"},
            "charts.certManager v1.18.2 supports Kubernetes 1.29-1.33, not the cluster's 1.35",
        ),
        ({"keda": "2.99.0"}, "charts.keda 2.99.0 has no recorded Kubernetes support range"),
    ],
)
def test_an_addon_that_does_not_support_the_cluster_minor_is_refused(charts: dict, phrase: str) -> None:
    config = deep_merge(stack_config("staging"), {"addons": {"charts": charts}})
    with pytest.raises(ConfigError) as info:
        run(load, stack="staging", config=config, secrets=TEST_SECRETS)
    (problem,) = [p for p in info.value.problems if p.key == "platform:addons"]
    assert phrase in problem.message


def test_raising_the_cluster_minor_past_a_pins_range_is_refused() -> None:
    """1.36 is past KEDA 2.20's tested window: the minor upgrade has to move the pin too."""
    config = deep_merge(stack_config("staging"), {"cluster": {"versionPrefix": "1.36.", "ha": True}})
    with pytest.raises(ConfigError) as info:
        run(load, stack="staging", config=config, secrets=TEST_SECRETS)
    (problem,) = [p for p in info.value.problems if p.key == "platform:addons"]
    assert (
        "charts.keda 2.20.2 supports Kubernetes 1.33-1.35, not the cluster's 1.36: pin a 2.21 release"
        in problem.message
    )


def test_every_recorded_range_is_a_plausible_window() -> None:
    for chart, releases in SUPPORTED_KUBERNETES.items():
        for release_, (low, high) in releases.items():
            assert 2 <= high - low + 1 <= 5, (chart, release_)
    assert ChartVersions().unsupported_at(35) == []
