# Profile "full" (issue 8): the base profile plus RabbitMQ, Placement, Nova (libvirt, software
# emulation) and Neutron (ML2/linuxbridge with dhcp, metadata and l3 agents), a flavor m1.tiny,
# networks private (fixed IPs the host reaches) and public (external, floating IPs the host reaches)
# and the guest image tiny-guest (SSH user root). Stages start in this order and stop in reverse.
# shellcheck shell=bash
RC_STAGES=(mariadb keystone glance glancekz guest rabbitmq libvirt hostnet services placement ceph cinder nova neutron)

# rc_profile_after_register: called by realcloud.sh once the base identities exist (demo's project
# is needed for its security group). Maps the compute host, creates the flavors, networks, router
# and images, then waits until every agent reports alive.
rc_profile_after_register() {
  local t0
  t0=$(now_ms)
  rc_fullcloud wait-compute || die "nova-compute did not come up (log: $RC_LOGS/nova-compute.log)"
  if ! stamp_done "nova-host-$RC_HOST"; then
    nova_manage cell_v2 discover_hosts
    stamp_set "nova-host-$RC_HOST"
  fi
  rc_fullcloud wait-volume || die "cinder-volume did not come up (log: $RC_LOGS/cinder-volume.log)"
  rc_fullcloud resources || die "creating flavors, networks, images or the volume type failed"
  rc_fullcloud wait-agents || die "the Neutron agents are not all alive (logs: $RC_LOGS/neutron-*.log)"
  log "full profile: compute, network and guest ready ($(($(now_ms) - t0)) ms)"
}
