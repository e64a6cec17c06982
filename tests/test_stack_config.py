"""Stack configuration: every validator fires on bad input, names the key, and stops the run first."""

from __future__ import annotations

import ipaddress
from typing import Any

import pulumi
import pytest
import yaml

from stack_config import SECRETS, ConfigError, load
from tests.harness import ROOT, TEST_SECRETS, deep_merge, run, run_main, stack_file_config


def problems_for(stack: str, overrides: dict[str, Any], **kwargs: Any) -> ConfigError:
    """Validate the committed stack's config with ``overrides`` applied; return the error raised."""
    base = {k.removeprefix("platform:"): v for k, v in stack_file_config(stack).items()}
    config = deep_merge(base, overrides)
    kwargs.setdefault("secrets", TEST_SECRETS)
    with pytest.raises(ConfigError) as info:
        run(load, stack=kwargs.pop("stack_name", stack), config=config, **kwargs)
    return info.value


def keys_of(error: ConfigError) -> set[str]:
    return {p.key for p in error.problems}


# (stack, overrides, the key that must be named, a phrase the message must contain)
BAD_CONFIGS = [
    ("staging", {"environment": "prod"}, "platform:environment", "staging"),
    ("staging", {"tenant": {"name": "Niche_Discovery"}}, "platform:tenant.name", "DNS label"),
    ("staging", {"region": "nyc9"}, "platform:region", "not a valid region"),
    ("staging", {"network": {"vpcCidr": "8.8.0.0/16"}}, "platform:network.vpcCidr", "RFC 1918"),
    ("staging", {"network": {"vpcCidr": "10.0.0.0/12"}}, "platform:network.vpcCidr", "/16 to /24"),
    ("staging", {"network": {"vpcCidr": "10.110.0.1/16"}}, "platform:network.vpcCidr", "CIDR"),
    ("staging", {"network": {"clusterSubnet": "10.110.128.0/17"}}, "platform:network.clusterSubnet", "overlaps"),
    ("staging", {"cluster": {"versionPrefix": "1.24.8-do.0"}}, "platform:cluster.versionPrefix", "minor prefix"),
    ("staging", {"cluster": {"versionPrefix": "1.29."}}, "platform:cluster.versionPrefix", "1.33"),
    ("staging", {"cluster": {"versionPrefix": "1.36."}}, "platform:cluster.ha", "1.36"),
    ("production", {"cluster": {"ha": False}}, "platform:cluster.ha", "HA control plane"),
    ("production", {"cluster": {"autoUpgrade": False}}, "platform:cluster.autoUpgrade", "automatic"),
    ("production", {"cluster": {"surgeUpgrade": False}}, "platform:cluster.surgeUpgrade", "surged"),
    (
        "staging",
        {"cluster": {"maintenance": {"startTime": "25:00"}}},
        "platform:cluster.maintenance.startTime",
        "HH:MM",
    ),
    ("staging", {"cluster": {"maintenance": {"day": "someday"}}}, "platform:cluster.maintenance.day", "sunday"),
    (
        "production",
        {"cluster": {"pools": {"general": {"size": "s-2vcpu-4gb", "minNodes": 1, "maxNodes": 10}}}},
        "platform:cluster.pools.general.minNodes",
        ">= 2",
    ),
    (
        "staging",
        {"cluster": {"pools": {"general": {"size": "s-2vcpu-4gb", "minNodes": 5, "maxNodes": 3}}}},
        "platform:cluster.pools.general",
        "must be <= maxNodes",
    ),
    (
        "staging",
        {"cluster": {"pools": {"general": {"size": "s-2vcpu-4gb", "minNodes": 1, "maxNodes": 3, "nodeCount": 2}}}},
        "platform:cluster.pools.general",
        "fight the autoscaler",
    ),
    (
        "staging",
        {"cluster": {"pools": {"general": {"size": "s-2vcpu-4gb", "autoScale": False}}}},
        "platform:cluster.pools.general",
        "nodeCount >= 1",
    ),
    (
        "staging",
        {"cluster": {"pools": {"general": {"size": "s-99vcpu-4gb", "minNodes": 1, "maxNodes": 3}}}},
        "platform:cluster.pools.general.size",
        "not a valid droplet size",
    ),
    (
        "staging",
        {"cluster": {"pools": {"general": {"size": "s-2vcpu-4gb", "minNodes": 0, "maxNodes": 3}}}},
        "platform:cluster.pools.general.minNodes",
        "at least 1 node",
    ),
    (
        "staging",
        {
            "cluster": {
                "pools": {
                    "scrapers": {
                        "size": "s-2vcpu-4gb",
                        "minNodes": 1,
                        "maxNodes": 2,
                        "taints": [{"key": "workload", "value": "scrapers", "effect": "NO_SCHEDULE"}],
                    }
                }
            }
        },
        "platform:cluster.pools.scrapers.taints.0.effect",
        "NoSchedule",
    ),
    (
        "staging",
        {
            "cluster": {
                "pools": {
                    "general": None,
                    "scrapers": None,
                    "only": {
                        "size": "s-2vcpu-4gb",
                        "minNodes": 1,
                        "maxNodes": 2,
                        "taints": [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}],
                    },
                }
            }
        },
        "platform:cluster.pools",
        "untainted",
    ),
    (
        "staging",
        {"cluster": {"pools": {"General_Pool": {"size": "s-2vcpu-4gb", "minNodes": 1, "maxNodes": 2}}}},
        "platform:cluster.pools",
        "DNS labels",
    ),
    (
        "staging",
        {
            "cluster": {
                "pools": {"general": {"size": "s-2vcpu-4gb", "minNodes": 1, "maxNodes": 2, "labels": {"bad key!": "x"}}}
            }
        },
        "platform:cluster.pools.general.labels",
        "invalid Kubernetes label",
    ),
    ("staging", {"cluster": {"apiAllowedCidrs": ["0.0.0.0/0"]}}, "platform:cluster.apiAllowedCidrs", "whole internet"),
    ("production", {"postgres": {"nodeCount": 1}}, "platform:postgres.nodeCount", "standby"),
    ("staging", {"postgres": {"size": "db-s-1vcpu-1gb", "nodeCount": 2}}, "platform:postgres.nodeCount", ">= 2 GB"),
    ("staging", {"postgres": {"version": "14"}}, "platform:postgres.version", "'15', '16' or '17'"),
    ("staging", {"postgres": {"size": "db-s-3vcpu-3gb"}}, "platform:postgres.size", "not a valid database plan"),
    ("staging", {"postgres": {"database": "App-DB"}}, "platform:postgres.database", "SQL identifier"),
    ("staging", {"cache": {"evictionPolicy": "allkeys_lru"}}, "platform:cache.evictionPolicy", "Celery broker"),
    ("production", {"protect": False}, "platform:protect", "protect"),
    ("production", {"monitoring": {"backups": False}}, "platform:monitoring.backups", "backups"),
    ("staging", {"monitoring": {"adminCidrs": ["0.0.0.0/0"]}}, "platform:monitoring.adminCidrs", "whole internet"),
    ("staging", {"monitoring": {"image": "ubuntu-20-04-x64"}}, "platform:monitoring.image", "ubuntu-24-04-x64"),
    ("staging", {"clustr": {"ha": True}}, "platform:clustr", "unknown key"),
    ("staging", {"cluster": {"autoUpgrad": True}}, "platform:cluster.autoUpgrad", "unknown key"),
    ("staging", {"tenant": None}, "platform:tenant", "required"),
]


@pytest.mark.parametrize(
    ("stack", "overrides", "key", "phrase"), BAD_CONFIGS, ids=[f"{c[2]}-{i}" for i, c in enumerate(BAD_CONFIGS)]
)
def test_bad_config_is_refused_naming_the_key(stack: str, overrides: dict, key: str, phrase: str) -> None:
    error = problems_for(stack, overrides)
    assert key in keys_of(error), error.render()
    problem = next(p for p in error.problems if p.key == key)
    assert phrase in problem.message, problem.render()
    assert key in str(error)


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_committed_stacks_are_valid(stack: str) -> None:
    config = {k.removeprefix("platform:"): v for k, v in stack_file_config(stack).items()}
    captured: list = []
    run(lambda: captured.append(load()), stack=stack, config=config, secrets=TEST_SECRETS)
    assert captured[0].environment == stack


def test_every_problem_is_reported_in_one_error() -> None:
    error = problems_for(
        "production",
        {"cluster": {"ha": False}, "postgres": {"nodeCount": 1}, "protect": False, "region": "mars1"},
        secrets={k: v for k, v in TEST_SECRETS.items() if k != "jwtSecret"},
    )
    assert {
        "platform:cluster.ha",
        "platform:postgres.nodeCount",
        "platform:protect",
        "platform:region",
        "platform:jwtSecret",
    } <= keys_of(error)
    assert str(error).startswith("Stack 'production' has 5 configuration problems; nothing was created.")


def test_the_error_shows_the_bad_value_and_how_to_fix_it() -> None:
    error = problems_for("production", {"postgres": {"nodeCount": 1}})
    rendered = error.render()
    assert "platform:postgres.nodeCount = 1" in rendered
    assert "set postgres.nodeCount to 2" in rendered


def test_unknown_key_error_gives_the_removal_command() -> None:
    error = problems_for("staging", {"cluster": {"autoUpgrad": True}})
    assert "pulumi config rm --stack staging --path 'cluster.autoUpgrad'" in error.render()


def test_stack_name_must_match_environment() -> None:
    error = problems_for("staging", {}, stack_name="production")
    assert "does not match environment 'staging'" in next(
        p.message for p in error.problems if p.key == "platform:environment"
    )


def test_tenant_prefixed_stack_names_are_accepted() -> None:
    config = {k.removeprefix("platform:"): v for k, v in stack_file_config("staging").items()}
    captured: list = []
    run(lambda: captured.append(load()), stack="niche-discovery-staging", config=config, secrets=TEST_SECRETS)
    assert captured[0].name_prefix == "niche-discovery-staging"


@pytest.mark.parametrize("missing", [s.key for s in SECRETS if s.required])
def test_missing_required_secret_names_the_exact_command(missing: str) -> None:
    error = problems_for("staging", {}, secrets={k: v for k, v in TEST_SECRETS.items() if k != missing})
    problem = next(p for p in error.problems if p.key == f"platform:{missing}")
    assert f"pulumi config set --stack staging --secret {missing} '<value>'" in problem.message


def test_optional_secret_may_be_absent() -> None:
    config = {k.removeprefix("platform:"): v for k, v in stack_file_config("staging").items()}
    captured: list = []
    secrets = {k: v for k, v in TEST_SECRETS.items() if k != "sentryDsn"}
    run(lambda: captured.append(load()), stack="staging", config=config, secrets=secrets)
    assert captured


def test_secret_stored_in_plaintext_is_refused_without_echoing_it() -> None:
    secrets = {k: v for k, v in TEST_SECRETS.items() if k != "jwtSecret"}
    error = problems_for("staging", {}, secrets=secrets, plaintext={"jwtSecret": "plain-jwt-value"})
    problem = next(p for p in error.problems if p.key == "platform:jwtSecret")
    assert "stored in plaintext" in problem.message
    assert "--secret jwtSecret" in problem.message
    assert "plain-jwt-value" not in error.render()


def test_config_error_is_a_clean_pulumi_run_error() -> None:
    error = problems_for("staging", {"region": "nyc9"})
    # RunError is what the Pulumi CLI prints as a message alone, without a Python traceback.
    assert isinstance(error, pulumi.RunError)
    assert "Traceback" not in str(error)


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_bad_config_registers_no_resource(preview: bool) -> None:
    with pytest.raises(ConfigError) as info:
        run_main("production", preview=preview, overrides={"cluster": {"ha": False}})
    assert info.value.stack_run.resources == []  # type: ignore[attr-defined]


def test_a_failure_after_validation_would_be_visible_to_that_check() -> None:
    """Guards the check above: a program failing after registering resources shows them."""

    def half_a_program() -> None:
        import pulumi_digitalocean as do  # noqa: PLC0415

        do.Vpc("made-before-failure", region="nyc1", ip_range="10.1.0.0/16")
        raise pulumi.RunError("late failure")

    with pytest.raises(pulumi.RunError) as info:
        run(half_a_program, stack="staging")
    assert [r.name for r in info.value.stack_run.resources] == ["made-before-failure"]  # type: ignore[attr-defined]


def test_staging_and_production_vpcs_do_not_overlap() -> None:
    ranges = [
        ipaddress.ip_network(stack_file_config(s)["platform:network"]["vpcCidr"]) for s in ("staging", "production")
    ]
    assert not ranges[0].overlaps(ranges[1])


def test_stack_files_hold_no_plaintext_secret() -> None:
    for stack in ("staging", "production"):
        raw = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        for spec in SECRETS:
            value = raw.get(f"platform:{spec.key}")
            assert value is None or (isinstance(value, dict) and "secure" in value), (stack, spec.key)
