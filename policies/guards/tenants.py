"""Isolation between the tenants of one stack (issue 14): quotas, and no path from one tenant to another.

A tenant namespace is a Namespace labelled ``app.kubernetes.io/part-of: <tenant>`` (what
``components/application.py`` puts on every tenant's namespace, and what the shared Gateway admits
routes from). The platform's own namespaces (monitoring, the edge, kube-system) carry no such label.
A namespace without default-deny is ``k8s-namespace-default-deny``'s finding (kubernetes_platform.py),
for tenant namespaces as for any other.

Relations follow ``metadata.namespace`` when known and otherwise the dependency the engine records
(an object created in a namespace depends on it), as in kubernetes_platform.py; a value unknown at
preview never produces a violation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import Severity

from ._base import StackResource, as_dict, as_list, dig, is_unknown, stack_guard

GROUP = "tenants"
NAMESPACE = "kubernetes:core/v1:Namespace"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ROUTE_TYPES = (
    "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
    "kubernetes:gateway.networking.k8s.io/v1:GRPCRoute",
)
TENANT_LABEL = "app.kubernetes.io/part-of"
NAME_LABEL = "kubernetes.io/metadata.name"
QUOTA_KEYS = ("pods", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")


def _known(value: Any) -> bool:
    return value is not None and not is_unknown(value)


def tenant_namespaces(resources: list[StackResource]) -> dict[str, tuple[str, StackResource]]:
    """Namespace name -> (tenant, Namespace resource), for namespaces whose name and tenant are known."""
    found = {}
    for r in resources:
        if r.type != NAMESPACE:
            continue
        name, tenant = dig(r.props, "metadata", "name"), dig(r.props, "metadata", "labels", TENANT_LABEL)
        if _known(name) and _known(tenant):
            found[name] = (tenant, r)
    return found


def _inside(obj: StackResource, name: str, namespace: StackResource) -> bool | None:
    """Whether ``obj`` lives in the namespace (None: cannot tell at preview)."""
    ns = dig(obj.props, "metadata", "namespace")
    if _known(ns):
        return bool(ns == name)
    return True if obj.depends_on(namespace) else None


@stack_guard(
    "tenant-namespace-quota",
    description="Every tenant namespace has a ResourceQuota capping pods, CPU and memory (requests and limits) "
    "and a LimitRange, so one tenant cannot starve the others on the shared cluster.",
    severity=Severity.HIGH,
    remediation="Create the tenant through components/tenant.py (Application sizes the quota from its catalog), "
    f"or add a ResourceQuota with hard {', '.join(QUOTA_KEYS)} and a LimitRange in the namespace.",
    group=GROUP,
)
def namespace_quota(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del cfg
    quotas = [r for r in resources if r.type == QUOTA]
    limits = [r for r in resources if r.type == LIMIT_RANGE]
    for name, (tenant, namespace) in sorted(tenant_namespaces(resources).items()):
        verdicts = []
        for quota in quotas:
            inside = _inside(quota, name, namespace)
            if inside is not False:
                hard = dig(quota.props, "spec", "hard")
                verdicts.append(None if is_unknown(hard) or inside is None else set(QUOTA_KEYS) <= set(as_dict(hard)))
        if None not in verdicts and True not in verdicts:
            yield (
                f"tenant {tenant}: namespace {name} has no ResourceQuota capping {', '.join(QUOTA_KEYS)}.",
                namespace.urn,
            )
        if not any(_inside(limit, name, namespace) is not False for limit in limits):
            yield f"tenant {tenant}: namespace {name} has no LimitRange (containers without limits).", namespace.urn


def _peers(policy: StackResource) -> list[Any]:
    spec = dig(policy.props, "spec", default={})
    peers = [p for rule in as_list(dig(spec, "ingress")) for p in as_list(dig(rule, "from"))]
    return peers + [p for rule in as_list(dig(spec, "egress")) for p in as_list(dig(rule, "to"))]


def _foreign(selector: Any, own: str, tenants: Mapping[str, str]) -> str | None:
    """Why a namespaceSelector may select another tenant's namespace, or None."""
    if is_unknown(selector):
        return None
    labels = as_dict(dig(selector, "matchLabels", default={}))
    if not labels and not as_list(dig(selector, "matchExpressions")):
        return "selects every namespace"
    named = labels.get(NAME_LABEL)
    if isinstance(named, str) and _known(named) and named in tenants and tenants[named] != own:
        return f"admits namespace {named} of tenant {tenants[named]}"
    tenant = labels.get(TENANT_LABEL)
    if _known(tenant) and tenant != own and tenant in tenants.values():
        return f"admits the namespaces of tenant {tenant}"
    return None


@stack_guard(
    "tenant-no-cross-tenant-traffic",
    description="No NetworkPolicy in a tenant namespace admits (or reaches) another tenant's namespace or every "
    "namespace, and no route of a tenant sends traffic to a Service in another namespace.",
    severity=Severity.CRITICAL,
    remediation="Tenants talk to each other only through their public routes. Select peers by pod labels in the "
    "namespace itself, or name the platform namespace (kube-system, the edge, monitoring) explicitly; keep "
    "HTTPRoute backendRefs in the route's own namespace.",
    group=GROUP,
)
def no_cross_tenant_traffic(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    del cfg
    namespaces = tenant_namespaces(resources)
    tenants = {name: tenant for name, (tenant, _) in namespaces.items()}
    for r in resources:
        ns = dig(r.props, "metadata", "namespace")
        if not _known(ns) or ns not in tenants:
            continue
        own = tenants[ns]
        if r.type == NETWORK_POLICY:
            for peer in _peers(r):
                selector = dig(peer, "namespaceSelector")
                why = None if selector is None else _foreign(selector, own, tenants)
                if why:
                    yield f"tenant {own}: NetworkPolicy {ns}/{dig(r.props, 'metadata', 'name')} {why}.", r.urn
        elif r.type in ROUTE_TYPES:
            for rule in as_list(dig(r.props, "spec", "rules")):
                for ref in as_list(dig(rule, "backendRefs")):
                    target = dig(ref, "namespace")
                    if _known(target) and target != ns:
                        yield (
                            f"tenant {own}: route {ns}/{dig(r.props, 'metadata', 'name')} sends traffic to "
                            f"{target}/{dig(ref, 'name')}, outside its namespace.",
                            r.urn,
                        )


GUARDS = [namespace_quota, no_cross_tenant_traffic]
