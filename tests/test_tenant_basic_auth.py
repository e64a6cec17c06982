"""A tenant's routes with ``auth: basic``: the catalog names its htpasswd secret key (``basicAuthSecret``), the
loader refuses every inconsistency before anything is registered, and both clouds guard the routes with it.

No committed catalog uses basic auth (no tenant needs it): the catalogs here are built in the tests, and the
secret key is registered for the test only (as tests/observability/test_tenant_observability.py does for a
receiver). Judges: the vendored Envoy Gateway and Gateway API CRDs (tests/crd_validation.py) for the
SecurityPolicy and HTTPRoute the program sends.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

import stack_config.secrets as secrets_module
from stack_config import loader
from stack_config.base import ConfigError
from stack_config.tenants import TENANT_SECTIONS, TenantEntry, required_tenant_secrets, tenant_secret_problems
from tests import crd_validation
from tests.conftest import AWS_TENANT_ENABLED
from tests.harness import TEST_SECRETS, Resource, StackRun, run_main, stack_file_config

ROOT = Path(__file__).resolve().parent.parent
SECURITY_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"
HTTPROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
K8S_SECRET = "kubernetes:core/v1:Secret"
ADMIN_ROUTE = {"host": "api", "path": "/admin", "service": "api", "auth": "basic"}
DO_KEY = "docScraperHtpasswd"
AWS_KEY = "podcastSummariserHtpasswd"
HTPASSWD = "tenant-admin:{SHA}" + base64.b64encode(hashlib.sha1(b"tenant-test-password").digest()).decode()  # noqa: S324 - the only hash Envoy's basic auth reads


def split(catalog: str, *, routes: list[dict[str, Any]] | None = None, **tenant: Any) -> dict[str, Any]:
    """A catalog as an already-split entry (the loader's other path), with extra routes and tenant sections."""
    loaded = yaml.safe_load((ROOT / "tenants" / f"{catalog}.yaml").read_text())
    sections = {k: loaded.pop(k) for k in TENANT_SECTIONS if k in loaded}
    loaded["routes"] = [*loaded.get("routes", []), *(routes or [])]
    return {
        "catalog": f"tenants/{catalog}.yaml",
        "tenant": {**sections, **tenant},
        "apps": {"catalog": loaded, "imageTag": "1.0.0"},
    }


def validate(value: dict[str, Any]) -> TenantEntry:
    return TenantEntry.model_validate(value, context={"environment": "staging"})


def refused(value: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as err:
        validate(value)
    return str(err.value)


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the two tenants' htpasswd keys as optional tenant secrets, for this test only."""
    template = secrets_module.SECRETS_BY_KEY["rwpOpenaiApiKey"]
    specs = tuple(
        dataclasses.replace(template, key=key, purpose=f"{key}: htpasswd of its basic-auth routes.")
        for key in (DO_KEY, AWS_KEY)
    )
    for spec in specs:
        monkeypatch.setitem(secrets_module.SECRETS_BY_KEY, spec.key, spec)
    # Both read the tuple by name: the loader (unknown-key and required checks) and Secrets (the values).
    monkeypatch.setattr(secrets_module, "SECRETS", (*secrets_module.SECRETS, *specs))
    monkeypatch.setattr(loader, "SECRETS", (*loader.SECRETS, *specs))


# --- The catalog field ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("registered")
def test_a_basic_route_with_the_tenants_registered_key_validates_and_the_stack_must_set_it() -> None:
    entry = validate(split("doc-scraper", routes=[ADMIN_ROUTE], basicAuthSecret=DO_KEY))
    assert entry.tenant.basic_auth_secret == DO_KEY
    assert DO_KEY in required_tenant_secrets([entry])
    (problem,) = tenant_secret_problems("staging", [entry], lambda key: key != DO_KEY)
    assert problem.key == f"platform:{DO_KEY}"
    assert f"pulumi config set --stack staging --secret {DO_KEY}" in problem.message


def test_a_basic_route_without_the_key_is_refused_with_the_fix() -> None:
    message = refused(split("doc-scraper", routes=[ADMIN_ROUTE]))
    assert "routes: ['api/admin'] use auth: basic but the tenant names no htpasswd" in message
    assert "add basicAuthSecret: docScraperHtpasswd to the catalog" in message


@pytest.mark.usefixtures("registered")
def test_the_key_without_a_basic_route_is_dead_config_and_refused() -> None:
    message = refused(split("doc-scraper", basicAuthSecret=DO_KEY))
    assert f"basicAuthSecret: '{DO_KEY}' guards nothing: no route uses auth: basic; remove it" in message


def test_the_key_must_be_the_tenants_own() -> None:
    # Not the platform's flowerHtpasswd either: its users would then log in to the tenant too.
    message = refused(split("doc-scraper", routes=[ADMIN_ROUTE], basicAuthSecret="flowerHtpasswd"))
    assert "basicAuthSecret: 'flowerHtpasswd' is not this tenant's; name it docScraper<Name>" in message


def test_the_key_must_be_registered() -> None:
    message = refused(split("doc-scraper", routes=[ADMIN_ROUTE], basicAuthSecret="docScraperUnknown"))
    assert "basicAuthSecret: 'docScraperUnknown' is not a registered secret: add SecretSpec(" in message


def test_every_problem_is_reported_at_once() -> None:
    message = refused(
        split(
            "doc-scraper",
            basicAuthSecret="rwpHtpasswd",
            alertReceiver={"webhookSecret": "docScraperUnknownHook"},
        )
    )
    assert "alertReceiver.webhookSecret: 'docScraperUnknownHook' is not a registered secret" in message
    assert "basicAuthSecret: 'rwpHtpasswd' guards nothing" in message
    assert "basicAuthSecret: 'rwpHtpasswd' is not this tenant's" in message


def test_no_committed_catalog_uses_basic_auth() -> None:
    # The field is for a future tenant: none of today's needs it (so none names a key).
    for path in sorted((ROOT / "tenants").glob("*.yaml")):
        catalog = yaml.safe_load(path.read_text())
        if path.stem == "niche-discovery":
            continue  # the platform's own catalog (platform:apps): Flower's route uses flowerHtpasswd
        assert "basicAuthSecret" not in catalog, path.name
        assert all(r.get("auth", "none") == "none" for r in catalog.get("routes", [])), path.name


# --- The whole program, DigitalOcean ----------------------------------------------------------------


def staging_tenants(**doc_scraper: Any) -> list[dict[str, Any]]:
    """Staging's tenants with doc-scraper's entry replaced by a split one carrying the admin route."""
    listed = copy.deepcopy(stack_file_config("staging")["platform:tenants"])
    index = next(i for i, t in enumerate(listed) if t["catalog"] == "tenants/doc-scraper.yaml")
    stack = listed[index]
    value = split("doc-scraper", routes=[ADMIN_ROUTE], **doc_scraper)
    value["apps"].update({k: stack[k] for k in ("imageTag", "imagePullSecret", "services")})
    listed[index] = value
    return listed


def in_namespace(run: StackRun, type_token: str, namespace: str) -> list[Resource]:
    return [r for r in run.of_type(type_token) if r.inputs["metadata"].get("namespace") == namespace]


def assert_guarded(run: StackRun, namespace: str) -> None:
    """The admin path has its own HTTPRoute, a SecurityPolicy reading the Secret, the Secret marked secret."""
    (policy,) = in_namespace(run, SECURITY_POLICY, namespace)
    assert policy.inputs["spec"] == {
        "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "api-basic-auth"}],
        "basicAuth": {"users": {"name": "edge-basic-auth"}},
    }
    routes = {r.inputs["metadata"]["name"]: r for r in in_namespace(run, HTTPROUTE, namespace)}
    assert [rule["matches"][0]["path"]["value"] for rule in routes["api-basic-auth"].inputs["spec"]["rules"]] == [
        "/admin"
    ]
    assert "/admin" not in str(routes["api"].inputs["spec"])  # never served without the password
    (secret,) = [
        s for s in in_namespace(run, K8S_SECRET, namespace) if s.inputs["metadata"]["name"] == "edge-basic-auth"
    ]
    assert secret.inputs["stringData"] == {".htpasswd": HTPASSWD + "\n"}
    assert "stringData" in secret.secret_inputs
    rendered = list(crd_validation.custom_resources([policy, *routes.values()]))
    assert len(rendered) == 3
    for resource in rendered:
        assert crd_validation.validate(resource.type, crd_validation.as_sent(dict(resource.body))) == [], resource.name


@pytest.mark.usefixtures("registered")
def test_a_digitalocean_tenants_basic_route_is_guarded_by_its_own_htpasswd() -> None:
    run = run_main(
        "staging",
        overrides={"tenants": staging_tenants(basicAuthSecret=DO_KEY)},
        secrets={**TEST_SECRETS, DO_KEY: HTPASSWD},
    )
    assert_guarded(run, "doc-scraper-staging")
    # The platform's own Flower keeps its own secret; no other tenant gets a policy.
    namespaces = {r.inputs["metadata"]["namespace"] for r in run.of_type(SECURITY_POLICY)}
    assert namespaces == {"doc-scraper-staging", "niche-discovery-staging"}


@pytest.mark.usefixtures("registered")
def test_a_listed_tenants_unset_htpasswd_stops_the_run_before_anything_is_registered() -> None:
    with pytest.raises(ConfigError) as err:
        run_main("staging", overrides={"tenants": staging_tenants(basicAuthSecret=DO_KEY)})
    assert [p.key for p in err.value.problems] == [f"platform:{DO_KEY}"]
    assert len(err.value.stack_run.resources) <= 1  # type: ignore[attr-defined]  # the root stack at most


def test_a_basic_route_without_the_key_stops_the_run_at_load_not_mid_program() -> None:
    # Before: TenantRoutes raised ValueError after the cluster, databases and namespaces were registered.
    with pytest.raises(ConfigError) as err:
        run_main("staging", overrides={"tenants": staging_tenants()})
    assert "add basicAuthSecret: docScraperHtpasswd" in str(err.value)
    assert len(err.value.stack_run.resources) <= 1  # type: ignore[attr-defined]  # the root stack at most


# --- The whole program, AWS -------------------------------------------------------------------------


@pytest.mark.usefixtures("registered")
def test_an_aws_tenants_basic_route_is_guarded_by_its_own_htpasswd() -> None:
    tenant = split("podcast-summariser", routes=[ADMIN_ROUTE], basicAuthSecret=AWS_KEY)
    run = run_main(
        "production",
        overrides={**AWS_TENANT_ENABLED, "tenants": [tenant]},
        secrets={**TEST_SECRETS, AWS_KEY: HTPASSWD},
    )
    assert_guarded(run, "podcast-summariser-production")
