#!/usr/bin/env bash
# Puts a Packer binary at bin/packer, built from the Go module proxy at the version
# pinned in tools/packer/go.mod. The build (a few minutes on 2 cores) is cached per
# version in a machine-wide folder, so other checkouts of this repo reuse it.
# Packer >= 1.10 is BUSL-licensed: it is built here and never committed (bin/ is ignored).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(awk '$1 == "github.com/hashicorp/packer" { print $2 }' "$root/tools/packer/go.mod")
[[ -n $version ]] || { echo "tools/packer/go.mod pins no github.com/hashicorp/packer version" >&2; exit 1; }
cache=${PACKER_GLANCE_CACHE:-/var/cache/packer-plugin-glance}
cached="$cache/packer-$version"
out="$root/bin/packer"

if [[ -x $out ]] && "$out" version 2>/dev/null | grep -qx "Packer $version"; then
  exit 0
fi
if ! [[ -x $cached ]] || ! "$cached" version 2>/dev/null | grep -qx "Packer $version"; then
  echo "building Packer $version (a few minutes the first time)" >&2
  mkdir -p "$cache"
  (cd "$root/tools/packer" && go build -o "$cached.tmp" github.com/hashicorp/packer)
  mv "$cached.tmp" "$cached"
fi
mkdir -p "$root/bin"
cp "$cached" "$out.tmp" && mv "$out.tmp" "$out"
"$out" version >&2
