"""PlatformAddons: pinned charts, the values passed to them, the CCM load balancer's annotations."""

from __future__ import annotations

import re

import pytest

from components.platform_addons import LB_ANNOTATION, PlatformAddons, PlatformAddonsArgs
from stack_config import ConfigError, load
from stack_config.edge import SUPPORTED_KUBERNETES, ChartVersions
from stack_config.infra import ClusterConfig
from tests.harness import TEST_SECRETS, StackRun, component_run, deep_merge, run, stack_file_config

RELEASE = "kubernetes:helm.sh/v3:Release"


def release(run: StackRun, chart: str) -> dict:
    found = [r for r in run.of_type(RELEASE) if r.inputs["chart"] == chart]
    assert len(found) == 1, chart
    return found[0].inputs


def lb_annotations(run: StackRun) -> dict[str, str]:
    return release(run, "ingress-nginx")["values"]["controller"]["service"]["annotations"]


@pytest.mark.parametrize(
    ("chart", "repo"),
    [
        ("ingress-nginx", "https://kubernetes.github.io/ingress-nginx"),
        ("cert-manager", "https://charts.jetstack.io"),
        ("keda", "https://kedacore.github.io/charts"),
    ],
)
def test_charts_are_pinned_to_exact_versions(up_run: StackRun, chart: str, repo: str) -> None:
    inputs = release(up_run, chart)
    assert re.fullmatch(r"v?\d+\.\d+\.\d+", inputs["version"])
    assert inputs["repositoryOpts"]["repo"] == repo


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


def test_load_balancer_is_configured_through_ccm_annotations(production: StackRun) -> None:
    found = lb_annotations(production)
    assert found[LB_ANNOTATION + "name"] == "niche-discovery-production-ingress"
    assert found[LB_ANNOTATION + "size-unit"] == "2"
    assert found[LB_ANNOTATION + "type"] == "REGIONAL"
    assert found[LB_ANNOTATION + "redirect-http-to-https"] == "true"
    assert found[LB_ANNOTATION + "healthcheck-protocol"] == "http"
    assert found[LB_ANNOTATION + "hostname"] == "lb.nichediscovery.com"


def test_staging_load_balancer_has_its_own_name_and_size(staging: StackRun) -> None:
    found = lb_annotations(staging)
    assert found[LB_ANNOTATION + "name"] == "niche-discovery-staging-ingress"
    assert found[LB_ANNOTATION + "size-unit"] == "1"


def test_proxy_protocol_is_enabled_on_both_sides(up_run: StackRun) -> None:
    values = release(up_run, "ingress-nginx")["values"]["controller"]
    assert values["service"]["annotations"][LB_ANNOTATION + "enable-proxy-protocol"] == "true"
    assert values["config"]["use-proxy-protocol"] == "true"


def test_no_competing_load_balancer_resource(up_run: StackRun) -> None:
    assert not up_run.of_type("digitalocean:index/loadBalancer:LoadBalancer")


def test_controller_sends_security_headers_and_hsts(up_run: StackRun) -> None:
    controller = release(up_run, "ingress-nginx")["values"]["controller"]
    assert controller["addHeaders"]["X-Frame-Options"] == "DENY"
    assert controller["addHeaders"]["X-Content-Type-Options"] == "nosniff"
    assert controller["config"]["hsts"] == "true"
    assert controller["config"]["allow-snippet-annotations"] == "false"


def test_production_runs_redundant_controllers(staging: StackRun, production: StackRun) -> None:
    assert release(production, "ingress-nginx")["values"]["controller"]["replicaCount"] == 2
    assert release(staging, "ingress-nginx")["values"]["controller"]["replicaCount"] == 1


def test_cert_manager_installs_its_crds_and_keeps_them(up_run: StackRun) -> None:
    assert release(up_run, "cert-manager")["values"]["crds"] == {"enabled": True, "keep": True}


def test_cluster_issuer_is_lets_encrypt_over_ingress_nginx_after_cert_manager(up_run: StackRun) -> None:
    issuer = up_run.one("kubernetes:cert-manager.io/v1:ClusterIssuer")
    acme = issuer.inputs["spec"]["acme"]
    assert acme["server"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert acme["email"] == "ops@nichediscovery.com"
    assert acme["solvers"] == [{"http01": {"ingress": {"ingressClassName": "nginx"}}}]
    cert_manager = next(r for r in up_run.of_type(RELEASE) if r.inputs["chart"] == "cert-manager")
    assert cert_manager.urn in issuer.dependencies


# --- Kubernetes support of the pinned add-ons ------------------------------------------------------
CHARTS = {"keda": "keda", "cert_manager": "cert-manager"}
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
