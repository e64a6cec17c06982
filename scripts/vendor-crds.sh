#!/usr/bin/env bash
# Vendor the CustomResourceDefinitions of one pinned project version into tests/vendor/crds/, from the
# Go module proxy (the only source tests may rely on: no GitHub raw, no chart repositories).
#
#   scripts/vendor-crds.sh <project> <module>@<version> <path in the module> [<path> ...]
#
# <path> is a directory of the module zip (every CRD *.yaml in it, not recursive) or a file, copied as
# it is: that is how a chart's values.schema.json (or, for a chart without a schema, its values.yaml)
# comes along, which tests use to check the values the program passes to that chart. Example:
#
#   scripts/vendor-crds.sh keda github.com/kedacore/keda/v2@v2.20.2 config/crd/bases
#
# writes tests/vendor/crds/keda/v2.20.2/*.yaml and its README.md (module, version, the go.sum hash of
# the zip, the source path and sha256 of every file). tests/crd_validation.py finds the CRDs there by
# group/kind and checks every rendered custom resource against the one of the pinned version. Re-run it
# when a pin moves (stack_config/edge.py ChartVersions, or wherever the new kind's chart is pinned), and
# delete the old version's directory in the same change.
#
# The zip is read directly (not the module cache's extracted tree): `go mod download` refuses to extract
# a module whose go.mod asks for a newer Go than the local toolchain, but it still fetches the zip.
set -euo pipefail

if [[ $# -lt 3 ]]; then
    sed -n "2,12p" "$0" >&2
    exit 2
fi
project=$1
module_version=$2
shift 2
version=${module_version#*@}
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/tests/vendor/crds/$project/$version"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Non-zero also when only the extraction failed (newer go.mod): the zip check below decides.
info=$(cd "$work" && { GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "$module_version" 2>/dev/null || true; })
zip=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read() or "{}").get("Zip",""))' <<<"$info")
sum=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read() or "{}").get("Sum",""))' <<<"$info")
if [[ -z "$zip" || ! -f "$zip" ]]; then
    echo "vendor-crds: go mod download $module_version fetched no zip: $info" >&2
    exit 1
fi

rm -rf "$dest"
mkdir -p "$dest"
python3 - "$zip" "$module_version" "$dest" "$sum" "$@" <<'PY'
import hashlib
import sys
import zipfile
from pathlib import Path

zip_path, module_version, dest, go_sum, *paths = sys.argv[1:]
prefix = module_version + "/"
dest_dir = Path(dest)
rows = []
with zipfile.ZipFile(zip_path) as archive:
    names = [n for n in archive.namelist() if n.startswith(prefix)]
    for wanted in paths:
        wanted = wanted.strip("/")
        picked = [
            n for n in names
            if n == prefix + wanted
            or (n.startswith(prefix + wanted + "/") and "/" not in n[len(prefix + wanted) + 1:] and n.endswith(".yaml"))
        ]
        if not picked:
            sys.exit(f"vendor-crds: {wanted} is not in {module_version}'s module zip")
        for name in sorted(picked):
            data = archive.read(name)
            if name != prefix + wanted and b"kind: CustomResourceDefinition" not in data:
                continue
            target = dest_dir / Path(name).name
            if target.exists():
                sys.exit(f"vendor-crds: two files named {target.name}; vendor them in separate runs")
            target.write_bytes(data)
            rows.append((target.name, name[len(prefix):], hashlib.sha256(data).hexdigest()))
if not rows:
    sys.exit("vendor-crds: nothing to vendor in the given paths")
module, version = module_version.rsplit("@", 1)
lines = [
    f"# CRDs of {module} {version}",
    "",
    "Vendored by `scripts/vendor-crds.sh` from the Go module proxy (`go mod download -json "
    f"{module_version}`); do not edit by hand, re-run the script.",
    "",
    f"- module: `{module}`",
    f"- version: `{version}`",
    f"- module zip hash (go.sum / sum.golang.org): `{go_sum}`",
    "",
    "| file | path in the module | sha256 |",
    "|---|---|---|",
    *[f"| {file} | `{source}` | `{digest}` |" for file, source, digest in rows],
    "",
]
(dest_dir / "README.md").write_text("\n".join(lines))
print(f"vendor-crds: {len(rows)} file(s) -> {dest_dir}")
PY
