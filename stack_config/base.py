"""Shared machinery for stack configuration: the strict model base and problem reporting.

Nothing here touches the network or registers resources, so it is safe to run before the
program creates anything (the whole point: bad config must stop the run first).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from .credentials import redact, redact_text

PROJECT = "platform"
"""Pulumi project name, and so the namespace of every config key (``platform:<key>``)."""


class StrictModel(BaseModel):
    """Base of every config model.

    Frozen (config is read once and shared), ``extra="forbid"`` (a misspelt key is an error,
    not a silently ignored default), camelCase aliases because Pulumi config keys are
    camelCase by convention while the Python side stays snake_case.

    ``validate_default`` plus ``revalidate_instances="always"`` is what makes the per-environment
    rules hold for what a stack leaves out: a default (``default_factory=ClusterConfig``, the default
    node pools, ...) is built without the stack's environment, so it is validated again, field by
    field, with the loader's context. The fully assembled config is what gets judged, not only the
    keys a stack file happens to set.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
        revalidate_instances="always",
    )


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a stack's configuration."""

    key: str
    """Full config key path as a user types it, e.g. ``platform:cluster.pools.general.minNodes``."""
    value: Any
    """The offending value (never a secret: secrets are reported by key only)."""
    message: str
    """What is wrong and how to fix it."""

    def render(self) -> str:
        """The problem as printed; credentials are redacted by key name and by shape (CI logs keep it)."""
        shown = "<unset>" if self.value is _UNSET else json.dumps(redact(self.value, self.key), default=str)
        return f"  - {self.key} = {redact_text(shown)}\n      {redact_text(self.message)}"


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()
UNSET = _UNSET
"""Marker for a problem about a key that has no value at all."""


class ConfigError(pulumi.RunError):
    """Every configuration problem of one stack, reported together.

    A ``pulumi.RunError`` so the CLI prints the message alone, with no Python traceback.
    """

    def __init__(self, stack: str, problems: Iterable[Problem]) -> None:
        self.stack = stack
        self.problems = sorted(problems, key=lambda p: p.key)
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        head = (
            f"Stack '{self.stack}' has {count} configuration problem{'s' if count != 1 else ''}; "
            "nothing was created. Fix them in Pulumi.<stack>.yaml (or with the commands shown) "
            "and run again:"
        )
        return "\n".join([head, *(p.render() for p in self.problems)])


def set_path_command(stack: str, dotted: str, example: str) -> str:
    """The exact CLI command that sets a nested config value."""
    return f"pulumi config set --stack {stack} --path '{dotted}' {example}"


def problems_from_validation_error(err: ValidationError, stack: str) -> list[Problem]:
    """Turn pydantic's errors into Problems keyed the way a user writes the config key.

    The first element of an error location is the top-level config key; the rest is the
    path inside its structured value. Messages keep pydantic's wording (it already says what
    was expected) and add how to fix it.
    """
    by_key: dict[str, Problem] = {}
    for error in err.errors():
        # Union members add location parts such as "literal['any']" or "function-after[...]":
        # they are pydantic's internals, not part of the key a user types.
        loc = [_as_key(str(part)) for part in error["loc"] if part != "__root__" and "[" not in str(part)]
        dotted = ".".join(loc)
        key = f"{PROJECT}:{dotted}" if dotted else f"{PROJECT}:<root>"
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        elif error["type"] == "extra_forbidden":
            message = (
                "unknown key (misspelt, or not supported here). Remove it with "
                f"`pulumi config rm --stack {stack} --path '{dotted}'`"
            )
        else:
            message = f"{message}; {fix_hint(error['type'], stack, dotted)}"
        value = error.get("input", _UNSET) if error["type"] != "missing" else _UNSET
        if key in by_key:
            # One key failing several union members: one problem listing the alternatives.
            message = f"{by_key[key].message}; or: {message}"
        by_key[key] = Problem(key=key, value=_printable(value), message=message)
    return list(by_key.values())


_SCALARS = {"int": "3", "bool": "true", "string": "'text'", "float": "1.5", "bytes": "'text'"}
_SHAPES = {"list": "a YAML list (`- item` lines, or `[a, b]`)", "dict": "a YAML mapping (`name: value` lines)"}


def fix_hint(error_type: str, stack: str, dotted: str) -> str:
    """How to fix a value pydantic rejected with one of its generic messages."""
    where = f"docs/configuration.md lists `{PROJECT}:{dotted}` with its type and default"
    shape = next((v for k, v in _SHAPES.items() if error_type.startswith(k)), None)
    if shape:
        return f"write {shape} under `{PROJECT}:{dotted}` in Pulumi.{stack}.yaml; {where}"
    scalar = next((k for k in _SCALARS if error_type.startswith(k)), None)
    if scalar:
        return f"set a {scalar}: `pulumi config set --stack {stack} --path '{dotted}' {_SCALARS[scalar]}`; {where}"
    if error_type == "missing":
        return f"set it in Pulumi.{stack}.yaml; {where}"
    return f"set an allowed value in Pulumi.{stack}.yaml; {where}"


_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def _as_key(part: str) -> str:
    """A field validated from its default is located by its Python name; users type the camelCase alias.

    Map keys (pool and service names) are DNS labels, never snake_case, so they pass through.
    """
    return to_camel(part) if _SNAKE.fullmatch(part) else part


def _printable(value: Any) -> Any:
    """Keep reported values short: a whole nested object is noise in an error line."""
    if isinstance(value, dict):
        return {k: "..." if isinstance(v, (dict, list)) else v for k, v in value.items()}
    return value
