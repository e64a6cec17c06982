"""The customer-managed KMS key every AWS component of the platform makes the same way.

Yearly rotation on, and the longest deletion window (30 days): losing a key loses everything it encrypts
(a database's storage, a bucket's dumps, etcd's Secrets), so a deletion must be cancellable for as long as AWS
allows. Protected with the data it encrypts. No key policy here: AWS's default lets the account's IAM policies
decide, and a caller that needs a service principal on the key adds an ``aws.kms.KeyPolicy`` of its own
(components/aws_alarms.py).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

DELETION_WINDOW_DAYS = 30


def customer_key(name: str, description: str, opts: pulumi.ResourceOptions, **extra: Any) -> aws.kms.Key:
    """``aws.kms.Key`` ``name`` with rotation and the 30-day window; ``opts`` carry the parent and ``protect``,
    ``extra`` the rest (``tags``, ``region``)."""
    return aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=DELETION_WINDOW_DAYS,
        opts=opts,
        **extra,
    )
