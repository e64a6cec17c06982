#!/usr/bin/env bash
# Builds the real Pulumi engine the tests drive: the CLI (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
# and a Python language host (tools/pulumi/langhost) with the exec shim of the same SDK version, all
# from the Go module proxy at the version pinned in tools/pulumi/go.mod. No download site is needed.
#
#   scripts/build-engine.sh            build into build/engine/ unless it is already current
#   scripts/build-engine.sh --print    print the directory to put on PATH
#
# Cached: a second run with the same go.mod/go.sum/host source rebuilds nothing (the stamp file holds
# their hash); Go's own build cache makes a rebuild after a change incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
OUT="$ROOT/build/engine"
if [ "${1:-}" = "--print" ]; then
  echo "$OUT"
  exit 0
fi

command -v go >/dev/null || { echo "build-engine: Go is required (https://go.dev/doc/install)" >&2; exit 2; }
VERSION="$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" {print $2}' tools/pulumi/go.mod)"
[ -n "$VERSION" ] || { echo "build-engine: tools/pulumi/go.mod does not require github.com/pulumi/pulumi/pkg/v3" >&2; exit 2; }
STAMP="$(cat tools/pulumi/go.mod tools/pulumi/go.sum tools/pulumi/langhost/*.go scripts/build-engine.sh | sha256sum | cut -c1-16)"
if [ -x "$OUT/pulumi" ] && [ -x "$OUT/pulumi-language-python" ] && [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$STAMP" ]; then
  exit 0
fi

mkdir -p "$OUT"
export GOFLAGS="-buildvcs=false -mod=readonly"
start=$SECONDS
echo "build-engine: Pulumi CLI $VERSION (first build takes several minutes; cached afterwards)"
# -s -w: no symbol tables (a smaller binary, a faster link); the version is what `pulumi version` prints.
ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$VERSION"
go build -C tools/pulumi -trimpath -ldflags "$ldflags" -o "$OUT/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
go build -C tools/pulumi -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$OUT/pulumi-language-python" ./langhost
# The exec shim ships in the SDK module of the same version; the host starts programs with it.
SDK_DIR="$(go list -C tools/pulumi -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)"
install -m 0755 "$SDK_DIR/python/cmd/pulumi-language-python-exec" "$OUT/pulumi-language-python-exec"
echo "$STAMP" > "$OUT/.stamp"
echo "build-engine: built in $((SECONDS - start)) s: $("$OUT/pulumi" version)"
