"""The small framework every guard is written in: plain functions over plain camelCase props.

CrossGuard hands a policy ``args.props`` wrapped in a proxy that *raises* when an unknown (preview)
value is read, and the SDK then reports the whole policy as an advisory "can't run during preview".
Guards must neither raise nor report a false violation, so each check receives the props unwrapped
into plain dicts and lists, with unknowns left in place as sentinels: ``known(...)``/``is_unknown``
decide what can be judged now. Whatever cannot be judged is skipped, never reported.

A check is ``check(props, cfg, ctx) -> Iterable[str]`` (one message per violation); a stack check is
``check(resources, cfg) -> Iterable[(message, urn)]``. ``resource_guard``/``stack_guard`` turn them
into pulumi_policy policies with a description, severity, remediation steps and a config schema
whose ``default`` values are applied when the stack's config file does not set them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import serialize_properties
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    _DictProxy,
    _ListProxy,
)

UNKNOWNS = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)
"""The sentinels the engine sends for values not known during preview."""

UNKNOWN = UNKNOWN_STRING_VALUE
"""What ``dig`` returns when the path crosses an unknown value."""

ENVIRONMENT: Mapping[str, Any] = {
    "type": "string",
    "enum": ["staging", "production"],
    "description": "The stack's declared environment: platform:environment of Pulumi.<stack>.yaml, repeated in "
    "policies/config/<stack>.json (a test keeps the two equal). Unset: production's rules.",
    "default": "production",
}
"""One definition of the environment for the program and the pack: the stack declares it, the pack is
told it through its config file. Never guessed from the stack name (``<tenant>-production`` and
``production`` are both production). Every guard with a ``productionOnly`` switch takes it."""


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in UNKNOWNS


def plain(props: Mapping[str, Any]) -> dict[str, Any]:
    """The props as plain dicts/lists; unknowns stay as sentinels instead of raising."""
    result = _unwrap(props)
    return result if isinstance(result, dict) else dict(serialize_properties(props))


def _unwrap(value: Any) -> Any:
    # The SDK's proxies hand out their raw target under "__target" (what its own serializer reads).
    if isinstance(value, _DictProxy | _ListProxy):
        value = value["__target"]
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    # Assets, archives, secret wrappers: the SDK's own rules.
    return serialize_properties({"value": value})["value"]


def dig(value: Any, *path: str | int, default: Any = None) -> Any:
    """``value[p0][p1]...``; ``default`` when a step is missing, ``UNKNOWN`` when a step is unknown."""
    for step in path:
        if is_unknown(value):
            return UNKNOWN
        if isinstance(step, int):
            if not isinstance(value, list) or not -len(value) <= step < len(value):
                return default
            value = value[step]
        else:
            if not isinstance(value, dict) or step not in value:
                return default
            value = value[step]
        if value is None:
            return default
    return value


class UnknownProps(dict[str, Any]):
    """The props of a resource whose every output is unknown: any key is present, and UNKNOWN."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> Any:
        return UNKNOWN

    def get(self, key: str, default: Any = None) -> Any:
        return UNKNOWN


def as_list(value: Any) -> list[Any]:
    """A list value, or ``[]`` when missing or unknown (an unknown list cannot be judged)."""
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def number(value: Any) -> float | None:
    """A known number (numbers arrive as floats, sometimes as strings), else None."""
    if isinstance(value, bool) or value is None or is_unknown(value):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def truthy(value: Any) -> bool | None:
    """True/False for a known boolean (or its string form), None when unknown or unset."""
    if value is None or is_unknown(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def stack_of(urn: str) -> str:
    """The stack name of a URN (``urn:pulumi:<stack>::<project>::...``)."""
    parts = urn.split("::")
    return parts[0].removeprefix("urn:pulumi:") if parts and parts[0].startswith("urn:pulumi:") else ""


def is_production(cfg: Mapping[str, Any]) -> bool:
    """Whether the guard's config says the stack is production (unset: production, the strict side)."""
    return cfg.get("environment", "production") != "staging"


def applies(cfg: Mapping[str, Any]) -> bool:
    """Whether a guard with a ``productionOnly`` switch judges this stack."""
    return is_production(cfg) or not cfg.get("productionOnly", True)


def strings_in(value: Any, path: str = "") -> Iterable[tuple[str, str]]:
    """Every known string leaf with its dotted path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings_in(item, f"{path}[{index}]")
    elif isinstance(value, str) and not is_unknown(value):
        yield path, value


# ------------------------------------------------------------------------------------------------
# Context and stack views


@dataclass(frozen=True)
class Context:
    """What a resource check may know besides its props."""

    type: str
    urn: str
    name: str
    protect: bool = False
    ignore_changes: tuple[str, ...] = ()
    environment: str = "production"
    """From the guard's config (``ENVIRONMENT``), never from the stack name."""

    @property
    def production(self) -> bool:
        return self.environment != "staging"


class StackResource:
    """One resource of the stack as a stack check sees it: plain props, URNs for relations.

    ``props`` are unwrapped on first use: most stack checks look at a few types only, and a stack
    holds hundreds of resources.
    """

    def __init__(
        self,
        type: str,
        urn: str,
        name: str,
        props: Mapping[str, Any],
        *,
        protect: bool = False,
        parent: str | None = None,
        dependencies: Iterable[str] = (),
    ) -> None:
        self.type = type
        self.urn = urn
        self.name = name
        self.protect = protect
        self.parent = parent
        self.dependencies = list(dependencies)
        self._raw = props
        self._props: dict[str, Any] | None = None

    @property
    def props(self) -> dict[str, Any]:
        if self._props is None:
            # Trap, seen through the real engine: while a provider's own config is unknown (the
            # Kubernetes provider during a stack's first preview: its kubeconfig comes from a cluster
            # that does not exist yet), the engine never asks that provider and hands AnalyzeStack an
            # EMPTY property map for every resource of it. Empty means "cannot be known", not "unset":
            # every lookup answers UNKNOWN, so relation guards stay quiet instead of reporting that
            # nothing matches.
            self._props = plain(self._raw) if self._raw else UnknownProps()
        return self._props

    def depends_on(self, other: StackResource) -> bool:
        return other.urn in self.dependencies


ResourceCheck = Callable[[dict[str, Any], Mapping[str, Any], Context], Iterable[str]]
StackCheck = Callable[[list[StackResource], Mapping[str, Any]], Iterable[tuple[str, str | None]]]


def settings(schema: Mapping[str, Mapping[str, Any]], given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The policy's config: the schema's defaults overlaid with what the config file sets."""
    merged = {key: spec["default"] for key, spec in schema.items() if "default" in spec}
    merged.update(dict(given or {}))
    return merged


# ------------------------------------------------------------------------------------------------
# Guard definitions


@dataclass(frozen=True)
class Guard:
    """Metadata shared by resource and stack guards."""

    name: str
    description: str
    severity: Severity
    remediation: str
    group: str
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """JSON-schema properties of the guard's parameters, each with a ``default``."""

    def schema(self) -> PolicyConfigSchema | None:
        return PolicyConfigSchema(properties={k: dict(v) for k, v in self.config.items()}) if self.config else None

    def policy(self) -> Policy:
        """The pulumi_policy Policy the pack serves."""
        raise NotImplementedError


@dataclass(frozen=True)
class ResourceGuard(Guard):
    types: Sequence[str] = ()
    check: ResourceCheck | None = None

    def evaluate(self, props: Mapping[str, Any], cfg: Mapping[str, Any] | None, ctx: Context) -> list[str]:
        """Run the check on plain props (the unit-test entry point)."""
        if ctx.type not in self.types or self.check is None:
            return []
        merged = settings(self.config, cfg)
        ctx = replace(ctx, environment=str(merged.get("environment", "production")))
        return list(self.check(plain(props), merged, ctx))

    def validate(self, args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in self.types:
            return
        opts = args.opts
        ctx = Context(
            args.resource_type,
            args.urn,
            args.name,
            protect=bool(opts.protect) if opts else False,
            ignore_changes=tuple(opts.ignore_changes) if opts else (),
        )
        for message in self.evaluate(args.props, args.get_config(), ctx):
            report_violation(message, None)

    def policy(self) -> ResourceValidationPolicy:
        return ResourceValidationPolicy(
            name=self.name,
            description=self.description,
            validate=self.validate,
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=self.schema(),
            severity=self.severity,
            tags=[self.group],
            remediation_steps=self.remediation,
        )


@dataclass(frozen=True)
class StackGuard(Guard):
    check: StackCheck | None = None

    def evaluate(self, resources: list[StackResource], cfg: Mapping[str, Any] | None) -> list[tuple[str, str | None]]:
        if self.check is None:
            return []
        return list(self.check(resources, settings(self.config, cfg)))

    def validate(self, args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            StackResource(
                type=r.resource_type,
                urn=r.urn,
                name=r.name,
                props=r.props,
                protect=bool(r.opts.protect) if r.opts else False,
                parent=r.parent.urn if r.parent is not None else (r.opts.parent if r.opts else None),
                dependencies=[d.urn for d in r.dependencies],
            )
            for r in args.resources
        ]
        for message, urn in self.evaluate(resources, args.get_config()):
            report_violation(message, urn)

    def policy(self) -> StackValidationPolicy:
        return StackValidationPolicy(
            name=self.name,
            description=self.description,
            validate=self.validate,
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=self.schema(),
            severity=self.severity,
            tags=[self.group],
            remediation_steps=self.remediation,
        )


def _with_environment(config: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Mapping[str, Any]]:
    """The guard's config schema; a production-only guard also takes the stack's ``environment``."""
    merged = dict(config or {})
    if "productionOnly" in merged:
        merged.setdefault("environment", ENVIRONMENT)
    return merged


def resource_guard(
    name: str,
    *,
    types: Sequence[str],
    description: str,
    severity: Severity,
    remediation: str,
    group: str,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> Callable[[ResourceCheck], ResourceGuard]:
    """Decorator: turn a check function into a named ResourceGuard."""

    def wrap(check: ResourceCheck) -> ResourceGuard:
        return ResourceGuard(
            name=name,
            description=description,
            severity=severity,
            remediation=remediation,
            group=group,
            config=_with_environment(config),
            types=tuple(types),
            check=check,
        )

    return wrap


def stack_guard(
    name: str,
    *,
    description: str,
    severity: Severity,
    remediation: str,
    group: str,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> Callable[[StackCheck], StackGuard]:
    def wrap(check: StackCheck) -> StackGuard:
        return StackGuard(
            name=name,
            description=description,
            severity=severity,
            remediation=remediation,
            group=group,
            config=_with_environment(config),
            check=check,
        )

    return wrap
