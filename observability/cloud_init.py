"""cloud-init user-data of the monitoring droplet.

The droplet is disposable (changing user-data replaces it); its state lives on the attached
volume, mounted at DATA_DIR before any service starts, so a replacement loses nothing: TSDB,
Alertmanager silences and Grafana's database survive. Configuration is not state: it is rendered
here, reviewed as golden files and rewritten by each replacement.

What runs (all from Ubuntu packages except Grafana and Loki, from Grafana's signed APT repository):
Prometheus :9090 (rules, remote-write receiver), Alertmanager :9093, node_exporter :9100,
Grafana :3000, Loki :3100 (central logs, pushed by the in-cluster log agent). The cloud firewall
decides who reaches which port (components/monitoring_server.py).

Only on stacks with the EKS cluster (``MonitoringHost.remote_write_proxy``): nginx from Ubuntu on :9443, the
public TLS + basic-auth remote-write endpoint of the EKS agent (observability/remote_write_proxy.py). Off, the
document is byte-identical to what it was before the endpoint existed (no droplet replacement on upgrade).
"""

from __future__ import annotations

import base64
import gzip
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .alertmanager import alertmanager_args, render_alertmanager_config
from .grafana import (
    DASHBOARDS_DIR,
    render_dashboard_provider,
    render_dashboards,
    render_datasources,
    render_grafana_ini,
)
from .loki import LOKI_CONFIG, LOKI_VERSION, LokiSettings, render_loki_config
from .prometheus import GRAFANA_PORT, PROMETHEUS_PORT, RULES_DIR, prometheus_args, render_prometheus_config
from .remote_write_proxy import SITE_PATH, RemoteWriteProxySettings, render_htpasswd, render_server_block
from .rules import render_rule_files
from .tenants import TENANT_DASHBOARDS_DIR, TenantDashboard, TenantRuleGroup

DATA_DIR = "/mnt/monitoring"
USER_DATA_LIMIT_BYTES = 64 * 1024
"""DigitalOcean refuses user-data above 64 KiB."""
GRAFANA_PASSWORD_FILE = "/etc/grafana/admin-password"  # noqa: S105 - a path, not a password
GRAFANA_VERSION = "12.4.3"
"""Grafana OSS from apt.grafana.com, pinned (and held): an unpinned install takes whatever the
repository's ``stable`` holds on the day a droplet is replaced, so two replacements could run
different majors against the same database on the volume (Grafana migrates it forward only).
Bump deliberately, after reading the release notes."""
APT_LOCK_TIMEOUT_SECONDS = 600
"""How long every apt/dpkg run waits for the dpkg lock (``DPkg::Lock::Timeout``). On a fresh
Ubuntu droplet, unattended-upgrades and cloud-init's own package upgrade hold the lock during the
first minutes; without a wait the installer's apt-get fails at once."""
APT_LOCK_CONF = "/etc/apt/apt.conf.d/90-dpkg-lock-timeout"


@dataclass(frozen=True)
class MonitoringHost:
    """Plain (non-secret) facts the monitoring server is configured from."""

    tenant: str
    environment: str
    name: str
    """Droplet name; the ``instance`` label of its own node metrics."""
    volume_name: str
    """DigitalOcean volume name; the device is /dev/disk/by-id/scsi-0DO_Volume_<name>."""
    volume_size_gib: int
    retention_days: int
    log_retention_days: int = 30
    """How long Loki keeps logs (the compactor deletes older chunks)."""
    tenant_rule_groups: tuple[TenantRuleGroup, ...] = ()
    """Rule files of the platform's tenants (observability/tenants.py). Default: none."""
    tenant_dashboards: tuple[TenantDashboard, ...] = ()
    """Dashboards of the platform's tenants, a folder per tenant. Default: none."""
    remote_write_proxy: bool = False
    """Serve the public TLS remote-write endpoint (nginx) for the EKS agent; ``MonitoringSecrets.remote_write``
    then carries its certificate, key and password hash. Default: off (only the VPC path)."""


@dataclass(frozen=True)
class RemoteWriteTls:
    """The public remote-write endpoint's material (components/monitoring_server.py makes it with pulumi_tls)."""

    certificate_pem: str
    """Server certificate (IP SAN: the reserved IP), signed by the private CA the EKS agent pins."""
    private_key_pem: str
    password_bcrypt_hash: str
    """``RandomPassword.bcrypt_hash``: the droplet never holds the password itself."""


@dataclass(frozen=True)
class MonitoringSecrets:
    """Secret values written to the droplet; the caller keeps the rendered text a secret Output."""

    grafana_admin_password: str
    paging_webhook_url: str
    chat_webhook_url: str
    tenant_webhook_urls: Mapping[str, str] = field(default_factory=dict)
    """Tenant -> its own alert webhook (catalog ``alertReceiver``). Default: none."""
    remote_write: RemoteWriteTls | None = None
    """Required exactly when ``MonitoringHost.remote_write_proxy`` is on. Default: none."""


def _device(host: MonitoringHost) -> str:
    return f"/dev/disk/by-id/scsi-0DO_Volume_{host.volume_name}"


def _mount_script(host: MonitoringHost) -> str:
    return f"""#!/bin/bash
# Mount the data volume before any monitoring service starts. The volume is attached after the
# droplet boots, so wait for it; format only a blank device (a replacement droplet must never
# reformat the existing data).
set -euo pipefail
DEVICE={_device(host)}
for _ in $(seq 1 120); do [ -e "$DEVICE" ] && break; sleep 5; done
[ -e "$DEVICE" ] || {{ echo "volume $DEVICE never appeared" >&2; exit 1; }}
blkid "$DEVICE" >/dev/null || mkfs.ext4 -L monitoring "$DEVICE"
mkdir -p {DATA_DIR}
grep -q "$DEVICE" /etc/fstab || echo "$DEVICE {DATA_DIR} ext4 defaults,nofail,discard,noatime 0 2" >> /etc/fstab
mountpoint -q {DATA_DIR} || mount {DATA_DIR}
mountpoint -q {DATA_DIR} || {{ echo "{DATA_DIR} is not mounted" >&2; exit 1; }}
mkdir -p {DATA_DIR}/prometheus {DATA_DIR}/alertmanager {DATA_DIR}/grafana {DATA_DIR}/loki
"""


def _install_script(host: MonitoringHost) -> str:
    return f"""#!/bin/bash
# Prometheus, Alertmanager and node_exporter from Ubuntu; Grafana and Loki (pinned) from Grafana's
# signed APT repository.
set -euo pipefail
# Refuse to run unless the data volume is mounted where the services keep their state: cloud-init's
# runcmd goes on after a failed mount script, and the installer would then put TSDB, silences and
# Grafana's database on the root disk, where the next replacement silently loses them.
DEVICE="$(readlink -f {_device(host)})" || DEVICE=""
MOUNTED="$(findmnt --noheadings --output SOURCE --mountpoint {DATA_DIR})" || MOUNTED=""
if [ -z "$DEVICE" ] || [ "$MOUNTED" != "$DEVICE" ]; then
  echo "refusing to install: {DATA_DIR} is not the mounted data volume ($MOUNTED, expected $DEVICE)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Wait for the dpkg lock (unattended-upgrades runs on first boot) instead of failing.
APT=(apt-get -q -o DPkg::Lock::Timeout={APT_LOCK_TIMEOUT_SECONDS})
install -d -m 0755 /etc/apt/keyrings
curl -fsSL https://apt.grafana.com/gpg.key | gpg --dearmor --yes -o /etc/apt/keyrings/grafana.gpg
echo "deb [signed-by=/etc/apt/keyrings/grafana.gpg] https://apt.grafana.com stable main" \\
  > /etc/apt/sources.list.d/grafana.list
"${{APT[@]}}" update
# Our config files were written first: keep them (confold) instead of prompting.
"${{APT[@]}}" install -y -o Dpkg::Options::=--force-confold \\
  prometheus prometheus-alertmanager prometheus-node-exporter grafana={GRAFANA_VERSION} loki={LOKI_VERSION}
# Held, so a manual `apt-get upgrade` on the droplet does not move them either.
apt-mark hold grafana loki
# The service users exist only now: hand them their data and the secret-bearing configs
# (written root-only by cloud-init, readable by nobody else).
chown -R prometheus:prometheus {DATA_DIR}/prometheus {DATA_DIR}/alertmanager
chown -R grafana:grafana {DATA_DIR}/grafana
chown -R loki:loki {DATA_DIR}/loki
chown root:prometheus /etc/prometheus/alertmanager.yml
chown root:grafana /etc/grafana/grafana.ini
chmod 0640 /etc/prometheus/alertmanager.yml /etc/grafana/grafana.ini
chmod 0755 {DASHBOARDS_DIR}
{_tenant_dashboards_mode(host)}{_remote_write_proxy_setup(host)}systemctl daemon-reload
systemctl enable prometheus prometheus-alertmanager prometheus-node-exporter grafana-server loki
systemctl restart prometheus prometheus-alertmanager prometheus-node-exporter grafana-server loki
# grafana.ini's admin_password only seeds a new database; the database lives on the volume and
# outlives droplets, so set the current secret explicitly once Grafana has migrated its database.
for _ in $(seq 1 60); do curl -fsS http://localhost:{GRAFANA_PORT}/api/health >/dev/null && break; sleep 5; done
runuser -u grafana -- grafana cli --homepath /usr/share/grafana --config /etc/grafana/grafana.ini \\
  admin reset-admin-password --password-from-stdin < {GRAFANA_PASSWORD_FILE}
"""  # noqa: S608 - a shell script, no SQL


def _remote_write_proxy_setup(host: MonitoringHost) -> str:
    if not host.remote_write_proxy:
        return ""
    proxy = RemoteWriteProxySettings()
    # Ubuntu's nginx is installed here (not in the big apt line above, which must stay byte-identical for
    # stacks without the endpoint). Its workers (www-data) read the htpasswd on each request; the key is read
    # by the root master only. The package's default site listens on :80: nothing should.
    return (
        '"${APT[@]}" install -y -o Dpkg::Options::=--force-confold nginx\n'
        f"chown root:www-data {proxy.htpasswd}\n"
        f"chmod 0640 {proxy.htpasswd}\n"
        "rm -f /etc/nginx/sites-enabled/default\n"
        "nginx -t\n"
        "systemctl enable nginx\n"
        "systemctl restart nginx\n"
    )


def _tenant_dashboards_mode(host: MonitoringHost) -> str:
    # cloud-init creates the per-tenant directories with its umask; Grafana (its own user) must list them.
    if not host.tenant_dashboards:
        return ""
    return f"chmod -R u=rwX,go=rX {TENANT_DASHBOARDS_DIR}\n"


def _dropin() -> str:
    return f"[Unit]\nRequiresMountsFor={DATA_DIR}\n"


def _file(path: str, content: str, permissions: str = "0644") -> dict[str, Any]:
    return {"path": path, "permissions": permissions, "content": content}


def _gz(path: str, content: str) -> dict[str, Any]:
    # DigitalOcean caps user-data at 64 KiB; the dashboards are the bulk, so they travel gzipped.
    # Their plain text is golden-tested separately.
    packed = base64.b64encode(gzip.compress(content.encode(), mtime=0)).decode()
    return {"path": path, "permissions": "0644", "encoding": "gz+b64", "content": packed}


_TENANT = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def tenant_problems(host: MonitoringHost, secrets: MonitoringSecrets) -> list[str]:
    """Every reason the tenants' files cannot be written as given (all at once)."""
    problems = []
    named = {
        "tenant_rule_groups": [g.tenant for g in host.tenant_rule_groups],
        "tenant_dashboards": list(dict.fromkeys(d.tenant for d in host.tenant_dashboards)),
        "tenant_receivers": list(secrets.tenant_webhook_urls),
    }
    for what, values in named.items():
        problems += [f"{what}: tenant {v!r} is given twice: one entry per tenant" for v in _repeated(values)]
        # The name lands in a path and in an Alertmanager matcher: a DNS label cannot break out of either.
        problems += [
            f"{what}: tenant {v!r} is not a lowercase DNS label (e.g. video-analysis)"
            for v in dict.fromkeys(values)
            if not _TENANT.fullmatch(v)
        ]
    dashboard_uids = [d.uid for d in host.tenant_dashboards]
    platform = [name.removesuffix(".json") for name in render_dashboards()]
    problems += [
        f"tenant_dashboards: dashboard uid {uid!r} is used twice (Grafana keeps one): rename a dashboard"
        for uid in _repeated([*platform, *dashboard_uids])
    ]
    return problems


def _repeated(values: list[str]) -> list[str]:
    return sorted({v for v in values if values.count(v) > 1})


def _tenant_files(host: MonitoringHost, secrets: MonitoringSecrets) -> dict[str, str]:
    problems = tenant_problems(host, secrets)
    if problems:
        raise ValueError("; ".join(problems))
    return {
        **{f"{RULES_DIR}/{g.file_name}": g.text for g in host.tenant_rule_groups},
        **{d.path: d.json for d in host.tenant_dashboards},
    }


def _remote_write_files(host: MonitoringHost, secrets: MonitoringSecrets) -> dict[str, str]:
    if host.remote_write_proxy != (secrets.remote_write is not None):
        raise ValueError(
            f"remote_write_proxy is {host.remote_write_proxy} but the endpoint's TLS material is "
            f"{'missing' if secrets.remote_write is None else 'given'}: pass MonitoringSecrets.remote_write "
            "exactly when the endpoint is on"
        )
    if secrets.remote_write is None:
        return {}
    proxy = RemoteWriteProxySettings()
    return {
        SITE_PATH: render_server_block(proxy),
        proxy.certificate: secrets.remote_write.certificate_pem,
        proxy.key: secrets.remote_write.private_key_pem,
        proxy.htpasswd: render_htpasswd(secrets.remote_write.password_bcrypt_hash),
    }


def render_files(host: MonitoringHost, secrets: MonitoringSecrets) -> dict[str, str]:
    """Every config file the droplet gets, by absolute path, as plain text (for checks and goldens)."""
    files = {
        "/etc/prometheus/prometheus.yml": render_prometheus_config(host),
        "/etc/default/prometheus": prometheus_args(host, DATA_DIR),
        **{f"{RULES_DIR}/{name}": text for name, text in render_rule_files().items()},
        "/etc/prometheus/alertmanager.yml": render_alertmanager_config(secrets, host.environment),
        "/etc/default/prometheus-alertmanager": alertmanager_args(DATA_DIR),
        "/etc/grafana/grafana.ini": render_grafana_ini(DATA_DIR, secrets.grafana_admin_password, GRAFANA_PORT),
        GRAFANA_PASSWORD_FILE: secrets.grafana_admin_password,
        "/etc/grafana/provisioning/datasources/prometheus.yaml": render_datasources(
            f"http://localhost:{PROMETHEUS_PORT}"
        ),
        LOKI_CONFIG: render_loki_config(
            LokiSettings(data_dir=f"{DATA_DIR}/loki", retention_days=host.log_retention_days)
        ),
        "/etc/grafana/provisioning/dashboards/platform.yaml": render_dashboard_provider(
            with_tenants=bool(host.tenant_dashboards)
        ),
        **{f"{DASHBOARDS_DIR}/{name}": text for name, text in render_dashboards().items()},
        **_tenant_files(host, secrets),
        **_remote_write_files(host, secrets),
    }
    # No service may write to the root disk while the volume is missing.
    for unit in ("prometheus", "prometheus-alertmanager", "grafana-server", "loki"):
        files[f"/etc/systemd/system/{unit}.service.d/10-data-volume.conf"] = _dropin()
    return files


_SECRET_FILES = {
    "/etc/prometheus/alertmanager.yml",
    "/etc/grafana/grafana.ini",
    GRAFANA_PASSWORD_FILE,
    RemoteWriteProxySettings().key,
    RemoteWriteProxySettings().htpasswd,
}


def render_user_data(host: MonitoringHost, secrets: MonitoringSecrets) -> str:
    """The complete ``#cloud-config`` document."""
    write_files = [
        _file("/usr/local/sbin/mount-monitoring-volume", _mount_script(host), "0755"),
        _file("/usr/local/sbin/install-monitoring", _install_script(host), "0755"),
        # Written in cloud-init's first stage, so cloud-init's own package upgrade waits too.
        _file(APT_LOCK_CONF, f'DPkg::Lock::Timeout "{APT_LOCK_TIMEOUT_SECONDS}";\n'),
    ]
    for path, content in render_files(host, secrets).items():
        if path.startswith((DASHBOARDS_DIR, TENANT_DASHBOARDS_DIR)):
            write_files.append(_gz(path, content))
        else:
            write_files.append(_file(path, content, "0600" if path in _SECRET_FILES else "0644"))
    document = {
        # Without SSH keys DigitalOcean emails a root password; never let it work over SSH (the
        # web console still does, for break-glass access).
        "ssh_pwauth": False,
        "package_update": True,
        "package_upgrade": True,
        "packages": ["curl", "gnupg", "ca-certificates"],
        "write_files": write_files,
        "runcmd": [["/usr/local/sbin/mount-monitoring-volume"], ["/usr/local/sbin/install-monitoring"]],
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False, width=10_000)
