"""A tenant's Spaces buckets: lifecycle rules, an optional CDN, an optional copy in another region, one key.

Traps, each handled here:

* Spaces buckets are created with the **provider's** Spaces keys (``digitalocean:spacesAccessId`` /
  ``digitalocean:spacesSecretKey`` in the stack's config, secret, or ``SPACES_ACCESS_KEY_ID`` /
  ``SPACES_SECRET_ACCESS_KEY`` in the environment), not with the API token: a stack that lists a tenant
  with buckets needs them (README, "Tenants").
* Bucket names are global across every DigitalOcean customer, so they carry the stack prefix.
* Spaces has one storage class: lifecycle rules can only expire objects (no transitions), and it has no
  replication. A ``replica_region`` bucket is kept in step by the tenant's sync job, which the key below
  may write to; the bucket itself is just a second bucket.
* A CDN serves public objects only: a CDN bucket gets a policy that makes ``GetObject`` public (static
  assets) and must never hold anything else; every other bucket stays private.
* Each tenant gets its own Spaces key (``SpacesKey``) granted ``readwrite`` on its buckets alone, so a
  tenant's pods cannot read another tenant's objects (no account-wide ``fullaccess`` key in a pod).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_digitalocean as do

NONCURRENT_DAYS = 30
"""How long an overwritten version of a versioned bucket survives."""


@dataclass(frozen=True)
class BucketSpec:
    bucket_name: str
    """Physical (globally unique) name."""
    lifecycle: Sequence[tuple[str, int]] = ()
    """(key prefix, expire after days). Default: objects never expire."""
    versioning: bool = False
    cdn: bool = False
    """Public through the CDN (static assets only)."""
    replica_region: str | None = None
    """Spaces region of a second bucket the tenant's sync job copies to. Default: none."""


@dataclass(frozen=True)
class ObjectStorageArgs:
    region: str
    """Spaces region of the primary buckets."""
    buckets: Mapping[str, BucketSpec]
    """Keyed by the catalog's bucket name (stable child names)."""
    key_name: str
    """Name of the tenant's Spaces access key."""
    protect: bool
    """Protect buckets with data from deletion (production)."""
    cdn_ttl_seconds: int = 3600
    tags: Sequence[str] = field(default_factory=tuple)


class ObjectStorage(pulumi.ComponentResource):
    """The tenant's buckets and the one key that may use them (see module docstring)."""

    bucket_names: dict[str, pulumi.Output[str]]
    """Physical bucket name by catalog name."""
    replica_bucket_names: dict[str, pulumi.Output[str]]
    """Physical name of each replica bucket, by the catalog name of the bucket it copies."""
    endpoint: str
    """https endpoint of the region's Spaces API (S3-compatible)."""
    cdn_endpoints: dict[str, pulumi.Output[str]]
    """CDN hostname by catalog name, for buckets behind the CDN."""
    bucket_urns: list[pulumi.Output[str]]
    """DigitalOcean URN of every bucket (replicas included), for project membership."""
    access_key_id: pulumi.Output[str]
    """The tenant key's id (secret)."""
    secret_access_key: pulumi.Output[str]
    """The tenant key's secret (secret)."""

    def __init__(self, name: str, args: ObjectStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:storage:ObjectStorage", name, None, opts)
        self.bucket_names, self.replica_bucket_names, self.cdn_endpoints = {}, {}, {}
        self.bucket_urns = []
        grants: list[pulumi.Input[str]] = []
        for key, spec in sorted(args.buckets.items()):
            bucket = self._bucket(f"{name}-{key}", spec.bucket_name, args.region, spec, args.protect)
            self.bucket_names[key] = bucket.name
            self.bucket_urns.append(bucket.bucket_urn)
            grants.append(bucket.name)
            if spec.cdn:
                do.SpacesBucketPolicy(
                    f"{name}-{key}-public-read",
                    region=args.region,
                    bucket=bucket.name,
                    policy=bucket.name.apply(public_read_policy),
                    opts=pulumi.ResourceOptions(parent=self),
                )
                cdn = do.Cdn(
                    f"{name}-{key}-cdn",
                    origin=bucket.bucket_domain_name,
                    ttl=args.cdn_ttl_seconds,
                    opts=pulumi.ResourceOptions(parent=self),
                )
                self.cdn_endpoints[key] = cdn.endpoint
            if spec.replica_region:
                replica = self._bucket(
                    f"{name}-{key}-replica",
                    f"{spec.bucket_name}-{spec.replica_region}",
                    spec.replica_region,
                    spec,
                    args.protect,
                )
                self.replica_bucket_names[key] = replica.name
                self.bucket_urns.append(replica.bucket_urn)
                grants.append(replica.name)
        # One key per tenant, scoped to its buckets: what its pods get, never the provider's own key.
        spaces_key = do.SpacesKey(
            f"{name}-key",
            name=args.key_name,
            grants=[do.SpacesKeyGrantArgs(bucket=b, permission="readwrite") for b in grants],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.endpoint = f"https://{args.region}.digitaloceanspaces.com"
        self.access_key_id = pulumi.Output.secret(spaces_key.access_key)
        self.secret_access_key = pulumi.Output.secret(spaces_key.secret_key)
        self.register_outputs(
            {
                "bucket_names": self.bucket_names,
                "cdn_endpoints": self.cdn_endpoints,
                "access_key_id": self.access_key_id,
                "secret_access_key": self.secret_access_key,
            }
        )

    def _bucket(
        self, resource_name: str, bucket_name: str, region: str, spec: BucketSpec, protect: bool
    ) -> do.SpacesBucket:
        rules = [
            # Half-finished multipart uploads are billed storage nobody can see: always cleaned up.
            do.SpacesBucketLifecycleRuleArgs(enabled=True, abort_incomplete_multipart_upload_days=1)
        ]
        rules += [
            do.SpacesBucketLifecycleRuleArgs(
                enabled=True,
                prefix=prefix or None,
                expiration=do.SpacesBucketLifecycleRuleExpirationArgs(days=days),
            )
            for prefix, days in spec.lifecycle
        ]
        if spec.versioning:
            rules.append(
                do.SpacesBucketLifecycleRuleArgs(
                    enabled=True,
                    noncurrent_version_expiration=do.SpacesBucketLifecycleRuleNoncurrentVersionExpirationArgs(
                        days=NONCURRENT_DAYS
                    ),
                )
            )
        return do.SpacesBucket(
            resource_name,
            name=bucket_name,
            region=region,
            acl="private",
            versioning=do.SpacesBucketVersioningArgs(enabled=spec.versioning),
            lifecycle_rules=rules,
            # A CDN bucket holds only rebuildable static assets; data buckets are protected and never
            # force-destroyed (a delete of a non-empty bucket fails instead of erasing it).
            force_destroy=False,
            opts=pulumi.ResourceOptions(parent=self, protect=protect and not spec.cdn),
        )


def public_read_policy(bucket: str) -> str:
    """Anyone may GET objects of ``bucket`` (nothing else): what a CDN origin for static assets needs."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicReadForCdn",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["s3:GetObject"],
                    "Resource": [f"arn:aws:s3:::{bucket}/*"],
                }
            ],
        }
    )
