"""Secrets that rotate without a commit: the External Secrets Operator against AWS Secrets Manager.

The seed runs Vault (``VaultStaticSecret``, ``refreshAfter: 30m``). The platform has no Vault to run,
but it already has AWS (the off-site backups), so the store is AWS Secrets Manager: nothing to operate,
audited by CloudTrail, versioned, $0.40 per secret and month. Vault would be a stateful HA service with
its own unsealing, backups and upgrades for a handful of API keys.

This component is the cluster's half (one per stack):

* one AWS Secrets Manager secret per tenant, ``<tenant>/<stack>/app``: created empty here, its value
  (a JSON object whose properties are the environment variable names, e.g. ``{"JWT_SECRET": ...}``)
  is put by an operator with ``aws secretsmanager put-secret-value`` and never passes through Pulumi;
* an IAM user that may only read those secrets, its access key in the operator's namespace (DOKS has
  no workload identity towards AWS, so a static key it is; rotate it with ``pulumi up --replace`` on
  the AccessKey, the operator reads the new one on its next refresh);
* the operator (external-secrets chart, pinned, CRDs installed by the chart) and a
  ``ClusterSecretStore`` usable only from the tenants' namespaces;
* Reloader (stakater chart, pinned): restarts a Deployment, rollout-style, when a Secret named in
  its ``secret.reloader.stakater.com/reload`` annotation changes, because environment variables
  from a Secret are read once at container start.

The tenant's half, the ``ExternalSecret`` (``refreshInterval`` 30 m) that fills the Secret
``app-external-secrets`` in its namespace, is created by ``Application`` (see ``external_secret_spec``).

End to end:

1. Turning it on (``platform:apps.externalSecrets.enabled: true``): the AWS secret must hold a value
   before the Deployments switch to it, or their new pods wait for a Secret that never fills (the old
   pods keep serving, ``maxUnavailable: 0``, but ``pulumi up`` times out on the rollout). So: ``pulumi
   up --target <urn of the aws:secretsmanager/secret:Secret>`` creates the empty secret alone; ``aws
   secretsmanager put-secret-value --secret-id <tenant>/<stack>/app --secret-string file://app.json``
   stores the JSON (``{"JWT_SECRET": "...", "YOUTUBE_API_KEY": "...", ...}``, the catalog's
   ``config.<key>`` variables); then ``pulumi up``. The Pulumi config values of those keys are no
   longer read (nor required) and can be removed.
2. Rotating: ``put-secret-value`` with the new JSON. Within ``refreshInterval`` (30 m; ``kubectl
   annotate externalsecret app-external-secrets force-sync=$(date +%s) --overwrite`` for now) the
   operator rewrites ``app-external-secrets``; Reloader sees the change and rolls every Deployment
   annotated with it, pod by pod. No commit, no deploy.
3. Failure modes: the store unreachable or the key unreadable leaves the Secret as it was
   (``deletionPolicy: Retain``) and the ExternalSecret's status ``SecretSyncedError``; a required key
   missing from the JSON stops only the new pods that need it (``CreateContainerConfigError`` names
   the key).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

NAMESPACE = "external-secrets"
RELOADER_NAMESPACE = "reloader"
STORE_NAME = "aws-secrets-manager"
CREDENTIALS_SECRET = "aws-secrets-manager-reader"  # noqa: S105 - an object name
TARGET_SECRET = "app-external-secrets"  # noqa: S105 - an object name
"""The Secret each tenant's ExternalSecret owns in its namespace."""
RELOAD_ANNOTATION = "secret.reloader.stakater.com/reload"
"""Deployment annotation: Reloader rolls the Deployment when one of the named Secrets changes."""
API_VERSION = "external-secrets.io/v1"


def remote_key(tenant: str, stack: str) -> str:
    """Name of a tenant's secret in AWS Secrets Manager."""
    return f"{tenant}/{stack}/app"


def reader_policy(secret_arns: Sequence[str]) -> dict[str, Any]:
    """What the operator's key may do: read the tenants' secrets, nothing else (no list, no write)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadTenantSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": sorted(secret_arns),
            }
        ],
    }


def external_secret_spec(*, store: str, key: str, refresh_interval: str) -> dict[str, Any]:
    """A tenant's ExternalSecret: the whole JSON secret ``key``, one Secret key per property."""
    return {
        "refreshInterval": refresh_interval,
        "secretStoreRef": {"kind": "ClusterSecretStore", "name": store},
        # Owner: the Secret is the operator's (deleted with the ExternalSecret). Retain on a store
        # outage: a failed read never empties the Secret the pods start from.
        "target": {"name": TARGET_SECRET, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
        "dataFrom": [{"extract": {"key": key}}],
    }


@dataclass(frozen=True)
class SecretStoreRef:
    """What a tenant's Application needs to read its secrets through the store."""

    store_name: str
    remote_key: str
    """The tenant's secret in the store."""
    refresh_interval: str
    """How often the operator re-reads it (the seed's Vault refresh: 30m)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The operator and the store (the ExternalSecret CRD must exist)."""


@dataclass(frozen=True)
class ExternalSecretsArgs:
    stack: str
    """Stack name, part of every secret's name."""
    tenants: Mapping[str, str]
    """Tenant name -> its namespace (which may use the store)."""
    aws_region: str
    chart_version: str
    """external-secrets chart version (its CRDs are the ones the tests validate against)."""
    reloader_chart_version: str
    protect: bool
    """Protect the AWS secrets from deletion (production): their values exist nowhere else."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Default tags of every AWS resource. Default: none."""


class ExternalSecrets(pulumi.ComponentResource):
    """The operator, its store and its AWS identity (see module docstring)."""

    store_name: str
    """Name of the ClusterSecretStore."""
    remote_keys: dict[str, str]
    """Tenant -> name of its secret in AWS Secrets Manager."""
    secret_arns: dict[str, pulumi.Output[str]]
    """Tenant -> ARN of its secret."""
    ready: list[pulumi.Resource]
    """What an ExternalSecret must wait for (the operator with its CRDs, the store)."""

    def __init__(self, name: str, args: ExternalSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not args.tenants:
            raise ValueError(f"{name}: no tenant to serve; leave the store off instead")
        super().__init__("platform:secrets:ExternalSecrets", name, None, opts)
        provider = aws.Provider(
            f"{name}-aws",
            region=args.aws_region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=dict(args.tags)) if args.tags else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_aws = pulumi.ResourceOptions(parent=self, provider=provider)

        self.remote_keys = {tenant: remote_key(tenant, args.stack) for tenant in sorted(args.tenants)}
        self.secret_arns = {}
        for tenant, key in self.remote_keys.items():
            secret = aws.secretsmanager.Secret(
                f"{name}-{tenant}",
                name=key,
                description=f"{tenant} ({args.stack}): the application's API keys, one JSON property per "
                "environment variable. Read by the External Secrets Operator every refresh.",
                # A deleted secret stays recoverable for a month (its values exist nowhere else).
                recovery_window_in_days=30,
                opts=pulumi.ResourceOptions(parent=self, provider=provider, protect=args.protect),
            )
            self.secret_arns[tenant] = secret.arn

        reader = aws.iam.User(f"{name}-reader", path="/platform/", opts=in_aws)
        aws.iam.UserPolicy(
            f"{name}-reader-policy",
            user=reader.name,
            policy=pulumi.Output.all(*self.secret_arns.values()).apply(lambda arns: json.dumps(reader_policy(arns))),
            opts=in_aws,
        )
        access_key = aws.iam.AccessKey(f"{name}-reader-key", user=reader.name, opts=in_aws)

        operator_namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAMESPACE),
            opts=pulumi.ResourceOptions(parent=self),
        )
        credentials = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CREDENTIALS_SECRET, namespace=NAMESPACE),
            type="Opaque",
            string_data=pulumi.Output.secret({"access-key-id": access_key.id, "secret-access-key": access_key.secret}),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[operator_namespace]),
        )
        operator = k8s.helm.v3.Release(
            f"{name}-operator",
            name="external-secrets",
            chart="external-secrets",
            version=args.chart_version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo="https://charts.external-secrets.io"),
            namespace=NAMESPACE,
            atomic=True,
            values={"installCRDs": True},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[operator_namespace]),
        )
        k8s.helm.v3.Release(
            f"{name}-reloader",
            name="reloader",
            chart="reloader",
            version=args.reloader_chart_version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo="https://stakater.github.io/stakater-charts"),
            namespace=RELOADER_NAMESPACE,
            create_namespace=True,
            atomic=True,
            # Only Deployments that carry the annotation are touched; nothing is reloaded on its own.
            values={"reloader": {"autoReloadAll": False, "reloadOnCreate": False}},
            opts=pulumi.ResourceOptions(parent=self),
        )
        store = k8s.apiextensions.CustomResource(
            f"{name}-store",
            api_version=API_VERSION,
            kind="ClusterSecretStore",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=STORE_NAME),
            spec={
                "provider": {
                    "aws": {
                        "service": "SecretsManager",
                        "region": args.aws_region,
                        "auth": {
                            "secretRef": {
                                "accessKeyIDSecretRef": {
                                    "name": CREDENTIALS_SECRET,
                                    "namespace": NAMESPACE,
                                    "key": "access-key-id",
                                },
                                "secretAccessKeySecretRef": {
                                    "name": CREDENTIALS_SECRET,
                                    "namespace": NAMESPACE,
                                    "key": "secret-access-key",
                                },
                            }
                        },
                    }
                },
                # Only the tenants' namespaces may read through this store.
                "conditions": [{"namespaces": sorted(args.tenants.values())}],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[operator, credentials]),
        )
        self.store_name = STORE_NAME
        self.ready = [operator, store]
        self.register_outputs({"remote_keys": self.remote_keys, "secret_arns": self.secret_arns})
