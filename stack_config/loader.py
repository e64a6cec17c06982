"""Read a stack's configuration from Pulumi config, validate all of it, report every problem at once."""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import ValidationError

from .base import PROJECT, UNSET, ConfigError, Problem, problems_from_validation_error
from .model import StackConfig
from .secrets import SECRETS, SECRETS_BY_KEY

_PREFIX = f"{PROJECT}:"


def _namespace_values() -> dict[str, Any]:
    """Every ``platform:*`` key the engine handed us, secrets excluded, structured values decoded.

    Reading the whole namespace (not field by field) is what lets the root model's
    ``extra="forbid"`` catch a misspelt top-level key.
    """
    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values: dict[str, Any] = {}
    for full_key, raw in merged.items():
        if not full_key.startswith(_PREFIX):
            continue
        key = full_key[len(_PREFIX) :]
        if key in SECRETS_BY_KEY:
            continue
        values[key] = _decode(raw)
    return values


def _decode(raw: Any) -> Any:
    if isinstance(raw, str) and raw[:1] in "{[":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _stack_problems(stack: str, environment: Any) -> list[Problem]:
    # A stack named for one environment must never run with the other's rules (and resources).
    if environment in ("staging", "production") and not (stack == environment or stack.endswith(f"-{environment}")):
        return [
            Problem(
                f"{PROJECT}:environment",
                environment,
                f"stack '{stack}' does not match environment '{environment}': name the stack "
                f"'{environment}' or '<tenant>-{environment}', or fix the environment key",
            )
        ]
    return []


def _secret_problems(stack: str) -> list[Problem]:
    problems = []
    for spec in SECRETS:
        full = _PREFIX + spec.key
        present = runtime_config.get_config(full) is not None
        if present and not runtime_config.is_config_secret(full):
            problems.append(
                Problem(
                    full,
                    "<plaintext value hidden>",
                    f"stored in plaintext in the stack file. Remove it and set it encrypted: "
                    f"pulumi config rm --stack {stack} {spec.key} && {spec.set_command(stack)}",
                )
            )
        elif not present and spec.required:
            problems.append(
                Problem(
                    full,
                    UNSET,
                    f"required secret is missing ({spec.purpose} Generate: {spec.generate}). "
                    f"Set it: {spec.set_command(stack)}",
                )
            )
    return problems


def load() -> StackConfig:
    """Validate the current stack's config; raise ConfigError listing every problem."""
    stack = pulumi.get_stack()
    raw = _namespace_values()
    environment = raw.get("environment")
    context = {"environment": environment if environment in ("staging", "production") else None}
    problems = _stack_problems(stack, environment) + _secret_problems(stack)
    config: StackConfig | None = None
    try:
        config = StackConfig.model_validate(raw, context=context)
    except ValidationError as err:
        problems += problems_from_validation_error(err, stack)
    if problems or config is None:
        raise ConfigError(stack, problems)
    return config
