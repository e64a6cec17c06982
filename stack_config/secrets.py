"""Every secret the program reads, in one registry.

Secrets never enter the pydantic models (those are plain, loggable values). They are read with
``Config.require_secret``/``get_secret`` and flow as secret Outputs. The registry drives three
things: the loader's "missing secret" problems (with the exact command to fix each), the check
that no secret was stored in plaintext, and the README's secrets table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from .base import PROJECT


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
        "htpasswd line guarding the Flower admin path at the ingress.",
        'htpasswd -nbB admin "$(openssl rand -base64 18)"',
    ),
    SecretSpec("sentryDsn", "Sentry DSN for error reporting.", "Sentry project settings", required=False),
)

SECRETS_BY_KEY: Mapping[str, SecretSpec] = {s.key: s for s in SECRETS}


class Secrets:
    """Secret config values as secret Outputs, read once after validation passed."""

    def __init__(self) -> None:
        config = pulumi.Config(PROJECT)
        self._values: dict[str, pulumi.Output[str] | None] = {
            spec.key: (config.require_secret(spec.key) if spec.required else config.get_secret(spec.key))
            for spec in SECRETS
        }

    def require(self, key: str) -> pulumi.Output[str]:
        value = self._values[key]
        if value is None:
            raise KeyError(f"secret {key} is optional and unset; use optional() for it")
        return value

    def optional(self, key: str) -> pulumi.Output[str] | None:
        return self._values[key]
