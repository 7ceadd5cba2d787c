# Stage cinder: Cinder (block storage) from Debian's packages: cinder-api (eventlet) on
# 127.0.0.1:8776, cinder-scheduler and cinder-volume with one RBD backend "ceph" (stage ceph's pool
# "volumes", user client.cinder). Registers the libvirt secret QEMU opens RBD volumes with (Nova's
# [libvirt] rbd_secret_uuid): stage libvirt must run first. The volume type "ceph" (the default)
# is made by fullcloud.py once the API answers.
# shellcheck shell=bash

# lvm2, tgt and open-iscsi come as cinder-volume's dependencies; nothing starts or uses them.
cinder_packages=(cinder-api cinder-scheduler cinder-volume python3-rbd python3-rados ceph-common qemu-utils)
cinder_debconf=(
  "cinder-common cinder/configure_db boolean false"
  "cinder-api cinder/register-endpoint boolean false"
)
RC_CINDER=http://127.0.0.1:8776
RC_VOLUME_TYPE=ceph
cinder_changed=0

cinder_configure() {
  install -d -o cinder -g cinder /var/lib/cinder /var/lib/cinder/tmp /var/lib/cinder/conversion
  if write_if_changed /etc/cinder/cinder.conf 0640 root:cinder <<EOF2; then cinder_changed=1; fi
# Written by packer-plugin-glance test/realcloud (Debian's original: cinder.conf.dist).
[DEFAULT]
my_ip = 127.0.0.1
host = $RC_HOST
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = 8776
osapi_volume_workers = 1
auth_strategy = keystone
transport_url = $RC_TRANSPORT_URL
state_path = /var/lib/cinder
enabled_backends = ceph
default_volume_type = $RC_VOLUME_TYPE
# Glance by URL: the catalog holds two image endpoints (regions RegionOne and kz-ala-1).
glance_api_servers = $RC_GLANCE
# Where volumes are written as files on their way from or to Glance (rbd import/export).
image_conversion_dir = /var/lib/cinder/conversion

[database]
connection = $(rc_db_url cinder cinder)

[keystone_authtoken]
$(rc_authtoken cinder)

[nova]
$(rc_authtoken cinder)
interface = public

[oslo_concurrency]
lock_path = /var/lib/cinder/tmp

[oslo_messaging_notifications]
driver = noop

[ceph]
volume_driver = cinder.volume.drivers.rbd.RBDDriver
volume_backend_name = ceph
rbd_pool = volumes
rbd_ceph_conf = /etc/ceph/ceph.conf
rbd_user = $RC_CEPH_CLIENT
rbd_secret_uuid = $RC_CEPH_SECRET_UUID
rbd_flatten_volume_from_snapshot = false
report_discard_supported = true
EOF2
  if ! stamp_done cinder-db; then
    local t0
    t0=$(now_ms)
    mariadb_database cinder cinder
    runuser -u cinder -- cinder-manage --config-file /etc/cinder/cinder.conf db sync >>"$RC_LOGS/setup.log" 2>&1 ||
      die "cinder-manage db sync failed (log: $RC_LOGS/setup.log)"
    stamp_set cinder-db
    log "cinder database ready ($(($(now_ms) - t0)) ms)"
  fi
  cinder_libvirt_secret
}

# cinder_libvirt_secret: libvirt keeps client.cinder's key under RC_CEPH_SECRET_UUID, so QEMU can
# open rbd: disks. The key goes through a 0600 file, never a command line or a log.
cinder_libvirt_secret() {
  local key have xml
  key=$(ceph_key "$RC_CEPH_CLIENT") || die "reading client.$RC_CEPH_CLIENT's key failed"
  have=$(timeout 20 virsh -c qemu:///system secret-get-value "$RC_CEPH_SECRET_UUID" 2>/dev/null || true)
  [[ $have == "$key" ]] && return 0
  xml=$(mktemp)
  cat >"$xml" <<EOF2
<secret ephemeral='no' private='no'>
  <uuid>$RC_CEPH_SECRET_UUID</uuid>
  <usage type='ceph'><name>client.$RC_CEPH_CLIENT secret</name></usage>
</secret>
EOF2
  timeout 20 virsh -c qemu:///system secret-define "$xml" >>"$RC_LOGS/setup.log" 2>&1 ||
    die "virsh secret-define failed (log: $RC_LOGS/setup.log)"
  (umask 077 && printf '%s' "$key" >"$xml")
  timeout 20 virsh -c qemu:///system secret-set-value --secret "$RC_CEPH_SECRET_UUID" --file "$xml" \
    >>"$RC_LOGS/setup.log" 2>&1 || { rm -f "$xml"; die "virsh secret-set-value failed (log: $RC_LOGS/setup.log)"; }
  rm -f "$xml"
  log "libvirt secret $RC_CEPH_SECRET_UUID holds client.$RC_CEPH_CLIENT's key"
}

cinder_ready() { http_answers "$RC_CINDER/"; }

# cinder_daemon NAME: starts cinder-NAME as user cinder unless it runs (restarted after a change).
cinder_daemon() {
  local name=cinder-$1
  if pid_alive "$name"; then
    ((cinder_changed == 0)) && return 0
    stop_daemon "$name" 30
  fi
  start_daemon "$name" cinder "/usr/bin/$name" --config-file /etc/cinder/cinder.conf --log-file "$RC_LOGS/$name.log"
}

cinder_start() {
  cinder_daemon api
  cinder_daemon scheduler
  cinder_daemon volume
  wait_until 120 "Cinder API" cinder-api cinder_ready
}

cinder_stop() {
  local n
  rc_term_groups cinder-volume cinder-scheduler cinder-api
  for n in volume scheduler api; do stop_daemon "cinder-$n" 30; done
}
