"""platform:network: the pod and service subnets of the VPC-native cluster are explicit, private,
sized within our bounds and disjoint from the VPC, from each other and from the other stack."""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

import pytest

from stack_config import ConfigError, load
from tests.harness import TEST_SECRETS, deep_merge, run, stack_file_config

STACKS = ("staging", "production")


def network(stack: str) -> dict[str, str]:
    return stack_file_config(stack)["platform:network"]


def problems_for(stack: str, network_overrides: dict[str, Any]) -> ConfigError:
    base = {k.removeprefix("platform:"): v for k, v in stack_file_config(stack).items()}
    config = deep_merge(base, {"network": network_overrides})
    with pytest.raises(ConfigError) as info:
        run(load, stack=stack, config=config, secrets=TEST_SECRETS)
    return info.value


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_sets_both_subnets(stack: str) -> None:
    assert {"vpcCidr", "clusterSubnet", "serviceSubnet"} <= set(network(stack))


def test_no_range_of_either_stack_overlaps_another() -> None:
    """Disjoint across stacks too: VPC-native pod ranges are routed in the VPC, so a later peering
    of staging and production needs every range distinct."""
    ranges = [
        (f"{stack}.{key}", ipaddress.ip_network(network(stack)[key]))
        for stack in STACKS
        for key in ("vpcCidr", "clusterSubnet", "serviceSubnet")
    ]
    for (a, net_a), (b, net_b) in itertools.combinations(ranges, 2):
        assert not net_a.overlaps(net_b), (a, b)


@pytest.mark.parametrize("key", ["clusterSubnet", "serviceSubnet"])
def test_a_missing_subnet_is_refused_by_name(key: str) -> None:
    base = {k.removeprefix("platform:"): v for k, v in stack_file_config("staging").items()}
    base["network"] = {k: v for k, v in base["network"].items() if k != key}
    with pytest.raises(ConfigError) as info:
        run(load, stack="staging", config=base, secrets=TEST_SECRETS)
    assert f"platform:network.{key}" in {p.key for p in info.value.problems}


# (override, the key that must be named, a phrase the message must contain)
BAD_SUBNETS = [
    ({"clusterSubnet": "100.64.0.0/16"}, "clusterSubnet", "RFC 1918"),
    ({"clusterSubnet": "8.8.0.0/16"}, "clusterSubnet", "RFC 1918"),
    ({"clusterSubnet": "10.111.0.1/16"}, "clusterSubnet", "CIDR"),
    ({"clusterSubnet": "10.110.0.0/17"}, "clusterSubnet", "overlaps vpcCidr"),
    ({"clusterSubnet": "10.0.0.0/8"}, "clusterSubnet", "/16 to /20"),
    ({"clusterSubnet": "10.111.0.0/22"}, "clusterSubnet", "/16 to /20"),
    ({"serviceSubnet": "10.110.8.0/24"}, "serviceSubnet", "overlaps vpcCidr"),
    ({"serviceSubnet": "10.111.128.0/20"}, "serviceSubnet", "overlaps clusterSubnet"),
    ({"serviceSubnet": "10.112.0.0/26"}, "serviceSubnet", "/16 to /24"),
    ({"serviceSubnet": "172.16.0.0/12"}, "serviceSubnet", "/16 to /24"),
]


@pytest.mark.parametrize(("override", "key", "phrase"), BAD_SUBNETS, ids=[str(b[0]) for b in BAD_SUBNETS])
def test_a_bad_subnet_is_refused_naming_key_value_and_fix(override: dict[str, str], key: str, phrase: str) -> None:
    error = problems_for("staging", override)
    (problem,) = [p for p in error.problems if p.key == f"platform:network.{key}"]
    assert phrase in problem.message
    assert override[key] in str(error)


def test_nothing_is_registered_when_a_subnet_is_bad() -> None:
    error = problems_for("staging", {"clusterSubnet": "10.110.0.0/17"})
    assert error.problems  # ConfigError is raised by load(), before any component exists
