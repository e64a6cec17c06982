"""Every secret the program reads, in one registry.

Secrets never enter the pydantic models (those are plain, loggable values). They are read with
``Config.require_secret``/``get_secret`` and flow as secret Outputs. The registry drives three
things: the loader's "missing secret" problems (with the exact command to fix each), the check
that no secret was stored in plaintext, and the README's secrets table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator

from .base import PROJECT, StrictModel


@dataclass(frozen=True)
class SecretSpec:
    key: str
    """Config key without the project prefix."""
    purpose: str
    generate: str
    """How an operator produces the value."""
    required: bool = True
    """A missing required secret stops the run; an optional one disables the feature that needs it."""

    def set_command(self, stack: str) -> str:
        return f"pulumi config set --stack {stack} --secret {self.key} '<value>'"


SECRETS: tuple[SecretSpec, ...] = (
    SecretSpec(
        "grafanaAdminPassword",
        "Grafana admin login on the monitoring droplet.",
        "openssl rand -base64 24",
    ),
    SecretSpec(
        "alertPagingWebhookUrl",
        "Alertmanager receiver for severity=critical (PagerDuty/Opsgenie events URL).",
        "the integration URL from the paging service",
    ),
    SecretSpec(
        "alertChatWebhookUrl",
        "Alertmanager receiver for warnings (Slack/Mattermost incoming webhook).",
        "the incoming-webhook URL from the chat workspace",
    ),
    SecretSpec("jwtSecret", "Signing key of the API's JSON Web Tokens.", "openssl rand -base64 48"),
    SecretSpec("youtubeApiKey", "YouTube Data API key used by the YouTube scraper.", "Google Cloud console"),
    SecretSpec("tiktokClientKey", "TikTok API client key.", "TikTok developer portal"),
    SecretSpec("tiktokClientSecret", "TikTok API client secret.", "TikTok developer portal"),
    SecretSpec("redditClientId", "Reddit API client id.", "reddit.com/prefs/apps"),
    SecretSpec("redditClientSecret", "Reddit API client secret.", "reddit.com/prefs/apps"),
    SecretSpec(
        "flowerHtpasswd",
        "htpasswd line ({SHA} form, the only one Envoy's basic auth reads) guarding Flower's admin path at the edge.",
        'htpasswd -nbs admin "$(openssl rand -base64 18)"',
    ),
    SecretSpec("sentryDsn", "Sentry DSN for error reporting.", "Sentry project settings", required=False),
    # Tenant secrets (tenants/*.yaml): a tenant reads only keys prefixed with its own name. Optional here
    # because a stack needs them only when it lists the tenant; __main__ refuses a listed tenant's missing
    # key before anything is registered (stack_config/tenants.py, required_tenant_secrets). A catalog names
    # them in secrets (config.<key>), alertReceiver.webhookSecret and basicAuthSecret (htpasswd lines).
    SecretSpec("videoAnalysisJwtSecret", "video-analysis: signing key of its JWTs.", "openssl rand -base64 48", False),
    SecretSpec("videoAnalysisGeminiApiKey", "video-analysis: Google Gemini API key.", "Google AI Studio", False),
    SecretSpec("rwpOpenaiApiKey", "rwp: OpenAI API key of the AI pods.", "platform.openai.com API keys", False),
    SecretSpec("rwpJobadderClientId", "rwp: JobAdder OAuth client id.", "JobAdder developer portal", False),
    SecretSpec("rwpJobadderClientSecret", "rwp: JobAdder OAuth client secret.", "JobAdder developer portal", False),
    SecretSpec("rwpGaApiSecret", "rwp: Google Analytics Measurement Protocol secret.", "GA4 admin", False),
)

SECRETS_BY_KEY: Mapping[str, SecretSpec] = {s.key: s for s in SECRETS}


ESO_CHART_VERSION = "1.3.2"
"""external-secrets chart; its CRDs are vendored from the Go module at the same tag
(tests/vendor/crds/external-secrets/v1.3.2, PROVENANCE there)."""
RELOADER_CHART_VERSION = "2.1.4"
"""stakater/reloader chart (restarts a Deployment when a Secret it names changes)."""


class ExternalSecretsConfig(StrictModel):
    """The application's own secrets (``config.<key>`` sources of the catalog) from AWS Secrets Manager.

    Off (the default): they are Pulumi secret config, written into the namespace's Secret by ``pulumi up``,
    so a rotation is a config change and a deploy. On: the External Secrets Operator copies one JSON secret
    per tenant and stack (``<tenant>/<stack>/app``, properties named like the environment variables,
    e.g. ``JWT_SECRET``) into the Secret ``app-external-secrets`` every ``refreshInterval``, and Reloader
    rolls the Deployments that read it. A rotation is then ``aws secretsmanager put-secret-value``: no
    commit, no deploy (docs in README, "Secrets that rotate without a commit").
    """

    enabled: bool = Field(default=False, description="Read the application's secrets from AWS Secrets Manager.")
    aws_region: str = Field(default="us-east-1", description="Region of the secrets (and of the reader's provider).")
    refresh_interval: str = Field(
        default="30m", description="How often the operator re-reads the store. Seed (Vault refreshAfter): 30m."
    )
    chart_version: str = Field(default=ESO_CHART_VERSION, description="external-secrets Helm chart version.")
    reloader_chart_version: str = Field(default=RELOADER_CHART_VERSION, description="stakater/reloader chart version.")

    @field_validator("aws_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in {r.value for r in aws.Region}:
            raise ValueError(f"{value!r} is not an AWS region (e.g. us-east-1)")
        return value

    @field_validator("refresh_interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        match = re.fullmatch(r"([0-9]+)(m|h)", value)
        if match is None or int(match[1]) == 0:
            raise ValueError("must be a duration in minutes or hours such as '30m' or '1h'")
        return value

    @field_validator("chart_version", "reloader_chart_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", value):
            raise ValueError("must be an exact chart version such as 1.3.2 (no ranges)")
        return value


class Secrets:
    """Secret config values as secret Outputs, read once after validation passed."""

    def __init__(self, store_managed: frozenset[str] = frozenset()) -> None:
        """``store_managed``: keys an external store supplies instead (not required in Pulumi config)."""
        config = pulumi.Config(PROJECT)
        self._values: dict[str, pulumi.Output[str] | None] = {
            spec.key: (
                config.require_secret(spec.key)
                if spec.required and spec.key not in store_managed
                else config.get_secret(spec.key)
            )
            for spec in SECRETS
        }

    def require(self, key: str) -> pulumi.Output[str]:
        value = self._values[key]
        if value is None:
            raise KeyError(f"secret {key} is optional and unset; use optional() for it")
        return value

    def optional(self, key: str) -> pulumi.Output[str] | None:
        return self._values[key]
