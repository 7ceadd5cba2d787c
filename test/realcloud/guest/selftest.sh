#!/usr/bin/env bash
# Checks the tiny guest without OpenStack, under plain qemu (software emulation), the way Nova will
# use it: kernel + initramfs + a qcow2 root disk on virtio-blk (or virtio-scsi with BUS=scsi), a
# config drive holding the SSH key. It proves: boot to SSH, scp and SFTP uploads, a file written to
# /etc survives a power-button shutdown and a second boot (so `/` is the root disk), and the ACPI
# power button powers the guest off in seconds.
# Usage: test/realcloud/guest/selftest.sh [GUEST_DIR]     (BUS=scsi to use virtio-scsi)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
guest=${1:-$("$here/build.sh")}
bus=${BUS:-virtio}
port=${SELFTEST_PORT:-2299}
work=$(mktemp -d)
qpid=
cleanup() {
  if [[ -n $qpid ]] && kill -0 "$qpid" 2>/dev/null; then kill "$qpid"; fi
  rm -rf "$work"
}
trap cleanup EXIT
log() { printf '%s selftest: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; tail -n 40 "$work/console.log" >&2 || true; exit 1; }

ssh-keygen -q -t ed25519 -N '' -f "$work/key"
mkdir -p "$work/cd/openstack/latest"
printf '{"uuid": "selftest", "hostname": "selftest", "public_keys": {"k": "%s\\n"}}' "$(cat "$work/key.pub")" \
  >"$work/cd/openstack/latest/meta_data.json"
genisoimage -quiet -o "$work/cd.iso" -V config-2 -r -J "$work/cd"
qemu-img create -q -f qcow2 -F qcow2 -b "$guest/root.qcow2" "$work/disk.qcow2" 1G

ssh_opts=(-i "$work/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
  -o ConnectTimeout=5 -o BatchMode=yes)
boot() {
  local -a disk
  if [[ $bus == scsi ]]; then
    disk=(-device virtio-scsi-pci,id=scsi0 -drive file="$work/disk.qcow2",if=none,id=d0 -device scsi-hd,drive=d0,bus=scsi0.0)
  else
    disk=(-drive file="$work/disk.qcow2",if=virtio)
  fi
  : >"$work/console.log"
  qemu-system-x86_64 -accel tcg -m 256 -nographic -no-reboot -kernel "$guest/vmlinuz" -initrd "$guest/initrd.gz" \
    -append "console=ttyS0 quiet" "${disk[@]}" -drive file="$work/cd.iso",media=cdrom,if=ide \
    -netdev user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22 -device virtio-net-pci,netdev=n0 \
    -monitor unix:"$work/mon",server,nowait -serial file:"$work/console.log" -display none </dev/null &
  qpid=$!
  local t0=$SECONDS
  until ssh "${ssh_opts[@]}" -p "$port" root@127.0.0.1 true 2>/dev/null; do
    kill -0 "$qpid" 2>/dev/null || die "qemu exited during boot"
    ((SECONDS - t0 < 90)) || die "no SSH after 90 s"
    sleep 1
  done
  log "boot $1: SSH after $((SECONDS - t0)) s"
}
power_button() {
  local t0=$SECONDS
  echo system_powerdown | socat - UNIX-CONNECT:"$work/mon" >/dev/null
  while kill -0 "$qpid" 2>/dev/null; do
    ((SECONDS - t0 < 30)) || die "guest ignored the ACPI power button for 30 s"
    sleep 0.5
  done
  wait "$qpid" || true
  qpid=
  log "power button: off after $((SECONDS - t0)) s"
}

boot 1
echo 'echo provisioned > /etc/golden-marker' >"$work/script.sh"
scp -q "${ssh_opts[@]}" -P "$port" "$work/script.sh" root@127.0.0.1:/tmp/script.sh || die "scp upload"
ssh "${ssh_opts[@]}" -p "$port" root@127.0.0.1 'chmod +x /tmp/script.sh && /tmp/script.sh' || die "running the script"
printf 'put %s /root/sftp-file\n' "$work/key.pub" | sftp -q -b - "${ssh_opts[@]}" -P "$port" root@127.0.0.1 >/dev/null ||
  die "sftp upload"
ssh "${ssh_opts[@]}" -p "$port" root@127.0.0.1 'test -s /root/sftp-file && grep -q " / " /proc/mounts' ||
  die "sftp file missing"
power_button
boot 2
got=$(ssh "${ssh_opts[@]}" -p "$port" root@127.0.0.1 cat /etc/golden-marker) || die "marker missing after reboot"
[[ $got == provisioned ]] || die "marker content '$got'"
power_button
log "PASS ($bus): SSH, scp, SFTP, marker kept across power-button shutdown and reboot"
