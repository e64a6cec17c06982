#!/usr/bin/env bash
# Installs the independent offline checkers the test suite calls as subprocesses:
#   - Debian: promtool/amtool (prometheus, prometheus-alertmanager), cloud-init (schema), PostgreSQL
#     server (backup/restore round-trip test);
#   - checkov in its own virtualenv: it pins an old `packaging` that would downgrade ours.
# Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v amtool >/dev/null || need+=(prometheus-alertmanager)
command -v cloud-init >/dev/null || need+=(cloud-init)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  echo "install-tools: apt-get install ${need[*]}"
  $SUDO apt-get update -qq
  # --no-install-recommends keeps the servers' optional extras out; the packages' own services are
  # not started by the tests (they only need the binaries).
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

CHECKOV_VENV=.venv-checkov
if [ ! -x "$CHECKOV_VENV/bin/checkov" ]; then
  echo "install-tools: checkov into $CHECKOV_VENV"
  python3 -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/pip" install --quiet --disable-pip-version-check checkov==3.3.30
fi
echo "install-tools: ok"
