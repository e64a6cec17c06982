"""The platform's guards as importable modules (importing them never starts a policy server).

``build_policies()`` is what ``policies/__main__.py`` hands to ``PolicyPack``; tests use the same
function, so they exercise exactly the pack the CLI runs.
"""

from __future__ import annotations

from pulumi_policy import Policy

from . import (
    aws_backups,
    aws_data,
    aws_eks,
    digitalocean,
    kubernetes_edge,
    kubernetes_platform,
    kubernetes_workloads,
    stack,
    tenants,
)
from ._base import Guard, ResourceGuard, StackGuard

PACK_NAME = "platform-guards"

GUARDS: list[Guard] = [
    *kubernetes_workloads.GUARDS,
    *kubernetes_platform.GUARDS,
    *kubernetes_edge.GUARDS,
    *digitalocean.GUARDS,
    *stack.GUARDS,
    *aws_backups.GUARDS,
    *aws_eks.GUARDS,
    *aws_data.GUARDS,
    *tenants.GUARDS,
]
"""Every guard, grouped by module."""


def guard(name: str) -> Guard:
    for g in GUARDS:
        if g.name == name:
            return g
    raise KeyError(name)


def build_policies() -> list[Policy]:
    """One pulumi_policy Policy per guard (mandatory unless the stack's config file says otherwise)."""
    return [g.policy() for g in GUARDS]


__all__ = ["GUARDS", "PACK_NAME", "Guard", "ResourceGuard", "StackGuard", "build_policies", "guard"]
