#!/usr/bin/env bash
# Installs the independent offline checkers the test suite calls as subprocesses:
#   - Debian: promtool/amtool (prometheus, prometheus-alertmanager), cloud-init (schema), PostgreSQL
#     server (backup/restore round-trip test);
#   - checkov in its own virtualenv: it pins an old `packaging` that would downgrade ours;
#   - shellcheck (Debian), graphviz (make diagram), the npm IAM simulator (tools/iam-simulate).
# The real Pulumi engine (CLI + Python language host) is built by scripts/build-engine.sh.
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
command -v dot >/dev/null || need+=(graphviz)  # make diagram: SVG of the architecture (diagram/)
command -v shellcheck >/dev/null || need+=(shellcheck)  # make shellcheck: every shell script of the repo
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
# The IAM policy evaluator the tests use as judge (tests/iam_simulator.py): @cloud-copilot/iam-simulate,
# exact versions from the committed lock file (npm ci). Reinstalled only when the lock file changes.
IAM_SIM=tools/iam-simulate
if ! command -v npm >/dev/null; then
  echo "install-tools: apt-get install nodejs npm"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if ! cmp -s "$IAM_SIM/package-lock.json" "$IAM_SIM/node_modules/.package-lock.ci"; then
  echo "install-tools: npm ci in $IAM_SIM"
  npm ci --prefix "$IAM_SIM" --ignore-scripts --no-audit --no-fund --loglevel=error
  cp "$IAM_SIM/package-lock.json" "$IAM_SIM/node_modules/.package-lock.ci"
fi

echo "install-tools: ok"
