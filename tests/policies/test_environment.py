"""One definition of the environment: the stack declares it, the pack is told it through its config file.

The pack never guesses the environment from the stack name, so ``production`` and ``niche-discovery-
production`` are judged alike, and a stack file and its policy config cannot disagree (checked here).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from policies.guards import GUARDS
from policies.guards._base import ENVIRONMENT, applies, is_production
from tests.harness import ROOT, Resource
from tests.policies import samples as s
from tests.policy_adapter import PackAnalyzer, load_config, mandatory, synthetic, violations

STACKS = ("staging", "production")
ENVIRONMENT_AWARE = sorted(g.name for g in GUARDS if "environment" in g.config)
NAMINGS = {
    "production": ("production", "niche-discovery-production"),
    "staging": ("staging", "niche-discovery-staging"),
}


def declared_environment(stack: str) -> str:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return str(config["platform:environment"])


def test_the_environment_aware_guards_are_the_production_only_ones_and_the_two_naming_the_environment() -> None:
    production_only = {g.name for g in GUARDS if "productionOnly" in g.config}
    # The budget guard falls back to the environment's default budget when the pack config states none.
    named = {"do-required-tags", "stack-no-cross-environment-references", "stack-monthly-budget"}
    assert set(ENVIRONMENT_AWARE) == production_only | named
    for guard in GUARDS:
        if guard.name in ENVIRONMENT_AWARE:
            assert guard.config["environment"] == ENVIRONMENT


def test_an_unset_environment_gets_productions_rules() -> None:
    assert ENVIRONMENT["default"] == "production"
    assert ENVIRONMENT["enum"] == ["staging", "production"]
    assert is_production({}) is True
    assert is_production({"environment": "production"}) is True
    assert is_production({"environment": "staging"}) is False
    assert applies({"environment": "staging"}) is False
    assert applies({"environment": "staging", "productionOnly": False}) is True
    assert applies({"environment": "production", "productionOnly": True}) is True


@pytest.mark.parametrize("stack", STACKS)
def test_each_policy_config_states_the_environment_its_stack_file_declares(stack: str) -> None:
    config = load_config(stack)
    declared = declared_environment(stack)
    assert declared == stack
    stated = {name: (config.get(name) or {}).get("environment") for name in ENVIRONMENT_AWARE}
    assert stated == dict.fromkeys(ENVIRONMENT_AWARE, declared)


def _env_sensitive_records(stack: str) -> list[Resource]:
    """Resources whose verdict depends on the environment alone (production-shaped, then weakened)."""
    staging_tags = ["niche-discovery", "env:staging", "managed-by:pulumi"]
    cluster = s.patched(s.patched(s.do_cluster(), "ha", False), "tags", staging_tags)
    cluster = s.patched(cluster, "nodePool.tags", staging_tags)
    database = s.patched(s.patched(s.database(), "nodeCount", 1), "tags", staging_tags)
    droplet = s.patched(s.patched(s.droplet(), "backups", False), "tags", staging_tags)
    return [
        synthetic("digitalocean:index/kubernetesCluster:KubernetesCluster", cluster, stack=stack, name="cluster"),
        synthetic("digitalocean:index/databaseCluster:DatabaseCluster", database, stack=stack, name="db"),
        synthetic("digitalocean:index/droplet:Droplet", droplet, stack=stack, name="droplet"),
    ]


def _fired(config_stack: str, stack_name: str) -> set[tuple[str, str]]:
    found = PackAnalyzer.for_stack(config_stack).analyze(_env_sensitive_records(stack_name))
    return {(v.policy, v.resource) for v in mandatory(found)}


@pytest.mark.parametrize("environment", STACKS)
def test_both_stack_naming_styles_get_the_same_verdict(environment: str) -> None:
    short, prefixed = NAMINGS[environment]
    assert _fired(environment, short) == _fired(environment, prefixed)


def test_production_config_judges_production_rules_under_either_name() -> None:
    expected = {
        ("do-k8s-ha-control-plane", "cluster"),
        ("do-db-standby", "db"),
        ("do-droplet-backups", "droplet"),
        # The samples carry env:staging tags: production's config expects env:production.
        ("do-required-tags", "cluster"),
        ("do-required-tags", "db"),
        ("do-required-tags", "droplet"),
    }
    for name in NAMINGS["production"]:
        assert expected <= _fired("production", name), name


def test_staging_config_judges_staging_rules_even_under_a_production_looking_name() -> None:
    for name in (*NAMINGS["staging"], "production"):
        fired = {policy for policy, _ in _fired("staging", name)}
        assert not fired & {"do-k8s-ha-control-plane", "do-db-standby", "do-droplet-backups", "do-required-tags"}, name


def test_required_env_tag_is_the_configured_environment_not_the_stack_name() -> None:
    volume = synthetic("digitalocean:index/volume:Volume", s.volume(), stack="niche-discovery-production")
    cfg: dict[str, Any] = {"environment": "production"}
    assert violations("do-required-tags", volume, cfg) == []
    assert violations("do-required-tags", volume, {"environment": "staging"}) == [
        "the resource lacks tags ['env:staging']."
    ]
