#!/usr/bin/env bash
# Regenerates everything derived from the code: *.hcl2spec.go, docs-partials/,
# and .web-docs/ (docs/ with partials expanded).
#
# packer-sdc struct-markdown walks up from each file looking for a folder named
# packer-plugin-*; without one it loops forever. So generation always runs through
# a symlink with that name, whatever the checkout folder is called.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p bin
GOBIN="$root/bin" go install github.com/hashicorp/packer-plugin-sdk/cmd/packer-sdc
export PATH="$root/bin:$PATH"

link_dir=$(mktemp -d)
trap 'rm -rf "$link_dir"' EXIT
ln -s "$root" "$link_dir/packer-plugin-glance"
# cd into the symlink without resolving it: packer-sdc uses the logical path.
cd "$link_dir/packer-plugin-glance"
timeout 600 go generate ./...

rm -rf .docs
packer-sdc renderdocs -src docs -partials docs-partials/ -dst .docs/
scripts/compile-web-docs.sh .docs .web-docs
rm -rf .docs
