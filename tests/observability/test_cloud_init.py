"""The monitoring droplet's user-data: valid for cloud-init, within DigitalOcean's size limit,
writing every config where the Ubuntu packages read it, data on the volume."""

from __future__ import annotations

import base64
import gzip
import re
import subprocess
from pathlib import Path

import yaml

from observability.cloud_init import (
    APT_LOCK_CONF,
    DATA_DIR,
    GRAFANA_PASSWORD_FILE,
    GRAFANA_VERSION,
    USER_DATA_LIMIT_BYTES,
    render_files,
    render_user_data,
)
from observability.grafana import DASHBOARDS_DIR, render_dashboards
from observability.loki import LOKI_CONFIG, LOKI_VERSION
from observability.prometheus import RULES_DIR
from observability.rules import render_rule_files
from tests.observability.support import HOST, SECRETS, assert_golden, run_tool


def document() -> dict:
    return yaml.safe_load(render_user_data(HOST, SECRETS))


def written() -> dict[str, dict]:
    return {f["path"]: f for f in document()["write_files"]}


def test_cloud_init_schema_accepts_the_user_data(tmp_path: Path) -> None:
    path = tmp_path / "user-data.yaml"
    path.write_text(render_user_data(HOST, SECRETS))
    result = run_tool("cloud-init", "schema", "--config-file", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout


def test_user_data_starts_with_the_cloud_config_header() -> None:
    assert render_user_data(HOST, SECRETS).startswith("#cloud-config\n")


def test_user_data_fits_digitaloceans_limit() -> None:
    assert len(render_user_data(HOST, SECRETS).encode()) < USER_DATA_LIMIT_BYTES


def test_configs_land_where_the_ubuntu_packages_read_them() -> None:
    paths = set(written())
    assert {
        "/etc/prometheus/prometheus.yml",
        "/etc/default/prometheus",
        "/etc/prometheus/alertmanager.yml",
        "/etc/default/prometheus-alertmanager",
        "/etc/grafana/grafana.ini",
        "/etc/grafana/provisioning/datasources/prometheus.yaml",
        "/etc/grafana/provisioning/dashboards/platform.yaml",
    } <= paths
    assert {f"{RULES_DIR}/{name}" for name in render_rule_files()} <= paths
    assert {f"{DASHBOARDS_DIR}/{name}" for name in render_dashboards()} <= paths


def test_dashboards_travel_compressed_and_decode_to_the_rendered_json() -> None:
    files = written()
    for name, text in render_dashboards().items():
        entry = files[f"{DASHBOARDS_DIR}/{name}"]
        assert entry["encoding"] == "gz+b64"
        assert gzip.decompress(base64.b64decode(entry["content"])).decode() == text


def test_secret_bearing_files_are_root_only_when_written() -> None:
    files = written()
    for path in ("/etc/prometheus/alertmanager.yml", "/etc/grafana/grafana.ini", GRAFANA_PASSWORD_FILE):
        assert files[path]["permissions"] == "0600", path
    install = files["/usr/local/sbin/install-monitoring"]["content"]
    assert "chown root:prometheus /etc/prometheus/alertmanager.yml" in install
    assert "chown root:grafana /etc/grafana/grafana.ini" in install


def test_the_volume_is_mounted_before_anything_is_installed() -> None:
    assert document()["runcmd"] == [["/usr/local/sbin/mount-monitoring-volume"], ["/usr/local/sbin/install-monitoring"]]


def test_services_refuse_to_start_without_the_volume() -> None:
    files = written()
    for unit in ("prometheus", "prometheus-alertmanager", "grafana-server"):
        dropin = files[f"/etc/systemd/system/{unit}.service.d/10-data-volume.conf"]["content"]
        assert f"RequiresMountsFor={DATA_DIR}" in dropin


def test_node_exporter_is_installed_and_enabled() -> None:
    install = written()["/usr/local/sbin/install-monitoring"]["content"]
    assert "prometheus-node-exporter" in install
    assert "systemctl enable prometheus prometheus-alertmanager prometheus-node-exporter grafana-server" in install


def test_grafana_admin_password_is_reset_from_the_secret_each_boot() -> None:
    install = written()["/usr/local/sbin/install-monitoring"]["content"]
    assert f"reset-admin-password --password-from-stdin < {GRAFANA_PASSWORD_FILE}" in install
    assert written()[GRAFANA_PASSWORD_FILE]["content"] == SECRETS.grafana_admin_password


def test_the_mount_script_never_formats_a_device_that_has_a_filesystem() -> None:
    script = written()["/usr/local/sbin/mount-monitoring-volume"]["content"]
    assert 'blkid "$DEVICE" >/dev/null || mkfs.ext4' in script
    assert f"scsi-0DO_Volume_{HOST.volume_name}" in script


def test_secrets_appear_only_in_the_files_that_need_them() -> None:
    holders = {
        path
        for path, text in render_files(HOST, SECRETS).items()
        for value in (SECRETS.grafana_admin_password, SECRETS.paging_webhook_url, SECRETS.chat_webhook_url)
        if value in text
    }
    assert holders == {"/etc/prometheus/alertmanager.yml", "/etc/grafana/grafana.ini", GRAFANA_PASSWORD_FILE}


def install_script() -> str:
    return written()["/usr/local/sbin/install-monitoring"]["content"]


def test_every_apt_run_waits_for_the_dpkg_lock() -> None:
    script = install_script()
    assert "APT=(apt-get -q -o DPkg::Lock::Timeout=600)" in script
    # Every apt-get of the installer goes through that array; no bare call escapes the timeout.
    assert [line for line in script.splitlines() if re.match(r"\s*apt-get\b", line)] == []
    assert re.search(r'"\$\{APT\[@\]\}" update', script)
    assert re.search(r'"\$\{APT\[@\]\}" install ', script)


def test_cloud_inits_own_apt_runs_wait_for_the_lock_too() -> None:
    # write_files runs in cloud-init's first stage, before its package update/upgrade.
    assert written()[APT_LOCK_CONF]["content"] == 'DPkg::Lock::Timeout "600";\n'
    assert document()["package_upgrade"] is True


def test_grafana_is_installed_at_the_pinned_version_and_held() -> None:
    script = install_script()
    assert re.fullmatch(r"\d+\.\d+\.\d+", GRAFANA_VERSION)
    assert f"prometheus-node-exporter grafana={GRAFANA_VERSION} " in script
    assert "apt-mark hold grafana loki" in script


def test_loki_is_installed_pinned_held_and_keeps_its_data_on_the_volume() -> None:
    script = install_script()
    assert f" loki={LOKI_VERSION}\n" in script
    assert re.fullmatch(r"\d+\.\d+\.\d+", LOKI_VERSION)
    assert f"chown -R loki:loki {DATA_DIR}/loki" in script
    assert "systemctl restart prometheus prometheus-alertmanager prometheus-node-exporter grafana-server loki" in script
    files = render_files(HOST, SECRETS)
    config = yaml.safe_load(files[LOKI_CONFIG])
    assert config["common"]["path_prefix"] == f"{DATA_DIR}/loki"
    assert "RequiresMountsFor=" in files["/etc/systemd/system/loki.service.d/10-data-volume.conf"]


def run_installer(tmp_path: Path, mounted: str, device: str) -> tuple[subprocess.CompletedProcess[str], list]:
    """Run the rendered installer with every command it calls stubbed (recording its argv)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.jsonl"
    stub = f"""#!/bin/bash
printf '%s\\n' "$(basename "$0") $*" >> {log}
case "$(basename "$0")" in
  findmnt) [ -n "{mounted}" ] && echo "{mounted}" || exit 1 ;;
  readlink) echo "{device}" ;;
esac
"""
    for tool in ("findmnt", "readlink", "apt-get", "apt-mark", "curl", "gpg", "install", "chown", "chmod", "systemctl"):
        (bin_dir / tool).write_text(stub)
        (bin_dir / tool).chmod(0o755)
    script = tmp_path / "install-monitoring"
    script.write_text(install_script())
    result = subprocess.run(
        ["/bin/bash", str(script)],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def test_the_installer_refuses_to_run_when_the_volume_is_not_mounted(tmp_path: Path) -> None:
    result, calls = run_installer(tmp_path, mounted="", device="/dev/sda")
    assert result.returncode == 1
    assert f"refusing to install: {DATA_DIR} is not the mounted data volume" in result.stderr
    assert [c.split()[0] for c in calls] == ["readlink", "findmnt"]  # nothing installed, nothing written


def test_the_installer_refuses_another_device_mounted_there(tmp_path: Path) -> None:
    result, calls = run_installer(tmp_path, mounted="/dev/vda1", device="/dev/sda")
    assert result.returncode == 1
    assert "expected /dev/sda" in result.stderr
    assert not [c for c in calls if c.split()[0] not in {"readlink", "findmnt"}]


def test_the_installer_checks_the_volume_device_at_the_data_mountpoint(tmp_path: Path) -> None:
    run_installer(tmp_path, mounted="", device="/dev/sda")
    calls = (tmp_path / "calls.jsonl").read_text().splitlines()
    assert calls[0] == f"readlink -f /dev/disk/by-id/scsi-0DO_Volume_{HOST.volume_name}"
    assert calls[1] == f"findmnt --noheadings --output SOURCE --mountpoint {DATA_DIR}"


def test_the_mount_script_fails_when_the_volume_did_not_mount() -> None:
    script = written()["/usr/local/sbin/mount-monitoring-volume"]["content"]
    assert f'mountpoint -q {DATA_DIR} || {{ echo "{DATA_DIR} is not mounted" >&2; exit 1; }}' in script
    assert script.index("is not mounted") < script.index(f"mkdir -p {DATA_DIR}/prometheus")


def test_the_boot_scripts_pass_shellcheck(tmp_path: Path) -> None:
    paths = []
    for name in ("mount-monitoring-volume", "install-monitoring"):
        path = tmp_path / name
        path.write_text(written()[f"/usr/local/sbin/{name}"]["content"])
        paths.append(str(path))
    result = run_tool("shellcheck", "-S", "warning", *paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendering_is_deterministic() -> None:
    assert render_user_data(HOST, SECRETS) == render_user_data(HOST, SECRETS)


def test_user_data_matches_golden() -> None:
    assert_golden("user-data.yaml", render_user_data(HOST, SECRETS))
