package glance

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// stepResolveNetwork turns the network, port, security group and floating IP
// network names of the template into IDs, and finds the network
// network_discovery_cidrs points at, before anything is created, so a typo
// costs nothing.
//
// Uses: config, cloud. Produces: networks, ports, security_groups,
// floating_network, floating_port_net.
type stepResolveNetwork struct{}

func (s *stepResolveNetwork) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud := configOf(state), cloudOf(state)
	if len(cfg.Networks)+len(cfg.Ports)+len(cfg.SecurityGroups)+len(cfg.NetworkDiscoveryCIDRs) > 0 || cfg.FloatingIPNetwork != "" || cfg.InstanceFloatingIPNet != "" {
		uiOf(state).Say("Resolving networks, ports and security groups...")
	}

	var nets []NetworkInfo
	for _, name := range cfg.Networks {
		n, err := cloud.Network.FindNetwork(ctx, name)
		if err != nil {
			return halt(state, fmt.Errorf("finding network %q (networks): %w", name, err))
		}
		nets = append(nets, *n)
	}
	if len(cfg.Networks)+len(cfg.Ports) == 0 && len(cfg.NetworkDiscoveryCIDRs) > 0 {
		n, err := discoverNetwork(ctx, cloud.Network, cfg.NetworkDiscoveryCIDRs)
		if err != nil {
			return halt(state, err)
		}
		uiOf(state).Sayf("Network %s (%s) found by network_discovery_cidrs", n.Name, n.ID)
		nets = append(nets, *n)
	}
	state.Put(stateNetworks, nets)

	var ports []PortInfo
	for _, name := range cfg.Ports {
		p, err := cloud.Network.FindPort(ctx, name)
		if err != nil {
			return halt(state, fmt.Errorf("finding port %q (ports): %w", name, err))
		}
		ports = append(ports, *p)
	}
	state.Put(statePorts, ports)

	var groups []string
	for _, name := range cfg.SecurityGroups {
		id, err := cloud.Network.FindSecurityGroup(ctx, name)
		if err != nil {
			return halt(state, fmt.Errorf("finding security group %q (security_groups): %w", name, err))
		}
		groups = append(groups, id)
	}
	state.Put(stateSecurityGroups, groups)

	if cfg.FloatingIPNetwork != "" {
		n, err := cloud.Network.FindNetwork(ctx, cfg.FloatingIPNetwork)
		if err != nil {
			return halt(state, fmt.Errorf("finding floating_ip_network %q: %w", cfg.FloatingIPNetwork, err))
		}
		if !n.External {
			return halt(state, fmt.Errorf("floating_ip_network %q (%s) is not an external network: floating IPs come from a network with router:external", cfg.FloatingIPNetwork, n.ID))
		}
		state.Put(stateFloatingNetwork, n)
	}
	if cfg.InstanceFloatingIPNet != "" {
		n, err := cloud.Network.FindNetwork(ctx, cfg.InstanceFloatingIPNet)
		if err != nil {
			return halt(state, fmt.Errorf("finding instance_floating_ip_net %q: %w", cfg.InstanceFloatingIPNet, err))
		}
		state.Put(stateFloatingPortNet, n.ID)
	}
	return multistep.ActionContinue
}

// discoverNetwork finds the network of the first subnet, in Neutron's order,
// whose range lies within one of the CIDRs (tried in the template's order for
// each subnet), as the openstack builder's network_discovery_cidrs does.
func discoverNetwork(ctx context.Context, network Network, cidrs []string) (*NetworkInfo, error) {
	subnets, err := network.Subnets(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing subnets (network_discovery_cidrs): %w", err)
	}
	for _, sub := range subnets {
		_, subnet, err := net.ParseCIDR(sub.CIDR)
		if err != nil {
			continue // not an address range: it cannot lie within one
		}
		for _, cidr := range cidrs {
			_, within, err := net.ParseCIDR(cidr)
			if err != nil || !containsNet(within, subnet) {
				continue
			}
			n, err := network.FindNetwork(ctx, sub.NetworkID)
			if err != nil {
				return nil, fmt.Errorf("finding network %s of subnet %s (network_discovery_cidrs): %w", sub.NetworkID, sub.ID, err)
			}
			return n, nil
		}
	}
	return nil, fmt.Errorf("network_discovery_cidrs: none of the %d subnets the project can see lies within %s; set networks, or widen the ranges",
		len(subnets), strings.Join(cidrs, ", "))
}

// containsNet reports whether the range inner lies wholly within outer.
func containsNet(outer, inner *net.IPNet) bool {
	outerBits, outerLen := outer.Mask.Size()
	innerBits, innerLen := inner.Mask.Size()
	return outerLen == innerLen && outerBits <= innerBits && outer.Contains(inner.IP)
}

func (s *stepResolveNetwork) Cleanup(multistep.StateBag) {}
