#!/usr/bin/env bash
# make demo: start the embedded test cloud, build an image with `packer build`
# from example/, print the image, stop the cloud.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
missing=()
[[ -d internal/testcloud ]] || missing+=("the embedded test cloud (issue: test cloud)")
grep -q "not implemented yet" builder/glance/builder.go && missing+=("the glance builder's build steps (issue: builder)")
if ((${#missing[@]})); then
  echo "make demo cannot run a build yet. Missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  echo "What exists can be checked with: make test" >&2
  exit 2
fi
