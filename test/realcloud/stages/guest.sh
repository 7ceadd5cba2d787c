# Stage guest: builds the tiny-guest image files (cached; see guest/README.md). The upload to Glance
# happens with the other resources once the demo identities exist (profiles/full.sh).
# shellcheck shell=bash

# kmod: modprobe resolves the guest kernel's module dependencies (nothing is loaded on the host).
guest_packages=(busybox-static dropbear-bin openssh-client openssh-sftp-server cpio kmod e2fsprogs qemu-utils)
guest_debconf=()
RC_GUEST_DIR=

guest_configure() {
  RC_GUEST_DIR=$("$RC_HERE/guest/build.sh") || die "building the tiny guest failed"
}
# Ready when a build is cached (status does not rebuild; configure finds the current one).
guest_ready() { compgen -G "${RC_GUEST_CACHE:-/var/cache/packer-plugin-glance/tiny-guest}/*/root.qcow2" >/dev/null; }
guest_start() { :; }
guest_stop() { :; }
