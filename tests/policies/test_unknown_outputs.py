"""Empty outputs in AnalyzeStack mean "unknown", not "unset" (docs/engine-tests.md).

While a provider's config is unknown (the Kubernetes provider before its cluster exists), the real
engine hands the pack an empty property map for each of that provider's resources. The engine tests
found four mandatory guards firing on every first preview because of it.
"""

from __future__ import annotations

from policies.guards._base import UNKNOWN, StackResource, UnknownProps, dig, is_unknown
from policies.guards.kubernetes_platform import namespace_default_deny

NS = "kubernetes:core/v1:Namespace"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def resource(type_: str, name: str, props: dict, deps: tuple[str, ...] = ()) -> StackResource:
    return StackResource(
        type=type_, urn=f"urn:pulumi:staging::platform::{type_}::{name}", name=name, props=props, dependencies=deps
    )


def test_empty_outputs_read_as_unknown_at_every_path() -> None:
    props = resource(NS, "ns", {}).props
    assert isinstance(props, UnknownProps)
    assert is_unknown(dig(props, "metadata", "name"))
    assert props.get("spec") == UNKNOWN and "anything" in props


def test_known_outputs_are_plain() -> None:
    props = resource(NS, "ns", {"metadata": {"name": "app"}}).props
    assert not isinstance(props, UnknownProps)
    assert dig(props, "metadata", "name") == "app"


def test_default_deny_guard_is_quiet_while_everything_is_unknown() -> None:
    ns = resource(NS, "ns", {})
    policy = resource(NETPOL, "deny", {}, deps=(ns.urn,))
    assert list(namespace_default_deny.evaluate([ns, policy], {})) == []


def test_default_deny_guard_still_fires_on_known_outputs() -> None:
    ns = resource(NS, "ns", {"metadata": {"name": "app"}})
    allow_all = resource(
        NETPOL,
        "allow",
        {
            "metadata": {"name": "allow", "namespace": "app"},
            "spec": {"podSelector": {}, "ingress": [{}], "policyTypes": ["Ingress"]},
        },
    )
    found = list(namespace_default_deny.evaluate([ns, allow_all], {}))
    assert len(found) == 1 and "has no default-deny NetworkPolicy" in found[0][0]
