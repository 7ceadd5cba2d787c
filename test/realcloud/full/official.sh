#!/usr/bin/env bash
# Builds HashiCorp's packer-plugin-openstack (the official openstack builder) for the side-by-side
# benchmark (make realcloud-full-bench-official) and prints the binary's path. Built outside the
# repository, with the Go module proxy; never committed, never needed by CI. A second run reuses it.
#   OFFICIAL_TAG  the release to build (default v1.1.4)
#   OFFICIAL_SRC  a checkout of it, or a bare git directory holding the tag; default: a shallow
#                 clone from GitHub
#   OFFICIAL_DIR  where to build (default /tmp/packer-plugin-openstack-<tag>)
set -euo pipefail
tag=${OFFICIAL_TAG:-v1.1.4}
dir=${OFFICIAL_DIR:-/tmp/packer-plugin-openstack-$tag}
bin=$dir/packer-plugin-openstack
if [[ ! -x $bin ]]; then
  mkdir -p "$dir"
  src=$dir/src
  if [[ -n ${OFFICIAL_SRC:-} && -f $OFFICIAL_SRC/go.mod ]]; then
    src=$OFFICIAL_SRC
  elif [[ ! -f $src/go.mod ]]; then
    rm -rf "$src"
    mkdir -p "$src"
    if [[ -n ${OFFICIAL_SRC:-} ]]; then
      git --git-dir="$OFFICIAL_SRC" archive "$tag" | tar -x -C "$src"
    else
      timeout 300 git clone -q --depth 1 --branch "$tag" https://github.com/hashicorp/packer-plugin-openstack "$src"
    fi
  fi
  echo "official: building $tag in $src" >&2
  (cd "$src" && timeout 1200 go build -o "$bin" .)
fi
echo "$bin"
