#!/usr/bin/env bash
# Installs doctl, the DigitalOcean CLI, at a pinned version into a directory (default ~/.local/bin).
# The Kubernetes provider's kubeconfig runs `doctl kubernetes cluster kubeconfig exec-credential`
# for every call to the cluster, so every machine that runs Pulumi needs it (CI runs this script
# from .github/actions/pulumi-setup).
#
#   scripts/ops/install-doctl.sh [directory]
#
# Source: the official release archive on GitHub (doctl is not in the package registries CI uses).
# It is checked twice before anything is unpacked: against the SHA-256 pinned below (what this
# repository reviewed) and against the release's own published checksum file. Linux x86_64 only,
# the runners' platform; elsewhere install doctl from your package manager at the same version.
#
# To upgrade: change DOCTL_VERSION and DOCTL_SHA256 together, the hash taken from
# doctl-<version>-checksums.sha256 of the release. The pin:
#   1.166.0, doctl-1.166.0-linux-amd64.tar.gz
#   sha256 1596424b64091a7939bde561daf2402ca8a141966429928e688d20d17091ec89
set -euo pipefail

DOCTL_VERSION="1.166.0"
DOCTL_SHA256="1596424b64091a7939bde561daf2402ca8a141966429928e688d20d17091ec89"
RELEASES="https://github.com/digitalocean/doctl/releases/download"

dest="${1:-$HOME/.local/bin}"
say() { echo "install-doctl: $*" >&2; }

if [ -x "$dest/doctl" ] && "$dest/doctl" version 2>/dev/null | grep -q "doctl version $DOCTL_VERSION-release"; then
  say "doctl $DOCTL_VERSION already in $dest"
  exit 0
fi
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *)
    say "only linux-amd64 is pinned here; install doctl $DOCTL_VERSION with your package manager"
    exit 2
    ;;
esac

archive="doctl-$DOCTL_VERSION-linux-amd64.tar.gz"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
curl --fail --silent --show-error --location --retry 3 --output "$work/$archive" \
  "$RELEASES/v$DOCTL_VERSION/$archive"
curl --fail --silent --show-error --location --retry 3 --output "$work/checksums" \
  "$RELEASES/v$DOCTL_VERSION/doctl-$DOCTL_VERSION-checksums.sha256"

actual="$(sha256sum "$work/$archive" | cut -d' ' -f1)"
published="$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$work/checksums")"
if [ "$actual" != "$DOCTL_SHA256" ]; then
  say "REFUSED: $archive has sha256 $actual, the pinned one is $DOCTL_SHA256"
  exit 1
fi
if [ "$published" != "$DOCTL_SHA256" ]; then
  say "REFUSED: the release's checksum file says '$published' for $archive, the pinned one is $DOCTL_SHA256"
  exit 1
fi

mkdir -p "$dest"
tar -xzf "$work/$archive" -C "$work" doctl
install -m 0755 "$work/doctl" "$dest/doctl"
say "installed $("$dest/doctl" version | head -n 1) in $dest"
