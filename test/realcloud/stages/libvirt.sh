# Stage libvirt: libvirtd + virtlogd for nova-compute (qemu with software emulation: nested KVM
# hangs guests on this machine kind).
# shellcheck shell=bash

libvirt_packages=(libvirt-daemon-system libvirt-clients python3-libvirt qemu-system-x86 qemu-utils)
libvirt_debconf=()

libvirt_configure() {
  # libvirt's own NAT network would start a dnsmasq and a 192.168.122.0/24 bridge nobody uses.
  rm -f /etc/libvirt/qemu/networks/autostart/default.xml
  mkdir -p /run/libvirt
}

libvirt_ready() { timeout 10 virsh -c qemu:///system version >/dev/null 2>&1; }

libvirt_start() {
  if libvirt_ready; then return 0; fi
  pid_alive virtlogd || start_daemon virtlogd root /usr/sbin/virtlogd
  pid_alive libvirtd || start_daemon libvirtd root /usr/sbin/libvirtd
  wait_until 60 "libvirtd" libvirtd libvirt_ready
}

libvirt_stop() {
  # qemu runs outside libvirtd's process group: stop the guests first, by name, through libvirt.
  if libvirt_ready; then
    local d
    for d in $(timeout 20 virsh -c qemu:///system list --name 2>/dev/null); do
      log "destroying guest $d"
      timeout 20 virsh -c qemu:///system destroy "$d" >/dev/null 2>&1 || true
    done
  fi
  stop_daemon libvirtd 20
  stop_daemon virtlogd 10
}
