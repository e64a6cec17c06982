"""Issue 17: production rules hold whatever a stack leaves out, no secret reaches error output, the bad
inputs an audit found are refused with key, value and fix, and every numeric bound is pinned on both sides.

Regenerate the golden resolved configs with ``UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_config_hardening.py``
and review the diff: it is every default as each committed stack resolves it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from stack_config import SECRETS, ConfigError, Secrets, StackConfig, apps, load, loader, stack_files
from stack_config.apps import (
    Autoscaling,
    Catalog,
    HttpGet,
    Probe,
    Quantities,
    QueueTrigger,
    Service,
    ServiceOverride,
    cpu_millis,
    memory_mib,
)
from stack_config.backup import BackupConfig
from stack_config.base import Problem
from stack_config.budget import BudgetConfig
from stack_config.credentials import REDACTED, credential_shape, redact, redact_text
from stack_config.edge import AddonsConfig, ChartVersions, EdgeConfig, LoadBalancerConfig
from stack_config.eks import EksConfig, EksNodePool
from stack_config.infra import (
    CacheConfig,
    ClusterConfig,
    MonitoringConfig,
    NetworkConfig,
    NodePool,
    PostgresConfig,
    SystemPool,
    TenantConfig,
    database_ram_gb,
)
from stack_config.observability import ObservabilityConfig, Thresholds
from tests.harness import ROOT, TEST_SECRETS, deep_merge, run, stack_file_config

GOLDEN = ROOT / "tests" / "golden" / "config"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 2
DO_TOKEN = "dop_v1_" + "0123456789abcdef" * 4
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
SLACK_TOKEN = "xoxb-1234567890-abcdefghij"
ARABIC_0200 = "\u0660\u0662:\u0660\u0660"
"""02:00 in Arabic-Indic digits, which Python's \\d matches."""


def base_config(stack: str) -> dict[str, Any]:
    return {k.removeprefix("platform:"): v for k, v in stack_file_config(stack).items()}


def outcome(
    stack: str,
    overrides: dict[str, Any] | None = None,
    *,
    config: dict[str, Any] | None = None,
    stack_name: str | None = None,
    secrets: dict[str, str] | None = None,
    plaintext: dict[str, str] | None = None,
) -> StackConfig | ConfigError:
    """The loaded config of ``stack`` with ``overrides`` deep-merged, or the ConfigError it raises."""
    merged = config if config is not None else deep_merge(base_config(stack), overrides or {})
    captured: list[StackConfig] = []
    try:
        run(
            lambda: captured.append(load()),
            stack=stack_name or stack,
            config=merged,
            secrets=TEST_SECRETS if secrets is None else secrets,
            plaintext=plaintext,
        )
    except ConfigError as error:
        return error
    return captured[0]


def refused(stack: str, overrides: dict[str, Any] | None = None, **kwargs: Any) -> ConfigError:
    result = outcome(stack, overrides, **kwargs)
    assert isinstance(result, ConfigError), f"accepted: {overrides}"
    return result


def problem(error: ConfigError, key: str) -> Problem:
    found = [p for p in error.problems if p.key == key]
    assert found, f"{key} not named:\n{error.render()}"
    return found[0]


# ------------------------------------------------------------------------------------------------
# Production rules hold when a section is left out

OPTIONAL_SECTIONS = ["region", "protect", "cluster", "postgres", "cache", "monitoring", "backup", "eks", "addons"]
OPTIONAL_SECTIONS += ["observability", "budget"]
REQUIRED_SECTIONS = ["environment", "tenant", "network", "apps", "edge"]


@pytest.mark.parametrize("section", OPTIONAL_SECTIONS + REQUIRED_SECTIONS)
def test_production_without_a_section_is_production_safe_or_refused_naming_the_key(section: str) -> None:
    config = {k: v for k, v in base_config("production").items() if k != section}
    result = outcome("production", config=config)
    if isinstance(result, ConfigError):
        assert all(p.key.startswith(f"platform:{section}") for p in result.problems), result.render()
        assert all(p.message for p in result.problems)
        return
    # Accepted: then what the defaults resolved to meets production's rules.
    assert result.protect
    assert result.cluster.ha and result.cluster.auto_upgrade and result.cluster.surge_upgrade
    assert all((p.min_nodes or p.node_count or 0) >= 2 for p in result.cluster.pools.values())
    assert result.postgres.node_count >= 2 and result.cache.node_count >= 2
    assert result.monitoring.backups
    assert result.backup.enabled and result.backup.kms_key == "dedicated"
    assert result.addons.ingress_replicas >= 2
    assert result.observability.alert_emails and len(result.observability.uptime_regions) >= 2


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("cluster", "platform:cluster.ha"),
        ("postgres", "platform:postgres.nodeCount"),
        ("cache", "platform:cache.nodeCount"),
        ("monitoring", "platform:monitoring.backups"),
        ("backup", "platform:backup.kmsKey"),
        ("observability", "platform:observability.alertEmails"),
        ("protect", "platform:protect"),
    ],
)
def test_each_omitted_production_section_that_its_defaults_would_weaken_is_refused(section: str, key: str) -> None:
    config = {k: v for k, v in base_config("production").items() if k != section}
    error = outcome("production", config=config)
    assert isinstance(error, ConfigError)
    assert problem(error, key).message


def test_default_node_pools_are_judged_with_the_environment() -> None:
    # The default pools are model instances built without context; they are validated again in it.
    assert ClusterConfig().pools["general"].min_nodes == 2
    error = refused("production", {"cluster": {"pools": {"general": {"minNodes": 1}}}})
    assert "production pools need minNodes >= 2" in problem(error, "platform:cluster.pools.general.minNodes").message


# ------------------------------------------------------------------------------------------------
# The audit's bad inputs: each refused with its key, its value and a fix

BAD_INPUTS: list[tuple[str, str, Any, str, str]] = [
    # (stack, dotted key, value, key named, phrase of the fix)
    ("staging", "network.vpcCidr", "10.120.0.0/16", "platform:network.vpcCidr", "of stack 'production'"),
    ("staging", "network.serviceSubnet", "10.122.0.0/20", "platform:network.serviceSubnet", "pick an unused range"),
    ("staging", "cluster.versionPrefix", "1.99.", "platform:cluster.versionPrefix", "does not exist yet"),
    ("staging", "eks.kubernetesVersion", "1.99", "platform:eks.kubernetesVersion", "does not exist yet"),
    ("staging", "backup.schedule", "59-0 * * * *", "platform:backup.schedule", "not a valid cron expression"),
    ("staging", "backup.schedule", "\u0660 * * * *", "platform:backup.schedule", "ASCII"),
    (
        "staging",
        "eks.adminRoleArns",
        ["arn:aws:iam::123456789012:role/\u00e4dmins"],
        "platform:eks.adminRoleArns",
        "IAM role ARNs",
    ),
    ("staging", "postgres.storageSizeMib", -5, "platform:postgres.storageSizeMib", "greater than or equal to 10240"),
    ("staging", "postgres.storageSizeMib", 10**30, "platform:postgres.storageSizeMib", "less than or equal"),
    ("staging", "cluster.pools.general.maxNodes", 10**12, "platform:cluster.pools.general.maxNodes", "less than"),
    ("staging", "tenant.displayName", "", "platform:tenant.displayName", "at least 1 character"),
    ("staging", "tenant.displayName", "x" * 10_000, "platform:tenant.displayName", "at most 80 characters"),
    ("staging", "tenant.displayName", "   ", "platform:tenant.displayName", "not blank"),
    (
        "staging",
        "cluster.maintenance.startTime",
        "\u0660\u0662:\u0660\u0660",
        "platform:cluster.maintenance.startTime",
        "HH:MM",
    ),
    ("staging", "cluster.versionPrefix", "1.\u0663\u0665.", "platform:cluster.versionPrefix", "minor prefix"),
    ("staging", "eks.kubernetesVersion", "1.\u0663\u0665", "platform:eks.kubernetesVersion", "Kubernetes minor"),
    (
        "staging",
        "postgres.maintenance.hour",
        "\u0660\u0662:\u0660\u0660",
        "platform:postgres.maintenance.hour",
        "HH:MM",
    ),
    (
        "staging",
        "observability.alertEmails",
        "ops@nichediscovery.com",
        "platform:observability.alertEmails",
        "YAML list",
    ),
    (
        "staging",
        "cluster.pools.general.minNodes",
        "two",
        "platform:cluster.pools.general.minNodes",
        "pulumi config set",
    ),
    (
        "staging",
        "apps.config.DATABASE_URL",
        "postgresql://app:hunter2@db.example:25060/app",
        "platform:apps.config.DATABASE_URL",
        "--secret --path 'apps.config.DATABASE_URL'",
    ),
]


def _nested(dotted: str, value: Any) -> dict[str, Any]:
    head, _, rest = dotted.partition(".")
    return {head: _nested(rest, value) if rest else value}


@pytest.mark.parametrize(
    ("stack", "dotted", "value", "key", "fix"), BAD_INPUTS, ids=[f"{i}-{b[1]}" for i, b in enumerate(BAD_INPUTS)]
)
def test_bad_input_is_refused_with_key_value_and_fix(stack: str, dotted: str, value: Any, key: str, fix: str) -> None:
    error = refused(stack, _nested(dotted, value))
    found = problem(error, key)
    assert fix in found.message, found.render()
    rendered = error.render()
    assert f"{key} = " in rendered
    assert "hunter2" not in rendered


def test_duplicate_keys_in_the_stack_file_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The 21st bad input: a second `general:` pool silently replaces the first by the time the engine
    # hands the config over, so the stack file itself is read again.
    text = (ROOT / "Pulumi.staging.yaml").read_text()
    text = text.replace(
        "    pools:\n",
        "    pools:\n      general:\n        size: s-4vcpu-8gb\n        minNodes: 1\n        maxNodes: 9\n",
        1,
    )
    (tmp_path / "Pulumi.staging.yaml").write_text(text)
    shutil.copy(ROOT / "Pulumi.production.yaml", tmp_path / "Pulumi.production.yaml")
    monkeypatch.setattr(stack_files, "ROOT", tmp_path)
    error = refused("staging")
    found = problem(error, "platform:cluster.pools.general")
    assert "sets this key twice" in found.message and "merge the two" in found.message
    assert found.value.startswith("line ")


def test_the_committed_stack_files_repeat_no_key() -> None:
    assert stack_files.duplicate_keys("staging") == stack_files.duplicate_keys("production") == []


def test_duplicates_are_found_at_every_depth_with_their_lines() -> None:
    text = "config:\n  a:\n    b: 1\n    b: 2\n  a: {}\nlist:\n  - {x: 1, x: 2}\n"
    _, duplicates = stack_files.load_unique(text)
    assert [(d.path, d.line, d.first_line) for d in duplicates] == [
        ("config.a.b", 4, 3),
        ("config.a", 5, 2),
        ("list[0].x", 7, 7),
    ]


def test_a_stack_file_missing_or_unparsable_has_no_duplicates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack_files, "ROOT", tmp_path)
    assert stack_files.duplicate_keys("staging") == []
    (tmp_path / "Pulumi.staging.yaml").write_text("config: [unclosed\n")
    assert stack_files.duplicate_keys("staging") == []


def test_a_copy_of_the_same_deployment_under_another_name_is_not_an_overlap() -> None:
    # `<tenant>-staging` with staging's own file content: the same tenant and environment.
    assert isinstance(outcome("staging", stack_name="niche-discovery-staging"), StackConfig)


def test_eks_ranges_of_two_stacks_clash_only_while_both_are_enabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    production = (ROOT / "Pulumi.production.yaml").read_text() + "  platform:eks:\n    enabled: true\n"
    (tmp_path / "Pulumi.production.yaml").write_text(production)
    monkeypatch.setattr(stack_files, "ROOT", tmp_path)
    others = list(stack_files.other_stacks("staging"))
    assert [(o.name, o.environment, o.tenant) for o in others] == [("production", "production", "niche-discovery")]
    assert stack_files.Range("eks.vpcCidr", "10.100.0.0/16") in others[0].ranges
    assert stack_files.overlaps("10.100.0.0/16", "10.100.4.0/24")
    assert not stack_files.overlaps("10.100.0.0/16", "10.101.0.0/16")
    assert not stack_files.overlaps("not a range", "10.0.0.0/8")


def test_other_stack_files_that_are_not_stack_configs_are_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Pulumi.broken.yaml").write_text("config: [unclosed\n")
    (tmp_path / "Pulumi.empty.yaml").write_text("")
    (tmp_path / "Pulumi.list.yaml").write_text("config: [1, 2]\n")
    (tmp_path / "Pulumi.plain.yaml").write_text("config:\n  platform:tenant: acme\n")
    monkeypatch.setattr(stack_files, "ROOT", tmp_path)
    assert [(o.name, o.tenant, o.ranges) for o in stack_files.other_stacks("staging")] == [("plain", None, [])]


# ------------------------------------------------------------------------------------------------
# No secret in error output


def test_a_misspelt_secret_is_refused_without_printing_it() -> None:
    error = refused("staging", plaintext={"jwtsecret": "plain-jwt-value-0123"})
    found = problem(error, "platform:jwtsecret")
    assert found.value == REDACTED
    assert "pulumi config set --stack staging --secret jwtSecret '<value>'" in found.message
    assert "pulumi config rm --stack staging jwtsecret" in found.message
    assert "plain-jwt-value-0123" not in error.render()


def test_an_encrypted_value_under_an_unknown_key_is_refused_without_printing_it() -> None:
    secrets = {**TEST_SECRETS, "databaseMasterKey": "encrypted-but-unread-0123"}
    error = refused("staging", secrets=secrets)
    found = problem(error, "platform:databaseMasterKey")
    assert "does not read" in found.message and "pulumi config rm --stack staging databaseMasterKey" in found.message
    assert "encrypted-but-unread-0123" not in error.render()


def test_a_credential_url_in_apps_config_is_refused_and_the_map_is_printed_redacted() -> None:
    url = "postgresql://app:hunter2@db.example:25060/app"
    error = refused("staging", {"apps": {"config": {"DATABASE_URL": url, "LOG_LEVEL": "info"}}})
    rendered = error.render()
    assert "hunter2" not in rendered
    assert "postgresql://<redacted>@db.example:25060/app" in rendered
    found = problem(error, "platform:apps.config.DATABASE_URL")
    assert "URL with credentials" in found.message
    assert "pulumi config set --stack staging --secret --path 'apps.config.DATABASE_URL' '<value>'" in found.message


@pytest.mark.parametrize(
    ("dotted", "value", "kind"),
    [
        ("apps.config.DEPLOY_KEY_ID", AWS_KEY_ID, "an AWS access key id"),
        ("edge.acmeEmail", GITHUB_TOKEN, "a GitHub token"),
        ("region", DO_TOKEN, "a DigitalOcean token"),
        ("observability.slackChannel", SLACK_TOKEN, "a Slack token"),
        ("tenant.displayName", "https://deploy:s3cr3t@git.example/acme", "a URL with credentials"),
        ("monitoring.adminCidrs", ["10.0.0.0/8", f"token {GITHUB_TOKEN}"], "a GitHub token"),
    ],
)
def test_credential_shaped_plain_values_are_refused_naming_the_key_and_the_secret_command(
    dotted: str, value: Any, kind: str
) -> None:
    error = refused("staging", _nested(dotted, value))
    path = dotted + ("[1]" if isinstance(value, list) else "")
    found = problem(error, f"platform:{path}")
    assert kind in found.message
    assert f"pulumi config set --stack staging --secret --path '{path}'" in found.message
    rendered = error.render()
    for secret in (GITHUB_TOKEN, DO_TOKEN, AWS_KEY_ID, SLACK_TOKEN, "s3cr3t"):
        assert secret not in rendered


def test_an_unknown_key_named_like_a_credential_is_printed_redacted() -> None:
    error = refused("staging", {"cluster": {"apiToken": "looks-harmless-0123"}})
    assert problem(error, "platform:cluster.apiToken").value == "looks-harmless-0123"  # stored as given
    assert "looks-harmless-0123" not in error.render()


def test_redaction_rules() -> None:
    assert redact("x", "platform:jwtSecret") == REDACTED
    assert redact({"DB_PASSWORD": "p", "LOG": "info"}) == {"DB_PASSWORD": REDACTED, "LOG": "info"}
    assert redact(["a", f"k={GITHUB_TOKEN}"]) == ["a", f"k={REDACTED}"]
    assert redact(("a",)) == ["a"]
    assert redact(3, "size") == 3
    assert redact("", "password") == ""
    assert redact(None, "password") is None
    assert redact_text("see rediss://default:pw@host:25061 now") == "see rediss://<redacted>@host:25061 now"
    assert redact_text("nothing to hide") == "nothing to hide"
    assert credential_shape("https://example.com/path@x") is None
    assert credential_shape("-----BEGIN OPENSSH PRIVATE KEY-----") == "a private key"
    assert credential_shape("https://hooks.slack.com/services/T000/B000/XYZ") == "a Slack webhook"


def test_the_plaintext_secret_problem_never_shows_the_value() -> None:
    secrets = {k: v for k, v in TEST_SECRETS.items() if k != "jwtSecret"}
    error = refused("staging", secrets=secrets, plaintext={"jwtSecret": "plain-jwt-value"})
    assert problem(error, "platform:jwtSecret").value == REDACTED
    assert "plain-jwt-value" not in error.render()


# ------------------------------------------------------------------------------------------------
# Messages: every problem carries a fix, counted correctly


@pytest.mark.parametrize(
    ("overrides", "key", "hint"),
    [
        ({"protect": "maybe"}, "platform:protect", "pulumi config set --stack production --path 'protect' true"),
        ({"postgres": {"poolSize": "many"}}, "platform:postgres.poolSize", "--path 'postgres.poolSize' 3"),
        ({"cluster": {"pools": ["general"]}}, "platform:cluster.pools", "a YAML mapping"),
        ({"monitoring": {"adminCidrs": "10.0.0.0/8"}}, "platform:monitoring.adminCidrs", "a YAML list"),
        ({"tenant": {"name": 7}}, "platform:tenant.name", "--path 'tenant.name' 'text'"),
        (
            {"postgres": {"version": "14"}},
            "platform:postgres.version",
            "set an allowed value in Pulumi.production.yaml",
        ),
        ({"tenant": {"displayName": None}}, "platform:tenant.displayName", "set it in Pulumi.production.yaml"),
    ],
)
def test_pydantics_generic_messages_get_a_fix_hint(overrides: dict[str, Any], key: str, hint: str) -> None:
    message = problem(refused("production", overrides), key).message
    assert hint in message, message
    assert f"docs/configuration.md lists `{key}`" in message


def test_one_problem_is_counted_in_the_singular() -> None:
    error = refused("staging", {"region": "nyc9"})
    assert error.render().startswith("Stack 'staging' has 1 configuration problem; nothing was created.")


def test_problems_of_one_key_are_merged_into_one_line() -> None:
    error = refused("staging", {"region": DO_TOKEN})
    found = problem(error, "platform:region")
    assert [p.key for p in error.problems].count("platform:region") == 1
    assert "a DigitalOcean token" in found.message and "also: " in found.message
    assert found.value == REDACTED


# ------------------------------------------------------------------------------------------------
# Every numeric floor and ceiling, on both sides


def errors_at(model: type[BaseModel], field: str, value: Any, environment: str | None = None) -> list[str]:
    """Messages of the errors ``model`` reports at ``field`` (its alias) for ``value`` (others may be missing)."""
    try:
        model.model_validate({field: value}, context={"environment": environment})
    except ValidationError as err:
        return [e["msg"] for e in err.errors() if tuple(map(str, e["loc"][:1])) == (field,)]
    return []


BOUNDS: list[tuple[type[BaseModel], str, int, int | None, str | None]] = [
    # (model, field alias, lowest accepted, highest accepted (None: unbounded), environment)
    (SystemPool, "nodeCount", 1, 5, None),
    (NodePool, "maxNodes", 1, 100, None),
    (NodePool, "nodeCount", 1, 100, None),
    (NodePool, "minNodes", 1, None, "staging"),
    (NodePool, "minNodes", 2, None, "production"),
    (PostgresConfig, "nodeCount", 1, 3, "staging"),
    (PostgresConfig, "nodeCount", 2, 3, "production"),
    (PostgresConfig, "storageSizeMib", 10240, 16777216, None),
    (PostgresConfig, "poolSize", 1, 100, None),
    (CacheConfig, "nodeCount", 1, 3, "staging"),
    (CacheConfig, "nodeCount", 2, 3, "production"),
    (MonitoringConfig, "volumeSizeGib", 10, 16384, None),
    (MonitoringConfig, "retentionDays", 1, 3650, None),
    (EdgeConfig, "rateLimitRpm", 1, 100000, None),
    (EdgeConfig, "dnsTtl", 30, 86400, None),
    (LoadBalancerConfig, "sizeUnit", 1, 100, None),
    (AddonsConfig, "ingressReplicas", 1, 10, "staging"),
    (AddonsConfig, "ingressReplicas", 2, 10, "production"),
    (Thresholds, "cpuPercent", 1, 100, None),
    (Thresholds, "memoryPercent", 50, 100, None),
    (Thresholds, "diskPercent", 1, 95, None),
    (ObservabilityConfig, "uptimeLatencyMs", 100, 60000, None),
    (ObservabilityConfig, "certificateExpiryDays", 1, 60, None),
    (HttpGet, "port", 1, 65535, None),
    (Probe, "initialDelaySeconds", 0, 600, None),
    (Probe, "periodSeconds", 1, 300, None),
    (Probe, "timeoutSeconds", 1, 120, None),
    (Probe, "failureThreshold", 1, 20, None),
    (QueueTrigger, "tasksPerReplica", 1, None, None),
    (QueueTrigger, "activationTasks", 0, None, None),
    (Autoscaling, "minReplicas", 0, None, None),  # 0 only with a queue: test_apps_config
    (Autoscaling, "maxReplicas", 1, None, None),
    (Autoscaling, "cpuPercent", 1, 100, None),
    (Autoscaling, "memoryPercent", 1, 100, None),
    (Service, "port", 1024, 65535, None),
    (Service, "replicas", 1, 100, None),
    (Service, "metricsPort", 1024, 65535, None),
    (Service, "uid", 10000, 2147483647, None),
    (ServiceOverride, "replicas", 1, 100, None),
    (ServiceOverride, "minReplicas", 1, None, None),
    (ServiceOverride, "maxReplicas", 1, None, None),
    (BackupConfig, "retentionDays", 180, 3650, None),
    (BackupConfig, "noncurrentDays", 1, 90, None),  # guardrails.BACKUP_MAX_NONCURRENT_DAYS
    (BackupConfig, "objectLockDays", 1, None, None),
    (EksConfig, "availabilityZones", 2, 3, "staging"),
    (EksConfig, "maxTotalCpu", 1, None, None),
    (EksConfig, "maxTotalCpu", 1, 128, "staging"),
    (EksConfig, "maxTotalCpu", 1, 512, "production"),
    (EksNodePool, "cpuLimit", 1, 256, None),  # guardrails.EKS_MAX_POOL_CPU, production's (no environment)
    (EksNodePool, "cpuLimit", 1, 64, "staging"),
    (EksNodePool, "cpuLimit", 1, 256, "production"),
]


@pytest.mark.parametrize(
    ("model", "field", "low", "high", "environment"), BOUNDS, ids=lambda v: getattr(v, "__name__", v)
)
def test_numeric_bounds_hold_on_both_sides(
    model: type[BaseModel], field: str, low: int, high: int | None, environment: str | None
) -> None:
    assert errors_at(model, field, low, environment) == []
    assert errors_at(model, field, low - 1, environment) != []
    if high is not None:
        assert errors_at(model, field, high, environment) == []
        assert errors_at(model, field, high + 1, environment) != []


def test_tenant_name_and_display_name_lengths_hold_on_both_sides() -> None:
    assert errors_at(TenantConfig, "name", "a" * 30) == []
    assert errors_at(TenantConfig, "name", "a" * 31) != []
    assert errors_at(TenantConfig, "displayName", "x" * 80) == []
    assert errors_at(TenantConfig, "displayName", "x" * 81) != []
    assert errors_at(TenantConfig, "displayName", "x") == []
    assert errors_at(TenantConfig, "displayName", "tab\there") != []


@pytest.mark.parametrize(
    ("prefix", "ok"), [("1.32.", False), ("1.33.", True), ("1.37.", True), ("1.38.", False), ("1.35", False)]
)
def test_cluster_version_prefix_bounds(prefix: str, ok: bool) -> None:
    assert (errors_at(ClusterConfig, "versionPrefix", prefix) == []) is ok


@pytest.mark.parametrize(("version", "ok"), [("1.33", False), ("1.34", True), ("1.37", True), ("1.38", False)])
def test_eks_version_bounds(version: str, ok: bool) -> None:
    assert (errors_at(EksConfig, "kubernetesVersion", version) == []) is ok


@pytest.mark.parametrize(("prefix", "ha_required"), [("1.35.", False), ("1.36.", True)])
def test_ha_becomes_mandatory_from_kubernetes_1_36(prefix: str, ha_required: bool) -> None:
    try:
        ClusterConfig.model_validate({"versionPrefix": prefix, "ha": False})
    except ValidationError as err:
        assert ha_required and "1.36" in str(err)
    else:
        assert not ha_required


@pytest.mark.parametrize(
    ("schedule", "ok"),
    [
        ("0 * * * *", True),
        ("59 * * * *", True),
        ("0,59 * * * *", True),
        ("*/60 * * * *", True),
        ("0 0-22 * * *", False),
        ("0 * * * * *", False),
        ("0 */1 * * *", True),
        ("0 * * * 1-5", False),
        ("*/45 * * * *", True),
        ("0-30/31 * * * *", True),
    ],
)
def test_backup_schedule_runs_at_most_an_hour_apart(schedule: str, ok: bool) -> None:
    assert (errors_at(BackupConfig, "schedule", schedule) == []) is ok


# ------------------------------------------------------------------------------------------------
# Every default, as each committed stack resolves it


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_resolved_config_matches_its_golden_file(stack: str) -> None:
    result = outcome(stack)
    assert isinstance(result, StackConfig), result.render() if isinstance(result, ConfigError) else ""
    resolved = result.model_dump(mode="json", by_alias=True, exclude={"apps": {"catalog"}})
    text = json.dumps(resolved, indent=2, sort_keys=True) + "\n"
    path = GOLDEN / f"{stack}.json"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing {path}: run with UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(), f"{path} differs: run with UPDATE_GOLDEN=1 and review the diff"


def test_a_catalog_file_that_repeats_a_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "tenants" / "niche-discovery.yaml").read_text()
    (tmp_path / "tenants").mkdir()
    (tmp_path / "tenants" / "dup.yaml").write_text(text + "registry: registry.digitalocean.com/other\n")
    monkeypatch.setattr(apps, "REPO_ROOT", tmp_path)
    error = refused("staging", {"apps": {"catalog": "tenants/dup.yaml"}})
    message = problem(error, "platform:apps.catalog").message
    assert "repeats registry (lines" in message and "merge them" in message


CLOUDWATCH_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557]
CLOUDWATCH_RETENTION_DAYS += [2922, 3288, 3653]
"""The periods CloudWatch Logs' PutRetentionPolicy accepts (AWS API reference), 0 (never expire) left out."""


@pytest.mark.parametrize("days", CLOUDWATCH_RETENTION_DAYS)
def test_every_cloudwatch_retention_period_is_accepted_and_its_neighbours_are_not(days: int) -> None:
    assert errors_at(EksConfig, "logRetentionDays", days) == []
    for neighbour in (days - 1, days + 1):
        if neighbour not in CLOUDWATCH_RETENTION_DAYS:
            assert errors_at(EksConfig, "logRetentionDays", neighbour) != [], neighbour
    assert errors_at(EksConfig, "logRetentionDays", 0) != []


def test_an_enabled_eks_range_is_checked_against_the_other_stacks_enabled_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging = outcome("staging")
    assert isinstance(staging, StackConfig)
    with_eks = staging.model_copy(update={"eks": staging.eks.model_copy(update={"enabled": True})})
    (tmp_path / "Pulumi.production.yaml").write_text(
        (ROOT / "Pulumi.production.yaml").read_text() + "  platform:eks:\n    enabled: true\n"
    )
    monkeypatch.setattr(stack_files, "ROOT", tmp_path)
    assert loader._cross_stack_problems("staging", staging) == []
    problems = loader._cross_stack_problems("staging", with_eks)
    assert [(p.key, p.value) for p in problems] == [("platform:eks.vpcCidr", "10.100.0.0/16")]
    assert "overlaps eks.vpcCidr 10.100.0.0/16 of stack 'production' (Pulumi.production.yaml)" in problems[0].message


@pytest.mark.parametrize(
    ("model", "field", "accepted", "refused"),
    [
        (NetworkConfig, "vpcCidr", ["10.0.0.0/16", "10.0.0.0/24"], ["10.0.0.0/15", "10.0.0.0/25"]),
        (EksConfig, "vpcCidr", ["10.100.0.0/16", "10.100.0.0/20"], ["10.100.0.0/15", "10.100.0.0/21"]),
    ],
)
def test_network_prefix_lengths_hold_on_both_sides(
    model: type[BaseModel], field: str, accepted: list[str], refused: list[str]
) -> None:
    for cidr in accepted:
        assert errors_at(model, field, cidr) == [], cidr
    for cidr in refused:
        assert errors_at(model, field, cidr) != [], cidr


def test_a_version_that_does_not_exist_is_named_in_the_message() -> None:
    assert errors_at(ClusterConfig, "versionPrefix", "1.99.") == [
        "Value error, Kubernetes 1.99 does not exist yet (newest: 1.37); use a released minor such as '1.35.'"
    ]


@pytest.mark.parametrize("policy", ["allkeys_lru", "allkeys_random", "volatile_lru", "volatile_random", "volatile_ttl"])
def test_every_evicting_policy_is_refused_for_the_broker(policy: str) -> None:
    assert errors_at(CacheConfig, "evictionPolicy", policy) != []
    assert errors_at(CacheConfig, "evictionPolicy", "noeviction") == []


ADDON_SUPPORT = {
    "keda": {"2.17": (30, 32), "2.18": (31, 33), "2.19": (32, 34), "2.20": (33, 35), "2.21": (34, 36)},
    "certManager": {"1.18": (29, 33), "1.19": (31, 35), "1.20": (32, 35), "1.21": (33, 36)},
}
"""The add-ons' Kubernetes support windows (KEDA's and cert-manager's own matrices), as recorded."""


@pytest.mark.parametrize(
    ("chart", "release", "low", "high"),
    [(c, r, lo, hi) for c, releases in ADDON_SUPPORT.items() for r, (lo, hi) in releases.items()],
)
def test_each_addon_release_supports_exactly_its_recorded_kubernetes_minors(
    chart: str, release: str, low: int, high: int
) -> None:
    charts = ChartVersions.model_validate({chart: f"{release}.0"})

    def refused_at(minor: int) -> bool:
        return any(p.startswith(f"charts.{chart} ") for p in charts.unsupported_at(minor))

    assert not refused_at(low) and not refused_at(high)
    assert refused_at(low - 1) and refused_at(high + 1)


def test_an_unsupported_addon_names_the_releases_that_fit() -> None:
    charts = ChartVersions.model_validate({"certManager": "v1.18.2", "keda": "2.20.2"})
    assert charts.unsupported_at(35) == [
        "charts.certManager v1.18.2 supports Kubernetes 1.29-1.33, not the cluster's 1.35: pin a 1.19 or 1.20 "
        "or 1.21 release"
    ]
    assert charts.unsupported_at(40) == [
        "charts.keda 2.20.2 supports Kubernetes 1.33-1.35, not the cluster's 1.40: pin a newer release",
        "charts.certManager v1.18.2 supports Kubernetes 1.29-1.33, not the cluster's 1.40: pin a newer release",
        "charts.envoyGateway v1.9.1 supports Kubernetes 1.33-1.36, not the cluster's 1.40: pin a newer release",
    ]
    unrecorded = ChartVersions.model_validate({"keda": "2.99.0"}).unsupported_at(35)
    assert unrecorded[0].startswith("charts.keda 2.99.0 has no recorded Kubernetes support range")


def test_a_key_repeated_outside_the_config_block_is_named_by_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "encryptionsalt: a\nencryptionsalt: b\n" + (ROOT / "Pulumi.staging.yaml").read_text()
    (tmp_path / "Pulumi.staging.yaml").write_text(text)
    shutil.copy(ROOT / "Pulumi.production.yaml", tmp_path / "Pulumi.production.yaml")
    monkeypatch.setattr(stack_files, "ROOT", tmp_path)
    found = problem(refused("staging"), "Pulumi.staging.yaml:encryptionsalt")
    assert (found.value, "lines 1 and 2") == ("line 2", found.message[found.message.index("lines") :][:13])


def test_credential_names_are_read_from_the_last_segment_of_a_dotted_key() -> None:
    assert redact("x", "platform:apps.config.DB_PASSWORD") == REDACTED
    assert redact("x", "platform:cluster.size") == "x"
    assert redact("x", "password.size") == "x"
    assert redact("x", "apps:config") == "x"


@pytest.mark.parametrize("field", ["fullScaleUsd", "minScaleUsd"])
def test_budget_amounts_must_be_positive(field: str) -> None:
    assert errors_at(BudgetConfig, field, 0.01, "staging") == []
    assert errors_at(BudgetConfig, field, 0, "staging") != []
    assert errors_at(BudgetConfig, field, -1, "staging") != []


def test_the_minimum_scale_budget_may_equal_but_not_exceed_the_full_scale_one() -> None:
    assert BudgetConfig.model_validate({"fullScaleUsd": 100, "minScaleUsd": 100}).min_scale_usd == 100
    with pytest.raises(ValidationError, match="exceeds the full-scale budget"):
        BudgetConfig.model_validate({"fullScaleUsd": 100, "minScaleUsd": 100.5})


@pytest.mark.parametrize(("quantity", "mib"), [("512Mi", 512), ("2Gi", 2048), ("1024Ki", 1), ("1Mi", 1)])
def test_memory_quantities_in_mebibytes(quantity: str, mib: float) -> None:
    assert memory_mib(quantity) == mib


@pytest.mark.parametrize(("quantity", "millis"), [("250m", 250), ("1", 1000), ("0.5", 500), ("2", 2000)])
def test_cpu_quantities_in_millicores(quantity: str, millis: int) -> None:
    assert cpu_millis(quantity) == millis


def test_catalog_model_defaults() -> None:
    probe = Probe.model_validate({"exec": ["true"]})
    assert (probe.initial_delay_seconds, probe.period_seconds, probe.timeout_seconds, probe.failure_threshold) == (
        10,
        10,
        5,
        3,
    )
    queue = QueueTrigger.model_validate({"name": "q"})
    assert (queue.tasks_per_replica, queue.activation_tasks) == (10, 0)


def test_a_misspelt_size_lists_at_most_five_close_matches() -> None:
    assert errors_at(NodePool, "size", "s-2vcpu-99gb") == [
        "Value error, 's-2vcpu-99gb' is not a valid droplet size (the set comes from pulumi-digitalocean's enums). "
        "Close matches: s-2vcpu-2gb, s-2vcpu-2gb-90gb-intel, s-2vcpu-2gb-amd, s-2vcpu-2gb-intel, s-2vcpu-4gb."
    ]


@pytest.mark.parametrize(
    ("regions", "environment", "ok"),
    [
        (["us_east"], "staging", True),
        (["us_east"], "production", False),
        (["us_east", "eu_west"], "production", True),
        (["us_east", "us_east"], "staging", False),
        ([], "staging", False),
    ],
)
def test_uptime_regions(regions: list[str], environment: str, ok: bool) -> None:
    assert (errors_at(ObservabilityConfig, "uptimeRegions", regions, environment) == []) is ok


@pytest.mark.parametrize("which", ["liveness", "readiness"])
def test_an_http_probe_of_a_service_without_a_port_needs_its_own(which: str) -> None:
    quantities = {"cpu": "100m", "memory": "128Mi"}
    probes: dict[str, dict[str, Any]] = {"liveness": {"exec": ["true"]}, "readiness": {"exec": ["true"]}}
    probes[which] = {"httpGet": {"path": "/health"}}
    service = {"image": "api", "resources": {"requests": quantities, "limits": quantities}, **probes}
    with pytest.raises(ValidationError, match=f"{which}.httpGet needs a port"):
        Service.model_validate(service)
    probes[which] = {"httpGet": {"path": "/health", "port": 8080}}
    assert Service.model_validate({**service, **probes}).port is None


def test_a_backup_image_tag_other_than_latest_is_pinned() -> None:
    for image in ("registry.example/x/pg-backup:v17", "registry.example/x/pg-backup:main-2026"):
        assert errors_at(BackupConfig, "image", image) == [], image
    assert errors_at(BackupConfig, "image", "registry.example/x/pg-backup:latest") != []


def test_an_error_without_problems_counts_them_in_the_plural() -> None:
    assert ConfigError("staging", []).render().startswith("Stack 'staging' has 0 configuration problems;")


def test_credential_urls_are_found_whatever_the_case_of_their_scheme() -> None:
    assert redact_text("HTTPS://deploy:s3cr3t@git.example/x") == "HTTPS://<redacted>@git.example/x"


def test_staging_without_a_subdomain_is_refused_through_the_loader() -> None:
    # Through the loader, the environment is the string the engine handed over, not an interned literal.
    error = refused("staging", {"edge": {"subdomain": None}})
    assert "staging must set a subdomain" in problem(error, "platform:edge.subdomain").message


@pytest.mark.parametrize(
    ("field", "accepted", "refused"),
    [
        ("clusterSubnet", ["10.111.0.0/16", "10.111.0.0/20"], ["10.110.0.0/15", "10.111.0.0/21"]),
        ("serviceSubnet", ["10.112.0.0/16", "10.112.0.0/24"], ["10.112.0.0/15", "10.112.0.0/25"]),
    ],
)
def test_cluster_subnet_prefix_lengths_hold_on_both_sides(field: str, accepted: list[str], refused: list[str]) -> None:
    for cidr in accepted:
        assert errors_at(NetworkConfig, field, cidr) == [], cidr
    for cidr in refused:
        assert errors_at(NetworkConfig, field, cidr) != [], cidr


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_loaded_config_knows_whether_it_is_production(stack: str) -> None:
    result = outcome(stack)
    assert isinstance(result, StackConfig)
    assert result.is_production is (stack == "production")


@pytest.mark.parametrize(
    ("enabled", "counted"), [(True, True), (1, True), ("true", True), (False, False), ("no", False)]
)
def test_an_eks_range_counts_when_pydantic_would_read_enabled_as_true(enabled: Any, counted: bool) -> None:
    ranges = stack_files.ranges_of({"platform:eks": {"enabled": enabled}})
    assert (stack_files.Range("eks.vpcCidr", "10.100.0.0/16") in ranges) is counted


def test_the_smallest_memory_quantity_is_accepted() -> None:
    assert errors_at(Quantities, "memory", "1Mi") == []
    assert errors_at(Quantities, "memory", "0Mi") != []


def test_allow_from_a_service_the_catalog_does_not_define_is_refused() -> None:
    catalog = yaml.safe_load((ROOT / "tenants" / "niche-discovery.yaml").read_text())
    catalog["services"]["frontend"]["allowFrom"] = ["ghost"]
    with pytest.raises(ValidationError, match=r"frontend.allowFrom names \['ghost'\]"):
        Catalog.model_validate(catalog)


def test_the_config_map_is_the_catalogs_overlaid_with_the_stacks() -> None:
    result = outcome("staging", {"apps": {"config": {"LOG_LEVEL": "debug"}}})
    assert isinstance(result, StackConfig)
    merged = result.apps.config_map()
    assert merged["LOG_LEVEL"] == "debug"
    assert merged["ENVIRONMENT"] == "staging"
    assert set(result.apps.catalog.config) <= set(merged)


def test_a_backup_image_without_a_registry_path_is_read_too() -> None:
    assert errors_at(BackupConfig, "image", "pg-backup:17-1") == []
    assert errors_at(BackupConfig, "image", "pg-backup") != []


def test_an_unsupported_addon_suggests_only_releases_that_support_the_cluster() -> None:
    charts = ChartVersions.model_validate({"keda": "2.20.2", "certManager": "v1.19.0"})
    assert charts.unsupported_at(30) == [
        "charts.keda 2.20.2 supports Kubernetes 1.33-1.35, not the cluster's 1.30: pin a 2.17 release",
        "charts.certManager v1.19.0 supports Kubernetes 1.31-1.35, not the cluster's 1.30: pin a 1.18 release",
        "charts.envoyGateway v1.9.1 supports Kubernetes 1.33-1.36, not the cluster's 1.30: pin a 1.5 or 1.6 release",
    ]


def test_keys_of_other_namespaces_are_skipped_not_a_reason_to_stop_reading() -> None:
    config = {"aws:region": "us-east-1", "digitalocean:token": "x", **base_config("staging")}
    assert isinstance(outcome("staging", config=config), StackConfig)


def test_a_stack_is_never_compared_with_its_own_file() -> None:
    # Another tenant's config under this stack's name: its own file (niche-discovery) is not "another stack".
    result = outcome("staging", {"tenant": {"name": "other-tenant"}})
    assert isinstance(result, StackConfig), result.render() if isinstance(result, ConfigError) else ""


def test_a_long_list_without_duplicates_is_not_taken_for_one_with_duplicates() -> None:
    # Past 256, two equal lengths are different int objects: the check must compare values.
    emails = [f"ops{i}@example.com" for i in range(300)]
    assert errors_at(ObservabilityConfig, "alertEmails", emails) == []
    assert errors_at(ObservabilityConfig, "alertEmails", [*emails, emails[0]]) != []


def test_the_smallest_cpu_quantity_is_accepted() -> None:
    assert errors_at(Quantities, "cpu", "1m") == []
    assert errors_at(Quantities, "cpu", "0m") != []


def test_a_registry_needs_a_dotted_host_and_a_namespace() -> None:
    catalog = yaml.safe_load((ROOT / "tenants" / "niche-discovery.yaml").read_text())
    for registry in ("localhost/acme", "registry.example.com", "registry.example.com/acme:1"):
        with pytest.raises(ValidationError, match="registry host"):
            Catalog.model_validate({**catalog, "registry": registry})
    assert Catalog.model_validate({**catalog, "registry": "registry.example.com/acme"}).registry.endswith("/acme")


def test_a_missing_key_is_shown_unset() -> None:
    error = refused("staging", {"tenant": {"displayName": None}})
    assert "platform:tenant.displayName = <unset>" in error.render()


def test_a_scheme_of_non_ascii_letters_is_no_url() -> None:
    text = "\u017f://user:pw@host"
    assert credential_shape(text) is None
    assert redact_text(text) == text


def test_an_autoscaling_pool_needs_both_bounds() -> None:
    for fields in ({"minNodes": 1}, {"maxNodes": 3}):
        with pytest.raises(ValidationError, match="needs both minNodes and maxNodes"):
            NodePool.model_validate({"size": "s-2vcpu-4gb", **fields})


@pytest.mark.parametrize(("nodes", "ok"), [(1, True), (2, False), (3, False)])
def test_a_standby_needs_a_plan_with_two_gigabytes(nodes: int, ok: bool) -> None:
    try:
        PostgresConfig.model_validate(
            {"size": "db-s-1vcpu-1gb", "nodeCount": nodes}, context={"environment": "staging"}
        )
    except ValidationError as err:
        assert not ok and ">= 2 GB RAM" in str(err)
    else:
        assert ok


def test_a_secret_spec_is_immutable() -> None:
    spec = SECRETS[0]
    with pytest.raises(FrozenInstanceError):
        spec.key = "other"  # type: ignore[misc]


def test_only_structured_values_are_decoded_as_json() -> None:
    # A plain string that happens to be valid JSON stays the string the stack file holds.
    found = problem(refused("staging", {"region": "123"}), "platform:region")
    assert found.value == "123" and "is not a valid region" in found.message


def test_an_override_of_only_the_maximum_changes_only_the_maximum() -> None:
    result = outcome("staging", {"apps": {"services": {"api-service": {"minReplicas": None, "maxReplicas": 5}}}})
    assert isinstance(result, StackConfig)
    scaling = result.apps.resolved_services()["api-service"].autoscaling
    catalog = result.apps.catalog.services["api-service"].autoscaling
    assert scaling is not None and catalog is not None
    assert (scaling.min_replicas, scaling.max_replicas) == (catalog.min_replicas, 5)


def test_a_service_subnet_inside_the_pod_subnet_is_refused() -> None:
    error = refused("staging", {"network": {"serviceSubnet": "10.111.16.0/24"}})
    assert "overlaps clusterSubnet 10.111.0.0/16" in problem(error, "platform:network.serviceSubnet").message


@pytest.mark.parametrize(
    ("slug", "gb"), [("db-s-2vcpu-4gb", 4), ("db-s-1vcpu-1gb", 1), ("gd-2vcpu-8gb", 8), ("custom", 0)]
)
def test_database_plan_memory_is_read_from_the_slug(slug: str, gb: int) -> None:
    assert database_ram_gb(slug) == gb


def test_an_unrecorded_addon_release_does_not_hide_the_next_addons_problem() -> None:
    charts = ChartVersions.model_validate({"keda": "2.99.0", "certManager": "v1.18.2"})
    assert [p.split(" ")[0] for p in charts.unsupported_at(35)] == ["charts.keda", "charts.certManager"]


@pytest.mark.parametrize(
    ("field", "items"),
    [
        ("apiIngressCidrs", [f"10.{i // 256}.{i % 256}.0/24" for i in range(300)]),
        ("apiIngressSecurityGroupIds", [f"sg-{i:017x}" for i in range(300)]),
    ],
)
def test_long_eks_lists_without_repeats_are_not_taken_for_lists_with_repeats(field: str, items: list[str]) -> None:
    assert errors_at(EksConfig, field, items) == []
    assert errors_at(EksConfig, field, [*items, items[0]]) != []


def test_a_service_runs_as_uid_10001_by_default() -> None:
    quantities = {"cpu": "100m", "memory": "128Mi"}
    service = {
        "image": "api",
        "resources": {"requests": quantities, "limits": quantities},
        "liveness": {"exec": ["true"]},
        "readiness": {"exec": ["true"]},
    }
    assert Service.model_validate(service).uid == 10001


def test_the_latest_tag_is_refused_through_the_loader() -> None:
    error = refused("staging", {"apps": {"imageTag": "latest"}})
    assert "'latest' is not a pinned image" in problem(error, "platform:apps.imageTag").message


@pytest.mark.parametrize(
    ("fields", "ok"),
    [({}, True), ({"minNodes": 1}, False), ({"maxNodes": 3}, False), ({"minNodes": 1, "maxNodes": 3}, False)],
)
def test_a_fixed_size_pool_takes_no_autoscaling_bounds(fields: dict[str, int], ok: bool) -> None:
    pool = {"size": "s-2vcpu-4gb", "autoScale": False, "nodeCount": 2, **fields}
    try:
        NodePool.model_validate(pool)
    except ValidationError as err:
        assert not ok and "only apply with autoScale true" in str(err)
    else:
        assert ok


def test_a_value_that_looks_like_json_but_is_not_stays_a_string() -> None:
    found = problem(refused("staging", {"region": "{nyc1"}), "platform:region")
    assert found.value == "{nyc1"


def test_secrets_are_read_as_outputs_and_an_unset_optional_one_is_not_required() -> None:
    seen: dict[str, Any] = {}

    def program() -> None:
        secrets = Secrets()
        seen["jwt"] = secrets.require("jwtSecret")
        seen["sentry"] = secrets.optional("sentryDsn")
        with pytest.raises(KeyError, match="sentryDsn is optional and unset"):
            secrets.require("sentryDsn")

    run(program, stack="staging", secrets={k: v for k, v in TEST_SECRETS.items() if k != "sentryDsn"})
    assert seen["jwt"] is not None and seen["sentry"] is None


def test_a_duplicate_record_is_immutable_and_ranges_with_host_bits_still_overlap() -> None:
    duplicate = stack_files.Duplicate("a", 2, 1)
    with pytest.raises(FrozenInstanceError):
        duplicate.line = 3  # type: ignore[misc]
    assert stack_files.overlaps("10.100.0.1/16", "10.100.0.0/24")


def test_a_fixed_size_pool_of_one_node_is_accepted() -> None:
    assert NodePool.model_validate({"size": "s-2vcpu-4gb", "autoScale": False, "nodeCount": 1}).node_count == 1


def test_production_is_checked_against_staging_too() -> None:
    error = refused("production", {"network": {"vpcCidr": "10.110.0.0/16"}})
    assert "of stack 'staging'" in problem(error, "platform:network.vpcCidr").message


def test_keys_after_a_hidden_secret_key_are_still_read() -> None:
    error = refused("staging", config={"jwtsecret": "plain-jwt-value-0123", **base_config("staging")})
    assert [p.key for p in error.problems] == ["platform:jwtsecret"]
