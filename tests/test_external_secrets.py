"""Secrets that rotate without a commit: ESO against AWS Secrets Manager, judged by the vendored CRDs.

The ExternalSecret and ClusterSecretStore are checked against the CRDs of the pinned operator version
(tests/vendor/crds/external-secrets/v1.3.2, from the Go module proxy) by tests/crd_validation.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.external_secrets import (
    RELOAD_ANNOTATION,
    TARGET_SECRET,
    ExternalSecrets,
    ExternalSecretsArgs,
    external_secret_spec,
    reader_policy,
)
from stack_config.secrets import ESO_CHART_VERSION, ExternalSecretsConfig
from tests import crd_validation
from tests.harness import TEST_SECRETS, StackRun, component_run, run_main

ES = "kubernetes:external-secrets.io/v1:ExternalSecret"
STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore"
RELEASE = "kubernetes:helm.sh/v3:Release"
STORE_ON = {"apps": {"externalSecrets": {"enabled": True}}}
APP_KEYS = ("jwtSecret", "youtubeApiKey", "tiktokClientKey", "tiktokClientSecret", "redditClientId",
            "redditClientSecret", "sentryDsn")  # fmt: skip


def eso(protect: bool = True) -> ExternalSecrets:
    return ExternalSecrets(
        "eso",
        ExternalSecretsArgs(
            stack="production",
            tenants={"niche-discovery": "niche-discovery-production"},
            aws_region="us-east-1",
            chart_version=ESO_CHART_VERSION,
            reloader_chart_version="2.1.4",
            protect=protect,
        ),
    )


@pytest.fixture(scope="module")
def cluster_half() -> StackRun:
    return component_run(eso)


@pytest.fixture(scope="module")
def with_store() -> StackRun:
    """Production with the store on: the app's own secrets are NOT set in Pulumi config."""
    platform_only = {k: v for k, v in TEST_SECRETS.items() if k not in APP_KEYS}
    return run_main("production", overrides=STORE_ON, secrets=platform_only)


def in_namespace(run: StackRun, type_token: str, name: str) -> dict[str, Any]:
    found = [
        r.inputs
        for r in run.of_type(type_token)
        if r.inputs["metadata"]["name"] == name
        and r.inputs["metadata"].get("namespace") == "niche-discovery-production"
    ]
    assert len(found) == 1, found
    return found[0]


def test_the_tenant_external_secret_refreshes_every_30_minutes_and_fits_the_crd() -> None:
    spec = external_secret_spec(
        store="aws-secrets-manager", key="niche-discovery/production/app", refresh_interval="30m"
    )
    body = {"metadata": {"name": TARGET_SECRET, "namespace": "ns"}, "spec": spec}
    assert crd_validation.validate(ES, body) == []
    assert spec["refreshInterval"] == "30m"  # the seed's Vault refreshAfter
    assert spec["target"]["name"] == TARGET_SECRET


def test_the_crd_judge_rejects_a_misspelt_external_secret() -> None:
    spec = external_secret_spec(store="s", key="k", refresh_interval="30m")
    body = {"metadata": {"name": "x"}, "spec": {**spec, "refreshIntervall": "30m"}}
    assert crd_validation.validate(ES, body)


def test_the_store_reads_aws_secrets_manager_with_a_key_only_tenants_may_use(cluster_half: StackRun) -> None:
    store = cluster_half.one(STORE)
    assert crd_validation.validate(STORE, store.inputs) == []
    aws = store.inputs["spec"]["provider"]["aws"]
    assert (aws["service"], aws["region"]) == ("SecretsManager", "us-east-1")
    assert aws["auth"]["secretRef"]["accessKeyIDSecretRef"]["namespace"] == "external-secrets"
    assert store.inputs["spec"]["conditions"] == [{"namespaces": ["niche-discovery-production"]}]
    credentials = cluster_half.one("kubernetes:core/v1:Secret")
    assert "stringData" in credentials.secret_inputs


def test_the_reader_may_only_read_the_tenants_secrets() -> None:
    policy = reader_policy(
        ["arn:aws:secretsmanager:us-east-1:1:secret:b", "arn:aws:secretsmanager:us-east-1:1:secret:a"]
    )
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    assert statement["Resource"] == sorted(statement["Resource"]) and "*" not in json.dumps(statement["Resource"])


def test_one_protected_secret_per_tenant_and_stack(cluster_half: StackRun) -> None:
    secret = cluster_half.one("aws:secretsmanager/secret:Secret")
    assert secret.inputs["name"] == "niche-discovery/production/app"
    assert secret.protect is True
    assert component_run(lambda: eso(protect=False)).one("aws:secretsmanager/secret:Secret").protect is False


def test_operator_and_reloader_charts_are_pinned(cluster_half: StackRun) -> None:
    charts = {r.inputs["chart"]: r.inputs for r in cluster_half.of_type(RELEASE)}
    assert charts["external-secrets"]["version"] == ESO_CHART_VERSION == "1.3.2"
    assert charts["external-secrets"]["values"] == {"installCRDs": True}
    assert charts["reloader"]["version"] == "2.1.4"
    # Only annotated Deployments are rolled.
    assert charts["reloader"]["values"]["reloader"]["autoReloadAll"] is False


def test_a_store_with_no_tenant_is_refused() -> None:
    with pytest.raises(ValueError, match="no tenant"):
        ExternalSecrets("eso", ExternalSecretsArgs("p", {}, "us-east-1", "1.3.2", "2.1.4", protect=False))


def test_with_the_store_on_the_app_secrets_come_from_it_and_pods_roll_on_rotation(with_store: StackRun) -> None:
    external = in_namespace(with_store, ES, TARGET_SECRET)
    assert crd_validation.validate(ES, external) == []
    assert external["spec"]["dataFrom"] == [{"extract": {"key": "niche-discovery/production/app"}}]
    assert external["spec"]["refreshInterval"] == "30m"
    # Pulumi's Secret keeps only what the platform produces (database and broker URIs).
    pulumi_managed = in_namespace(with_store, "kubernetes:core/v1:Secret", "app-secrets")["stringData"]
    assert set(pulumi_managed) == {"DATABASE_URL", "DATABASE_DIRECT_URL", "REDIS_URL", "CELERY_BROKER_URL"}

    def deployment(service: str) -> dict[str, Any]:
        return in_namespace(with_store, "kubernetes:apps/v1:Deployment", service)

    api = deployment("api-service")
    assert api["metadata"]["annotations"] == {RELOAD_ANNOTATION: TARGET_SECRET}
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in api["spec"]["template"]["spec"]["containers"][0]["env"]
           if "valueFrom" in e}  # fmt: skip
    assert env["JWT_SECRET"] == {"name": TARGET_SECRET, "key": "JWT_SECRET"}
    assert env["SENTRY_DSN"] == {"name": TARGET_SECRET, "key": "SENTRY_DSN", "optional": True}
    assert env["DATABASE_URL"]["name"] == "app-secrets"
    # A Deployment that reads nothing from the store is never rolled by it.
    assert "annotations" not in deployment("frontend")["metadata"]


def test_with_the_store_on_the_store_and_operator_exist_before_the_external_secret(with_store: StackRun) -> None:
    external = next(r for r in with_store.of_type(ES) if r.inputs["metadata"]["name"] == TARGET_SECRET)
    store = with_store.one(STORE)
    assert store.urn in external.dependencies


def test_with_the_store_off_nothing_of_it_is_deployed(production: StackRun) -> None:
    assert not production.of_type(ES) and not production.of_type(STORE)
    assert not [r for r in production.of_type(RELEASE) if r.inputs["chart"] in {"external-secrets", "reloader"}]


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("awsRegion", "mars-1", "not an AWS region"),
        ("refreshInterval", "30", "minutes or hours"),
        ("refreshInterval", "0m", "minutes or hours"),
        ("chartVersion", "^1.3", "exact chart version"),
    ],
)
def test_store_config_validators_fire(field: str, value: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        ExternalSecretsConfig.model_validate({field: value})


def test_with_the_store_off_the_app_secrets_are_still_required_in_pulumi_config() -> None:
    platform_only = {k: v for k, v in TEST_SECRETS.items() if k not in APP_KEYS}
    with pytest.raises(Exception, match=r"platform:jwtSecret = <unset>") as failure:
        run_main("staging", secrets=platform_only)
    assert "nothing was created" in str(failure.value)
