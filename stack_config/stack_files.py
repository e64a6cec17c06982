"""What the engine does not tell the program: the stack files themselves (read locally, never the network).

* **Duplicate keys.** YAML lets a mapping repeat a key and keeps the last one silently, so a second
  ``general:`` pool, or a second ``platform:cluster`` block, would replace the first without a word by
  the time the values reach the program. The stack file (and a tenant's catalog) is read again here
  with a loader that refuses duplicates.
* **The other stacks.** Stacks of one project must never overlap in address space (they may be peered,
  and a copied range is the usual slip when a stack is created from another's file). Every other
  committed ``Pulumi.<stack>.yaml`` is read for its ranges.
"""

from __future__ import annotations

import copy
import functools
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
"""Where Pulumi.yaml and the stack files live."""

_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
"""What pydantic reads as True for a bool field (its lax mode), so a stack file's `enabled: 1` counts too."""

DEFAULT_EKS_CIDR = "10.100.0.0/16"
"""eks.vpcCidr when a stack file leaves it out (stack_config/eks.py)."""


@dataclass(frozen=True)
class Duplicate:
    path: str
    """Dotted path of the repeated key, e.g. ``config.platform:cluster.pools.general``."""
    line: int
    first_line: int


def _duplicates(node: yaml.Node, path: str) -> Iterator[Duplicate]:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            where = f"{path}.{key}" if path else key
            if key in seen:
                yield Duplicate(where, line, seen[key])
            seen.setdefault(key, line)
            yield from _duplicates(value_node, where)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicates(item, f"{path}[{index}]")


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML has it (ten times faster: every validation reads the catalog)."""


@functools.lru_cache(maxsize=32)
def _parsed(text: str) -> tuple[Any, tuple[Duplicate, ...]]:
    node = yaml.compose(text, Loader=_LOADER)
    duplicates = tuple(_duplicates(node, "")) if node is not None else ()
    return yaml.load(text, Loader=_LOADER), duplicates  # noqa: S506 - a safe loader


def load_unique(text: str) -> tuple[Any, list[Duplicate]]:
    """Parse YAML like ``yaml.safe_load`` and list the keys any mapping repeats (line numbers 1-based)."""
    data, duplicates = _parsed(text)
    return copy.deepcopy(data), list(duplicates)


def stack_file(stack: str) -> Path:
    return ROOT / f"Pulumi.{stack}.yaml"


def duplicate_keys(stack: str) -> list[Duplicate]:
    """Keys the stack's own file repeats (none when the file is absent or not YAML: the CLI reports those)."""
    path = stack_file(stack)
    if not path.is_file():
        return []
    try:
        return load_unique(path.read_text())[1]
    except yaml.YAMLError:
        return []


@dataclass(frozen=True)
class Range:
    key: str
    """Config key without the project prefix, e.g. ``network.vpcCidr``."""
    cidr: str


def ranges_of(config: dict[str, Any]) -> list[Range]:
    """The address ranges a stack file's ``config:`` block claims (EKS's only while it is enabled)."""
    found = []
    network = config.get("platform:network") or {}
    if isinstance(network, dict):
        for field in ("vpcCidr", "clusterSubnet", "serviceSubnet"):
            if isinstance(network.get(field), str):
                found.append(Range(f"network.{field}", network[field]))
    eks = config.get("platform:eks") or {}
    if isinstance(eks, dict) and str(eks.get("enabled")).lower() in _TRUE:
        found.append(Range("eks.vpcCidr", str(eks.get("vpcCidr", DEFAULT_EKS_CIDR))))
    return found


@dataclass(frozen=True)
class OtherStack:
    name: str
    environment: Any
    tenant: Any
    ranges: list[Range]


def other_stacks(stack: str) -> Iterator[OtherStack]:
    """Every other committed stack file of the project (unreadable ones are the CLI's to report)."""
    for path in sorted(ROOT.glob("Pulumi.*.yaml")):
        name = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        if name == stack:
            continue
        try:
            data = load_unique(path.read_text())[0] or {}
        except yaml.YAMLError:
            continue
        config = data.get("config") if isinstance(data, dict) else None
        if not isinstance(config, dict):
            continue
        tenant = config.get("platform:tenant")
        yield OtherStack(
            name=name,
            environment=config.get("platform:environment"),
            tenant=tenant.get("name") if isinstance(tenant, dict) else None,
            ranges=ranges_of(config),
        )


def overlaps(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_network(a, strict=False).overlaps(ipaddress.ip_network(b, strict=False))
    except ValueError:
        return False
