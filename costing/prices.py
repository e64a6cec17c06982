"""The committed price table: one row per billable unit, each with its source, as-of date and confidence.

Monthly USD. DigitalOcean bills droplets (and DOKS nodes, which are droplets) per second up to 672 hours a
month, so its monthly list price is the ceiling; AWS bills per hour, priced here at 730 hours a month.

Confidence, strongest first:

* ``confirmed`` - checked against the provider's documentation (FACTS.md "Prices", late 2026);
* ``likely`` - a published price list that was not re-checked (DigitalOcean's 2022 list, AWS us-east-1);
* ``unverified`` - a figure from memory or a third-party page, to be checked before a budget decision;
* ``assumption`` - not a price but a usage figure the estimate needs (how big a backup dump is).

``make cost`` with a ``DIGITALOCEAN_TOKEN`` refreshes droplet and node prices from
``digitalocean.get_sizes()`` and shows the difference; nothing else is fetched. Pure Python: the policy
pack imports this module from its own virtualenv.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Confidence = Literal["confirmed", "likely", "unverified", "assumption"]
CONFIDENCE_ORDER: tuple[Confidence, ...] = ("confirmed", "likely", "unverified", "assumption")

AWS_HOURS_PER_MONTH = 730.0

_FACTS = "FACTS.md prices (DigitalOcean docs, late 2026)"
_DO_2022 = "DigitalOcean price list 2022 (FACTS.md: likely, not re-checked)"
_DO_UNVERIFIED = "FACTS.md prices: unverified"
_DO_MEMORY = "DigitalOcean pricing page as remembered (not in FACTS.md)"
_AWS = "AWS pricing pages, us-east-1 (not re-checked)"


@dataclass(frozen=True)
class Price:
    """One row of the price table."""

    key: str
    usd: float
    """USD per ``unit``."""
    unit: str
    source: str
    as_of: str
    confidence: Confidence


def _rows(*rows: Price) -> dict[str, Price]:
    return {row.key: row for row in rows}


PRICES: dict[str, Price] = _rows(
    # --- DigitalOcean: Kubernetes
    Price("do.doks.control-plane", 0.0, "cluster-month", _FACTS, "2026-11", "confirmed"),
    Price("do.doks.ha-control-plane", 40.0, "cluster-month", _FACTS, "2026-11", "confirmed"),
    # --- DigitalOcean: droplets and DOKS nodes (same sizes, same price)
    Price("do.droplet.s-1vcpu-1gb", 6.0, "node-month", _DO_MEMORY, "2024-06", "unverified"),
    Price("do.droplet.s-1vcpu-2gb", 12.0, "node-month", _DO_2022, "2022-07", "likely"),
    Price("do.droplet.s-2vcpu-2gb", 18.0, "node-month", _DO_MEMORY, "2024-06", "unverified"),
    Price("do.droplet.s-2vcpu-4gb", 24.0, "node-month", _DO_2022, "2022-07", "likely"),
    Price("do.droplet.s-4vcpu-8gb", 48.0, "node-month", _DO_2022, "2022-07", "likely"),
    Price("do.droplet.s-8vcpu-16gb", 96.0, "node-month", _DO_2022, "2022-07", "likely"),
    Price(
        "do.droplet.backups-weekly",
        0.20,
        "fraction of the droplet price",
        "DigitalOcean backups docs as remembered (weekly plan: 20%)",
        "2024-06",
        "unverified",
    ),
    # --- DigitalOcean: managed databases, per node (a standby is a node)
    Price("do.db.db-s-1vcpu-1gb", 15.0, "node-month", _DO_2022, "2022-07", "likely"),
    Price("do.db.db-s-1vcpu-2gb", 30.0, "node-month", _DO_UNVERIFIED, "2026-11", "unverified"),
    Price("do.db.db-s-2vcpu-4gb", 60.0, "node-month", _DO_UNVERIFIED, "2026-11", "unverified"),
    Price("do.db.db-s-4vcpu-8gb", 120.0, "node-month", _DO_UNVERIFIED, "2026-11", "unverified"),
    # --- DigitalOcean: network and storage
    Price("do.lb.size-unit", 12.0, "size-unit-month", _DO_UNVERIFIED, "2026-11", "unverified"),
    Price("do.volume.gib", 0.10, "GiB-month", _DO_UNVERIFIED, "2026-11", "unverified"),
    Price("do.snapshot.gib", 0.06, "GiB-month", _FACTS, "2026-11", "confirmed"),
    Price("do.spaces.base", 5.0, "subscription-month (250 GiB)", _DO_UNVERIFIED, "2026-11", "unverified"),
    # --- AWS
    Price("aws.s3.STANDARD", 0.023, "GiB-month", _AWS, "2025-01", "likely"),
    Price("aws.s3.STANDARD_IA", 0.0125, "GiB-month", _AWS, "2025-01", "likely"),
    Price("aws.s3.ONEZONE_IA", 0.01, "GiB-month", _AWS, "2025-01", "likely"),
    Price("aws.s3.GLACIER_IR", 0.004, "GiB-month", _AWS, "2025-01", "likely"),
    Price("aws.s3.GLACIER", 0.0036, "GiB-month", _AWS, "2025-01", "likely"),
    Price("aws.s3.DEEP_ARCHIVE", 0.00099, "GiB-month", _AWS, "2025-01", "likely"),
    Price("aws.s3.replication-transfer", 0.02, "GiB replicated across regions", _AWS, "2025-01", "likely"),
    Price("aws.kms.key", 1.0, "key-month", _AWS, "2025-01", "likely"),
    Price("aws.eks.cluster", 0.10 * AWS_HOURS_PER_MONTH, "cluster-month ($0.10/h)", _AWS, "2025-01", "likely"),
    Price("aws.ec2.nat-gateway", 0.045 * AWS_HOURS_PER_MONTH, "gateway-month ($0.045/h)", _AWS, "2025-01", "likely"),
    Price("aws.ec2.public-ipv4", 0.005 * AWS_HOURS_PER_MONTH, "address-month ($0.005/h)", _AWS, "2025-01", "likely"),
    Price(
        "aws.eks.auto-mode-vcpu",
        0.0504 * 1.12 * AWS_HOURS_PER_MONTH,
        "vCPU-month (m7i on-demand $0.0504/vCPU-h + ~12% Auto Mode fee)",
        "AWS EC2 and EKS Auto Mode pricing as remembered",
        "2025-01",
        "unverified",
    ),
    # --- AWS data services of `target: aws` tenants (issue 15); on-demand, single-AZ, per instance or node
    *(
        Price(
            f"aws.rds.{cls}",
            hourly * AWS_HOURS_PER_MONTH,
            f"instance-month (${hourly}/h)",
            _AWS,
            "2025-01",
            "unverified",
        )
        for cls, hourly in (
            ("db.t4g.micro", 0.016),
            ("db.t4g.small", 0.032),
            ("db.t4g.medium", 0.065),
            ("db.t4g.large", 0.129),
            ("db.m7g.large", 0.168),
        )
    ),
    Price("aws.rds.gp3", 0.115, "GiB-month (single-AZ; Multi-AZ bills twice)", _AWS, "2025-01", "unverified"),
    Price("aws.secretsmanager.secret", 0.40, "secret-month", _AWS, "2025-01", "likely"),
    Price("aws.cloudwatch.alarm", 0.10, "standard-resolution alarm-month", _AWS, "2025-01", "likely"),
    *(
        Price(
            f"aws.elasticache.valkey.{node}",
            hourly * AWS_HOURS_PER_MONTH,
            f"node-month (${hourly}/h: Redis OSS price less Valkey's 20%)",
            _AWS,
            "2025-01",
            "unverified",
        )
        for node, hourly in (("cache.t4g.micro", 0.0128), ("cache.t4g.small", 0.0256), ("cache.t4g.medium", 0.052))
    ),
    Price(
        "aws.eks.auto-mode-gpu",
        0.805 * 1.12 * AWS_HOURS_PER_MONTH,
        "GPU-month (g6.xlarge on-demand $0.805/h + ~12% Auto Mode fee; spot is 50-70% less)",
        "AWS EC2 and EKS Auto Mode pricing as remembered",
        "2025-01",
        "unverified",
    ),
    # --- Usage assumptions (not prices)
    Price(
        "assume.backup-dump-gib.min",
        0.1,
        "GiB per dump, minimum scale",
        "assumption: compressed pg_dump of a young seed database; replace with the observed size",
        "2026-12",
        "assumption",
    ),
    Price(
        "assume.backup-dump-gib.max",
        1.0,
        "GiB per dump, full scale",
        "assumption: compressed pg_dump at the seed's full scale; replace with the observed size",
        "2026-12",
        "assumption",
    ),
)
"""Every price the estimator uses, keyed by a stable name."""

S3_MIN_DAYS: dict[str, int] = {"STANDARD": 0, "STANDARD_IA": 30, "ONEZONE_IA": 30, "GLACIER_IR": 90, "GLACIER": 90}
"""Minimum storage duration an object is billed for in each class (AWS S3 pricing), DEEP_ARCHIVE below."""
S3_MIN_DAYS["DEEP_ARCHIVE"] = 180


def weakest(confidences: list[Confidence]) -> Confidence:
    """The least certain of several confidences (a line is only as good as its weakest price)."""
    if not confidences:
        return "confirmed"
    return max(confidences, key=CONFIDENCE_ORDER.index)
