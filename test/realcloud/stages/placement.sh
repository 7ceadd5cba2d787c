# Stage placement: the Placement API under uwsgi on 127.0.0.1:8778 (Nova's resource inventory).
# shellcheck shell=bash

placement_packages=(placement-api uwsgi-core uwsgi-plugin-python3 python3-pymysql)
placement_debconf=(
  "placement-common placement/configure_db boolean false"
  "placement-api placement/register-endpoint boolean false"
)
RC_PLACEMENT=http://127.0.0.1:8778
placement_changed=0

# rc_authtoken USER: a [keystone_authtoken]-shaped password block for a service user (also used for
# Nova's [placement], [neutron], [service_user] and Neutron's [nova] sections).
rc_authtoken() {
  cat <<EOF2
www_authenticate_uri = $RC_KEYSTONE
auth_url = $RC_KEYSTONE
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $RC_SERVICE_PASSWORD
region_name = $RC_REGION
EOF2
}

placement_configure() {
  if write_if_changed /etc/placement/placement.conf 0640 root:placement <<EOF2; then placement_changed=1; fi
# Written by packer-plugin-glance test/realcloud (Debian's original: placement.conf.dist).
[DEFAULT]
log_file = $RC_LOGS/placement.log

[api]
auth_strategy = keystone

[keystone_authtoken]
$(rc_authtoken placement)

[placement_database]
connection = $(rc_db_url placement placement)

[oslo_policy]
policy_dirs = /etc/placement/policy.d
EOF2
  if ! stamp_done placement-db; then
    mariadb_database placement placement
    runuser -u placement -- placement-manage --config-file /etc/placement/placement.conf db sync \
      >>"$RC_LOGS/setup.log" 2>&1 || die "placement-manage db sync failed (log: $RC_LOGS/setup.log)"
    stamp_set placement-db
  fi
}

placement_ready() { http_answers "$RC_PLACEMENT/"; }

placement_start() {
  if port_open 8778; then
    if ((placement_changed == 0)); then return 0; fi
    log "placement.conf changed: restarting placement"
    placement_stop
  fi
  start_daemon placement placement uwsgi_python3 --http-socket 127.0.0.1:8778 \
    --wsgi-file /usr/bin/placement-api --master --processes 1 --threads 4 --lazy-apps \
    --die-on-term --enable-threads --buffer-size 65535 --need-app \
    --procname-prefix-spaced placement --add-header "Connection: close"
  wait_until 90 "Placement" placement placement_ready
}

placement_stop() { stop_daemon placement 20; }
