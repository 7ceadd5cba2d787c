# Stage hostnet: the host side of the two flat provider networks, so that the host (and Packer on
# it) reaches guests directly, all on this machine:
#   private: bridge rc-priv 10.99.0.1/24, veth rc-priv-h (in the bridge) <-> rc-priv-n, which the
#            linuxbridge agent puts into Neutron's network bridge (physnet "physpriv");
#   public:  bridge rc-pub 10.98.0.1/24, veth rc-pub-h <-> rc-pub-n (physnet "physpub"): the external
#            network whose floating IPs the l3 agent answers for.
# The links vanish with the machine: they are recreated at every start, before the agents start
# (the linuxbridge agent exits at once when a mapped interface is missing). Nothing is routed off
# the machine: the bridges hold no physical interface.
# shellcheck shell=bash

hostnet_packages=(iproute2 bridge-utils ebtables iptables ipset conntrack)
hostnet_debconf=()
RC_PRIV_CIDR=10.99.0.0/24
RC_PRIV_HOST=10.99.0.1
RC_PUB_CIDR=10.98.0.0/24
RC_PUB_HOST=10.98.0.1

hostnet_configure() {
  # ebtables-nft 1.8.9 cannot delete rules with an among match (the linuxbridge agent's MAC
  # anti-spoofing rules); the shim retries such a delete by rule number. See ebtables-shim.
  if write_if_changed /usr/local/sbin/ebtables-shim 0755 root:root <"$RC_HERE/stages/ebtables-shim"; then :; fi
  if [[ $(readlink -f /etc/alternatives/ebtables 2>/dev/null) != /usr/local/sbin/ebtables-shim ]]; then
    update-alternatives --quiet --install /usr/sbin/ebtables ebtables /usr/local/sbin/ebtables-shim 50
    update-alternatives --quiet --set ebtables /usr/local/sbin/ebtables-shim
  fi
}

# hostnet_link BRIDGE ADDRESS VETH: bridge with a host address, and a veth pair whose -h end is in
# the bridge and whose -n end is left for the linuxbridge agent.
hostnet_link() {
  local br=$1 addr=$2 veth=$3
  ip link show "$br" >/dev/null 2>&1 || ip link add "$br" type bridge
  # Not "ip ... | grep -q": with pipefail, grep's early exit can fail the pipeline.
  [[ $(ip -4 -o addr show dev "$br") == *" $addr/"* ]] || ip addr add "$addr/24" dev "$br"
  ip link show "$veth-h" >/dev/null 2>&1 || ip link add "$veth-h" type veth peer name "$veth-n"
  ip link set "$veth-h" master "$br"
  ip link set "$br" up
  ip link set "$veth-h" up
  ip link set "$veth-n" up
}

hostnet_ready() { ip link show rc-priv-n >/dev/null 2>&1 && ip link show rc-pub-n >/dev/null 2>&1; }

hostnet_start() {
  # Security groups on Linux bridges need bridged traffic to pass through iptables (br_netfilter;
  # built into this machine kind's kernel, a module elsewhere).
  [[ -d /proc/sys/net/bridge ]] || modprobe br_netfilter 2>/dev/null ||
    die "no /proc/sys/net/bridge: the kernel lacks br_netfilter (security groups need it)"
  sysctl -q -w net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1
  hostnet_link rc-priv "$RC_PRIV_HOST" rc-priv
  hostnet_link rc-pub "$RC_PUB_HOST" rc-pub
}

# The links are left in place: harmless, and the agents expect them at their next start.
hostnet_stop() { :; }
