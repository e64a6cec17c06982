"""platform:apps / platform:edge / platform:addons: every validator fires, naming its key path."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from stack_config.base import problems_from_validation_error
from stack_config.model import StackConfig
from tests.harness import ROOT, deep_merge, stack_file_config

CATALOG = yaml.safe_load((ROOT / "tenants" / "niche-discovery.yaml").read_text())


def _stack(stack: str) -> dict[str, Any]:
    return {k.removeprefix("platform:"): v for k, v in stack_file_config(stack).items()}


def problems(overrides: dict[str, Any], stack: str = "staging") -> list[tuple[str, str]]:
    raw = deep_merge(_stack(stack), overrides)
    try:
        StackConfig.model_validate(raw, context={"environment": stack})
    except ValidationError as err:
        return [(p.key, p.message) for p in problems_from_validation_error(err, stack)]
    return []


def catalog_with(path: str, value: Any) -> dict[str, Any]:
    """The committed catalog (inline) with one dotted path replaced; None deletes it."""
    catalog = copy.deepcopy(CATALOG)
    *parents, last = path.split(".")
    node = catalog
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return {"apps": {"catalog": catalog}}


def assert_problem(found: list[tuple[str, str]], key: str, fragment: str) -> None:
    assert any(k == key and fragment in m for k, m in found), found


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_committed_stacks_validate(stack: str) -> None:
    assert problems({}, stack) == []


def test_catalog_file_is_the_committed_one_and_resolves() -> None:
    config = StackConfig.model_validate(_stack("staging"), context={"environment": "staging"})
    assert set(config.apps.resolved_services()) == set(CATALOG["services"])


def test_only_the_seeds_public_paths_are_routed() -> None:
    config = StackConfig.model_validate(_stack("production"), context={"environment": "production"})
    routes = {(r.host, r.path, r.service, r.auth) for r in config.apps.catalog.routes}
    # The seed's nginx: /v1/, /health and the admin path (Flower, behind authentication); the dashboard.
    assert routes == {
        ("api", "/v1/", "api-service", "none"),
        ("api", "/health", "api-service", "none"),
        ("api", "/admin/flower", "flower", "basic"),
        ("dashboard", "/", "frontend", "none"),
    }
    services = config.apps.resolved_services()
    for route in config.apps.catalog.routes:
        assert services[route.service].metrics_port != services[route.service].client_port


def test_metrics_are_served_apart_from_every_routed_port() -> None:
    services = StackConfig.model_validate(_stack("staging"), context={"environment": "staging"}).apps.catalog.services
    with_metrics = {name for name, s in services.items() if s.metrics_port}
    assert {"api-service", "youtube-scraper", "celery-exporter"} <= with_metrics
    assert all(services[n].metrics_port not in (services[n].port, services[n].service_port) for n in with_metrics)


def test_worker_validation_scales_on_its_queue_from_the_seeds_fixed_count() -> None:
    services = StackConfig.model_validate(_stack("production"), context={"environment": "production"}).apps
    scaling = services.resolved_services()["worker-validation"].autoscaling
    assert scaling is not None and scaling.queue is not None
    # The seed runs a fixed 3: never fewer in production (README, where the seeds are outdated).
    assert scaling.min_replicas == CATALOG["services"]["worker-validation"]["replicas"] == 3


@pytest.mark.parametrize(
    ("path", "value", "key", "fragment"),
    [
        ("services.api-service.resources.requests.cpu", "lots", "services.api-service.resources.requests.cpu", "CPU"),
        (
            "services.api-service.resources.requests.memory",
            "1GB",
            "services.api-service.resources.requests.memory",
            "Mi",
        ),
        ("services.api-service.resources.limits.cpu", "100m", "services.api-service.resources", "limits.cpu"),
        ("services.api-service.resources.limits.memory", "128Mi", "services.api-service.resources", "limits.memory"),
        (
            "services.api-service.liveness",
            {"httpGet": {"path": "/"}, "exec": ["true"]},
            "services.api-service.liveness",
            "exactly one",
        ),
        ("services.flower.liveness", {"exec": []}, "services.flower.liveness", "needs a command"),
        ("services.api-service.autoscaling.minReplicas", 30, "services.api-service.autoscaling", "<= maxReplicas"),
        (
            "services.api-service.autoscaling",
            {"minReplicas": 1, "maxReplicas": 2},
            "services.api-service.autoscaling",
            "at least one of",
        ),
        (
            "services.api-service.autoscaling.scaleUp.policies",
            [],
            "services.api-service.autoscaling.scaleUp.policies",
            "at least 1",
        ),
        ("services.api-service.metricsPort", 8000, "services.api-service", "is the HTTP port"),
        ("services.api-service.metricsPort", None, "services.api-service", "requestsPerSecond reads"),
        ("services.worker-discovery.servicePort", 80, "services.worker-discovery", "servicePort needs"),
        ("services.frontend.internetPorts", [80, 443, 8080], "services.frontend", "only applies with 'internet'"),
        ("services.youtube-scraper.internetPorts", [443, 25], "services.youtube-scraper", "25 (SMTP)"),
        ("services.youtube-scraper.internetPorts", [443, 443], "services.youtube-scraper", "distinct"),
        (
            "services.worker-discovery.mounts",
            [{"path": "/app/logs", "source": "emptyDir"}, {"path": "/app/logs", "source": "config"}],
            "services.worker-discovery",
            "repeat a path",
        ),
        ("services.worker-discovery.mounts.0.path", "/tmp", "services.worker-discovery.mounts.0.path", "platform"),
        ("services.worker-discovery.mounts.0.path", "app/logs", "services.worker-discovery.mounts.0.path", "absolute"),
        ("services.worker-discovery.mounts.0.sizeLimit", "1GB", "services.worker-discovery.mounts.0.sizeLimit", "Mi"),
        ("routes.0.path", "/metrics", "routes.0.path", "never routed"),
        ("routes.0.path", "/docs", "routes.0.path", "never routed"),
        ("services.frontend.env", {"API_TOKEN": "x"}, "services.frontend.env", "names a credential"),
        ("services.frontend.env", {"lower": "x"}, "services.frontend.env", "not an environment variable"),
        ("services.frontend.port", None, "services.frontend", "needs a port"),
        ("services.worker-discovery.allowFrom", ["ingress"], "services.worker-discovery", "allowFrom needs a port"),
        ("routes.0.host", "Api", "routes.0.host", "DNS label"),
        ("routes.0.path", "health", "routes.0.path", "start with"),
        ("routes.0.service", "nope", "", "unknown service"),
        ("services.flower.allowFrom", [], "", "'ingress' in allowFrom"),
        ("registry", "nichediscovery", "registry", "registry host"),
        ("config.REDIS_URL", "rediss://default:pw@host:25061", "config", "credentials in its user info"),
        ("config.bad-key", "x", "config", "not an environment variable"),
        ("secrets.lower", "cache.uri", "secrets", "not an environment variable"),
        ("secrets.JWT_SECRET", "config.nope", "secrets", "not a registered secret"),
        ("secrets.JWT_SECRET", "vault.jwt", "secrets", "unknown source"),
        ("secrets.JWT_SECRET", None, "services", "do not define"),
        ("services.frontend.allowFrom", ["ingress", "ghost"], "services", "allowFrom names"),
        ("services.Frontend", CATALOG["services"]["frontend"], "services", "lowercase DNS label"),
    ],
)
def test_catalog_validators_name_the_key(path: str, value: Any, key: str, fragment: str) -> None:
    full = "platform:apps.catalog" + (f".{key}" if key else "")
    assert_problem(problems(catalog_with(path, value)), full, fragment)


@pytest.mark.parametrize(
    ("catalog", "fragment"),
    [
        (42, "path of a catalog file"),
        ("tenants/missing.yaml", "not found"),
        ("../outside.yaml", "not found"),
    ],
)
def test_catalog_reference_is_checked(catalog: Any, fragment: str) -> None:
    assert_problem(problems({"apps": {"catalog": catalog}}), "platform:apps.catalog", fragment)


def test_catalog_must_be_yaml_mapping() -> None:
    bad = ROOT / "build" / "test-catalogs" / "list.yaml"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("- not\n- a mapping\n")
    assert_problem(
        problems({"apps": {"catalog": "build/test-catalogs/list.yaml"}}), "platform:apps.catalog", "must hold a mapping"
    )
    bad.write_text("services: [unclosed\n")
    assert_problem(
        problems({"apps": {"catalog": "build/test-catalogs/list.yaml"}}), "platform:apps.catalog", "not valid YAML"
    )


@pytest.mark.parametrize(
    ("overrides", "key", "fragment"),
    [
        ({"imageTag": "latest"}, "platform:apps.imageTag", "not a pinned image"),
        ({"imageTag": "v 1"}, "platform:apps.imageTag", "Docker tag"),
        (
            {"services": {"api-service": {"imageTag": "latest"}}},
            "platform:apps.services.api-service.imageTag",
            "pinned",
        ),
        (
            {"services": {"api-service": {"imageDigest": "sha256:abc"}}},
            "platform:apps.services.api-service.imageDigest",
            "64",
        ),
        ({"config": {"SENTRY_DSN": "https://k@sentry.io/1"}}, "platform:apps.config", "credential"),
        ({"services": {"ghost": {"replicas": 2}}}, "platform:apps.services", "does not define"),
        ({"services": {"frontend": {"minReplicas": 2}}}, "platform:apps.services", "only apply to an autoscaled"),
        (
            {"services": {"api-service": {"minReplicas": 9, "maxReplicas": 4}}},
            "platform:apps.services",
            "<= maxReplicas",
        ),
    ],
)
def test_stack_overrides_are_checked(overrides: dict[str, Any], key: str, fragment: str) -> None:
    assert_problem(problems({"apps": overrides}), key, fragment)


def test_production_keeps_redundant_services_redundant() -> None:
    found = problems({"apps": {"services": {"frontend": {"replicas": 1}}}}, "production")
    assert_problem(found, "platform:apps.services", "at least 2 replicas")


def test_production_may_keep_a_singleton_of_the_catalog() -> None:
    assert problems({"apps": {"services": {"flower": {"replicas": 1}}}}, "production") == []


def test_digest_wins_over_tag() -> None:
    digest = "sha256:" + "a" * 64
    raw = deep_merge(_stack("production"), {"apps": {"services": {"api-service": {"imageDigest": digest}}}})
    config = StackConfig.model_validate(raw, context={"environment": "production"})
    assert config.apps.image_of("api-service").endswith(f"/api@{digest}")
    assert config.apps.image_of("frontend").endswith("/dashboard:1.0.0")


def test_services_must_pin_to_existing_pools() -> None:
    found = problems({"cluster": {"pools": {"scrapers": None}}})
    assert_problem(found, "platform:apps", "cluster.pools does not define")


@pytest.mark.parametrize(
    ("overrides", "stack", "key", "fragment"),
    [
        ({"edge": {"domain": "Not A Domain"}}, "staging", "platform:edge.domain", "domain name"),
        ({"edge": {"subdomain": "Bad_Label"}}, "staging", "platform:edge.subdomain", "DNS labels"),
        ({"edge": {"subdomain": None}}, "staging", "platform:edge.subdomain", "staging must set a subdomain"),
        ({"edge": {"acmeEmail": "ops"}}, "staging", "platform:edge.acmeEmail", "e-mail"),
        ({"edge": {"loadBalancer": {"sizeUnit": 0}}}, "staging", "platform:edge.loadBalancer.sizeUnit", "greater"),
        ({"addons": {"charts": {"keda": "2.x"}}}, "staging", "platform:addons.charts.keda", "exact chart version"),
        ({"addons": {"ingressReplicas": 1}}, "production", "platform:addons.ingressReplicas", "at least 2"),
    ],
)
def test_edge_and_addons_validators_name_the_key(
    overrides: dict[str, Any], stack: str, key: str, fragment: str
) -> None:
    assert_problem(problems(overrides, stack), key, fragment)


def test_staging_hosts_live_under_its_subdomain() -> None:
    config = StackConfig.model_validate(_stack("staging"), context={"environment": "staging"})
    assert config.edge.base_domain == "staging.nichediscovery.com"
    assert config.edge.load_balancer_hostname == "lb.staging.nichediscovery.com"
