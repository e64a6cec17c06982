"""Stack-level guards: relations between resources and properties of the stack as a whole."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import Severity

from ._base import (
    ENVIRONMENT,
    StackResource,
    applies,
    is_production,
    is_unknown,
    number,
    stack_guard,
    strings_in,
    truthy,
)
from .budget import monthly_budget
from .digitalocean import CLUSTER, DATABASE, DATABASE_FIREWALL, DROPLET, NODE_POOL, VOLUME, VOLUME_ATTACHMENT

GROUP = "stack"


def _known(value: Any) -> bool:
    return value is not None and not is_unknown(value)


def references(user: StackResource, prop: str, target: StackResource) -> bool:
    """Whether ``user.props[prop]`` is ``target``'s id: by value when both are known, else by dependency."""
    value, target_id = user.props.get(prop), target.props.get("id")
    if _known(value) and _known(target_id):
        return bool(value == target_id)
    return user.depends_on(target)


@stack_guard(
    "stack-db-exactly-one-firewall",
    description="Every managed database cluster is referenced by exactly one DatabaseFirewall "
    "(none leaves it open; two overwrite each other's rules).",
    severity=Severity.CRITICAL,
    remediation="Give each database component exactly one DatabaseFirewall built from TrustedSources.",
    group=GROUP,
)
def db_exactly_one_firewall(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    firewalls = [r for r in resources if r.type == DATABASE_FIREWALL]
    for db in resources:
        if db.type != DATABASE:
            continue
        count = sum(1 for fw in firewalls if references(fw, "clusterId", db))
        if count != 1:
            yield f"database cluster {db.name!r} is referenced by {count} DatabaseFirewall(s), not exactly one.", db.urn


@stack_guard(
    "stack-stateful-protected",
    description="In production, stateful resources (database clusters, volumes, ...) are protected from deletion.",
    severity=Severity.CRITICAL,
    remediation="Set `platform:protect: true` in Pulumi.production.yaml (components pass protect= to stateful "
    "children); unprotect deliberately with `pulumi state unprotect` before a planned removal.",
    group=GROUP,
    config={
        "types": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Type tokens of stateful resources.",
            "default": [DATABASE, VOLUME],
        },
        "productionOnly": {
            "type": "boolean",
            "description": "Apply only to production stacks (the config's environment).",
            "default": True,
        },
    },
)
def stateful_protected(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    for r in resources:
        if r.type not in cfg["types"] or not applies(cfg):
            continue
        if not r.protect:
            yield f"{r.type.rsplit(':', 1)[-1]} {r.name!r} is not protected.", r.urn


def _pool_ceiling(pool: Mapping[str, Any]) -> float | None:
    if truthy(pool.get("autoScale")):
        return number(pool.get("maxNodes"))
    return number(pool.get("nodeCount"))


@stack_guard(
    "stack-budget-caps",
    description="Node counts and plan sizes stay within the stack's budget caps.",
    severity=Severity.HIGH,
    remediation="Lower maxNodes/nodeCount or the size in the stack config, or raise the cap in "
    "policies/config/<stack>.json after the budget owner agrees.",
    group=GROUP,
    config={
        "maxClusterNodes": {
            "type": "integer",
            "minimum": 1,
            "description": "Most DOKS nodes all pools together may reach (autoscaling ceilings included).",
            "default": 20,
        },
        "allowedNodeSizes": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Droplet sizes for DOKS pools and droplets.",
            "default": ["s-1vcpu-2gb", "s-2vcpu-2gb", "s-2vcpu-4gb", "s-4vcpu-8gb"],
        },
        "allowedDatabaseSizes": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Plans for managed databases.",
            "default": ["db-s-1vcpu-1gb", "db-s-1vcpu-2gb", "db-s-2vcpu-4gb"],
        },
        "maxDatabaseNodes": {
            "type": "integer",
            "minimum": 1,
            "description": "Most database nodes over all managed database clusters.",
            "default": 6,
        },
    },
)
def budget_caps(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    cluster_nodes, db_nodes = 0.0, 0.0
    for r in resources:
        pools: list[Mapping[str, Any]] = []
        if r.type == CLUSTER and isinstance(r.props.get("nodePool"), dict):
            pools.append(r.props["nodePool"])
        elif r.type == NODE_POOL:
            pools.append(r.props)
        for pool in pools:
            cluster_nodes += _pool_ceiling(pool) or 0
            size = pool.get("size")
            if _known(size) and size not in cfg["allowedNodeSizes"]:
                yield f"node pool of {r.name!r} uses size {size!r}, not in {cfg['allowedNodeSizes']}.", r.urn
        if r.type == DROPLET:
            size = r.props.get("size")
            if _known(size) and size not in cfg["allowedNodeSizes"]:
                yield f"droplet {r.name!r} uses size {size!r}, not in {cfg['allowedNodeSizes']}.", r.urn
        if r.type == DATABASE:
            db_nodes += number(r.props.get("nodeCount")) or 0
            size = r.props.get("size")
            if _known(size) and size not in cfg["allowedDatabaseSizes"]:
                yield f"database {r.name!r} uses plan {size!r}, not in {cfg['allowedDatabaseSizes']}.", r.urn
    if cluster_nodes > cfg["maxClusterNodes"]:
        yield f"DOKS pools may reach {cluster_nodes:g} nodes; the cap is {cfg['maxClusterNodes']:g}.", None
    if db_nodes > cfg["maxDatabaseNodes"]:
        yield f"managed databases run {db_nodes:g} nodes; the cap is {cfg['maxDatabaseNodes']:g}.", None


@stack_guard(
    "stack-volume-attached",
    description="Every block-storage volume is attached to a droplet (a detached volume is cost without use).",
    severity=Severity.LOW,
    remediation="Attach the volume with a VolumeAttachment (or the droplet's volume_ids), or delete it deliberately.",
    group=GROUP,
)
def volume_attached(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    attachments = [r for r in resources if r.type == VOLUME_ATTACHMENT]
    droplets = [r for r in resources if r.type == DROPLET]
    for volume in resources:
        if volume.type != VOLUME:
            continue
        attached = any(references(a, "volumeId", volume) for a in attachments)
        vid = volume.props.get("id")
        attached = attached or any(
            _known(vid) and vid in (d.props.get("volumeIds") or [])
            for d in droplets
            if not is_unknown(d.props.get("volumeIds"))
        )
        if not attached:
            yield f"volume {volume.name!r} is not attached to any droplet.", volume.urn


@stack_guard(
    "stack-no-cross-environment-references",
    description="A non-production stack references nothing of production (names, tags, stack references).",
    severity=Severity.CRITICAL,
    remediation="Point the value at the stack's own resources; a staging stack must never read or write production.",
    group=GROUP,
    config={
        "forbiddenPatterns": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Regular expressions that identify production in a string value.",
            "default": [r"env:production\b", r"[a-z0-9]-production\b", r"urn:pulumi:production::", r"(^|/)production$"],
        },
        "environment": ENVIRONMENT,
    },
)
def no_cross_environment_references(
    resources: list[StackResource], cfg: Mapping[str, Any]
) -> Iterable[tuple[str, str | None]]:
    if is_production(cfg):
        return
    patterns = [re.compile(p) for p in cfg["forbiddenPatterns"]]
    for r in resources:
        for path, value in strings_in(r.props):
            hit = next((p.pattern for p in patterns if p.search(value)), None)
            if hit:
                shown = value if len(value) <= 80 else value[:77] + "..."
                yield f"{r.name!r} {path} = {shown!r} matches {hit!r}.", r.urn
                break


GUARDS = [
    db_exactly_one_firewall,
    stateful_protected,
    budget_caps,
    monthly_budget,
    volume_attached,
    no_cross_environment_references,
]
