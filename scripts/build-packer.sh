#!/usr/bin/env bash
# Builds Packer from the Go module proxy into bin/packer once, then reuses it.
# The version is pinned in tools/packer/go.mod; bin/ is ignored by git.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
want=${PACKER_VERSION:-v1.15.0}
out="$root/bin/packer"
if [[ -x $out ]] && "$out" version 2>/dev/null | grep -q "Packer ${want}\$"; then
  exit 0
fi
mkdir -p "$root/bin"
cd "$root/tools/packer"
if ! grep -q "github.com/hashicorp/packer ${want}" go.mod; then
  go get "github.com/hashicorp/packer@${want}"
fi
echo "building Packer ${want} into bin/ (a few minutes the first time)" >&2
go build -o "$out.tmp" github.com/hashicorp/packer
mv "$out.tmp" "$out"
"$out" version >&2
