"""platform:edge and the edge's chart pins: which edge serves, the migration's standby, the Envoy Gateway pin."""

from __future__ import annotations

from typing import Any

import pytest

from stack_config import ConfigError, load
from stack_config.edge import SUPPORTED_KUBERNETES, ChartVersions, EdgeConfig
from tests.harness import TEST_SECRETS, deep_merge, run, stack_file_config


def _load(edge: dict[str, Any], stack: str = "staging") -> Any:
    """The loaded StackConfig (raises its ConfigError)."""
    config = {k.removeprefix("platform:"): v for k, v in stack_file_config(stack).items()}
    captured: list[Any] = []
    run(lambda: captured.append(load()), stack=stack, config=deep_merge(config, {"edge": edge}), secrets=TEST_SECRETS)
    return captured[0]


def _problem(edge: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        _load(edge)
    (problem,) = [p for p in info.value.problems if p.key.startswith("platform:edge")]
    return problem.message


def test_new_stacks_serve_through_the_gateway_alone() -> None:
    edge = EdgeConfig(domain="example.com", subdomain="staging", acme_email="ops@example.com")
    assert edge.implementation == "gateway"
    assert edge.standby is None
    assert edge.implementations == ("gateway",)


def test_the_serving_edge_comes_first_and_the_standby_after_it() -> None:
    edge = EdgeConfig(
        domain="example.com", acme_email="ops@example.com", implementation="ingress-nginx", standby="gateway"
    )
    assert edge.implementations == ("ingress-nginx", "gateway")


def test_staging_uses_lets_encrypt_staging_unless_its_file_says_otherwise() -> None:
    assert _load({}).edge.acme == "staging"
    assert _load({}, stack="production").edge.acme == "production"
    assert _load({"acmeServer": "production"}).edge.acme == "production"
    assert "staging" in _problem({"acmeServer": "acme-v03"})


def test_a_standby_equal_to_the_serving_edge_is_refused() -> None:
    message = _problem({"implementation": "gateway", "standby": "gateway"})
    assert "standby 'gateway' is the implementation itself" in message
    assert "set standby to the other edge" in message


def test_an_unknown_edge_implementation_is_refused() -> None:
    assert "gateway" in _problem({"implementation": "traefik"})


def test_the_envoy_gateway_pin_is_exact_and_supports_the_clusters_minor() -> None:
    pins = ChartVersions()
    low, high = SUPPORTED_KUBERNETES["envoy_gateway"][".".join(pins.envoy_gateway.removeprefix("v").split(".")[:2])]
    assert (low, high) == (33, 36)
    assert pins.unsupported_at(35) == []
    with pytest.raises(ValueError, match="exact chart version"):
        ChartVersions(envoy_gateway="v1.9")


def test_an_envoy_gateway_pin_without_a_recorded_range_is_refused() -> None:
    problems = ChartVersions(envoy_gateway="v1.8.0").unsupported_at(35)
    assert problems == [
        "charts.envoyGateway v1.8.0 has no recorded Kubernetes support range: add it to SUPPORTED_KUBERNETES "
        "(stack_config/edge.py) from the project's compatibility matrix, or pin a recorded release"
    ]


def test_an_envoy_gateway_pin_too_old_for_the_cluster_is_refused() -> None:
    (problem,) = ChartVersions(envoy_gateway="v1.6.0").unsupported_at(35)
    assert (
        problem
        == "charts.envoyGateway v1.6.0 supports Kubernetes 1.30-1.33, not the cluster's 1.35: pin a 1.7 or 1.9 release"
    )
