#!/usr/bin/env bash
# Checks the release configuration and makes a local snapshot release (no
# publishing, no signing): binaries named as Packer expects, zip archives and a
# SHA256SUMS file under dist/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=$(awk '$1 == "github.com/goreleaser/goreleaser/v2" { print $2 }' tools/goreleaser/go.mod)
cache=${PACKER_GLANCE_CACHE:-/var/cache/packer-plugin-glance}
bin="$cache/goreleaser-$version"
if [[ ! -x $bin ]]; then
  echo "building goreleaser $version (about 5 minutes the first time)" >&2
  mkdir -p "$cache"
  (cd tools/goreleaser && go build -o "$bin.tmp" github.com/goreleaser/goreleaser/v2)
  mv "$bin.tmp" "$bin"
fi
API_VERSION=$(go run . describe | sed -n 's/.*"api_version":"\([^"]*\)".*/\1/p')
export API_VERSION
[[ -n $API_VERSION ]] || { echo "could not read api_version from describe" >&2; exit 1; }
"$bin" check
"$bin" release --snapshot --clean --skip=publish,sign
ls -l dist/*.zip dist/*SHA256SUMS
