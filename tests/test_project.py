"""StackProject: a non-default Project whose membership is managed by ProjectResources."""

from __future__ import annotations

from components import StackProject, StackProjectArgs
from tests.harness import component_run


def test_project_groups_exactly_the_given_resources() -> None:
    urns = ["do:droplet:1", "do:dbaas:abc"]
    run = component_run(
        lambda: StackProject(
            "p", StackProjectArgs(name="N (staging)", description="d", environment="Staging", resource_urns=urns)
        )
    )
    project = run.one("digitalocean:index/project:Project")
    assert project.inputs["environment"] == "Staging"
    assert project.inputs["isDefault"] is False
    membership = run.one("digitalocean:index/projectResources:ProjectResources")
    assert membership.inputs == {"project": project.id, "resources": urns}
    component = run.one("platform:project:StackProject")
    assert {project.parent, membership.parent} == {component.urn}
