"""The DigitalOcean platform component and the root's shape: "platform, then each tenant" (issue 14).

The migration itself (old URNs resolve through the aliases, no stateful replacement) is judged by the
real engine in tests/engine/test_upgrade.py; here, its classifier is made to fire on synthetic steps,
and the program's tree is checked with the in-process mocks.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.test_upgrade import classify, moved_without_alias
from tests.harness import StackRun

ROOT_PARENT = ("", "pulumi:pulumi:Stack")
PLATFORM = "platform:platform:DigitalOceanPlatform"
MOVED = {
    # Component type -> its name as released (aba9e8b registered it at the stack root under this name).
    "platform:network:Network": "niche-discovery-{stack}",
    "platform:k8s:KubernetesCluster": "niche-discovery-{stack}",
    "platform:data:PostgresDatabase": "niche-discovery-{stack}-pg",
    "platform:data:Cache": "niche-discovery-{stack}-valkey",
    "platform:monitoring:MonitoringServer": "niche-discovery-{stack}-monitoring",
    "platform:project:StackProject": "niche-discovery-{stack}",
    "platform:addons:PlatformAddons": "niche-discovery-{stack}-addons",
    "platform:monitoring:MetricsAgent": "niche-discovery-{stack}-metrics-agent",
    "platform:monitoring:LogAgent": "niche-discovery-{stack}-log-agent",
    "platform:backup:BackupVault": "niche-discovery-{stack}-backups",
}

DB = "urn:pulumi:staging::platform::platform:platform:DigitalOceanPlatform$platform:data:PostgresDatabase$"
DROPLET = "urn:pulumi:staging::platform::platform:platform:DigitalOceanPlatform$platform:monitoring:MonitoringServer$"


def _db(name: str = "niche-discovery-staging-pg-db") -> str:
    return f"{DB}digitalocean:index/databaseDb:DatabaseDb::{name}"


def _cluster(parent: str = "") -> str:
    return f"urn:pulumi:staging::platform::{parent}digitalocean:index/databaseCluster:DatabaseCluster::x-pg-cluster"


# --- The upgrade judge's classifier fires -------------------------------------------------------


def test_a_deleted_or_replaced_stateful_resource_is_lost() -> None:
    steps: list[dict[str, Any]] = [
        {"op": "delete", "urn": _cluster()},
        {"op": "replace", "urn": _cluster("platform:data:PostgresDatabase$"), "replaceReasons": ["size"]},
    ]
    lost, allowed = classify(steps, {_cluster()})
    assert len(lost) == 2 and allowed == []


def test_a_moved_stateful_resource_without_alias_is_lost_but_a_new_one_is_not() -> None:
    moved = [{"op": "delete", "urn": _cluster()}, {"op": "create", "urn": _cluster("platform:x:New$")}]
    lost, _ = classify(moved, {_cluster()})
    assert len(lost) == 2
    assert moved_without_alias(moved) == [f"{_cluster()} -> {_cluster('platform:x:New$')}"]
    new_tenant = [{"op": "create", "urn": _cluster("platform:tenant:Tenant$")}]
    assert classify(new_tenant, set()) == ([], [])


def test_an_intended_replacement_is_allowed_only_for_its_documented_reason() -> None:
    _, allowed = classify([{"op": "replace", "urn": _db(), "replaceReasons": ["name"]}], {_db()})
    assert len(allowed) == 1
    lost, _ = classify([{"op": "replace", "urn": _db(), "replaceReasons": ["name", "clusterId"]}], {_db()})
    assert len(lost) == 1
    lost, _ = classify([{"op": "delete", "urn": _db()}], {_db()})
    assert len(lost) == 1
    droplet = f"{DROPLET}digitalocean:index/droplet:Droplet::niche-discovery-staging-monitoring-droplet"
    lost, _ = classify([{"op": "replace", "urn": droplet, "replaceReasons": ["size"]}], {droplet})
    assert len(lost) == 1


def test_same_and_update_steps_are_never_lost() -> None:
    steps: list[dict[str, Any]] = [
        {"op": "same", "urn": _cluster()},
        {"op": "update", "urn": _cluster(), "diffReasons": ["tags"]},
    ]
    assert classify(steps, {_cluster()}) == ([], [])


# --- The program's tree -------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["staging", "production"])
def test_the_platform_owns_the_platform_wide_components_under_their_released_names(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    run: StackRun = request.getfixturevalue(fixture)
    (platform,) = [r for r in run.resources if r.type == PLATFORM]
    assert platform.parent_type in ROOT_PARENT
    children = {(r.type, r.name) for r in run.resources if r.parent == platform.urn}
    expected = {(t, n.format(stack=run.stack)) for t, n in MOVED.items()}
    assert expected <= children, sorted(expected - children)


@pytest.mark.parametrize("fixture", ["staging", "production"])
def test_the_root_reads_platform_then_each_tenant(fixture: str, request: pytest.FixtureRequest) -> None:
    run: StackRun = request.getfixturevalue(fixture)
    at_root = sorted({r.type for r in run.resources if not r.custom and r.parent_type in ROOT_PARENT})
    # Nothing platform-wide is left at the root: only the platform and the tenants (seed 000's pieces).
    assert not set(MOVED) & set(at_root), at_root
    assert PLATFORM in at_root and "platform:tenant:Tenant" in at_root
