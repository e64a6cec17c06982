"""Evaluate the policy pack on harness records exactly as CrossGuard would.

Two routes, both through pulumi_policy's own code:

* ``violations(...)`` / ``stack_violations(...)`` build ``ResourceValidationArgs`` /
  ``StackValidationArgs`` (props wrapped in the SDK's unknown-checking proxy) and call a policy's
  ``validate`` — the unit-test route, one guard at a time;
* ``PackAnalyzer`` drives the pack's ``_PolicyAnalyzerServicer`` with protobuf ``AnalyzeRequest`` /
  ``AnalyzeStackRequest`` messages after a ``Configure`` built from a ``policies/config/<stack>.json``
  file, as the CLI does for ``--policy-pack-config`` — the whole-stack route, with enforcement levels.

Harness records carry preview-unknowns as ``pulumi.output.Unknown`` objects (or ``harness.UNKNOWN``);
both become the engine's unknown sentinel here, which is what a policy receives during a preview.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from google.protobuf import struct_pb2
from pulumi.output import Unknown
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from policies.guards import GUARDS, PACK_NAME, ResourceGuard, build_policies
from tests.harness import ROOT, Resource, StackRun
from tests.harness import UNKNOWN as HARNESS_UNKNOWN

CONFIG_DIR = ROOT / "policies" / "config"
PROJECT = "platform"

_LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
_LEVEL_NAMES = {v: k for k, v in _LEVELS.items()}


def wire(value: Any) -> Any:
    """A recorded value as the engine sends it to an analyzer (unknowns as the sentinel, JSON shapes)."""
    if isinstance(value, Unknown):
        return UNKNOWN_STRING_VALUE
    if isinstance(value, Mapping):
        return {str(k): wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [wire(v) for v in value]
    if isinstance(value, str) and len(value) > 1 and value != UNKNOWN_STRING_VALUE:
        # A fresh string, as protobuf decoding makes it: never the interned literal a guard compares
        # against, so a guard that compared by identity (`is`) instead of equality would fail here.
        return (value + " ")[:-1]
    return value


def synthetic(
    type_token: str,
    props: Mapping[str, Any],
    *,
    name: str = "subject",
    stack: str = "production",
    protect: bool = False,
    dependencies: Iterable[str] = (),
    ignore_changes: Iterable[str] = (),
    parent: str = "",
) -> Resource:
    """A harness-shaped record for a resource that no stack registers (unit tests of one guard)."""
    return Resource(
        urn=f"urn:pulumi:{stack}::{PROJECT}::{type_token}::{name}",
        type=type_token,
        name=name,
        inputs=copy.deepcopy(dict(props)),
        secret_inputs=frozenset(),
        outputs={},
        parent=parent,
        protect=protect,
        dependencies=tuple(dependencies),
        provider="",
        ignore_changes=tuple(ignore_changes),
        custom=True,
        delete_before_replace=False,
    )


def mutate(record: Resource, **changes: Any) -> Resource:
    """A deep copy of a record with ``inputs`` (or any option) replaced.

    New inputs also replace their echo in ``outputs`` (a provider returns its inputs as state), so a
    stack policy, which reads state, sees the mutation too; computed outputs are kept.
    """
    inputs = copy.deepcopy(changes.pop("inputs", record.inputs))
    computed = {k: v for k, v in record.outputs.items() if k not in record.inputs}
    outputs = {**copy.deepcopy(computed), **copy.deepcopy(inputs)} if record.outputs else {}
    return replace(record, inputs=inputs, outputs=outputs, **changes)


def stack_props(record: Resource, preview: bool) -> dict[str, Any]:
    """What AnalyzeStack sees: the resource's state (its outputs, including ``id`` once created)."""
    if preview or not record.custom:
        return wire(record.inputs)
    state = {**record.inputs, **record.outputs}
    if record.id:
        state["id"] = record.id
    return wire(state)


def _options(record: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=record.protect,
        ignore_changes=list(record.ignore_changes),
        delete_before_replace=record.delete_before_replace,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=record.parent or None,
    )


def policy_named(name: str) -> Policy:
    for p in build_policies():
        if p.name == name:
            return p
    raise KeyError(name)


# ------------------------------------------------------------------------------------------------
# Route 1: one policy's validate, as the analyzer calls it


def violations(policy_name: str, record: Resource, config: Mapping[str, Any] | None = None) -> list[str]:
    """Messages a resource policy reports for ``record`` (raises if the policy would raise)."""
    policy = policy_named(policy_name)
    found: list[str] = []
    args = ResourceValidationArgs(
        record.type,
        unknown_checking_proxy(wire(record.inputs)),
        record.urn,
        record.name,
        _options(record),
        None,
        dict(config or {}),
    )
    policy.validate(args, lambda message, urn=None: found.append(message))  # type: ignore[attr-defined]
    return found


def policy_resources(
    records: Iterable[Resource], preview: bool = False, proxy: Callable[[Resource], Any] | None = None
) -> list[PolicyResource]:
    """StackValidationArgs.resources for ``records``, parents and dependencies linked as the SDK links them."""
    records = list(records)
    unconfigured = unconfigured_providers(records) if preview else set()
    by_urn: dict[str, PolicyResource] = {}
    for r in records:
        if r.provider.rsplit("::", 1)[0] in unconfigured:
            # What the real engine hands AnalyzeStack for a resource whose provider it could not
            # configure (docs/engine-tests.md): an empty property map.
            props = unknown_checking_proxy({})
        else:
            props = proxy(r) if proxy else unknown_checking_proxy(stack_props(r, preview))
        by_urn[r.urn] = PolicyResource(r.type, props, r.urn, r.name, _options(r), None, None, [], {})
    for r in records:
        resource = by_urn[r.urn]
        resource.parent = by_urn.get(r.parent)
        resource.dependencies = [by_urn[d] for d in r.dependencies if d in by_urn]
    return list(by_urn.values())


def unconfigured_providers(records: Iterable[Resource]) -> set[str]:
    """URNs of explicit providers whose config is unknown in this preview (e.g. the Kubernetes provider
    before its cluster exists): the engine does not configure them and never calls them."""

    def unknown(value: Any) -> bool:
        if isinstance(value, Unknown) or value in (UNKNOWN_STRING_VALUE, HARNESS_UNKNOWN):
            return True
        if isinstance(value, Mapping):
            return any(unknown(v) for v in value.values())
        if isinstance(value, list | tuple):
            return any(unknown(v) for v in value)
        return False

    return {r.urn for r in records if r.type.startswith("pulumi:providers:") and unknown(r.inputs)}


def stack_violations(
    policy_name: str, records: Iterable[Resource], config: Mapping[str, Any] | None = None, preview: bool = False
) -> list[tuple[str, str | None]]:
    policy = policy_named(policy_name)
    found: list[tuple[str, str | None]] = []
    args = StackValidationArgs(policy_resources(records, preview), dict(config or {}))
    policy.validate(args, lambda message, urn=None: found.append((message, urn)))  # type: ignore[attr-defined]
    return found


def raises_unknown(policy_name: str, record: Resource) -> bool:
    try:
        violations(policy_name, record)
    except UnknownValueError:
        return True
    return False


# ------------------------------------------------------------------------------------------------
# Route 2: the pack's analyzer servicer, configured like --policy-pack-config


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    urn: str
    message: str

    @property
    def resource(self) -> str:
        return self.urn.rsplit("::", 1)[-1] if self.urn else "<stack>"


def load_config(stack: str) -> dict[str, Any]:
    return json.loads((CONFIG_DIR / f"{stack}.json").read_text())


def configure_request(config: Mapping[str, Any], policies: Iterable[Policy]) -> analyzer_pb2.ConfigureAnalyzerRequest:
    """What the CLI sends for a policy-pack-config file: one PolicyConfig per policy, "all" expanded."""
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    default = config.get("all")
    for policy in policies:
        entry = config.get(policy.name)
        level = entry if isinstance(entry, str) else (entry or {}).get("enforcementLevel")
        level = level or default or (policy.enforcement_level or EnforcementLevel.ADVISORY).value
        properties = (
            {k: v for k, v in (entry or {}).items() if k != "enforcementLevel"} if isinstance(entry, dict) else {}
        )
        policy_config = analyzer_pb2.PolicyConfig(enforcementLevel=_LEVELS[level])
        policy_config.properties.update(properties)
        request.policyConfig[policy.name].CopyFrom(policy_config)
    return request


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(value)
    return s


def _proto_options(record: Resource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=record.protect,
        ignoreChanges=list(record.ignore_changes),
        deleteBeforeReplace=record.delete_before_replace,
        deleteBeforeReplaceDefined=True,
        parent=record.parent,
    )


class PackAnalyzer:
    """The pack's analyzer servicer, in-process: the object ``PolicyPack`` would serve over gRPC."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        policies = build_policies()
        self.servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.0.1", policies, EnforcementLevel.MANDATORY)
        if config is not None:
            self.servicer.Configure(configure_request(config, policies), None)

    @classmethod
    def for_stack(cls, stack: str) -> PackAnalyzer:
        return cls(load_config(stack))

    def info(self) -> analyzer_pb2.AnalyzerInfo:
        return self.servicer.GetAnalyzerInfo(None, None)

    def analyze(self, records: Iterable[Resource], preview: bool = False) -> list[Violation]:
        records = list(records)
        found: list[Violation] = []
        for r in records:
            request = analyzer_pb2.AnalyzeRequest(
                type=r.type, properties=_struct(wire(r.inputs)), urn=r.urn, name=r.name, options=_proto_options(r)
            )
            found += self._collect(self.servicer.Analyze(request, None), default_urn=r.urn)
        stack_request = analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    type=r.type,
                    properties=_struct(stack_props(r, preview)),
                    urn=r.urn,
                    name=r.name,
                    options=_proto_options(r),
                    parent=r.parent,
                    dependencies=list(r.dependencies),
                )
                for r in records
            ]
        )
        found += self._collect(self.servicer.AnalyzeStack(stack_request, None), default_urn="")
        return found

    def analyze_run(self, run: StackRun) -> list[Violation]:
        return self.analyze(run.resources, preview=run.preview)

    @staticmethod
    def _collect(response: analyzer_pb2.AnalyzeResponse, default_urn: str) -> list[Violation]:
        return [
            Violation(d.policyName, _LEVEL_NAMES[d.enforcementLevel], d.urn or default_urn, d.message)
            for d in response.diagnostics
        ]


class PolicyEvaluator:
    """Route 1 for a whole stack: every policy's ``validate`` on every record, levels from a config file.

    Same policies, same arguments and the same level resolution as ``PackAnalyzer``, without the
    servicer's per-policy protobuf round trip, so the mutation tests stay fast.
    ``test_evaluator_agrees_with_the_analyzer`` keeps the two routes equal.
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config = dict(config or {})
        self.policies = build_policies()
        self._proxies: dict[tuple[int, str], tuple[Resource, Any]] = {}

    def _proxy(self, record: Resource, kind: str, preview: bool = False) -> Any:
        """The proxied props of a record, built once per record object (mutants share the unmutated ones)."""
        key = (id(record), kind)
        cached = self._proxies.get(key)
        if cached is None or cached[0] is not record:
            props = wire(record.inputs) if kind == "inputs" else stack_props(record, preview)
            cached = (record, unknown_checking_proxy(props))
            self._proxies[key] = cached
        return cached[1]

    @classmethod
    def for_stack(cls, stack: str) -> PolicyEvaluator:
        return cls(load_config(stack))

    def _level_and_params(self, policy: Policy) -> tuple[str, dict[str, Any]]:
        entry = self.config.get(policy.name)
        level = entry if isinstance(entry, str) else (entry or {}).get("enforcementLevel")
        level = level or self.config.get("all") or (policy.enforcement_level or EnforcementLevel.ADVISORY).value
        params = {k: v for k, v in entry.items() if k != "enforcementLevel"} if isinstance(entry, dict) else {}
        return level, params

    def analyze(self, records: Iterable[Resource], preview: bool = False) -> list[Violation]:
        records = list(records)
        found: list[Violation] = []
        # Guards only read their props, so one proxy per record serves every policy; a resource guard
        # returns at once for a type it does not judge, so only matching records are handed to it.
        stack_resources = policy_resources(records, preview, lambda r: self._proxy(r, f"state-{preview}", preview))
        proxies = {r.urn: self._proxy(r, "inputs") for r in records}
        types = {g.name: set(g.types) for g in GUARDS if isinstance(g, ResourceGuard)}
        for policy in self.policies:
            level, params = self._level_and_params(policy)
            if level == "disabled":
                continue
            level = "mandatory" if level == "remediate" else level

            def report(
                message: str, urn: str | None = None, *, _p: Policy = policy, _l: str = level, _u: str = ""
            ) -> None:
                found.append(Violation(_p.name, _l, urn or _u, f"{_p.description}\n{message}"))

            if isinstance(policy, StackValidationPolicy):
                policy.validate(StackValidationArgs(stack_resources, params), report)
                continue
            for r in records:
                if policy.name in types and r.type not in types[policy.name]:
                    continue
                args = ResourceValidationArgs(r.type, proxies[r.urn], r.urn, r.name, _options(r), None, params)
                policy.validate(  # type: ignore[attr-defined]
                    args, lambda message, urn=None, _r=r.urn, _report=report: _report(message, urn, _u=_r)
                )
        return found


def mandatory(found: Iterable[Violation]) -> list[Violation]:
    return [v for v in found if v.level == "mandatory"]


def advisory(found: Iterable[Violation]) -> list[Violation]:
    return [v for v in found if v.level == "advisory"]


def describe(found: Iterable[Violation]) -> str:
    return "\n".join(f"  [{v.level}] {v.policy} @ {v.resource}: {v.message.splitlines()[-1]}" for v in found)


__all__ = [
    "CONFIG_DIR",
    "PackAnalyzer",
    "PolicyEvaluator",
    "Violation",
    "advisory",
    "describe",
    "load_config",
    "mandatory",
    "mutate",
    "policy_resources",
    "raises_unknown",
    "stack_violations",
    "synthetic",
    "violations",
    "wire",
]
