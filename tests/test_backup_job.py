"""The hourly backup CronJob in each committed stack: schedule, security, credentials, egress, outputs."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from components.backup_job import BackupJob, BackupJobArgs
from tests.harness import ROOT, Resource, StackRun

CRONJOB = "kubernetes:batch/v1:CronJob"
ALERT_SELECTOR = re.compile(r".*pg-backup.*")
"""The monitoring rule's ``kube_cronjob_status_last_successful_time{cronjob=~".*pg-backup.*"}``."""


def cronjob(run: StackRun) -> Resource:
    """Seed 000's job: the platform-level one (each further tenant has its own, tests/test_tenants.py)."""
    return run.one(CRONJOB, f"niche-discovery-{run.stack}-pg-backup")


def pod_spec(run: StackRun) -> dict[str, Any]:
    return cronjob(run).inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def container(run: StackRun) -> dict[str, Any]:
    (only,) = pod_spec(run)["containers"]
    return only


def backup_secret(run: StackRun) -> Resource:
    return run.one("kubernetes:core/v1:Secret", f"{cronjob(run).name}-credentials")


def env_of(run: StackRun) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(run)["env"]}


def test_backup_runs_every_hour_on_the_hour_utc(up_run: StackRun) -> None:
    spec = cronjob(up_run).inputs["spec"]
    assert (spec["schedule"], spec["timeZone"]) == ("0 * * * *", "Etc/UTC")


def test_runs_never_overlap_and_end_before_the_next_hour(up_run: StackRun) -> None:
    spec = cronjob(up_run).inputs["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] < 3600


def test_failures_stay_visible_in_job_history(up_run: StackRun) -> None:
    spec = cronjob(up_run).inputs["spec"]
    assert spec["failedJobsHistoryLimit"] >= 3
    assert spec["successfulJobsHistoryLimit"] >= 1
    assert pod_spec(up_run)["restartPolicy"] == "Never"
    assert "ttlSecondsAfterFinished" not in spec["jobTemplate"]["spec"]


def test_cronjob_name_matches_the_no_backup_alert(up_run: StackRun) -> None:
    name = cronjob(up_run).inputs["metadata"]["name"]
    assert ALERT_SELECTOR.fullmatch(name)
    assert name.endswith("-pg-backup")


def test_backup_pod_runs_non_root_read_only_without_privileges(up_run: StackRun) -> None:
    pod, box = pod_spec(up_run), container(up_run)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] >= 10000
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    context = box["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert {m["mountPath"] for m in box["volumeMounts"]} == {"/tmp"}
    assert box["resources"]["limits"].keys() >= {"cpu", "memory"}


def test_database_url_and_aws_keys_come_from_the_backup_secret(up_run: StackRun) -> None:
    env, secret = env_of(up_run), backup_secret(up_run)
    for key in ("DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert env[key] == {"secretKeyRef": {"name": secret.inputs["metadata"]["name"], "key": key}}
    assert secret.inputs["metadata"]["namespace"] == cronjob(up_run).inputs["metadata"]["namespace"]


def test_secret_data_is_secret_and_dumps_through_the_direct_port(up_run: StackRun) -> None:
    secret = backup_secret(up_run)
    assert "stringData" in secret.secret_inputs
    data = secret.inputs["stringData"]
    assert set(data) == {"DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert ":25060/" in data["DATABASE_URL"]
    assert data["AWS_SECRET_ACCESS_KEY"].startswith("mock-secret-access-key-")


def test_job_targets_the_stacks_bucket_under_the_writers_prefix(up_run: StackRun) -> None:
    env = env_of(up_run)
    primary = next(b for b in up_run.of_type("aws:s3/bucket:Bucket") if b.name.endswith("-primary-bucket"))
    assert env["S3_BUCKET"] == primary.outputs["bucket"] == up_run.outputs["backupBucket"]
    assert (env["S3_PREFIX"], env["BACKUP_STACK"], env["AWS_REGION"]) == ("postgres", up_run.stack, "us-east-1")


def test_image_is_pulled_like_the_applications(up_run: StackRun) -> None:
    pulls = {
        json.dumps(r.inputs["spec"]["template"]["spec"].get("imagePullSecrets"))
        for r in up_run.of_type("kubernetes:apps/v1:Deployment")
    }
    assert pulls == {json.dumps(pod_spec(up_run).get("imagePullSecrets"))}


def test_job_lives_in_the_application_namespace_through_the_cluster_provider(up_run: StackRun) -> None:
    job = cronjob(up_run)
    namespaces = {
        r.inputs["metadata"]["name"]
        for r in up_run.of_type("kubernetes:core/v1:Namespace")
        if r.parent_type == "platform:application:Application"
    }
    assert job.inputs["metadata"]["namespace"] == f"niche-discovery-{up_run.stack}" in namespaces
    assert job.provider.rsplit("::", 1)[0] == up_run.one("pulumi:providers:kubernetes").urn


def test_egress_allows_only_dns_the_database_and_https(up_run: StackRun) -> None:
    policy = up_run.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", f"{cronjob(up_run).name}-egress")
    spec = policy.inputs["spec"]
    pod_labels = cronjob(up_run).inputs["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert spec["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in spec
    rules = {tuple(sorted((p["protocol"], p["port"]) for p in rule["ports"])): rule["to"] for rule in spec["egress"]}
    assert set(rules) == {(("TCP", 53), ("UDP", 53)), (("TCP", 25060),), (("TCP", 443),)}
    vpc = up_run.one("digitalocean:index/vpc:Vpc").inputs["ipRange"]
    assert rules[(("TCP", 25060),)] == [{"ipBlock": {"cidr": vpc}}]
    (internet,) = rules[(("TCP", 443),)]
    assert internet["ipBlock"]["cidr"] == "0.0.0.0/0"
    excluded = [ipaddress.IPv4Network(c) for c in internet["ipBlock"]["except"]]
    assert any(ipaddress.IPv4Network(vpc).subnet_of(net) for net in excluded)


def test_no_stack_output_carries_a_backup_credential(up_run: StackRun) -> None:
    data = backup_secret(up_run).inputs["stringData"]
    exported = json.dumps(up_run.outputs, default=str)
    assert data["AWS_SECRET_ACCESS_KEY"] not in exported
    assert data["AWS_ACCESS_KEY_ID"] not in exported


def test_backup_outputs_are_plain_bucket_coordinates(up_run: StackRun) -> None:
    backup_outputs = {k: v for k, v in up_run.outputs.items() if k.startswith("backup")}
    assert set(backup_outputs) == {"backupBucket", "backupBucketArn", "backupRegion", "backupCronJob", "backupImage"}
    assert not set(backup_outputs) & up_run.secret_outputs
    assert backup_outputs["backupBucketArn"] == f"arn:aws:s3:::{backup_outputs['backupBucket']}"


def test_production_backs_up_through_its_own_bucket_and_namespace(staging: StackRun, production: StackRun) -> None:
    assert env_of(staging)["S3_BUCKET"] != env_of(production)["S3_BUCKET"]
    assert cronjob(staging).inputs["metadata"]["namespace"] != cronjob(production).inputs["metadata"]["namespace"]
    assert container(staging)["image"] == container(production)["image"]


def test_every_stack_has_one_backup_job_per_tenant_in_preview_too(any_run: StackRun) -> None:
    # One per tenant with a database (seed 000 and each platform:tenants entry), all matching the alert.
    backups = [r.name for r in any_run.of_type("platform:backup:BackupJob")]
    tenants = [
        "niche-discovery",
        *(t.name.removeprefix(f"niche-discovery-{any_run.stack}-") for t in any_run.of_type("platform:tenant:Tenant")),
    ]
    assert sorted(backups) == sorted(f"{t}-{any_run.stack}-pg-backup" for t in tenants)
    assert all(ALERT_SELECTOR.fullmatch(name) for name in backups)
    assert len(any_run.of_type("platform:backup:BackupVault")) == 1


@pytest.mark.parametrize("name", ["niche-discovery-backup", "x" * 44 + "-pg-backup"])
def test_job_names_the_alert_cannot_match_or_kubernetes_cannot_hold_are_refused(name: str) -> None:
    args = BackupJobArgs(
        namespace="ns",
        image="img:1",
        schedule="0 * * * *",
        database_url="postgresql://u:p@h:25060/d",
        aws_access_key_id="id",
        aws_secret_access_key="secret",
        bucket="b",
        aws_region="us-east-1",
        prefix="postgres",
        stack="staging",
        database_cidr="10.0.0.0/16",
    )
    with pytest.raises(ValueError, match="pg-backup"):
        BackupJob(name, args)


def test_in_cluster_restore_pod_is_restricted_and_gets_the_backup_egress(staging: StackRun) -> None:
    job = cronjob(staging)
    policy = staging.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", f"{job.name}-egress")
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "backup" / "restore-in-cluster.sh"), "--new-db", "app_restored"],
        env={
            **os.environ,
            "DRY_RUN": "1",
            "PYTHON": sys.executable,
            "NAMESPACE": job.inputs["metadata"]["namespace"],
            "CRONJOB": job.inputs["metadata"]["name"],
            "IMAGE": container(staging)["image"],
            "SERVER_URL": "postgresql://doadmin:pw@host:25060/defaultdb",
            "S3_BUCKET": "b",
            "AWS_REGION": "us-east-1",
            "BACKUP_STACK": "staging",
        },
        check=True,
        capture_output=True,
        text=True,
    )
    pod = json.loads(result.stdout)
    assert policy.inputs["spec"]["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    (box,) = pod["spec"]["containers"]
    assert box["command"] == ["/usr/local/bin/pg-restore.sh", "--new-db", "app_restored"]
    assert box["securityContext"] == container(staging)["securityContext"]
    assert pod["spec"]["securityContext"] == pod_spec(staging)["securityContext"]
    assert box["envFrom"] == [{"secretRef": {"name": pod["metadata"]["name"]}}]


def test_image_packages_every_script_the_jobs_run_on_a_pinned_base() -> None:
    dockerfile = (ROOT / "images" / "pg-backup" / "Dockerfile").read_text()
    (base,) = re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE)
    assert re.search(r":\d+\.\d+\.\d+", base) or "@sha256:" in base
    for script in ("pg-backup.sh", "pg-restore.sh", "s3obj.py"):
        assert f"scripts/backup/{script}" in dockerfile
    assert "USER 10001" in dockerfile
