"""Every rendered custom resource against the CRD of the exact version pinned (tests/crd_validation.py),
and the values passed to a chart against the chart's own values.schema.json."""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from stack_config.edge import ChartVersions
from tests import crd_validation
from tests.crd_validation import custom_resources, validate, vendored, vendored_versions
from tests.harness import StackRun, run_main

CERT_MANAGER_VALUES_SCHEMA = (
    crd_validation.VENDOR / "cert-manager" / ChartVersions().cert_manager / "values.schema.json"
)


@functools.cache
def migrating() -> StackRun:
    """Both edges up (the migration's middle step), so the legacy and the new objects are all judged."""
    return run_main("production", overrides={"edge": {"implementation": "ingress-nginx", "standby": "gateway"}})


@functools.cache
def store_on() -> StackRun:
    """The External Secrets store switched on: its ClusterSecretStore and ExternalSecrets are judged too."""
    return run_main("production", overrides={"apps": {"externalSecrets": {"enabled": True}}})


@pytest.fixture(scope="module")
def runs(
    staging: StackRun, production: StackRun, production_eks: StackRun, production_aws: StackRun
) -> dict[str, StackRun]:
    return {
        "staging": staging,
        "production": production,
        "production+eks": production_eks,
        "production+aws-tenant": production_aws,
        "migrating": migrating(),
        "secret-store": store_on(),
    }


def test_every_rendered_custom_resource_matches_its_pinned_crd(runs: dict[str, StackRun], record_property: Any) -> None:
    problems, counted, kinds = [], 0, set()
    for label, run in runs.items():
        for cr in custom_resources(run.resources):
            counted += 1
            kinds.add(cr.type.split(":", 1)[1])
            problems += [f"{label} {cr.type} {cr.name}: {p}" for p in validate(cr.type, cr.body)]
    assert not problems, "\n".join(problems)
    assert counted
    sources = sorted({vendored()[crd_validation.split_type(f"kubernetes:{k}")].source.split("/")[0] for k in kinds})  # type: ignore[index]
    versions = {p: vendored_versions()[p] for p in sources}
    record_property(
        "report",
        f"CRD schemas: {counted} custom resources ({len(kinds)} kinds) in {len(runs)} runs valid against {versions}",
    )


def test_vendored_crds_are_the_pinned_versions() -> None:
    pins = ChartVersions()
    found = vendored_versions()
    assert found["envoy-gateway"] == [pins.envoy_gateway]
    assert found["cert-manager"] == [pins.cert_manager]
    assert found["keda"] == [f"v{pins.keda}"]


def test_the_envoy_gateway_pin_carries_gateway_api_v1_6_1() -> None:
    bundle = (
        crd_validation.VENDOR / "envoy-gateway" / ChartVersions().envoy_gateway / "gatewayapi-crds.yaml"
    ).read_text()
    assert "gateway.networking.k8s.io/bundle-version: v1.6.1" in bundle


def test_every_vendored_file_matches_its_recorded_sha256() -> None:
    for readme in crd_validation.VENDOR.glob("*/*/README.md"):
        rows = [line.split("|") for line in readme.read_text().splitlines() if line.startswith("| ") and "`" in line]
        assert rows, readme
        for row in rows:
            file, digest = row[1].strip(), row[3].strip().strip("`")
            assert hashlib.sha256((readme.parent / file).read_bytes()).hexdigest() == digest, f"{readme.parent}/{file}"


# --- The judge fires ---------------------------------------------------------------------------------

ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"


def _issuer(**acme: Any) -> dict[str, Any]:
    base = {"server": "https://acme.example/directory", "privateKeySecretRef": {"name": "key"}, "solvers": []}
    return {"kind": "ClusterIssuer", "metadata": {"name": "x"}, "spec": {"acme": {**base, **acme}}}


def test_a_valid_object_passes() -> None:
    assert validate(ISSUER, _issuer()) == []


def test_a_field_the_pinned_crd_does_not_know_fails() -> None:
    assert validate(ISSUER, _issuer(bogus=True)) == [
        "spec/acme: Additional properties are not allowed ('bogus' was unexpected)"
    ]


def test_a_bogus_field_in_a_rendered_gateway_fails(production: StackRun) -> None:
    rendered = production.one("kubernetes:gateway.networking.k8s.io/v1:Gateway")
    assert validate(rendered.type, rendered.inputs) == []
    bogus = copy.deepcopy(rendered.inputs)
    bogus["spec"]["listeners"][0]["redirectToHttps"] = True
    assert validate(rendered.type, bogus) == [
        "spec/listeners/0: Additional properties are not allowed ('redirectToHttps' was unexpected)"
    ]


def test_a_misspelt_field_deep_in_a_policy_fails() -> None:
    body = {
        "kind": "BackendTrafficPolicy",
        "metadata": {"name": "x", "namespace": "y"},
        "spec": {
            "rateLimit": {
                "type": "Local",
                "local": {"rules": [{"limit": {"requests": 1, "unit": "Minute", "burst": 2}}]},
            }
        },
    }
    (problem,) = validate("kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy", body)
    assert problem.startswith("spec/rateLimit/local/rules/0/limit: Additional properties")


def test_a_wrong_type_or_enum_value_fails() -> None:
    body = {
        "kind": "BackendTrafficPolicy",
        "metadata": {"name": "x"},
        "spec": {"loadBalancer": {"type": "LeastConnections"}},
    }
    (problem,) = validate("kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy", body)
    assert "'LeastConnections' is not one of" in problem


def test_int_or_string_fields_take_both() -> None:
    def pdb(value: Any) -> dict[str, Any]:
        return {
            "kind": "EnvoyProxy",
            "metadata": {"name": "x"},
            "spec": {"provider": {"type": "Kubernetes", "kubernetes": {"envoyPDB": {"minAvailable": value}}}},
        }

    kind = "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy"
    assert validate(kind, pdb(1)) == []
    assert validate(kind, pdb("50%")) == []
    assert validate(kind, pdb(True)) != []


def test_preserve_unknown_fields_admits_anything_below_it() -> None:
    body = {
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {"scaleTargetRef": {"name": "d"}, "triggers": [{"type": "redis", "metadata": {"anything": "goes"}}]},
    }
    assert validate("kubernetes:keda.sh/v1alpha1:ScaledObject", body) == []


def test_a_kind_without_a_vendored_crd_fails() -> None:
    (problem,) = validate("kubernetes:example.com/v1:Widget", {"kind": "Widget", "spec": {}})
    assert "Widget (example.com/v1) has no vendored CRD" in problem


def test_built_in_and_pulumi_types_are_not_custom() -> None:
    assert not crd_validation.is_custom("kubernetes:apps/v1:Deployment")
    assert not crd_validation.is_custom("kubernetes:core/v1:Secret")
    assert not crd_validation.is_custom("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    assert not crd_validation.is_custom("kubernetes:helm.sh/v3:Release")
    assert crd_validation.is_custom("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")


# --- Chart values ---------------------------------------------------------------------------------------


@functools.cache
def _values_validator(path: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(path.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _release_values(run: StackRun, chart: str) -> dict[str, Any]:
    (found,) = [r.inputs["values"] for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == chart]
    return found


def test_cert_manager_values_match_the_pinned_charts_values_schema(runs: dict[str, StackRun]) -> None:
    # Every cert-manager release of every run (the EKS cluster has its own when it serves a tenant).
    for label, run in runs.items():
        releases = [r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "cert-manager"]
        assert releases, label
        for release in releases:
            errors = [
                e.message for e in _values_validator(CERT_MANAGER_VALUES_SCHEMA).iter_errors(release.inputs["values"])
            ]
            assert not errors, (label, release.name, errors)


def _leaf_paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in _leaf_paths(v, (*prefix, k))]
    return [prefix]


def test_envoy_gateway_values_are_keys_the_pinned_chart_declares(production: StackRun) -> None:
    """The chart ships no values.schema.json: its own values.tmpl.yaml is the judge of every key we set."""
    declared = yaml.safe_load(
        (crd_validation.VENDOR / "envoy-gateway" / ChartVersions().envoy_gateway / "values.tmpl.yaml").read_text()
    )
    ours = _release_values(production, "oci://docker.io/envoyproxy/gateway-helm")
    assert ours
    for path in _leaf_paths(ours):
        node: Any = declared
        for step in path:
            assert isinstance(node, dict) and step in node, f"{'.'.join(path)} is not a value of the pinned chart"
            node = node[step]


def test_the_values_schema_refuses_an_unknown_key(production: StackRun) -> None:
    values = {**_release_values(production, "cert-manager"), "crds": {"enabled": True, "keeep": True}}
    assert list(_values_validator(CERT_MANAGER_VALUES_SCHEMA).iter_errors(values))
