package glance

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// stepResolveNetwork turns the network, port, security group and floating IP
// network names of the template into IDs, before anything is created, so a typo
// costs nothing.
//
// Uses: config, cloud. Produces: networks, ports, security_groups,
// floating_network, floating_port_net.
type stepResolveNetwork struct{}

func (s *stepResolveNetwork) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud := configOf(state), cloudOf(state)
	if len(cfg.Networks)+len(cfg.Ports)+len(cfg.SecurityGroups) > 0 || cfg.FloatingIPNetwork != "" || cfg.InstanceFloatingIPNet != "" {
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

func (s *stepResolveNetwork) Cleanup(multistep.StateBag) {}
