"""Physical names of AWS resources that have a length limit below what a stack's resource names reach.

``niche-discovery-production-podcast-summariser-aws-transcriber`` is 61 characters before Pulumi's random
suffix: over the limits of IAM role names (64), RDS identifiers (63) and ElastiCache ids (40). Names are
shortened deterministically, with a hash of the full name so two long names never collide.
"""

from __future__ import annotations

import hashlib
import re

RDS_IDENTIFIER_PREFIX_MAX = 36
"""RDS appends a 26-character unique suffix to ``identifier_prefix`` (63 in all), after our '-'."""
IAM_NAME_PREFIX_MAX = 37
"""IAM appends a 26-character unique suffix to ``name_prefix`` (64 in all), after our '-'."""
ELASTICACHE_ID_MAX = 40
"""Replication group, user and user group ids: 1-40 characters, a letter first, no '--', no trailing '-'."""


def bounded(name: str, limit: int) -> str:
    """``name`` lowercased to ``[a-z0-9-]``, or, when longer than ``limit``, its head and a 6-hex hash of it."""
    if limit < 8:
        raise ValueError(f"limit {limit} leaves no room for a hash")
    clean = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", name.lower())).strip("-")
    if not clean or not clean[0].isalpha():
        clean = f"x-{clean}".rstrip("-")
    if len(clean) <= limit:
        return clean
    digest = hashlib.sha256(clean.encode()).hexdigest()[:6]
    return f"{clean[: limit - 7].rstrip('-')}-{digest}"
