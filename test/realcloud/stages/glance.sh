# Stage glance: glance-api standalone (eventlet) on 127.0.0.1:9292 with one file store "file1",
# region RegionOne. The functions glance_write_conf and glance_setup_db are shared with stage
# glancekz (a second Glance, region kz-ala-1), so both instances differ only in the values below.
# shellcheck shell=bash

glance_packages=(glance python3-glanceclient qemu-utils)
glance_debconf=(
  "glance-common glance/configure_db boolean false"
  "glance-api glance/register-endpoint boolean false"
)
glance_changed=0

# glance_write_conf CONFDIR URL DATADIR DATABASE LOGNAME: writes glance-api.conf and
# glance-image-import.conf for one Glance instance into CONFDIR. Returns 0 when either changed.
glance_write_conf() {
  local confdir=$1 url=$2 datadir=$3 db=$4 logname=$5 rc=1 d
  # Debian's /etc/glance exists already (and keeps its owner and mode); a second one is made.
  [[ -d $confdir ]] || install -d -o root -g glance -m 0750 "$confdir"
  for d in lock images staging tasks_work_dir image-cache; do
    install -d -o glance -g glance -m 0750 "$datadir/$d"
  done
  # [paste_deploy] config_file: standalone glance-api does not find its paste file otherwise.
  # [keystone_authtoken] region_name stays RegionOne for every instance: it is where Keystone's
  # own endpoints are registered, and the middleware looks its identity endpoint up by region.
  if write_if_changed "$confdir/glance-api.conf" 0640 root:glance <<EOF2; then rc=0; fi
# Written by packer-plugin-glance test/realcloud (Debian's original: glance-api.conf.dist).
[DEFAULT]
bind_host = 127.0.0.1
bind_port = ${url##*:}
workers = 1
log_file = $RC_LOGS/$logname.log
enabled_backends = file1:file
enabled_import_methods = [glance-direct,web-download,copy-image]
worker_self_reference_url = $url
show_image_direct_url = true
show_multiple_locations = false

[glance_store]
default_backend = file1

[file1]
filesystem_store_datadir = $datadir/images/
store_description = local file store

[os_glance_staging_store]
filesystem_store_datadir = $datadir/staging/

[os_glance_tasks_store]
filesystem_store_datadir = $datadir/tasks_work_dir/

[paste_deploy]
flavor = keystone
config_file = /etc/glance/glance-api-paste.ini

[keystone_authtoken]
www_authenticate_uri = $RC_KEYSTONE
auth_url = $RC_KEYSTONE
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = glance
password = $RC_SERVICE_PASSWORD
service_token_roles_required = true
region_name = $RC_REGION

[database]
connection = $(rc_db_url "$db" glance)

[oslo_policy]
policy_dirs = /etc/glance/policy.d

[oslo_concurrency]
lock_path = $datadir/lock
EOF2
  # Debian's security-patched Glance refuses loopback web-download targets unless listed here:
  # allowed_hosts needs brackets and NO quotes (quoted, every URI fails filtering).
  if write_if_changed "$confdir/glance-image-import.conf" 0640 root:glance <<'EOF2'; then rc=0; fi
# Written by packer-plugin-glance test/realcloud.
[image_import_opts]
image_import_plugins = ['image_decompression']

[import_filtering_opts]
allowed_schemes = ['http','https']
allowed_hosts = [127.0.0.1,localhost]
allowed_ports = [80,443,8000,8080]
EOF2
  return $rc
}

# glance_setup_db CONFDIR DATABASE: the database, its schema and the metadefs, once per machine.
glance_setup_db() {
  local confdir=$1 db=$2 t0 step
  stamp_done "$db-db" && return 0
  t0=$(now_ms)
  mariadb_database "$db" glance
  for step in db_sync db_load_metadefs; do
    runuser -u glance -- glance-manage --config-file "$confdir/glance-api.conf" "$step" >>"$RC_LOGS/setup.log" 2>&1 ||
      die "glance-manage $step ($db) failed (log: $RC_LOGS/setup.log)"
  done
  stamp_set "$db-db"
  log "$db database set up ($(($(now_ms) - t0)) ms)"
}

# glance_run NAME CONFDIR PORT CHANGED: starts (or, after a configuration change, restarts) one
# glance-api and waits until it answers.
glance_run() {
  local name=$1 confdir=$2 port=$3 changed=$4
  if port_open "$port"; then
    if ((changed == 0)); then return 0; fi
    log "$name configuration changed: restarting it"
    stop_daemon "$name" 20
    rc_kill_port "$port"
  fi
  start_daemon "$name" glance glance-api --config-file "$confdir/glance-api.conf" \
    --config-file "$confdir/glance-image-import.conf"
  wait_until 90 "$name" "$name" http_answers "http://127.0.0.1:$port/"
}

glance_configure() {
  if glance_write_conf /etc/glance "$RC_GLANCE" /var/lib/glance glance glance-api; then glance_changed=1; fi
  glance_setup_db /etc/glance glance
}

glance_ready() { http_answers "$RC_GLANCE/"; }
glance_start() { glance_run glance-api /etc/glance 9292 "$glance_changed"; }
glance_stop() { stop_daemon glance-api 20; rc_kill_port 9292; }
