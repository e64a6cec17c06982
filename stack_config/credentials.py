"""Recognise credentials by name or by shape, and keep them out of plain config and of error output.

Error messages land in CI logs, so a value is shown only after ``redact``: anything under a key that
names a credential is hidden whole, and credential-shaped text (a URL with user info, a well-known
token prefix, a private key) is masked wherever it appears. The same shapes make a plain (non-secret)
config value an error: credentials belong in ``pulumi config set --secret``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "<redacted>"

CREDENTIAL_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|CLIENT_?KEY|PRIVATE_?KEY|ACCESS_?KEY|DSN|CREDENTIAL|HTPASSWD|WEBHOOK)",
    re.IGNORECASE | re.ASCII,
)
"""Names (config keys, env vars, ConfigMap keys) that announce a credential."""

_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<userinfo>[^/?#@\s]+)@", re.IGNORECASE | re.ASCII)

TOKEN_SHAPES: Mapping[str, re.Pattern[str]] = {
    "a GitHub token": re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})", re.ASCII),
    "a DigitalOcean token": re.compile(r"\bdo[opr]_v1_[A-Za-z0-9]{20,}", re.ASCII),
    "an AWS access key id": re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b", re.ASCII),
    "a Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}", re.ASCII),
    "a Slack webhook": re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9/]+", re.ASCII),
    "a GitLab token": re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}", re.ASCII),
    "a Stripe secret key": re.compile(r"\b[rs]k_live_[A-Za-z0-9]{16,}", re.ASCII),
    "a Google API key": re.compile(r"\bAIza[A-Za-z0-9_-]{35}", re.ASCII),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", re.ASCII),
}
"""Well-known token formats: credentials whatever the key they are stored under is called."""


def names_credential(name: str) -> bool:
    return bool(CREDENTIAL_NAME.search(name))


def credential_shape(text: str) -> str | None:
    """What kind of credential ``text`` contains, or None."""
    if _URL_USERINFO.search(text):
        return "a URL with credentials in its user info"
    for kind, pattern in TOKEN_SHAPES.items():
        if pattern.search(text):
            return kind
    return None


def redact_text(text: str) -> str:
    """``text`` with user info of URLs and token-shaped substrings masked."""
    text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    for pattern in TOKEN_SHAPES.values():
        text = pattern.sub(REDACTED, text)
    return text


def redact(value: Any, key: str = "") -> Any:
    """``value`` safe to print: hidden whole under a credential name, masked by shape elsewhere."""
    if key and names_credential(key.rsplit(".", 1)[-1].rsplit(":", 1)[-1]) and value not in (None, "", {}, []):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def credential_leaves(value: Any, path: str) -> list[tuple[str, str]]:
    """(dotted key, kind) of every string inside ``value`` that is shaped like a credential."""
    if isinstance(value, str):
        kind = credential_shape(value)
        return [(path, kind)] if kind else []
    if isinstance(value, Mapping):
        return [hit for k, v in value.items() for hit in credential_leaves(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in credential_leaves(v, f"{path}[{i}]")]
    return []
