# Stage rabbitmq: the message bus of Nova and Neutron, on 127.0.0.1:5672 (node rabbit@localhost).
# shellcheck shell=bash

rabbitmq_packages=(rabbitmq-server)
rabbitmq_debconf=()
RC_RABBIT_USER=openstack
RC_RABBIT_PASSWORD=rabbit-secret
RC_TRANSPORT_URL="rabbit://$RC_RABBIT_USER:$RC_RABBIT_PASSWORD@127.0.0.1:5672/"

rabbitmq_configure() {
  install -d -o rabbitmq -g rabbitmq /var/log/rabbitmq /run/rabbitmq /var/lib/rabbitmq
}

# Every rabbitmqctl call needs the node name: the default would be rabbit@<hostname>.
# rc_term_groups NAME...: sends TERM to the process groups of several daemons at once without
# waiting (stop_daemon then waits for each): python services take seconds to exit.
rc_term_groups() {
  local n f
  for n in "$@"; do
    f=$RC_RUN/$n.pid
    if [[ -s $f ]]; then kill -TERM -- "-$(cat "$f")" 2>/dev/null || true; fi
  done
}

rabbitmqctl_() { timeout 60 rabbitmqctl -n rabbit@localhost "$@"; }

rabbitmq_ready() { port_open 5672; }

rabbitmq_start() {
  if rabbitmq_ready; then return 0; fi
  # Erlang's distribution port and epmd stay on loopback too.
  start_daemon rabbitmq rabbitmq env HOME=/var/lib/rabbitmq RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_DIST_PORT=25672 ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    /usr/lib/rabbitmq/bin/rabbitmq-server
  wait_until 120 "RabbitMQ" rabbitmq rabbitmq_ready
  # The user lives in RabbitMQ's own database (kept across restarts): add it once.
  local users
  users=$(rabbitmqctl_ list_users -q 2>/dev/null || true)
  if [[ $'\n'$users != *$'\n'"$RC_RABBIT_USER"[[:space:]]* ]]; then
    rabbitmqctl_ add_user "$RC_RABBIT_USER" "$RC_RABBIT_PASSWORD" >>"$RC_LOGS/setup.log" 2>&1 ||
      die "rabbitmqctl add_user failed (log: $RC_LOGS/setup.log)"
    rabbitmqctl_ set_permissions "$RC_RABBIT_USER" ".*" ".*" ".*" >>"$RC_LOGS/setup.log" 2>&1 ||
      die "rabbitmqctl set_permissions failed (log: $RC_LOGS/setup.log)"
  fi
}

rabbitmq_stop() {
  if rabbitmq_ready; then rabbitmqctl_ stop >/dev/null 2>&1 || true; fi
  stop_daemon rabbitmq 30
  # epmd daemonizes itself out of the process group: ask it to exit (only if nothing else uses it).
  if command -v epmd >/dev/null && ! port_open 25672; then epmd -kill >/dev/null 2>&1 || true; fi
}
