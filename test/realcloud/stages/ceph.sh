# Stage ceph: a one-node Ceph 16.2 (Pacific, Debian's packages) on 127.0.0.1 for Cinder's RBD
# driver: one monitor "a" (3300 msgr2, 6789 msgr1), one manager "x", one OSD (osd.0) whose
# BlueStore lives in a sparse file, pools of size 1. Why Ceph: this machine kind has no
# device-mapper (no LVM), no iSCSI initiator and no NFS client; librbd needs none of them, and
# QEMU opens RBD disks itself (qemu-block-extra).
# Every daemon runs as user ceph in the foreground (-f), in its own process group like the others.
# shellcheck shell=bash

ceph_packages=(ceph-mon ceph-mgr ceph-osd ceph-common python3-rados python3-rbd qemu-block-extra)
ceph_debconf=()
ceph_changed=0
# Fixed identities of a throwaway loopback cluster: constants keep ceph.conf, cinder.conf and
# nova.conf stable across runs (a rerun changes nothing) without a generated-value store.
RC_CEPH_FSID=5b0e5d6c-3f43-4c2c-9a8e-7d1f0e2a6b11
RC_CEPH_OSD_UUID=8c4a2f1e-6d5b-4e3a-9f2c-1b0a9e8d7c61
# The libvirt secret that holds client.cinder's key for QEMU (Nova's rbd_secret_uuid, Cinder's too).
RC_CEPH_SECRET_UUID=2f6f3c1a-9b8e-4d7c-a5e4-3c2b1a0f9e87
RC_CEPH_CLIENT=cinder
# The OSD's BlueStore file: sparse, so its size is a ceiling, not disk usage. Volumes of the tests
# are 1 GiB each and thin (RBD allocates on write).
RC_CEPH_OSD_BYTES=$((16 * 1024 * 1024 * 1024))
RC_CEPH_POOLS=(volumes)

# ceph_ CMD...: the admin CLI, bounded (it would otherwise retry a missing monitor forever).
ceph_() { timeout 60 ceph --connect-timeout 20 "$@"; }

ceph_configure() {
  install -d -o ceph -g ceph -m 0750 /var/lib/ceph/mon/ceph-a /var/lib/ceph/mgr/ceph-x /var/lib/ceph/osd/ceph-0
  install -d -o ceph -g ceph -m 0770 /run/ceph
  # One file for daemons and clients (Cinder, the rbd CLI, QEMU through libvirt): world-readable,
  # it holds no key. Daemon log files are set per section: a [global] log_file would make every
  # client (QEMU as libvirt-qemu, Cinder) write there too.
  if write_if_changed /etc/ceph/ceph.conf 0644 root:root <<EOF2; then ceph_changed=1; fi
# Written by packer-plugin-glance test/realcloud: a one-node test cluster on loopback.
[global]
fsid = $RC_CEPH_FSID
mon_initial_members = a
mon_host = [v2:127.0.0.1:3300,v1:127.0.0.1:6789]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv4 = true
ms_bind_ipv6 = false
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
auth_allow_insecure_global_id_reclaim = false
# One OSD: every pool keeps one copy, and CRUSH places copies across OSDs, not hosts.
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_warn_on_pool_no_redundancy = false
# The monitor's store is a few MB: warn (and stop) only when the disk is really full.
mon_data_avail_warn = 5
mon_data_avail_crit = 1

[mon]
log_file = $RC_LOGS/ceph-\$name.log
mon_allow_pool_delete = true
# The manager modules the mon enables on a new cluster: none of the optional ones are needed.
mgr_initial_modules = iostat

[mgr]
log_file = $RC_LOGS/ceph-\$name.log

[osd]
log_file = $RC_LOGS/ceph-\$name.log
osd_objectstore = bluestore
# BlueStore in a file of the OSD's folder (no LVM, no partition): created by ceph-osd --mkfs.
bluestore_block_create = true
bluestore_block_size = $RC_CEPH_OSD_BYTES
bluestore_block_db_create = false
bluestore_block_wal_create = false
# Cache and memory: a few GiB of test volumes need little; the default target is 4 GiB.
osd_memory_target = 1073741824
EOF2
}

ceph_mon_ready() { ceph_ mon stat >/dev/null 2>&1; }

# ceph_osd_up: the OSD is up and in, so pools can serve I/O.
ceph_osd_up() {
  local s
  s=$(ceph_ osd stat -f json 2>/dev/null) || return 1
  [[ $s == *'"num_up_osds":1'* && $s == *'"num_in_osds":1'* ]]
}

ceph_ready() { ceph_osd_up; }

# ceph_mkfs_mon: the monitor's store, its key and the admin key, once per machine.
ceph_mkfs_mon() {
  stamp_done ceph-mon && return 0
  local tmp
  tmp=$(mktemp -d)
  # A half-made store from an interrupted run is made again from scratch.
  find /var/lib/ceph/mon/ceph-a -mindepth 1 -delete
  ceph-authtool --create-keyring "$tmp/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring /etc/ceph/ceph.client.admin.keyring --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  chmod 0600 /etc/ceph/ceph.client.admin.keyring
  ceph-authtool "$tmp/mon.keyring" --import-keyring /etc/ceph/ceph.client.admin.keyring >/dev/null
  monmaptool --create --fsid "$RC_CEPH_FSID" --addv a '[v2:127.0.0.1:3300,v1:127.0.0.1:6789]' "$tmp/monmap" >/dev/null
  chown -R ceph:ceph "$tmp"
  ceph-mon --mkfs -i a --monmap "$tmp/monmap" --keyring "$tmp/mon.keyring" --setuser ceph --setgroup ceph \
    >>"$RC_LOGS/setup.log" 2>&1 || { rm -rf "$tmp"; die "ceph-mon --mkfs failed (log: $RC_LOGS/setup.log)"; }
  rm -rf "$tmp"
  stamp_set ceph-mon
}

# ceph_mkfs_osd: osd.0 in the cluster map and its BlueStore file, once per machine. "osd new" with
# the same UUID and key returns the same id, so an interrupted run repeats it without making osd.1.
ceph_mkfs_osd() {
  stamp_done ceph-osd && return 0
  local dir=/var/lib/ceph/osd/ceph-0 key id
  if ! key=$(ceph_ auth get-key osd.0 2>/dev/null); then key=$(ceph-authtool --gen-print-key); fi
  id=$(printf '{"cephx_secret": "%s"}' "$key" | ceph_ osd new "$RC_CEPH_OSD_UUID" -i -) ||
    die "ceph osd new failed"
  [[ $id == 0 ]] || die "the OSD got id '$id', want 0 (an older cluster map? see realcloud.sh purge)"
  find "$dir" -mindepth 1 -delete
  # The key is written by the shell, never passed on a command line.
  (umask 077 && printf '[osd.0]\n\tkey = %s\n' "$key" >"$dir/keyring")
  chown -R ceph:ceph "$dir"
  ceph-osd -i 0 --mkfs --osd-uuid "$RC_CEPH_OSD_UUID" --setuser ceph --setgroup ceph \
    >>"$RC_LOGS/setup.log" 2>&1 || die "ceph-osd --mkfs failed (log: $RC_LOGS/setup.log)"
  stamp_set ceph-osd
}

# ceph_pools: the pools and client.cinder's key file (read by cinder-volume, and the source of the
# libvirt secret), once per cluster.
ceph_pools() {
  local p
  stamp_done ceph-pools && [[ -s /etc/ceph/ceph.client.$RC_CEPH_CLIENT.keyring ]] && return 0
  for p in "${RC_CEPH_POOLS[@]}"; do
    if ! ceph_ osd pool ls | grep -qx "$p"; then
      ceph_ osd pool create "$p" 8 8 replicated >>"$RC_LOGS/setup.log" 2>&1 || die "creating pool $p failed"
    fi
    ceph_ osd pool set "$p" size 1 --yes-i-really-mean-it >>"$RC_LOGS/setup.log" 2>&1 || die "pool $p size 1 failed"
    # rbd pool init writes to the pool: it needs the OSD up and the PGs active.
    timeout 120 rbd pool init "$p" >>"$RC_LOGS/setup.log" 2>&1 || die "rbd pool init $p failed"
  done
  local tmp
  tmp=$(mktemp)
  ceph_ auth get-or-create "client.$RC_CEPH_CLIENT" mon 'profile rbd' \
    osd "profile rbd pool=volumes, profile rbd pool=images" mgr 'profile rbd pool=volumes' -o "$tmp" \
    >>"$RC_LOGS/setup.log" 2>&1 || die "creating client.$RC_CEPH_CLIENT failed"
  # Readable by cinder-volume (group cinder); Nova and QEMU get the key through libvirt.
  install -m 0640 -o root -g cinder "$tmp" "/etc/ceph/ceph.client.$RC_CEPH_CLIENT.keyring"
  rm -f "$tmp"
  stamp_set ceph-pools
}

# ceph_key CLIENT: prints the base64 key of client.CLIENT (for the libvirt secret).
ceph_key() { ceph_ auth get-key "client.$1"; }

# ceph_daemon NAME CMD...: starts a Ceph daemon unless it runs (restarted after a ceph.conf change).
ceph_daemon() {
  local name=$1
  shift
  if pid_alive "$name"; then
    ((ceph_changed == 0)) && return 0
    stop_daemon "$name" 60
  fi
  start_daemon "$name" root "$@" --setuser ceph --setgroup ceph
}

ceph_start() {
  local t
  t=$(now_ms)
  ceph_mkfs_mon
  install -d -o ceph -g ceph -m 0770 /run/ceph
  ceph_daemon ceph-mon ceph-mon -f -i a
  wait_until 60 "Ceph monitor" ceph-mon ceph_mon_ready
  if [[ ! -s /var/lib/ceph/mgr/ceph-x/keyring ]]; then
    ceph_ auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
      -o /var/lib/ceph/mgr/ceph-x/keyring >>"$RC_LOGS/setup.log" 2>&1 || die "creating mgr.x's key failed"
    chown ceph:ceph /var/lib/ceph/mgr/ceph-x/keyring
    chmod 0600 /var/lib/ceph/mgr/ceph-x/keyring
  fi
  ceph_mkfs_osd
  ceph_daemon ceph-mgr ceph-mgr -f -i x
  ceph_daemon ceph-osd ceph-osd -f -i 0
  wait_until 120 "Ceph OSD up" ceph-osd ceph_osd_up
  log "ceph monitor, manager and osd.0 up ($(($(now_ms) - t)) ms)"
  ceph_pools
}

ceph_stop() {
  # The OSD first (it flushes to BlueStore), then the manager, the monitor last.
  stop_daemon ceph-osd 60
  stop_daemon ceph-mgr 30
  stop_daemon ceph-mon 30
}
