"""The monitoring droplet's public remote-write endpoint: nginx, TLS and basic auth in front of Prometheus.

Why it exists: the EKS cluster's metrics agent lives in an AWS VPC, and DigitalOcean has no peering with AWS.
The decision (docs/eks.md, "Metrics of the AWS tenants"): remote write over the internet, TLS with a private CA
the agent pins, HTTP basic auth with a generated password, and a second cloud firewall that admits the port only
from the EKS NAT gateways' Elastic IPs (components/eks_metrics_agent.py). Not a WireGuard pair (two more hosts
to run and patch) and not Amazon Managed Prometheus (per-sample pricing, and the seed's alerts would need
re-homing to AMP rules and another Alertmanager).

Why nginx and not Prometheus's own ``--web.config.file`` (TLS + bcrypt basic auth): that file guards *every*
endpoint of :9090, and the DOKS agent, KEDA and Grafana reach :9090 in plain HTTP over the VPC today. A proxy on
a dedicated port leaves that path byte-for-byte as it is and exposes exactly two locations, ``/api/v1/write``
(Prometheus) and ``/loki/api/v1/push`` (Loki, the EKS log agent); everything else on the port is 404 (no query
API, no admin API on the internet).

Pure renderers: the server block (``render_server_block``) and the htpasswd line (``render_htpasswd``); the
caller (observability/cloud_init.py) writes them with the certificate and key. The judge is nginx itself
(tests/observability/test_remote_write_proxy.py runs ``nginx -t`` and serves real requests through it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .loki import LOKI_PORT, PUSH_PATH
from .prometheus import PROMETHEUS_PORT

REMOTE_WRITE_TLS_PORT = 9443
"""Public port of the endpoint (not 443: nothing else is served, and the port says what it is)."""
REMOTE_WRITE_PATH = "/api/v1/write"
REMOTE_WRITE_USER = "remote-write"
"""Basic-auth user name (not a secret; the password is)."""
TLS_DIR = "/etc/nginx/remote-write"
"""Certificate, key and htpasswd on the droplet (key and htpasswd readable by root / nginx's group only)."""
SITE_PATH = "/etc/nginx/conf.d/remote-write.conf"
"""Debian/Ubuntu's nginx.conf includes ``conf.d/*.conf`` inside its ``http`` block."""
MAX_BODY = "16m"
"""A remote-write request is one snappy-compressed batch (``max_samples_per_send`` 2000 in
observability/agent.py: a few hundred KiB at most); nginx's 1 MiB default would refuse a large batch with 413
and Prometheus would retry it forever. 16 MiB leaves room without letting a client park gigabytes."""

_BCRYPT = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")


@dataclass(frozen=True)
class RemoteWriteProxySettings:
    tls_dir: str = TLS_DIR
    """Where the certificate, key and htpasswd live. Default: TLS_DIR (tests point it at a temporary one)."""
    port: int = REMOTE_WRITE_TLS_PORT
    """Listening port. Default: 9443."""
    upstream: str = f"127.0.0.1:{PROMETHEUS_PORT}"
    """Prometheus's remote-write receiver on the droplet itself. Default: 127.0.0.1:9090."""
    loki_upstream: str = f"127.0.0.1:{LOKI_PORT}"
    """Loki's push API on the droplet itself (the EKS log agent's target). Default: 127.0.0.1:3100. Loki runs
    single-tenant (``auth_enabled: false``, observability/loki.py), so it takes this push exactly as the DOKS
    agent's VPC push: no ``X-Scope-OrgID`` needed, none added."""

    @property
    def certificate(self) -> str:
        return f"{self.tls_dir}/server.crt"

    @property
    def key(self) -> str:
        return f"{self.tls_dir}/server.key"

    @property
    def htpasswd(self) -> str:
        return f"{self.tls_dir}/htpasswd"


def render_htpasswd(bcrypt_hash: str, user: str = REMOTE_WRITE_USER) -> str:
    """One htpasswd line. nginx checks it with crypt(3) (libxcrypt), which takes ``$2a$``/``$2b$``/``$2y$``;
    the random provider's ``bcrypt_hash`` is Go's ``$2a$``. A malformed hash would lock the agent out silently
    (every request 401), so it is refused here."""
    if not _BCRYPT.fullmatch(bcrypt_hash):
        raise ValueError(
            "remote-write password hash is not a bcrypt hash ($2a$/$2b$/$2y$, cost, 53 characters): pass "
            "RandomPassword.bcrypt_hash, not the password"
        )
    return f"{user}:{bcrypt_hash}\n"


def render_server_block(settings: RemoteWriteProxySettings | None = None) -> str:
    """The nginx ``server`` block (a conf.d file: it goes inside nginx's ``http`` block)."""
    s = settings or RemoteWriteProxySettings()
    return f"""# Public remote-write endpoint for the EKS metrics agent (observability/remote_write_proxy.py).
# Only {REMOTE_WRITE_PATH} (metrics) and {PUSH_PATH} (logs), only with the password; the cloud firewall
# admits only the EKS NAT addresses.
server {{
    listen {s.port} ssl;
    server_name _;
    ssl_certificate {s.certificate};
    ssl_certificate_key {s.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    client_max_body_size {MAX_BODY};
    server_tokens off;

    location = {REMOTE_WRITE_PATH} {{
        auth_basic "remote write";
        auth_basic_user_file {s.htpasswd};
        # Remote write is POST only; anything else is refused before it reaches Prometheus.
        limit_except POST {{
            deny all;
        }}
        proxy_pass http://{s.upstream};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        # The password must not travel on to Prometheus (nor into its logs).
        proxy_set_header Authorization "";
    }}

    # The EKS log agent's push (Alloy's loki.write): same password file, same POST-only rule, same body limit
    # (a push is one batch, Alloy's batch_size defaults to 1 MiB before compression).
    location = {PUSH_PATH} {{
        auth_basic "remote write";
        auth_basic_user_file {s.htpasswd};
        limit_except POST {{
            deny all;
        }}
        proxy_pass http://{s.loki_upstream};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Authorization "";
    }}

    location / {{
        return 404;
    }}
}}
"""
