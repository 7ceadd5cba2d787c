# Stage glance: glance-api standalone (eventlet) on 127.0.0.1:9292 with one file store "file1".
# shellcheck shell=bash

glance_packages=(glance python3-glanceclient qemu-utils)
glance_debconf=(
  "glance-common glance/configure_db boolean false"
  "glance-api glance/register-endpoint boolean false"
)
glance_changed=0

glance_configure() {
  local d
  for d in lock images staging tasks_work_dir image-cache; do
    install -d -o glance -g glance -m 0750 "/var/lib/glance/$d"
  done
  # [paste_deploy] config_file: standalone glance-api does not find its paste file otherwise.
  if write_if_changed /etc/glance/glance-api.conf 0640 root:glance <<EOF2; then glance_changed=1; fi
# Written by packer-plugin-glance test/realcloud (Debian's original: glance-api.conf.dist).
[DEFAULT]
bind_host = 127.0.0.1
bind_port = 9292
workers = 1
log_file = $RC_LOGS/glance-api.log
enabled_backends = file1:file
enabled_import_methods = [glance-direct,web-download,copy-image]
worker_self_reference_url = $RC_GLANCE
show_image_direct_url = true
show_multiple_locations = false

[glance_store]
default_backend = file1

[file1]
filesystem_store_datadir = /var/lib/glance/images/
store_description = local file store

[os_glance_staging_store]
filesystem_store_datadir = /var/lib/glance/staging/

[os_glance_tasks_store]
filesystem_store_datadir = /var/lib/glance/tasks_work_dir/

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
connection = $(rc_db_url glance glance)

[oslo_policy]
policy_dirs = /etc/glance/policy.d

[oslo_concurrency]
lock_path = /var/lib/glance/lock
EOF2
  # Debian's security-patched Glance refuses loopback web-download targets unless listed here:
  # allowed_hosts needs brackets and NO quotes (quoted, every URI fails filtering).
  if write_if_changed /etc/glance/glance-image-import.conf 0640 root:glance <<'EOF2'; then glance_changed=1; fi
# Written by packer-plugin-glance test/realcloud.
[image_import_opts]
image_import_plugins = ['image_decompression']

[import_filtering_opts]
allowed_schemes = ['http','https']
allowed_hosts = [127.0.0.1,localhost]
allowed_ports = [80,443,8000,8080]
EOF2
  if ! stamp_done glance-db; then
    local t0
    t0=$(now_ms)
    mariadb_database glance glance
    local step
    for step in db_sync db_load_metadefs; do
      runuser -u glance -- glance-manage --config-file /etc/glance/glance-api.conf "$step" >>"$RC_LOGS/setup.log" 2>&1 ||
        die "glance-manage $step failed (log: $RC_LOGS/setup.log)"
    done
    stamp_set glance-db
    log "glance database set up ($(($(now_ms) - t0)) ms)"
  fi
}

glance_ready() { http_answers "$RC_GLANCE/"; }

glance_start() {
  if port_open 9292; then
    if ((glance_changed == 0)); then return 0; fi
    log "glance configuration changed: restarting glance-api"
    glance_stop
  fi
  start_daemon glance-api glance glance-api --config-file /etc/glance/glance-api.conf \
    --config-file /etc/glance/glance-image-import.conf
  wait_until 90 "Glance" glance-api glance_ready
}

glance_stop() { stop_daemon glance-api 20; rc_kill_port 9292; }
