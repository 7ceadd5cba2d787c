#!/usr/bin/env bash
# CLI conformance: drives the test cloud with the unmodified Debian `openstack` and `glance` CLIs and checks
# every result. Needs python3-openstackclient, python3-glanceclient, openssh-client and busybox-static
# (`make testcloud-conformance` installs them). Each CLI call costs ~2.5 s, so the script stays lean.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/testcloud-conformance.XXXXXX)
cloud_pid=""
http_pid=""
cleanup() {
  [[ -n $http_pid ]] && kill "$http_pid" 2>/dev/null || true
  if [[ -n $cloud_pid ]]; then kill -TERM "$cloud_pid" 2>/dev/null || true; wait "$cloud_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok   $*"; }

# A web-download source on a free loopback port that the cloud is told to allow.
web_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/www"
head -c 300000 /dev/urandom > "$work/www/disk.img"
(cd "$work/www" && exec python3 -m http.server "$web_port" --bind 127.0.0.1 >/dev/null 2>&1) &
http_pid=$!

(cd "$repo" && go build -o "$work/glance-testcloud" ./cmd/glance-testcloud)
"$work/glance-testcloud" --clouds-yaml "$work/clouds.yaml" --delay 200ms --web-download-ports "$web_port" \
  > "$work/cloud.log" 2>&1 &
cloud_pid=$!
for _ in $(seq 1 100); do grep -q ready "$work/cloud.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$work/cloud.log" || { cat "$work/cloud.log"; fail "cloud did not start"; }
control=$(sed -n 's/^# control API: \([^ ]*\).*/\1/p' "$work/cloud.log")

export OS_CLIENT_CONFIG_FILE=$work/clouds.yaml OS_CLOUD=testcloud
# Every CLI call is bounded: `--wait` in the openstack CLI polls without a limit of its own.
os() { timeout 120 openstack "$@"; }
jq_get() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# 1. token issue
project=$(os token issue -f value -c project_id)
[[ $project =~ ^[0-9a-f]{32}$ ]] || fail "token issue gave project '$project'"
pass "token issue"

# 2. image create --file, with real md5 checksum
printf 'conformance-image-data' > "$work/small.img"
img_id=$(os image create --disk-format raw --container-format bare --file "$work/small.img" -f value -c id cli-upload)
show=$(os image show "$img_id" -f json)
status=$(jq_get "$show" status); checksum=$(jq_get "$show" checksum)
[[ $status == active ]] || fail "image create --file status $status"
[[ $checksum == $(md5sum < "$work/small.img" | cut -d' ' -f1) ]] || fail "checksum $checksum"
pass "image create --file"

# 3. glance web-download import (the glance CLI reads stdin as data unless it is closed)
wd_id=$(unset OS_CLOUD OS_CLIENT_CONFIG_FILE; eval "$(grep '^export ' "$work/cloud.log")"
  timeout 120 glance image-create-via-import --import-method web-download --uri "http://127.0.0.1:$web_port/disk.img" \
    --disk-format raw --container-format bare --name cli-webdl <&- | awk '$2=="id"{print $4}')
[[ -n $wd_id ]] || fail "web-download gave no image id"
for _ in $(seq 1 50); do
  s=$(os image show "$wd_id" -f value -c status); [[ $s == active ]] && break; sleep 0.2
done
[[ $s == active ]] || fail "web-download image status $s"
[[ $(os image show "$wd_id" -f value -c size) == 300000 ]] || fail "web-download size"
pass "glance image-create-via-import web-download"

# 4. image set --property/--tag/--private, then image list --property
os image set --property conformance=yes --tag ci --private "$img_id"
props=$(os image show "$img_id" -f json)
python3 - "$props" <<'EOF' || fail "image set not applied"
import json, sys
d = json.loads(sys.argv[1])
props = d.get("properties") or {}
assert props.get("conformance") == "yes", props
assert "ci" in d["tags"], d["tags"]
assert d["visibility"] == "private", d["visibility"]
EOF
listed=$(os image list --property conformance=yes -f value -c ID)
[[ $listed == "$img_id" ]] || fail "image list --property gave '$listed'"
pass "image set --property/--tag/--private; image list --property"

# 5. keypair, server create --wait, SSH into it
ssh-keygen -q -t ed25519 -N '' -f "$work/id_ed25519"
os keypair create --public-key "$work/id_ed25519.pub" ci-key >/dev/null
os server create --flavor m1.tiny --image Fedora-Cloud-Base-37-1.7 --network private --key-name ci-key --wait ci-vm >/dev/null
[[ $(os server show ci-vm -f value -c status) == ACTIVE ]] || fail "server not ACTIVE"
ip=$(os server show ci-vm -f json | python3 -c 'import json,sys; a=json.load(sys.stdin)["addresses"]; print((a if isinstance(a,str) else ";".join("%s=%s"%(k,",".join(v)) for k,v in a.items())).split("=")[1].split(",")[0])')
ssh_port=$(sed -n 's/.*SSH port: \([0-9]*\).*/\1/p' "$work/cloud.log")
sshopts=(-i "$work/id_ed25519" -p "$ssh_port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=10)
out=$(ssh "${sshopts[@]}" "fedora@$ip" 'echo provisioned > /etc/marker && cat /etc/os-release | head -1 && id -u')
[[ $out == *Fedora* ]] || fail "ssh output '$out'"
[[ ! -e /etc/marker ]] || [[ $(cat /etc/marker) != provisioned ]] || fail "command escaped the chroot"
pass "server create --wait; ssh (ip $ip)"

# 6. server image create --wait: the snapshot holds the file written over SSH
os server image create --name ci-snap --wait ci-vm >/dev/null
snap_id=$(os image show ci-snap -f value -c id)
[[ $(os image show ci-snap -f value -c status) == active ]] || fail "snapshot not active"
curl -fsS "$control/images?name=ci-snap" | grep -q '"image_type":"snapshot"' || fail "snapshot properties"
pass "server image create --wait ($snap_id)"

# 7. floating ip create + server add floating ip; SSH through the floating IP reaches the same server
fip=$(os floating ip create public -f value -c floating_ip_address)
os server add floating ip ci-vm "$fip"
out=$(ssh "${sshopts[@]}" "fedora@$fip" 'cat /etc/marker')
[[ $out == provisioned ]] || fail "floating ip ssh gave '$out'"
pass "floating ip create; server add floating ip; ssh via $fip"

# 8. volume create --image
os volume create --image ci-snap --size 1 ci-vol >/dev/null
for _ in $(seq 1 50); do
  vs=$(os volume show ci-vol -f value -c status); [[ $vs == available ]] && break; sleep 0.2
done
[[ $vs == available ]] || fail "volume status $vs"
pass "volume create --image"

# 9. server delete --wait, then clean up and check the leak report
os server delete --wait ci-vm
os server show ci-vm >/dev/null 2>&1 && fail "server still exists"
os floating ip delete "$fip"
os volume delete ci-vol
os keypair delete ci-key
os image delete "$img_id" "$wd_id" "$snap_id"
for _ in $(seq 1 50); do
  leaks=$(curl -fsS "$control/leaks")
  python3 -c 'import json,sys; sys.exit(0 if all(not v for v in json.loads(sys.argv[1]).values()) else 1)' "$leaks" && break
  sleep 0.2
done
python3 -c 'import json,sys; sys.exit(0 if all(not v for v in json.loads(sys.argv[1]).values()) else 1)' "$leaks" \
  || fail "leaks after cleanup: $leaks"
pass "server delete --wait; nothing leaked"
echo "CLI conformance: all checks passed"
