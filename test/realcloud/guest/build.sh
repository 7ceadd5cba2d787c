#!/usr/bin/env bash
# Builds the "tiny-guest" test image from Debian's packages only, and caches it.
# Usage: test/realcloud/guest/build.sh      prints the folder holding vmlinuz, initrd.gz, root.qcow2
#
# Layout of the guest (why it is shaped this way: see README.md next to this file):
#   - vmlinuz: Debian's own kernel (the package is downloaded and unpacked, never installed);
#   - initrd.gz: busybox + the modules for virtio (pci, blk, scsi, net), sd, ext4, the config drive
#     (ata_piix, sr_mod, isofs) and the ACPI power button (button, evdev); its /init loads them, finds
#     the disk labelled "tiny-root" and switch_roots onto it;
#   - root.qcow2: an ext4 root file system (label tiny-root) with busybox init, dropbear, OpenSSH's
#     scp and sftp-server, busybox acpid. `/` is this disk, so whatever a provisioner writes is in
#     the snapshot Nova takes of it.
# The result is keyed by a hash of everything that goes into it, so a rerun is a cache hit.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${RC_GUEST_CACHE:-/var/cache/packer-plugin-glance/tiny-guest}

log() { printf '%s tiny-guest: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The kernel package the linux-image-amd64 metapackage points to right now.
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
[[ -n $kpkg ]] || die "apt-cache knows no linux-image-amd64 (run apt-get update)"

# Every input of the build: this folder's files and the versions of the packages copied from.
pkgver() { dpkg-query -W -f='${Package}=${Version} ' "$@"; }
key=$( {
  cat "$here"/build.sh "$here"/files/*
  echo "$kpkg"
  pkgver busybox-static dropbear-bin openssh-client openssh-sftp-server libc6
} | sha256sum | cut -c1-16)
out=$cache/$key
if [[ -s $out/root.qcow2 && -s $out/initrd.gz && -s $out/vmlinuz ]]; then
  echo "$out"
  exit 0
fi

t0=$(date +%s%3N)
mkdir -p "$cache/debs"
deb=$(ls "$cache/debs/${kpkg}"_*.deb 2>/dev/null | head -n1 || true)
if [[ -z $deb ]]; then
  log "downloading $kpkg"
  (cd "$cache/debs" && timeout 300 apt-get download -q "$kpkg" >&2)
  deb=$(ls "$cache/debs/${kpkg}"_*.deb | head -n1)
fi

work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/kernel"
kver=$(ls "$work/kernel/lib/modules")
depmod -b "$work/kernel" "$kver"

# --- initramfs: busybox, modules, /init -----------------------------------------------------------
ird=$work/initrd
mkdir -p "$ird"/{bin,dev,proc,sys,newroot,lib/modules}
cp /bin/busybox "$ird/bin/busybox"
for a in sh mount umount switch_root insmod sleep findfs cat echo mkdir poweroff; do ln -s busybox "$ird/bin/$a"; done
# Modules in dependency order, each once. Built-in ones print "builtin ..." and need nothing.
: >"$ird/modules.list"
for m in virtio_pci virtio_blk virtio_scsi sd_mod ext4 virtio_net ata_piix sr_mod isofs button evdev virtio_console; do
  modprobe -d "$work/kernel" -S "$kver" --show-depends "$m" | sed -n 's/^insmod \([^ ]*\).*/\1/p'
done | awk '!seen[$0]++' | while read -r ko; do
  base=$(basename "$ko")
  cp "$ko" "$ird/lib/modules/$base"
  echo "/lib/modules/$base" >>"$ird/modules.list"
done
install -m 0755 "$here/files/initramfs-init" "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -9) >"$work/initrd.gz"
cp "$work/kernel/boot/vmlinuz-$kver" "$work/vmlinuz"

# --- root file system -----------------------------------------------------------------------------
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/lib/openssh,etc/dropbear,etc/acpi/PWRF,root/.ssh,tmp,proc,sys,dev,run,var/log,mnt}
chmod 1777 "$root/tmp"
chmod 700 "$root/root" "$root/root/.ssh"
cp /bin/busybox "$root/bin/busybox"
# Every applet as a link, at the path busybox itself names (so /usr/bin/env, /sbin/poweroff exist).
/bin/busybox --list-full | while read -r p; do
  [[ -e $root/$p ]] || ln -s /bin/busybox "$root/$p"
done
# dropbear serves SSH; OpenSSH's scp and sftp-server make Packer's scp and SFTP transfers work
# (busybox and Debian's dropbear ship neither). dropbear looks for sftp-server at /usr/lib/.
cp /usr/sbin/dropbear "$root/usr/sbin/dropbear"
cp /usr/bin/dropbearkey "$root/usr/bin/dropbearkey"
rm -f "$root/usr/bin/scp"
cp /usr/bin/scp "$root/usr/bin/scp"
cp /usr/lib/openssh/sftp-server "$root/usr/lib/openssh/sftp-server"
ln -s openssh/sftp-server "$root/usr/lib/sftp-server"
for bin in /usr/sbin/dropbear /usr/bin/dropbearkey /usr/bin/scp /usr/lib/openssh/sftp-server; do
  ldd "$bin" | grep -o '/[^ ]*' 
done | sort -u | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
# Debian's loader path is /lib64/ld-linux-x86-64.so.2 and libraries live in /lib/x86_64-linux-gnu.
install -m 0755 "$here/files/rcS" "$root/etc/rcS"
install -m 0755 "$here/files/rcK" "$root/etc/rcK"
install -m 0755 "$here/files/udhcpc.script" "$root/etc/udhcpc.script"
install -m 0755 "$here/files/power-button" "$root/etc/acpi/PWRF/00000080"
install -m 0644 "$here/files/inittab" "$root/etc/inittab"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
# "*": no password login, but not "locked" ("!"), which dropbear would refuse even for keys.
printf 'root:*:19000:0:99999:7:::\n' >"$root/etc/shadow"
chmod 600 "$root/etc/shadow"
printf '/bin/sh\n' >"$root/etc/shells"
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n' >"$root/etc/hosts"
echo tiny-guest >"$root/etc/hostname"
echo "tiny-guest $key (kernel $kver)" >"$root/etc/tiny-guest-release"

# mkfs.ext4 -d fills the file system from a folder: no loop mount, no root-only tricks.
truncate -s 64M "$work/root.img"
mkfs.ext4 -q -F -L tiny-root -E root_owner=0:0 -d "$root" "$work/root.img"
qemu-img convert -q -f raw -O qcow2 "$work/root.img" "$work/root.qcow2"

mkdir -p "$out.tmp"
mv "$work/vmlinuz" "$work/initrd.gz" "$work/root.qcow2" "$out.tmp/"
rm -rf "$out" && mv "$out.tmp" "$out"
log "built $out in $(($(date +%s%3N) - t0)) ms ($(du -sh "$out" | cut -f1))"
echo "$out"
