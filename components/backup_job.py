"""The hourly off-site backup: a CronJob running ``pg-backup.sh`` (images/pg-backup), its Secret and egress.

The job dumps the application database over the VPC's private network (direct port 25060: pg_dump
needs a session of its own, which the transaction pool does not give) and uploads it to the
stack's ``BackupVault`` with the put-only writer key. Failures stay visible: failed pods are kept
(``restartPolicy: Never``, history limits), and a job that fails or never runs stops
``kube_cronjob_status_last_successful_time{cronjob=~".*pg-backup.*"}`` from advancing, which the
monitoring rule set turns into the "no successful backup in 2 h" alert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from .pod_security import (
    restricted_container_security_context,
    restricted_pod_security_context,
    tmp_volume,
    tmp_volume_mount,
)

POSTGRES_DIRECT_PORT = 25060
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16")
"""Excluded from "the internet" (S3 on 443): the VPC, pods, services, CGNAT, the metadata service."""
SECRET_KEYS = ("DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
MAX_CRONJOB_NAME = 52
"""Kubernetes appends an 11-character suffix to a CronJob's name for each Job (63 - 11)."""


@dataclass(frozen=True)
class BackupJobArgs:
    namespace: pulumi.Input[str]
    """The tenant's application namespace (default-deny NetworkPolicies, PSA restricted)."""
    image: str
    """Pinned image built from images/pg-backup."""
    schedule: str
    """Cron schedule, UTC; at least hourly (validated in stack_config.backup)."""
    database_url: pulumi.Input[str]
    """Direct (25060) private URI of the application database (secret)."""
    aws_access_key_id: pulumi.Input[str]
    """Writer key id from the BackupVault (secret)."""
    aws_secret_access_key: pulumi.Input[str]
    """Writer secret key from the BackupVault (secret)."""
    bucket: pulumi.Input[str]
    aws_region: str
    prefix: str
    """Key prefix the writer may put under."""
    stack: str
    """Stack name, part of each dump's key."""
    database_cidr: str
    """VPC range the managed PostgreSQL's private address is in."""
    kms_key_arn: pulumi.Input[str] | None = None
    """The vault's dedicated KMS key, named on every upload (S3_KMS_KEY_ARN). Default: none (aws/s3 key)."""
    image_pull_secret: str | None = None
    """Secret to pull the image with (DOKS registry integration's ``registry-<name>``). Default: none."""
    scratch_size: str = "8Gi"
    """Size limit of the /tmp emptyDir the dump is written to before upload. Default: 8Gi."""
    active_deadline_seconds: int = 50 * 60
    """A run is killed after this long, so it never overlaps the next hour's. Default: 50 minutes."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels of every object. Default: none."""


class BackupJob(pulumi.ComponentResource):
    """CronJob ``<name>`` (which must end in ``pg-backup`` for the alert rule), Secret and NetworkPolicy.

    Takes the Kubernetes provider through ``opts.providers``.
    """

    cronjob_name: pulumi.Output[str]
    """Name of the CronJob (``kubectl create job --from=cronjob/<name>`` runs a backup now)."""

    def __init__(self, name: str, args: BackupJobArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not name.endswith("pg-backup") or len(name) > MAX_CRONJOB_NAME:
            raise ValueError(
                f"BackupJob name '{name}' must end in 'pg-backup' (the alert rule matches it) "
                f"and be at most {MAX_CRONJOB_NAME} characters"
            )
        super().__init__("platform:backup:BackupJob", name, None, opts)
        labels = {
            **args.labels,
            "app.kubernetes.io/name": "pg-backup",
            "app.kubernetes.io/instance": name,
            "app.kubernetes.io/component": "backup",
            "app.kubernetes.io/managed-by": "pulumi",
        }
        selector = {"app.kubernetes.io/name": "pg-backup", "app.kubernetes.io/instance": name}

        def meta(object_name: str) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=args.namespace, labels=labels)

        secret_name = f"{name}-credentials"
        secret = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=meta(secret_name),
            type="Opaque",
            string_data=pulumi.Output.secret(
                {
                    "DATABASE_URL": args.database_url,
                    "AWS_ACCESS_KEY_ID": args.aws_access_key_id,
                    "AWS_SECRET_ACCESS_KEY": args.aws_secret_access_key,
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self._egress_policy(name, args, meta, selector)

        env = [
            k8s.core.v1.EnvVarArgs(
                name=key,
                value_from=k8s.core.v1.EnvVarSourceArgs(
                    secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret_name, key=key)
                ),
            )
            for key in SECRET_KEYS
        ] + [
            k8s.core.v1.EnvVarArgs(name=key, value=value)
            for key, value in (
                ("S3_BUCKET", args.bucket),
                ("S3_PREFIX", args.prefix),
                ("BACKUP_STACK", args.stack),
                ("AWS_REGION", args.aws_region),
                # Read-only root filesystem: psql and boto3 look in $HOME for their files.
                ("HOME", "/tmp"),  # noqa: S108 - the pod's own emptyDir
            )
        ]
        if args.kms_key_arn is not None:
            env.append(k8s.core.v1.EnvVarArgs(name="S3_KMS_KEY_ARN", value=args.kms_key_arn))
        pod_spec = k8s.core.v1.PodSpecArgs(
            # Failed pods stay for `kubectl logs`; the Job's own retries handle transient errors.
            restart_policy="Never",
            automount_service_account_token=False,
            enable_service_links=False,
            security_context=restricted_pod_security_context(),
            containers=[
                k8s.core.v1.ContainerArgs(
                    name="pg-backup",
                    image=args.image,
                    image_pull_policy="Always",
                    command=["/usr/local/bin/pg-backup.sh"],
                    env=env,
                    security_context=restricted_container_security_context(),
                    resources=k8s.core.v1.ResourceRequirementsArgs(
                        requests={"cpu": "100m", "memory": "256Mi"},
                        limits={"cpu": "1", "memory": "1Gi"},
                    ),
                    volume_mounts=[tmp_volume_mount()],
                )
            ],
            volumes=[tmp_volume(args.scratch_size)],
            image_pull_secrets=[k8s.core.v1.LocalObjectReferenceArgs(name=args.image_pull_secret)]
            if args.image_pull_secret
            else None,
        )
        cronjob = k8s.batch.v1.CronJob(
            name,
            metadata=meta(name),
            spec=k8s.batch.v1.CronJobSpecArgs(
                schedule=args.schedule,
                time_zone="Etc/UTC",
                # Never two dumps at once; a slot missed (node drain, controller restart) still runs
                # if it can start within 10 minutes.
                concurrency_policy="Forbid",
                starting_deadline_seconds=600,
                successful_jobs_history_limit=3,
                failed_jobs_history_limit=5,
                job_template=k8s.batch.v1.JobTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.batch.v1.JobSpecArgs(
                        backoff_limit=2,
                        active_deadline_seconds=args.active_deadline_seconds,
                        template=k8s.core.v1.PodTemplateSpecArgs(
                            metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels), spec=pod_spec
                        ),
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[secret]),
        )
        self.cronjob_name = cronjob.metadata.name
        self.register_outputs({"cronjob_name": self.cronjob_name})

    def _egress_policy(
        self,
        name: str,
        args: BackupJobArgs,
        meta: Callable[[str], k8s.meta.v1.ObjectMetaArgs],
        selector: Mapping[str, str],
    ) -> None:
        """Only DNS, the database's direct port on the VPC and HTTPS to the internet (S3); no ingress."""
        k8s.networking.v1.NetworkPolicy(
            f"{name}-egress",
            metadata=meta(f"{name}-egress"),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(selector)),
                policy_types=["Ingress", "Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                    match_labels={"kubernetes.io/metadata.name": "kube-system"}
                                ),
                                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
                            )
                        ],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol=p, port=53) for p in ("UDP", "TCP")],
                    ),
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                ip_block=k8s.networking.v1.IPBlockArgs(cidr=args.database_cidr)
                            )
                        ],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=POSTGRES_DIRECT_PORT)],
                    ),
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                ip_block=k8s.networking.v1.IPBlockArgs(cidr="0.0.0.0/0", except_=list(PRIVATE_RANGES))
                            )
                        ],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=443)],
                    ),
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
