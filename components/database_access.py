"""Who may connect to a managed database: shared by PostgresDatabase and Cache."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do


@dataclass(frozen=True)
class TrustedSources:
    """The only clients a database firewall admits.

    DigitalOcean allows one rule set per database cluster (two DatabaseFirewall resources on one
    cluster overwrite each other), so each database component owns exactly one firewall built
    from this list. Adding the first rule blocks every other client, including the public internet.
    """

    kubernetes_cluster_ids: Sequence[pulumi.Input[str]] = ()
    """DOKS clusters whose nodes and pods may connect."""
    droplet_ids: Sequence[pulumi.Input[str]] = ()
    """Droplets that may connect. Default: none (this platform's clients all run in the cluster)."""
    ip_ranges: Sequence[str] = ()
    """Addresses or CIDRs that may connect (``ip_addr`` rules), e.g. a VPC-native cluster's pod
    subnet: a ``k8s`` rule names the cluster's node droplets, while pods reach the database from
    their own addresses. Default: none."""

    def rules(self) -> list[do.DatabaseFirewallRuleArgs]:
        rules = [do.DatabaseFirewallRuleArgs(type="k8s", value=cid) for cid in self.kubernetes_cluster_ids]
        rules += [do.DatabaseFirewallRuleArgs(type="ip_addr", value=cidr) for cidr in self.ip_ranges]
        rules += [do.DatabaseFirewallRuleArgs(type="droplet", value=did) for did in self.droplet_ids]
        if not rules:
            raise ValueError("a database firewall needs at least one trusted source")
        return rules


@dataclass(frozen=True)
class MaintenanceWindow:
    day: str
    """monday..sunday."""
    hour: str
    """UTC HH:MM."""

    def args(self) -> list[do.DatabaseClusterMaintenanceWindowArgs]:
        return [do.DatabaseClusterMaintenanceWindowArgs(day=self.day, hour=self.hour)]
