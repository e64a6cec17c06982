"""The network boundary shared by the AWS data services: a security group that admits one port from named
client groups and lets nothing out (a database or cache initiates no connections)."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def clients_only_security_group(
    name: str,
    *,
    vpc_id: pulumi.Input[str],
    service: str,
    port: int,
    clients: Mapping[str, pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
) -> aws.ec2.SecurityGroup:
    """``<name>-sg`` with one ingress rule ``<name>-sg-from-<client>`` per client security group on ``port``."""
    group = aws.ec2.SecurityGroup(
        f"{name}-sg",
        vpc_id=vpc_id,
        description=f"{service} {name}: {port} from the cluster only",
        egress=[],
        opts=opts,
    )
    for client, source in sorted(clients.items()):
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-sg-from-{client}",
            security_group_id=group.id,
            referenced_security_group_id=source,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"{service} from {client}",
            opts=opts,
        )
    return group
