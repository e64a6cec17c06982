"""Judge of every rendered custom resource: the CRD schema of the exact version the stack pins.

The CRDs are vendored under ``tests/vendor/crds/<project>/<version>/`` by ``scripts/vendor-crds.sh``
(from the Go module proxy, provenance and sha256 in each directory's README). ``validate`` checks a
custom resource the way the API server's structural schema does, as far as a JSON Schema validator
can:

* ``openAPIV3Schema`` of the served version, checked with ``jsonschema`` (Draft 4 is OpenAPI 3.0's
  dialect: boolean ``exclusiveMinimum``, ``nullable`` turned into a ``null`` type);
* unknown fields FAIL (the API server prunes them silently, which is worse: the setting the code
  meant is gone), except under ``x-kubernetes-preserve-unknown-fields`` and in maps
  (``additionalProperties``); ``x-kubernetes-embedded-resource`` admits apiVersion/kind/metadata;
* ``x-kubernetes-int-or-string`` accepts an integer or a string;
* ``metadata`` is the API server's ObjectMeta, not the CRD's business (kubernetes-validate covers it).

Not checked (listed as unverified in docs/kubernetes.md): CEL rules (``x-kubernetes-validations``),
``format`` values, defaults. A kind with no vendored CRD is a failure, never a skip: whoever adds a
CRD-backed kind vendors its CRD in the same change.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

VENDOR = Path(__file__).resolve().parent / "vendor" / "crds"

BUILT_IN_GROUPS = frozenset(
    {
        "",
        "core",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "internal.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "storagemigration.k8s.io",
    }
)
"""API groups the Kubernetes API server serves itself (kubernetes-validate's business, not a CRD's)."""

PULUMI_GROUPS = frozenset({"helm.sh", "kustomize", "yaml"})
"""Pulumi's own pseudo-resources (Helm releases, ConfigGroups): not Kubernetes objects."""


@dataclass(frozen=True)
class Crd:
    group: str
    version: str
    kind: str
    schema: Mapping[str, Any]
    source: str
    """``<project>/<version>/<file>`` under tests/vendor/crds."""


def split_type(type_token: str) -> tuple[str, str, str] | None:
    """``kubernetes:cert-manager.io/v1:ClusterIssuer`` -> (group, version, kind); None if not Kubernetes."""
    parts = type_token.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes":  # package:module:Kind
        return None
    api_version, kind = parts[1], parts[2]
    group, _, version = api_version.rpartition("/")
    return (group or "core"), version, kind


def is_custom(type_token: str) -> bool:
    """A Kubernetes object served by a CRD (not built in, not a Pulumi pseudo-resource)."""
    parsed = split_type(type_token)
    if parsed is None:
        return False
    group = parsed[0]
    return group not in BUILT_IN_GROUPS and group not in PULUMI_GROUPS


@functools.cache
def vendored() -> dict[tuple[str, str, str], Crd]:
    """Every served version of every vendored CRD, by (group, version, kind)."""
    found: dict[tuple[str, str, str], Crd] = {}
    for path in sorted(VENDOR.glob("*/*/*.yaml")):
        # libyaml's loader: the pure-Python one takes seconds over these megabytes.
        for doc in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader):
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for served in spec["versions"]:
                key = (spec["group"], served["name"], spec["names"]["kind"])
                source = str(path.relative_to(VENDOR))
                if key in found:
                    raise ValueError(
                        f"{'/'.join(key)} is vendored twice ({found[key].source}, {source}): "
                        "delete the directory of the version no longer pinned"
                    )
                found[key] = Crd(*key, schema=served["schema"]["openAPIV3Schema"], source=source)
    return found


def vendored_versions() -> dict[str, list[str]]:
    """project -> vendored versions (directory names)."""
    return {p.name: sorted(v.name for v in p.iterdir() if v.is_dir()) for p in sorted(VENDOR.iterdir()) if p.is_dir()}


def to_json_schema(node: Any, *, root: bool = False, logic: bool = False) -> Any:
    """A structural openAPIV3Schema as a Draft 4 JSON Schema with Kubernetes' unknown-field rules.

    ``logic``: inside allOf/anyOf/oneOf/not, where a structural schema holds value validations only
    (the fields are declared by the enclosing schema), so no unknown-field rule is added there.
    """
    if isinstance(node, list):
        return [to_json_schema(n, logic=logic) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: to_json_schema(v, logic=logic) for k, v in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = to_json_schema(value, logic=logic)
        elif key in ("allOf", "anyOf", "oneOf", "not"):
            out[key] = to_json_schema(value, logic=True)
        elif key.startswith("x-kubernetes-") or key in ("description", "default", "format", "example", "nullable"):
            continue
        else:
            out[key] = copy.deepcopy(value)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [*out.get("anyOf", []), {"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if node.get("x-kubernetes-embedded-resource"):
        out.setdefault("properties", {})
        for field in ("apiVersion", "kind"):
            out["properties"].setdefault(field, {"type": "string"})
        out["properties"].setdefault("metadata", {"type": "object"})
    if root:
        # ObjectMeta is validated by the API server itself, not by the CRD's schema.
        out.setdefault("properties", {})["metadata"] = {"type": "object"}
    is_object = node.get("type") == "object" or "properties" in node
    preserved = node.get("x-kubernetes-preserve-unknown-fields")
    if is_object and not logic and not preserved and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


@functools.cache
def _validator(key: tuple[str, str, str]) -> jsonschema.Draft4Validator:
    schema = to_json_schema(vendored()[key].schema, root=True)
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def validate(type_token: str, body: Mapping[str, Any]) -> list[str]:
    """Every schema violation of one rendered custom resource (empty: valid)."""
    parsed = split_type(type_token)
    if parsed is None:
        return [f"{type_token} is not a Kubernetes type"]
    if parsed not in vendored():
        group, version, kind = parsed
        return [
            f"{kind} ({group}/{version}) has no vendored CRD: vendor the pinned version with "
            "scripts/vendor-crds.sh (tests/vendor/crds/README.md)"
        ]
    obj = as_sent({"apiVersion": type_token.split(":")[1], **{k: v for k, v in body.items() if k != "apiVersion"}})
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(_validator(parsed).iter_errors(obj), key=lambda e: list(e.absolute_path))
    ]


def as_sent(value: Any) -> Any:
    """What the API server receives: Pulumi's wire format carries every number as a float64, and the
    provider's JSON encoding writes an integral one as an integer (80.0 -> 80); a fractional value stays
    a float and fails an integer field, as it would on the cluster."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: as_sent(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_sent(v) for v in value]
    return value


@dataclass(frozen=True)
class Rendered:
    type: str
    name: str
    body: Mapping[str, Any]


def custom_resources(resources: Iterable[Any]) -> Iterator[Rendered]:
    """The custom resources of a run (``tests.harness.Resource`` records), as the API server gets them."""
    for r in resources:
        if r.custom and is_custom(r.type):
            yield Rendered(r.type, r.name, r.inputs)
