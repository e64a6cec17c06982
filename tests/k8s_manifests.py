"""Render the Kubernetes objects a stack registers (under mocks) to YAML for offline checkers.

Only plain Kubernetes API objects are rendered: Helm releases are charts (their values are tested
instead), providers are not objects, and custom resources (KEDA, cert-manager) have schemas that
kubernetes-validate does not ship, so their specs are asserted in the component tests.
Secret values are replaced by a placeholder: the files are for schema and policy checks.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.harness import ROOT, Resource, StackRun

BUILD = ROOT / "build" / "k8s"
CUSTOM_GROUPS = ("keda.sh/", "cert-manager.io/", "helm.sh/")
REDACTED = "<redacted>"


def is_rendered(resource: Resource) -> bool:
    """A plain Kubernetes object (not a provider, a Helm release or a custom resource)."""
    if not resource.custom or not resource.type.startswith("kubernetes:"):
        return False
    group_version = resource.type.split(":")[1]
    return not group_version.startswith(CUSTOM_GROUPS)


def _integral(value: Any) -> Any:
    """Mocks return every number as a float; the API's integers must be written as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def manifest(resource: Resource) -> dict[str, Any]:
    """The object as ``kubectl apply`` would receive it."""
    _, group_version, kind = resource.type.split(":")
    api_version = group_version.removeprefix("core/")
    body = {k: v for k, v in resource.inputs.items() if k not in ("apiVersion", "kind")}
    if kind == "Secret":
        for field in ("data", "stringData"):
            if field in body:
                body[field] = dict.fromkeys(body[field], REDACTED)
    return {"apiVersion": api_version, "kind": kind, **_integral(body)}


def render(run: StackRun, directory: Path | None = None) -> list[Path]:
    """Write one YAML file per object under build/k8s/<stack>/ (replacing earlier output)."""
    if run.preview:
        raise ValueError("render an up run: a preview has unknown values")
    target = directory or BUILD / run.stack
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    paths = []
    for resource in run.resources:
        if not is_rendered(resource):
            continue
        doc = manifest(resource)
        path = target / f"{doc['kind'].lower()}-{resource.name}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        paths.append(path)
    return paths
