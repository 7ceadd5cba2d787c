#!/usr/bin/env bash
# make demo: a real `packer build` with this plugin against the embedded test cloud,
# so a newcomer sees the whole flow with no OpenStack at all.
#
#  1. builds Packer (cached) and the plugin, and installs the plugin privately;
#  2. starts the test cloud on 127.0.0.1, seeded with Fedora-Cloud-Base-37-1.7;
#  3. finds that base image with the glance-image data source (example/find-image.pkr.hcl);
#  4. builds a golden image from it with the glance builder (example/build.pkr.hcl);
#  5. prints the resulting image and its properties, and stops the cloud.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work="$root/.demo"
rm -rf "$work"
mkdir -p "$work/plugins"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "Preparing Packer and the plugin"
scripts/build-packer.sh
scripts/apt-install.sh busybox-static openssh-client
go build -o "$work/packer-plugin-glance" -ldflags "-X github.com/packer-glance/packer-plugin-glance/version.VersionPrerelease=" .
go build -o "$work/glance-testcloud" ./cmd/glance-testcloud
go build -o "$work/report" ./scripts/demo/report
export PACKER_PLUGIN_PATH="$work/plugins" CHECKPOINT_DISABLE=1 PACKER_CONFIG_DIR="$work/config"
bin/packer plugins install --path "$work/packer-plugin-glance" github.com/packer-glance/glance >/dev/null

say "Starting the embedded test cloud"
"$work/glance-testcloud" --clouds-yaml "$work/clouds.yaml" >"$work/testcloud.log" 2>&1 &
cloud_pid=$!
stop_cloud() {
  kill -INT "$cloud_pid" 2>/dev/null || true
  wait "$cloud_pid" 2>/dev/null || true
}
trap stop_cloud EXIT
for _ in $(seq 1 300); do
  grep -q ready "$work/testcloud.log" && break
  kill -0 "$cloud_pid" 2>/dev/null || { cat "$work/testcloud.log" >&2; exit 1; }
  sleep 0.1
done
grep -q ready "$work/testcloud.log" || { echo "the test cloud did not start within 30s" >&2; cat "$work/testcloud.log" >&2; exit 1; }
ssh_port=$(sed -n "s/.*servers' SSH port: \([0-9]*\).*/\1/p" "$work/testcloud.log")
grep -E '^(export OS_AUTH_URL|# control)' "$work/testcloud.log" | sed 's/^/    /'
export OS_CLIENT_CONFIG_FILE="$work/clouds.yaml" OS_CLOUD=testcloud

say "Finding the base image with the glance-image data source"
bin/packer build -color=false example/find-image.pkr.hcl

say "Building a golden image with the glance builder"
bin/packer build -color=false -var "ssh_port=${ssh_port:-22}" example/build.pkr.hcl

say "The image that was built"
image_name=$(sed -n 's/^[[:space:]]*image_name[[:space:]]*=[[:space:]]*"\([^"$]*\)".*/\1/p' example/build.pkr.hcl | head -1)
"$work/report" "${DEMO_IMAGE_NAME:-$image_name}"

leaks=$(curl -sf "$(sed -n 's/.*control API: \([^ ]*\) .*/\1/p' "$work/testcloud.log")/leaks" || true)
say "Leak report of the test cloud (empty lists: nothing was left behind)"
echo "    $leaks"
