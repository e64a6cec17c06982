"""The public remote-write endpoint, judged by nginx itself: the rendered server block passes ``nginx -t`` and,
served for real in front of a stand-in Prometheus, admits only an authenticated POST to /api/v1/write over TLS
that verifies against the private CA."""

from __future__ import annotations

import base64
import datetime
import http.server
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from observability.loki import PUSH_PATH
from observability.remote_write_proxy import (
    MAX_BODY,
    REMOTE_WRITE_PATH,
    REMOTE_WRITE_USER,
    RemoteWriteProxySettings,
    render_htpasswd,
    render_server_block,
)

PASSWORD = "correct-horse-battery-staple"


def _nginx() -> str:
    # Debian installs it in /usr/sbin, which a non-root PATH may lack.
    found = shutil.which("nginx") or (shutil.which("nginx", path="/usr/sbin:/sbin"))
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed: scripts/install-tools.sh must run first")
        pytest.skip("nginx not installed (scripts/install-tools.sh installs it)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pki(directory: Path) -> Path:
    """A CA and a server certificate for 127.0.0.1 (IP SAN, as the droplet's reserved IP); returns the CA file."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("test remote-write CA"))
        .issuer_name(_name("test remote-write CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("monitoring remote write"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ca_file = directory / "ca.crt"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return ca_file


class _Prometheus(http.server.BaseHTTPRequestHandler):
    """Stands in for Prometheus's receiver: records what reaches it, answers 204 like Prometheus does."""

    seen: list[tuple[str, str, dict[str, str], int]] = []

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).seen.append((self.command, self.path, dict(self.headers), length))
        self.send_response(204)
        self.end_headers()

    do_POST = _record
    do_GET = _record

    def log_message(self, *args: object) -> None:
        pass


class _Loki(_Prometheus):
    """Stands in for Loki's push API (a separate upstream: a push must reach Loki, never Prometheus)."""

    seen: list[tuple[str, str, dict[str, str], int]] = []


@dataclass
class Endpoint:
    url: str
    ca_file: Path
    root: Path
    """https://127.0.0.1:<port>"""


def _config(root: Path, site: Path) -> str:
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers must read the htpasswd in a 0700 tmp dir
    temps = "\n".join(
        f"    {kind}_temp_path {root}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}pid {root}/nginx.pid;
error_log {root}/error.log;
events {{}}
http {{
    access_log off;
{temps}
    include {site};
}}
"""


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    nginx = _nginx()
    root = tmp_path_factory.mktemp("nginx")
    tls = root / "tls"
    tls.mkdir()
    ca_file = _pki(tls)
    # The hash format the random provider's bcrypt_hash emits (Go's golang.org/x/crypto/bcrypt): $2a$.
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10, prefix=b"2a")).decode()
    assert hashed.startswith("$2a$10$")
    (tls / "htpasswd").write_text(render_htpasswd(hashed))

    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Prometheus)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    loki = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Loki)
    threading.Thread(target=loki.serve_forever, daemon=True).start()
    port = _free_port()
    settings = RemoteWriteProxySettings(
        tls_dir=str(tls),
        port=port,
        upstream=f"127.0.0.1:{upstream.server_address[1]}",
        loki_upstream=f"127.0.0.1:{loki.server_address[1]}",
    )
    site = root / "remote-write.conf"
    site.write_text(render_server_block(settings))
    conf = root / "nginx.conf"
    conf.write_text(_config(root, site))
    argv = [nginx, "-p", str(root), "-e", str(root / "error.log"), "-c", str(conf)]

    checked = subprocess.run([*argv, "-t"], capture_output=True, text=True, check=False, timeout=30)
    assert checked.returncode == 0, checked.stderr

    server = subprocess.Popen([*argv, "-g", "daemon off;"], stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail(f"nginx did not listen: {(root / 'error.log').read_text()}")
        yield Endpoint(f"https://127.0.0.1:{port}", ca_file, root)
    finally:
        server.terminate()
        server.wait(timeout=10)
        upstream.shutdown()
        loki.shutdown()


def _request(
    endpoint: Endpoint, path: str, method: str = "POST", password: str | None = PASSWORD, body: bytes = b"batch"
) -> int:
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy"}
    if password is not None:
        token = base64.b64encode(f"{REMOTE_WRITE_USER}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    request = urllib.request.Request(  # noqa: S310 - an https URL of the test's own server
        endpoint.url + path, data=body if method == "POST" else None, method=method, headers=headers
    )
    # The agent pins the private CA: verify against it only, hostname (IP SAN) checked.
    context = ssl.create_default_context(cafile=str(endpoint.ca_file))
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_nginx_accepts_the_rendered_server_block(endpoint: Endpoint) -> None:
    assert (endpoint.root / "nginx.conf").exists()  # `nginx -t` passed in the fixture


def test_write_without_a_password_is_refused(endpoint: Endpoint) -> None:
    assert _request(endpoint, REMOTE_WRITE_PATH, password=None) == 401


def test_write_with_a_wrong_password_is_refused(endpoint: Endpoint) -> None:
    assert _request(endpoint, REMOTE_WRITE_PATH, password="wrong") == 401


def test_write_with_the_password_reaches_prometheus_without_the_credential(endpoint: Endpoint) -> None:
    _Prometheus.seen.clear()
    assert _request(endpoint, REMOTE_WRITE_PATH) == 204
    ((method, path, headers, length),) = _Prometheus.seen
    assert (method, path, length) == ("POST", REMOTE_WRITE_PATH, len(b"batch"))
    assert "Authorization" not in headers
    assert headers["Content-Encoding"] == "snappy"


def test_a_large_remote_write_batch_fits_the_body_limit(endpoint: Endpoint) -> None:
    assert MAX_BODY == "16m"
    assert _request(endpoint, REMOTE_WRITE_PATH, body=b"x" * (8 * 1024 * 1024)) == 204


@pytest.mark.parametrize("path", ["/api/v1/query?query=up", "/", "/api/v1/admin/tsdb/snapshot", "/metrics"])
def test_nothing_but_the_write_path_is_served(endpoint: Endpoint, path: str) -> None:
    method = "GET" if "query" in path or path in ("/", "/metrics") else "POST"
    assert _request(endpoint, path, method=method) == 404


def test_only_post_is_proxied(endpoint: Endpoint) -> None:
    _Prometheus.seen.clear()
    assert _request(endpoint, REMOTE_WRITE_PATH, method="GET") == 403
    assert _Prometheus.seen == []


def test_log_push_without_a_password_is_refused(endpoint: Endpoint) -> None:
    _Loki.seen.clear()
    assert _request(endpoint, PUSH_PATH, password=None) == 401
    assert _request(endpoint, PUSH_PATH, password="wrong") == 401
    assert _Loki.seen == []


def test_log_push_with_the_password_reaches_loki_without_the_credential(endpoint: Endpoint) -> None:
    _Loki.seen.clear()
    _Prometheus.seen.clear()
    assert _request(endpoint, PUSH_PATH) == 204
    ((method, path, headers, length),) = _Loki.seen
    assert (method, path, length) == ("POST", PUSH_PATH, len(b"batch"))
    assert "Authorization" not in headers
    assert _Prometheus.seen == []


def test_a_large_log_push_fits_the_body_limit(endpoint: Endpoint) -> None:
    assert _request(endpoint, PUSH_PATH, body=b"x" * (8 * 1024 * 1024)) == 204


def test_only_post_is_proxied_to_loki(endpoint: Endpoint) -> None:
    _Loki.seen.clear()
    assert _request(endpoint, PUSH_PATH, method="GET") == 403
    assert _Loki.seen == []


@pytest.mark.parametrize("path", ["/loki/api/v1/query_range?query=%7Bjob%3D%22x%22%7D", "/loki/api/v1/labels"])
def test_loki_read_api_is_not_served(endpoint: Endpoint, path: str) -> None:
    assert _request(endpoint, path, method="GET") == 404


def test_the_certificate_does_not_verify_against_system_cas(endpoint: Endpoint) -> None:
    """Why the agent pins the CA (tls_config.ca_file): the private CA is in no system trust store."""
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(endpoint.url + REMOTE_WRITE_PATH, context=ssl.create_default_context(), timeout=10)  # noqa: S310


def test_htpasswd_refuses_anything_but_a_bcrypt_hash() -> None:
    with pytest.raises(ValueError, match=r"not a bcrypt hash .* pass RandomPassword.bcrypt_hash"):
        render_htpasswd(PASSWORD)


def test_htpasswd_takes_the_random_providers_hash_format() -> None:
    hashed = "$2a$10$" + "a" * 53
    assert render_htpasswd(hashed) == f"{REMOTE_WRITE_USER}:{hashed}\n"
