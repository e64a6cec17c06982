"""Network: one VPC with the configured range."""

from __future__ import annotations

from components import Network, NetworkArgs
from tests.harness import component_run


def test_vpc_has_the_explicit_range_in_the_region() -> None:
    run = component_run(lambda: Network("net", NetworkArgs(region="fra1", ip_range="10.30.0.0/20", description="d")))
    vpc = run.one("digitalocean:index/vpc:Vpc")
    assert vpc.inputs == {"name": "net", "region": "fra1", "ipRange": "10.30.0.0/20", "description": "d"}
    assert vpc.parent == run.one("platform:network:Network").urn
