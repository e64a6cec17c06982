"""Limits enforced twice, by the config models (stack_config/) and by the policy pack (policies/guards/).

One definition, so a value the config accepts can never fail a mandatory guard (issue 18, item 9: config
allowed 365 days of noncurrent versions while the pack capped them at 90). Pure constants, no imports:
the pack imports this with only the project root appended to ``sys.path`` (policies/guards/aws_*.py).
The per-stack policy config (policies/config/<stack>.json) repeats the per-environment values for the
pack's own reports; tests/test_guardrails.py holds the three in step and runs the pack over configs at
these limits.
"""

from __future__ import annotations

BACKUP_MAX_NONCURRENT_DAYS = 90
"""Longest an overwritten or deleted dump version is kept. Object lock already protects fresh dumps;
a noncurrent version older than this is a superseded copy that only costs money."""

EKS_MIN_KUBERNETES_MINOR = 34
"""Oldest minor still in EKS standard support (14 months from its EKS release; 1.33's ended in mid-2026);
older ones bill extended support (6x the control-plane fee). Raise it as minors age out."""

EKS_MAX_POOL_CPU = {"staging": 64, "production": 256}
"""Largest ``cpuLimit`` of one Karpenter NodePool, in vCPUs, per environment (the budget owner's cap)."""

EKS_MAX_TOTAL_CPU = {"staging": 128, "production": 512}
"""Largest sum of all NodePools' ``cpuLimit``, in vCPUs, per environment."""


def per_environment(limits: dict[str, int], environment: str | None) -> int:
    """The limit of ``environment``; production's (the loosest) when it is not known yet."""
    return limits.get(environment or "production", limits["production"])
