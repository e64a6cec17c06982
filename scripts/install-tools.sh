#!/usr/bin/env bash
# Installs the independent offline checkers the test suite calls as subprocesses:
#   - Debian: promtool/amtool (prometheus, prometheus-alertmanager), cloud-init (schema), PostgreSQL
#     server (backup/restore round-trip test), nginx (the remote-write endpoint);
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
# The monitoring droplet's remote-write proxy, served for real (tests/observability/test_remote_write_proxy.py).
# Debian puts it in /usr/sbin, which a non-root PATH may lack.
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
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

# Go-built judges, pinned by their go.mod/go.sum under tools/ (from the Go module proxy):
#   - tools/promql-selectors: Prometheus's own PromQL parser, lists each query's metric selectors
#     (tests/observability/test_metric_sources.py);
#   - tools/actionlint: rhysd/actionlint, the GitHub workflow linter (make lint, tests/test_workflows.py).
for tool in promql-selectors actionlint; do
  if [ ! -x "build/tools/$tool" ] || [ -n "$(find "tools/$tool" -newer "build/tools/$tool" -type f)" ]; then
    echo "install-tools: go build tools/$tool"
    mkdir -p build/tools
    if [ "$tool" = actionlint ]; then
      (cd "tools/$tool" && go build -o "../../build/tools/$tool" github.com/rhysd/actionlint/cmd/actionlint)
    else
      (cd "tools/$tool" && go build -o "../../build/tools/$tool" .)
    fi
  fi
done

# Loki, the release the monitoring droplet installs (LOKI_VERSION in observability/loki.py), built
# from its Go module to check the rendered Loki config (`loki -verify-config`,
# tests/observability/test_loki.py). Its go.mod replaces pkg/push with a directory the module zip
# does not contain, so that one replace is dropped (the required published version is used).
LOKI_VERSION="$(sed -n 's/^LOKI_VERSION = "\(.*\)"$/\1/p' observability/loki.py)"
# Loki is large (about 20 minutes to compile cold on 2 cores, 3 from a warm Go build cache), so the
# binary is kept per version outside the clone, beside Go's own caches: a fresh clone on the same
# machine copies it in a second; a new machine builds it once.
LOKI_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/platform-judges/loki-$LOKI_VERSION"
if [ ! -x build/tools/loki ] || [ "$(cat build/tools/loki.version 2>/dev/null)" != "$LOKI_VERSION" ]; then
  if [ ! -x "$LOKI_CACHE/loki" ]; then
    echo "install-tools: go build loki v$LOKI_VERSION (several minutes, once per machine)"
    src="$(go mod download -json "github.com/grafana/loki/v3@v$LOKI_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    work="$(mktemp -d)"
    cp -r "$src" "$work/loki-src" && chmod -R u+w "$work/loki-src"
    mkdir -p "$LOKI_CACHE"
    (cd "$work/loki-src" && go mod edit -dropreplace github.com/grafana/loki/pkg/push \
      && GOFLAGS=-mod=mod go build -o "$LOKI_CACHE/loki.partial" ./cmd/loki)
    mv "$LOKI_CACHE/loki.partial" "$LOKI_CACHE/loki"
    rm -rf "$work"
  fi
  mkdir -p build/tools
  cp "$LOKI_CACHE/loki" build/tools/loki
  echo "$LOKI_VERSION" > build/tools/loki.version
fi

echo "install-tools: ok"
