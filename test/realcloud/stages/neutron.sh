# Stage neutron: neutron-server (ML2 + linuxbridge, router service) on 127.0.0.1:9696 and the
# linuxbridge, dhcp, metadata and l3 agents. Two flat provider networks map onto the host bridges of
# the hostnet stage: physpriv (network "private") and physpub (network "public", external).
# shellcheck shell=bash

neutron_packages=(neutron-server neutron-linuxbridge-agent neutron-dhcp-agent neutron-l3-agent
  neutron-metadata-agent dnsmasq-base haproxy conntrack iptables ebtables ipset bridge-utils)
neutron_debconf=(
  "neutron-common neutron/configure_db boolean false"
  "neutron-server neutron/register-endpoint boolean false"
  "neutron-metadata-agent neutron-metadata/configure_db boolean false"
)
RC_NEUTRON=http://127.0.0.1:9696
RC_NEUTRON_AGENTS=(linuxbridge-agent dhcp-agent metadata-agent l3-agent)
RC_AGENTS_SINCE=
neutron_changed=0

neutron_write() {
  if write_if_changed "$1" 0640 root:neutron; then neutron_changed=1; fi
}

neutron_configure() {
  install -d -o neutron -g neutron /var/lib/neutron /var/lib/neutron/lock
  neutron_write /etc/neutron/neutron.conf <<EOF2
# Written by packer-plugin-glance test/realcloud (Debian's original: neutron.conf.dist).
[DEFAULT]
host = $RC_HOST
bind_host = 127.0.0.1
bind_port = 9696
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = $RC_TRANSPORT_URL
api_workers = 1
rpc_workers = 1
rpc_state_report_workers = 1
dhcp_agents_per_network = 1
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
state_path = /var/lib/neutron

[agent]
root_helper = sudo neutron-rootwrap /etc/neutron/rootwrap.conf
root_helper_daemon = sudo neutron-rootwrap-daemon /etc/neutron/rootwrap.conf

[database]
connection = $(rc_db_url neutron neutron)

[keystone_authtoken]
$(rc_authtoken neutron)

[nova]
$(rc_authtoken neutron)

[oslo_concurrency]
lock_path = /var/lib/neutron/lock

[experimental]
# Zed refuses the linuxbridge mechanism driver without this.
linuxbridge = true
EOF2
  neutron_write /etc/neutron/plugins/ml2/ml2_conf.ini <<EOF2
# Written by packer-plugin-glance test/realcloud.
[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
mechanism_drivers = linuxbridge
extension_drivers = port_security

[ml2_type_flat]
flat_networks = physpriv,physpub

[ml2_type_vxlan]
vni_ranges = 1:1000

[securitygroup]
enable_ipset = true
EOF2
  neutron_write /etc/neutron/plugins/ml2/linuxbridge_agent.ini <<EOF2
# Written by packer-plugin-glance test/realcloud. The mapped interfaces are veth ends made by the
# hostnet stage (this kernel has no dummy links).
[linux_bridge]
physical_interface_mappings = physpriv:rc-priv-n,physpub:rc-pub-n

[vxlan]
enable_vxlan = true
local_ip = 127.0.0.1
l2_population = false

[securitygroup]
enable_security_group = true
firewall_driver = neutron.agent.linux.iptables_firewall.IptablesFirewallDriver
EOF2
  neutron_write /etc/neutron/dhcp_agent.ini <<EOF2
# Written by packer-plugin-glance test/realcloud.
[DEFAULT]
interface_driver = linuxbridge
dhcp_driver = neutron.agent.linux.dhcp.Dnsmasq
enable_isolated_metadata = true
force_metadata = true
EOF2
  neutron_write /etc/neutron/metadata_agent.ini <<EOF2
# Written by packer-plugin-glance test/realcloud.
[DEFAULT]
nova_metadata_host = 127.0.0.1
nova_metadata_port = 8775
metadata_proxy_shared_secret = $RC_METADATA_SECRET
metadata_workers = 1
EOF2
  neutron_write /etc/neutron/l3_agent.ini <<EOF2
# Written by packer-plugin-glance test/realcloud.
[DEFAULT]
interface_driver = linuxbridge
EOF2
  if ! stamp_done neutron-db; then
    local t0
    t0=$(now_ms)
    mariadb_database neutron neutron
    runuser -u neutron -- neutron-db-manage --config-file /etc/neutron/neutron.conf \
      --config-file /etc/neutron/plugins/ml2/ml2_conf.ini upgrade head >>"$RC_LOGS/setup.log" 2>&1 ||
      die "neutron-db-manage upgrade failed (log: $RC_LOGS/setup.log)"
    stamp_set neutron-db
    log "neutron database ready ($(($(now_ms) - t0)) ms)"
  fi
  chown -R neutron:neutron /var/lib/neutron
}

neutron_ready() { http_answers "$RC_NEUTRON/"; }

# neutron_rpc_ready: the state-report queue of neutron-server has a consumer.
neutron_rpc_ready() {
  local q
  q=$(rabbitmqctl_ list_queues -q name consumers 2>/dev/null || true)
  [[ $q =~ (^|$'\n')q-reports-plugin[[:space:]]+[1-9] ]] || { sleep 1; return 1; }
}

# neutron_daemon NAME USER INI...: starts neutron-NAME with neutron.conf and its own files.
neutron_daemon() {
  local name=neutron-$1 user=$2 ini
  shift 2
  if pid_alive "$name"; then
    ((neutron_changed == 0)) && return 0
    stop_daemon "$name" 20
  fi
  local -a args=(--config-file /etc/neutron/neutron.conf)
  for ini in "$@"; do args+=(--config-file "$ini"); done
  start_daemon "$name" "$user" "/usr/bin/$name" "${args[@]}" --log-file "$RC_LOGS/$name.log"
}

neutron_start() {
  hostnet_ready || die "the provider links (rc-priv-n, rc-pub-n) are missing: the hostnet stage must run first"
  local fresh=1
  if pid_alive neutron-server && ((neutron_changed == 0)); then fresh=0; fi
  neutron_daemon server neutron /etc/neutron/plugins/ml2/ml2_conf.ini
  # An agent whose first state report reaches RabbitMQ before neutron-server consumes reports
  # waits out a 60 s RPC timeout and then its 30 s report interval: "all agents alive" took 100 s
  # instead of seconds. So the agents start once the server's report queue has a consumer.
  if ((fresh)); then
    wait_until 120 "Neutron API" neutron-server neutron_ready
    wait_until 120 "neutron-server consuming agent reports" neutron-server neutron_rpc_ready
  fi
  # "Alive" in Neutron only means a recent heartbeat, which an agent stopped a minute ago still
  # has: the final wait also asks for a start after this moment (fullcloud.py wait-agents).
  local a
  for a in "${RC_NEUTRON_AGENTS[@]}"; do
    if ! pid_alive "neutron-$a" || ((neutron_changed)); then RC_AGENTS_SINCE=$(date -u '+%Y-%m-%d %H:%M:%S'); fi
  done
  # The agents run as root (they build bridges, namespaces and firewall rules).
  neutron_daemon linuxbridge-agent root /etc/neutron/plugins/ml2/linuxbridge_agent.ini
  neutron_daemon dhcp-agent root /etc/neutron/dhcp_agent.ini
  neutron_daemon metadata-agent root /etc/neutron/metadata_agent.ini
  neutron_daemon l3-agent root /etc/neutron/l3_agent.ini
  wait_until 120 "Neutron API" neutron-server neutron_ready
}

# neutron_pidfile_kill FILE...: stops helpers the agents spawned detached (dnsmasq, haproxy), by
# the pid their agent recorded.
neutron_pidfile_kill() {
  local f pid
  for f in "$@"; do
    [[ -s $f ]] || continue
    pid=$(cat "$f")
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
}

neutron_stop() {
  local a
  # All at once (each takes seconds to exit), then wait for each.
  rc_term_groups neutron-l3-agent neutron-metadata-agent neutron-dhcp-agent neutron-linuxbridge-agent neutron-server
  for a in l3-agent metadata-agent dhcp-agent linuxbridge-agent server; do stop_daemon "neutron-$a" 30; done
  shopt -s nullglob
  neutron_pidfile_kill /var/lib/neutron/dhcp/*/pid /var/lib/neutron/external/pids/*.pid*
  shopt -u nullglob
}
