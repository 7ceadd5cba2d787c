# Stage nova: nova-api (8774, metadata on 8775), -conductor, -scheduler and -compute with libvirt
# (virt_type qemu: software emulation, nested KVM hangs guests here), config drives always.
# shellcheck shell=bash

nova_packages=(nova-api nova-conductor nova-scheduler nova-compute nova-compute-kvm python3-libvirt genisoimage)
nova_debconf=(
  "nova-common nova/configure_db boolean false"
  "nova-api nova/register-endpoint boolean false"
)
RC_NOVA=http://127.0.0.1:8774
# One name for the compute host in Nova and Neutron: ports are bound to it.
RC_HOST=realcloud
RC_METADATA_SECRET=metadata-secret
nova_changed=0

nova_configure() {
  install -d -o nova -g nova /var/lib/nova /var/lib/nova/instances /var/lib/nova/tmp
  if write_if_changed /etc/nova/nova.conf 0640 root:nova <<EOF2; then nova_changed=1; fi
# Written by packer-plugin-glance test/realcloud (Debian's original: nova.conf.dist).
[DEFAULT]
my_ip = 127.0.0.1
host = $RC_HOST
compute_driver = libvirt.LibvirtDriver
enabled_apis = osapi_compute,metadata
osapi_compute_listen = 127.0.0.1
osapi_compute_workers = 1
metadata_listen = 127.0.0.1
metadata_listen_port = 8775
metadata_workers = 1
transport_url = $RC_TRANSPORT_URL
# Config drives on every server: the guest takes its SSH key from there without the network.
force_config_drive = true
state_path = /var/lib/nova
instances_path = /var/lib/nova/instances
heal_instance_info_cache_interval = 0
instance_build_timeout = 600
# A port that is never wired fails a boot in 2 minutes instead of 5.
vif_plugging_timeout = 120

[api_database]
connection = $(rc_db_url nova_api nova)

[database]
connection = $(rc_db_url nova nova)

[api]
auth_strategy = keystone

[glance]
api_servers = $RC_GLANCE

[keystone_authtoken]
$(rc_authtoken nova)

[placement]
$(rc_authtoken nova)

[neutron]
$(rc_authtoken nova)
service_metadata_proxy = true
metadata_proxy_shared_secret = $RC_METADATA_SECRET

[service_user]
send_service_user_token = true
$(rc_authtoken nova)

[libvirt]
virt_type = qemu
cpu_mode = none
# Volumes on Ceph (stage cinder): QEMU opens them with librbd as client.cinder, whose key libvirt
# keeps as a secret (stages/cinder.sh). Needs qemu-block-extra (stage ceph's packages).
rbd_user = $RC_CEPH_CLIENT
rbd_secret_uuid = $RC_CEPH_SECRET_UUID

[cinder]
$(rc_authtoken nova)
os_region_name = $RC_REGION
catalog_info = volumev3::publicURL

[compute]
cpu_allocation_ratio = 16.0

[conductor]
workers = 1

[scheduler]
# discover_hosts also runs once at start (fullcloud.py); this is the safety net.
discover_hosts_in_cells_interval = 30
workers = 1

[os_vif_linux_bridge]
use_ipv6 = false

[vnc]
enabled = false

[spice]
enabled = false

[serial_console]
enabled = false

[oslo_messaging_notifications]
driver = noop

[oslo_concurrency]
lock_path = /var/lib/nova/tmp

[wsgi]
api_paste_config = /etc/nova/api-paste.ini
EOF2
  # Debian's file sets virt_type = kvm; every process here gets nova.conf only, but keep it inert.
  write_if_changed /etc/nova/nova-compute.conf 0640 root:nova </dev/null || true
  if ! stamp_done nova-db; then
    local t0 db
    t0=$(now_ms)
    for db in nova_api nova nova_cell0; do mariadb_database "$db" nova; done
    # mariadb_database grants per database; nova's user needs all three.
    nova_manage api_db sync
    nova_manage cell_v2 map_cell0
    local cells
    cells=$(runuser -u nova -- nova-manage --config-file /etc/nova/nova.conf cell_v2 list_cells 2>/dev/null || true)
    [[ $cells == *" cell1 "* ]] || nova_manage cell_v2 create_cell --name=cell1
    nova_manage db sync
    stamp_set nova-db
    log "nova databases ready ($(($(now_ms) - t0)) ms)"
  fi
}

nova_manage() {
  runuser -u nova -- nova-manage --config-file /etc/nova/nova.conf "$@" >>"$RC_LOGS/setup.log" 2>&1 ||
    die "nova-manage $* failed (log: $RC_LOGS/setup.log)"
}

nova_ready() { http_answers "$RC_NOVA/"; }

# nova_daemon NAME USER: starts nova-NAME unless it already runs (or restarts it after a change).
nova_daemon() {
  local name=nova-$1 user=$2
  if pid_alive "$name"; then
    ((nova_changed == 0)) && return 0
    stop_daemon "$name" 20
  fi
  start_daemon "$name" "$user" "/usr/bin/$name" --config-file /etc/nova/nova.conf --log-file "$RC_LOGS/$name.log"
}

nova_start() {
  nova_daemon api nova
  nova_daemon conductor nova
  nova_daemon scheduler nova
  # Root: it drives libvirt and plugs taps into bridges.
  nova_daemon compute root
  wait_until 120 "Nova API" nova-api nova_ready
}

nova_stop() {
  local n
  rc_term_groups nova-compute nova-scheduler nova-conductor nova-api
  for n in compute scheduler conductor api; do stop_daemon "nova-$n" 30; done
}
