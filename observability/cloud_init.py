"""cloud-init user-data of the monitoring droplet.

The droplet is disposable (changing user-data replaces it); its state lives on the attached
volume, mounted at DATA_DIR before any service starts, so a replacement loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from .alertmanager import render_alertmanager_config
from .prometheus import render_prometheus_config

DATA_DIR = "/mnt/monitoring"


@dataclass(frozen=True)
class MonitoringHost:
    """Plain (non-secret) facts the monitoring server is configured from."""

    tenant: str
    environment: str
    volume_name: str
    """DigitalOcean volume name; the device is /dev/disk/by-id/scsi-0DO_Volume_<name>."""
    retention_days: int
    vpc_cidr: str


@dataclass(frozen=True)
class MonitoringSecrets:
    """Secret values written to the droplet; the caller keeps the rendered text a secret Output."""

    grafana_admin_password: str
    paging_webhook_url: str
    chat_webhook_url: str


def _mount_script(host: MonitoringHost) -> str:
    device = f"/dev/disk/by-id/scsi-0DO_Volume_{host.volume_name}"
    return f"""#!/bin/bash
# Mount the data volume before any monitoring service starts. The volume is attached after the
# droplet boots, so wait for it; format only a blank device (a replacement droplet must never
# reformat the existing data).
set -euo pipefail
DEVICE={device}
for _ in $(seq 1 120); do [ -e "$DEVICE" ] && break; sleep 5; done
[ -e "$DEVICE" ] || {{ echo "volume $DEVICE never appeared" >&2; exit 1; }}
blkid "$DEVICE" >/dev/null || mkfs.ext4 -L monitoring "$DEVICE"
mkdir -p {DATA_DIR}
grep -q "$DEVICE" /etc/fstab || echo "$DEVICE {DATA_DIR} ext4 defaults,nofail,discard,noatime 0 2" >> /etc/fstab
mountpoint -q {DATA_DIR} || mount {DATA_DIR}
mkdir -p {DATA_DIR}/prometheus {DATA_DIR}/alertmanager {DATA_DIR}/grafana
"""


_INSTALL_SCRIPT = f"""#!/bin/bash
# Prometheus, Alertmanager and node_exporter from Ubuntu; Grafana from Grafana's signed APT repository.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
install -d -m 0755 /etc/apt/keyrings
curl -fsSL https://apt.grafana.com/gpg.key | gpg --dearmor -o /etc/apt/keyrings/grafana.gpg
echo "deb [signed-by=/etc/apt/keyrings/grafana.gpg] https://apt.grafana.com stable main" \\
  > /etc/apt/sources.list.d/grafana.list
apt-get update -q
# Our config files were written first: keep them (confold) instead of prompting.
apt-get install -y -q -o Dpkg::Options::=--force-confold \\
  prometheus prometheus-alertmanager prometheus-node-exporter grafana
chown -R prometheus:prometheus {DATA_DIR}/prometheus {DATA_DIR}/alertmanager
chown -R grafana:grafana {DATA_DIR}/grafana
systemctl daemon-reload
systemctl enable grafana-server
systemctl restart prometheus prometheus-alertmanager prometheus-node-exporter grafana-server
"""


def _needs_mount_dropin() -> str:
    return f"[Unit]\nRequiresMountsFor={DATA_DIR}\n"


def render_user_data(host: MonitoringHost, secrets: MonitoringSecrets) -> str:
    """The complete ``#cloud-config`` document."""
    files = [
        {"path": "/usr/local/sbin/mount-monitoring-volume", "permissions": "0755", "content": _mount_script(host)},
        {"path": "/usr/local/sbin/install-monitoring", "permissions": "0755", "content": _INSTALL_SCRIPT},
        {
            "path": "/etc/prometheus/prometheus.yml",
            "permissions": "0644",
            "content": render_prometheus_config(host, secrets),
        },
        {
            "path": "/etc/default/prometheus",
            "permissions": "0644",
            "content": (
                f'ARGS="--storage.tsdb.path={DATA_DIR}/prometheus '
                f"--storage.tsdb.retention.time={host.retention_days}d "
                # The in-cluster agent pushes here (the cloud firewall admits only the VPC).
                '--web.enable-remote-write-receiver"\n'
            ),
        },
        {
            "path": "/etc/prometheus/alertmanager.yml",
            "permissions": "0640",
            "content": render_alertmanager_config(secrets),
        },
        {
            "path": "/etc/default/prometheus-alertmanager",
            "permissions": "0644",
            "content": f'ARGS="--storage.path={DATA_DIR}/alertmanager"\n',
        },
        {
            "path": "/etc/grafana/grafana.ini",
            "permissions": "0640",
            "content": (
                f"[paths]\ndata = {DATA_DIR}/grafana\n\n"
                "[security]\nadmin_user = admin\n"
                f"admin_password = {secrets.grafana_admin_password}\n"
                "disable_gravatar = true\ncookie_secure = false\n\n"
                "[users]\nallow_sign_up = false\n\n[analytics]\nreporting_enabled = false\n"
            ),
        },
        {
            "path": "/etc/grafana/provisioning/datasources/prometheus.yaml",
            "permissions": "0644",
            "content": yaml.safe_dump(
                {
                    "apiVersion": 1,
                    "datasources": [
                        {
                            "name": "Prometheus",
                            "type": "prometheus",
                            "access": "proxy",
                            "url": "http://localhost:9090",
                            "isDefault": True,
                        }
                    ],
                },
                sort_keys=False,
            ),
        },
    ]
    # No service may write to the root disk while the volume is missing.
    for unit in ("prometheus", "prometheus-alertmanager", "grafana-server"):
        files.append(
            {
                "path": f"/etc/systemd/system/{unit}.service.d/10-data-volume.conf",
                "permissions": "0644",
                "content": _needs_mount_dropin(),
            }
        )
    document = {
        "package_update": True,
        "package_upgrade": True,
        "packages": ["curl", "gnupg", "ca-certificates"],
        "write_files": files,
        "runcmd": [["/usr/local/sbin/mount-monitoring-volume"], ["/usr/local/sbin/install-monitoring"]],
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False, width=10_000)
