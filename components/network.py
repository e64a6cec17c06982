"""The stack's private network."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do


@dataclass(frozen=True)
class NetworkArgs:
    region: str
    """DigitalOcean region slug."""
    ip_range: str
    """VPC range (RFC 1918, /16-/24). Changing it replaces the VPC and everything inside it."""
    description: str
    """Shown in the DigitalOcean console."""


class Network(pulumi.ComponentResource):
    """A VPC with an explicit range, so staging and production never overlap and can be peered."""

    vpc_id: pulumi.Output[str]
    """VPC id (the ``vpc_uuid``/``private_network_uuid`` of everything placed in it)."""
    ip_range: pulumi.Output[str]
    """The VPC's CIDR, for firewall rules that admit "anything inside the VPC"."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:network:Network", name, None, opts)
        vpc = do.Vpc(
            f"{name}-vpc",
            name=name,
            region=args.region,
            ip_range=args.ip_range,
            description=args.description,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.vpc_id = vpc.id
        self.ip_range = vpc.ip_range
        self.register_outputs({"vpc_id": self.vpc_id, "ip_range": self.ip_range})
