"""The DigitalOcean Project that groups a stack's resources in the console and for billing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do


@dataclass(frozen=True)
class StackProjectArgs:
    name: str
    description: str
    environment: str
    """DigitalOcean's spelling: Development, Staging or Production."""
    resource_urns: Sequence[pulumi.Input[str]]
    """DigitalOcean URNs (``do:droplet:...``) of every resource to group."""
    purpose: str = "Service or API"


class StackProject(pulumi.ComponentResource):
    """A Project plus its membership list.

    Membership goes through ProjectResources rather than each resource's ``project_id``: on a
    database cluster that argument forces replacement, and load balancers created by the cluster's
    cloud-controller-manager cannot take it at all.
    """

    project_id: pulumi.Output[str]
    """Project id."""

    def __init__(self, name: str, args: StackProjectArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:project:StackProject", name, None, opts)
        project = do.Project(
            f"{name}-project",
            name=args.name,
            description=args.description,
            environment=args.environment,
            purpose=args.purpose,
            is_default=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        do.ProjectResources(
            f"{name}-resources",
            project=project.id,
            resources=list(args.resource_urns),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.project_id = project.id
        self.register_outputs({"project_id": self.project_id})
