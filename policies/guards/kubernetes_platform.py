"""Kubernetes availability and network guards: replica floors, disruption budgets, autoscaler bounds,
default-deny namespaces, TLS-only ingress, pinned Helm charts.

Relations (an HPA and its Deployment, a NetworkPolicy and its Namespace) are matched by name and
namespace when those are known, and otherwise by the dependency the engine records between them:
with auto-naming, ``metadata.name`` is unknown during a first preview.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import Severity

from ._base import (
    Context,
    StackResource,
    applies,
    as_dict,
    as_list,
    dig,
    is_unknown,
    number,
    resource_guard,
    stack_guard,
)

AVAILABILITY = "kubernetes-availability"
NETWORK = "kubernetes-network"

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
SCALABLE = (DEPLOYMENT, STATEFULSET)
HPA_TYPES = (
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    "kubernetes:autoscaling/v1:HorizontalPodAutoscaler",
)
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
HELM_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
VERSION_RANGE = re.compile(r"[*^~<>|=, ]|(^|\.)[xX](\.|$)|^latest$", re.IGNORECASE)
"""A chart version that is a constraint, not a version."""

PRODUCTION_ONLY = {
    "type": "boolean",
    "description": "Apply only to production stacks (the config's environment).",
    "default": True,
}


def _known(value: Any) -> bool:
    return value is not None and not is_unknown(value)


def name_of(r: StackResource) -> Any:
    """``metadata.name`` (UNKNOWN when computed, the resource name when unset: never matched by name)."""
    return dig(r.props, "metadata", "name")


def namespace_of(r: StackResource) -> Any:
    return dig(r.props, "metadata", "namespace", default="default")


def _same_namespace(a: Any, b: Any) -> bool:
    return not _known(a) or not _known(b) or a == b


def targets(scaler: StackResource, workload: StackResource) -> bool:
    """Whether an HPA/ScaledObject scales ``workload``."""
    ref = dig(scaler.props, "spec", "scaleTargetRef")
    ref_name = dig(ref, "name")
    kind = dig(ref, "kind", default="Deployment")
    if _known(kind) and kind != workload.type.rsplit(":", 1)[-1]:
        return False
    name = name_of(workload)
    if _known(ref_name) and _known(name):
        return bool(ref_name == name and _same_namespace(namespace_of(scaler), namespace_of(workload)))
    return scaler.depends_on(workload)


def replica_bounds(workload: StackResource, resources: list[StackResource]) -> tuple[float | None, float | None]:
    """(floor, ceiling) of a workload's replicas, following an HPA or KEDA ScaledObject when one targets it."""
    for r in resources:
        if r.type in HPA_TYPES and targets(r, workload):
            low = dig(r.props, "spec", "minReplicas", default=1)
            return number(low), number(dig(r.props, "spec", "maxReplicas"))
        if r.type == SCALED_OBJECT and targets(r, workload):
            low = dig(r.props, "spec", "minReplicaCount", default=0)
            return number(low), number(dig(r.props, "spec", "maxReplicaCount", default=100))
    replicas = number(dig(workload.props, "spec", "replicas", default=1))
    return replicas, replicas


def _label(r: StackResource) -> str:
    name = name_of(r)
    return f"{r.type.rsplit(':', 1)[-1]} {name if _known(name) else r.name!r}"


# ------------------------------------------------------------------------------------------------
# Availability


@stack_guard(
    "k8s-replica-floor",
    description="Production workloads keep a minimum number of replicas (the HPA/KEDA floor when autoscaled).",
    severity=Severity.HIGH,
    remediation=(
        "Raise spec.replicas, or the HPA's minReplicas / the ScaledObject's minReplicaCount, to the floor; a "
        "workload that may legitimately scale below it is listed in `exempt` with the reason in policies/README.md."
    ),
    group=AVAILABILITY,
    config={
        "minReplicas": {"type": "integer", "minimum": 1, "description": "Replica floor.", "default": 2},
        "exempt": {
            "type": "array",
            "items": {"type": "string"},
            "description": "metadata.name of workloads allowed below the floor (e.g. scale-to-zero workers).",
            "default": [],
        },
        "productionOnly": PRODUCTION_ONLY,
    },
)
def replica_floor(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    for workload in resources:
        if workload.type not in SCALABLE or not applies(cfg):
            continue
        if name_of(workload) in cfg["exempt"] or workload.name in cfg["exempt"]:
            continue
        floor, _ = replica_bounds(workload, resources)
        if floor is not None and floor < cfg["minReplicas"]:
            yield f"{_label(workload)} may run {floor:g} replica(s); the floor is {cfg['minReplicas']:g}.", workload.urn


def _selects(pdb: StackResource, workload: StackResource) -> bool | None:
    """Whether the PDB's selector matches the workload's pod labels (None: cannot tell yet)."""
    selector = dig(pdb.props, "spec", "selector", "matchLabels")
    labels = dig(workload.props, "spec", "template", "metadata", "labels")
    if is_unknown(selector) or is_unknown(labels):
        return None
    selector, labels = as_dict(selector), as_dict(labels)
    if not selector:
        return False
    if any(is_unknown(v) for v in [*selector.values(), *labels.values()]):
        return None
    return all(labels.get(k) == v for k, v in selector.items())


@stack_guard(
    "k8s-pdb-required",
    description="Every workload that can run more than one replica has a PodDisruptionBudget selecting its pods.",
    severity=Severity.MEDIUM,
    remediation="Add a policy/v1 PodDisruptionBudget (maxUnavailable: 1) in the same namespace whose "
    "selector.matchLabels match the pod template's labels.",
    group=AVAILABILITY,
)
def pdb_required(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    pdbs = [r for r in resources if r.type == PDB]
    for workload in resources:
        if workload.type not in SCALABLE:
            continue
        _, ceiling = replica_bounds(workload, resources)
        if ceiling is None or ceiling <= 1:
            continue
        verdicts = [_selects(p, workload) for p in pdbs if _same_namespace(namespace_of(p), namespace_of(workload))]
        if None in verdicts or True in verdicts:
            continue
        yield (
            f"{_label(workload)} can run {ceiling:g} replicas but no PodDisruptionBudget selects its pods.",
            workload.urn,
        )


@resource_guard(
    "k8s-rolling-update-zero-unavailable",
    types=(DEPLOYMENT,),
    description="Deployments roll out with maxUnavailable: 0 (a new pod is ready before an old one goes).",
    severity=Severity.MEDIUM,
    remediation="Set spec.strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}.",
    group=AVAILABILITY,
)
def rolling_update_zero_unavailable(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    strategy = dig(props, "spec", "strategy")
    if is_unknown(strategy):
        return
    kind = dig(strategy, "type", default="RollingUpdate")
    if kind == "Recreate":
        yield "the Deployment uses the Recreate strategy (every pod stops before the new ones start)."
        return
    unavailable = dig(strategy, "rollingUpdate", "maxUnavailable")
    if is_unknown(unavailable):
        return
    if unavailable is None:
        yield "rollingUpdate.maxUnavailable is unset (Kubernetes defaults to 25%)."
    elif str(unavailable).strip() not in ("0", "0%", "0.0"):
        yield f"rollingUpdate.maxUnavailable is {unavailable!r}, not 0."


@resource_guard(
    "k8s-autoscaler-bounds",
    types=(*HPA_TYPES, SCALED_OBJECT),
    description="Autoscalers have sane bounds: 1 <= min <= max <= the stack's cap.",
    severity=Severity.MEDIUM,
    remediation="Fix minReplicas/maxReplicas (HPA) or minReplicaCount/maxReplicaCount (KEDA) so min <= max <= cap.",
    group=AVAILABILITY,
    config={
        "maxReplicasCap": {
            "type": "integer",
            "minimum": 1,
            "description": "Highest replica count any autoscaler may reach.",
            "default": 20,
        },
        "allowScaleToZero": {
            "type": "boolean",
            "description": "KEDA ScaledObjects may scale to zero (queue workers).",
            "default": True,
        },
    },
)
def autoscaler_bounds(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    if ctx.type == SCALED_OBJECT:
        low = number(dig(props, "spec", "minReplicaCount", default=0))
        high = number(dig(props, "spec", "maxReplicaCount", default=100))
        floor = 0 if cfg["allowScaleToZero"] else 1
    else:
        low = number(dig(props, "spec", "minReplicas", default=1))
        high = number(dig(props, "spec", "maxReplicas"))
        floor = 1
    if low is not None and low < floor:
        yield f"the minimum ({low:g}) is below {floor}."
    if low is not None and high is not None and low > high:
        yield f"the minimum ({low:g}) exceeds the maximum ({high:g})."
    if high is not None and high > cfg["maxReplicasCap"]:
        yield f"the maximum ({high:g}) exceeds the cap of {cfg['maxReplicasCap']:g}."


# ------------------------------------------------------------------------------------------------
# Network


def _is_default_deny(policy: StackResource, types: Iterable[str]) -> bool | None:
    spec = dig(policy.props, "spec")
    if is_unknown(spec):
        return None
    selector = dig(spec, "podSelector")
    if is_unknown(selector):
        return None
    if as_dict(selector).get("matchLabels") or as_dict(selector).get("matchExpressions"):
        return False
    policy_types = dig(spec, "policyTypes")
    if is_unknown(policy_types):
        return None
    declared = set(as_list(policy_types)) or {"Ingress"}
    return all(kind in declared and not as_list(dig(spec, kind.lower())) for kind in types)


@stack_guard(
    "k8s-namespace-default-deny",
    description="Every namespace the stack creates has a default-deny NetworkPolicy (empty podSelector, no rules).",
    severity=Severity.HIGH,
    remediation="Add a NetworkPolicy in the namespace with podSelector: {}, the required policyTypes and no "
    "ingress/egress rules, then allow each flow explicitly with its own NetworkPolicy.",
    group=NETWORK,
    config={
        "policyTypes": {
            "type": "array",
            "items": {"type": "string", "enum": ["Ingress", "Egress"]},
            "description": "Directions the default-deny policy must close.",
            "default": ["Ingress", "Egress"],
        },
        "exempt": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Namespaces (metadata.name) that need no default-deny policy.",
            "default": [],
        },
    },
)
def namespace_default_deny(resources: list[StackResource], cfg: Mapping[str, Any]) -> Iterable[tuple[str, str | None]]:
    policies = [r for r in resources if r.type == NETWORK_POLICY]
    for ns in resources:
        if ns.type != NAMESPACE or name_of(ns) in cfg["exempt"]:
            continue
        name = name_of(ns)
        verdicts = []
        for policy in policies:
            policy_ns = dig(policy.props, "metadata", "namespace")
            inside = policy_ns == name if _known(policy_ns) and _known(name) else policy.depends_on(ns)
            if inside:
                verdicts.append(_is_default_deny(policy, cfg["policyTypes"]))
        if None in verdicts or True in verdicts:
            continue
        yield (
            f"namespace {name if _known(name) else ns.name!r} has no default-deny NetworkPolicy "
            f"closing {', '.join(cfg['policyTypes'])}.",
            ns.urn,
        )


@resource_guard(
    "k8s-namespace-pod-security",
    types=(NAMESPACE,),
    description="Namespaces enforce a Pod Security Admission level (restricted by default).",
    severity=Severity.MEDIUM,
    remediation="Label the namespace pod-security.kubernetes.io/enforce: restricted (and audit/warn alike).",
    group=NETWORK,
    config={
        "levels": {
            "type": "array",
            "items": {"type": "string", "enum": ["restricted", "baseline", "privileged"]},
            "description": "Accepted values of pod-security.kubernetes.io/enforce.",
            "default": ["restricted"],
        },
        "exempt": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Namespaces (metadata.name) exempt from the rule.",
            "default": [],
        },
    },
)
def namespace_pod_security(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    if dig(props, "metadata", "name") in cfg["exempt"]:
        return
    labels = dig(props, "metadata", "labels")
    if is_unknown(labels):
        return
    level = as_dict(labels).get("pod-security.kubernetes.io/enforce")
    if is_unknown(level):
        return
    if level not in cfg["levels"]:
        yield f"pod-security.kubernetes.io/enforce is {level!r}; accepted: {cfg['levels']}."


@resource_guard(
    "k8s-ingress-tls",
    types=(INGRESS,),
    description="Ingresses terminate TLS for every host they route.",
    severity=Severity.HIGH,
    remediation="Add spec.tls with a secretName (cert-manager) listing every host of spec.rules.",
    group=NETWORK,
)
def ingress_tls(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    tls = dig(props, "spec", "tls")
    if is_unknown(tls):
        return
    if not as_list(tls):
        yield "the Ingress has no spec.tls."
        return
    covered: set[str] = set()
    for entry in as_list(tls):
        hosts = dig(entry, "hosts")
        if is_unknown(hosts) or any(is_unknown(h) for h in as_list(hosts)):
            return
        covered.update(as_list(hosts))
    for rule in as_list(dig(props, "spec", "rules")):
        host = dig(rule, "host")
        if _known(host) and host not in covered:
            yield f"host {host!r} is routed without TLS."


@resource_guard(
    "k8s-ingress-https-redirect",
    types=(INGRESS,),
    description="Ingresses force HTTPS (plain HTTP is redirected, never served).",
    severity=Severity.MEDIUM,
    remediation='Annotate the Ingress nginx.ingress.kubernetes.io/force-ssl-redirect: "true".',
    group=NETWORK,
    config={
        "annotations": {
            "type": "array",
            "items": {"type": "string"},
            "description": 'Annotations any of which, set to "true", forces HTTPS.',
            "default": ["nginx.ingress.kubernetes.io/force-ssl-redirect", "nginx.ingress.kubernetes.io/ssl-redirect"],
        }
    },
)
def ingress_https_redirect(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    annotations = dig(props, "metadata", "annotations")
    if is_unknown(annotations):
        return
    values = [as_dict(annotations).get(a) for a in cfg["annotations"]]
    if any(is_unknown(v) for v in values):
        return
    if not any(str(v).lower() == "true" for v in values if v is not None):
        yield f'none of {cfg["annotations"]} is "true".'


@resource_guard(
    "k8s-helm-chart-pinned",
    types=HELM_TYPES,
    description="Helm charts are pinned to an exact version (no ranges, no latest).",
    severity=Severity.MEDIUM,
    remediation="Set `version` to an exact chart version (e.g. 4.12.1) and upgrade it deliberately.",
    group=AVAILABILITY,
)
def helm_chart_pinned(props: dict[str, Any], cfg: Mapping[str, Any], ctx: Context) -> Iterable[str]:
    version = props.get("version")
    if is_unknown(version):
        return
    if not version:
        yield f"chart {props.get('chart')!r} has no version (the newest is installed on every run)."
    elif VERSION_RANGE.search(str(version)):
        yield f"chart {props.get('chart')!r} version {version!r} is a range, not an exact version."


GUARDS = [
    replica_floor,
    pdb_required,
    rolling_update_zero_unavailable,
    autoscaler_bounds,
    namespace_default_deny,
    namespace_pod_security,
    ingress_tls,
    ingress_https_redirect,
    helm_chart_pinned,
]
