"""Read a stack's configuration from Pulumi config, validate all of it, report every problem at once.

Besides the models' own rules, the loader checks what only it can see: the stack's name against its
environment, secrets stored in plaintext or missing, credentials in plain config, keys the stack file
repeats, and address ranges another committed stack already uses. Every value it reports goes
through ``credentials.redact`` (error output lands in CI logs).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import ValidationError

from . import stack_files
from .base import PROJECT, UNSET, ConfigError, Problem, problems_from_validation_error
from .credentials import REDACTED, credential_leaves
from .model import StackConfig
from .secrets import SECRETS, SECRETS_BY_KEY, SecretSpec
from .tenants import tenant_secret_problems

_PREFIX = f"{PROJECT}:"
ENVIRONMENTS = ("staging", "production")


def _namespace_values(stack: str) -> tuple[dict[str, Any], list[Problem]]:
    """Every ``platform:*`` key the engine handed us, secrets excluded, structured values decoded.

    Reading the whole namespace (not field by field) is what lets the root model's
    ``extra="forbid"`` catch a misspelt top-level key. A key that is not a registered secret but is
    encrypted, or is named like one (``jwtsecret``), never reaches the models: its value could be the
    secret itself, and a model error would print it.
    """
    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for full_key, raw in merged.items():
        if not full_key.startswith(_PREFIX):
            continue
        key = full_key[len(_PREFIX) :]
        if key in SECRETS_BY_KEY:
            continue
        meant = _misspelt_secret(key)
        if meant is not None or runtime_config.is_config_secret(full_key):
            problems.append(_unknown_secret_problem(stack, key, meant))
            continue
        values[key] = _decode(raw)
    return values, problems


def _misspelt_secret(key: str) -> SecretSpec | None:
    """The registered secret ``key`` was probably meant to be (a case slip or a typo), or None."""
    lowered = {spec.key.lower(): spec for spec in SECRETS}
    close = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.85)
    return lowered[close[0]] if close else None


def _unknown_secret_problem(stack: str, key: str, meant: SecretSpec | None) -> Problem:
    remove = f"pulumi config rm --stack {stack} {key}"
    if meant is None:
        message = f"an encrypted value under a key this program does not read. Remove it: `{remove}`"
    else:
        message = (
            f"unknown key, probably the secret {meant.key} misspelt (its value is not shown). "
            f"Remove it (`{remove}`) and set the secret encrypted: `{meant.set_command(stack)}`"
        )
    return Problem(_PREFIX + key, REDACTED, message)


def _decode(raw: Any) -> Any:
    if isinstance(raw, str) and raw[:1] in "{[":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _stack_problems(stack: str, environment: Any) -> list[Problem]:
    # A stack named for one environment must never run with the other's rules (and resources).
    if environment in ENVIRONMENTS and not (stack == environment or stack.endswith(f"-{environment}")):
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
                    REDACTED,
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


def _credential_problems(raw: dict[str, Any], stack: str) -> list[Problem]:
    """Credential-shaped values in plain config: they are stored and printed in clear."""
    return [
        Problem(
            _PREFIX + path,
            REDACTED,
            f"looks like {kind}; plain config is stored in clear in Pulumi.{stack}.yaml and shown in logs. "
            f"Remove it (`pulumi config rm --stack {stack} --path '{path}'`) and keep the credential encrypted: "
            f"`pulumi config set --stack {stack} --secret --path '{path}' '<value>'` (a secret the program "
            "reads is registered in stack_config/secrets.py)",
        )
        for key, value in raw.items()
        for path, kind in credential_leaves(value, key)
    ]


def _duplicate_problems(stack: str) -> list[Problem]:
    problems = []
    for dup in stack_files.duplicate_keys(stack):
        key = dup.path.removeprefix("config.")
        problems.append(
            Problem(
                key if key.startswith(_PREFIX) else f"Pulumi.{stack}.yaml:{dup.path}",
                f"line {dup.line}",
                f"Pulumi.{stack}.yaml sets this key twice (lines {dup.first_line} and {dup.line}); YAML keeps "
                "the last one silently: merge the two into one entry",
            )
        )
    return problems


def _cross_stack_problems(stack: str, config: StackConfig) -> list[Problem]:
    """Address ranges another committed stack of the project already claims."""
    network = config.network
    ours = [
        stack_files.Range(f"network.{key}", value)
        for key, value in (
            ("vpcCidr", network.vpc_cidr),
            ("clusterSubnet", getattr(network, "cluster_subnet", None)),
            ("serviceSubnet", getattr(network, "service_subnet", None)),
        )
        if value
    ]
    if config.eks.enabled:
        ours.append(stack_files.Range("eks.vpcCidr", config.eks.vpc_cidr))
    problems = []
    for other in stack_files.other_stacks(stack):
        if (other.environment, other.tenant) == (config.environment, config.tenant.name):
            continue  # the same deployment under another stack name (a rename in progress)
        for mine in ours:
            clash = next((r for r in other.ranges if stack_files.overlaps(mine.cidr, r.cidr)), None)
            if clash is not None:
                problems.append(
                    Problem(
                        _PREFIX + mine.key,
                        mine.cidr,
                        f"overlaps {clash.key} {clash.cidr} of stack '{other.name}' (Pulumi.{other.name}.yaml): "
                        "the stacks of one project keep disjoint ranges so they can be peered; pick an unused range",
                    )
                )
    return problems


def _merged(problems: Iterable[Problem]) -> list[Problem]:
    """One problem per key: the first reported value, every message."""
    by_key: dict[str, Problem] = {}
    for problem in problems:
        first = by_key.get(problem.key)
        if first is None:
            by_key[problem.key] = problem
        elif problem.message not in first.message:
            by_key[problem.key] = Problem(first.key, first.value, f"{first.message}; also: {problem.message}")
    return list(by_key.values())


def load() -> StackConfig:
    """Validate the current stack's config; raise ConfigError listing every problem."""
    stack = pulumi.get_stack()
    raw, problems = _namespace_values(stack)
    environment = raw.get("environment")
    context = {"environment": environment if environment in ENVIRONMENTS else None}
    problems += _credential_problems(raw, stack)
    problems += _stack_problems(stack, environment) + _secret_problems(stack) + _duplicate_problems(stack)
    config: StackConfig | None = None
    try:
        config = StackConfig.model_validate(raw, context=context)
    except ValidationError as err:
        problems += problems_from_validation_error(err, stack)
    if config is not None:
        # With the external secret store on, the application's secrets live there, not in Pulumi config.
        store_managed = {_PREFIX + key for key in config.apps.store_managed_keys()}
        problems = [p for p in problems if not (p.key in store_managed and p.value is UNSET)]
        problems += _cross_stack_problems(stack, config)
        problems += tenant_secret_problems(
            stack, config.tenants, lambda key: runtime_config.get_config(_PREFIX + key) is not None
        )
    if problems or config is None:
        raise ConfigError(stack, _merged(problems))
    return config
