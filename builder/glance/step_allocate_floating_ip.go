package glance

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// stepAllocateFloatingIP attaches a floating IP to the server: the given one, a
// free one of floating_ip_network (reuse_ips), or a new one allocated there; with
// reuse_ips and no floating_ip_network, any free one of the project, as the
// openstack builder does.
// Cleanup releases an allocated address and detaches a given or reused one.
//
// Uses: config, cloud, server_id, floating_network, floating_port_net.
// Produces: floating_ip.
type stepAllocateFloatingIP struct {
	allocated string // deleted in cleanup
	attached  string // detached in cleanup
	port      string // the server's port the address was attached to
	lost      string // description of an allocation whose reply never came
}

func (s *stepAllocateFloatingIP) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	if cfg.FloatingIP == "" && cfg.FloatingIPNetwork == "" && !cfg.ReuseIPs {
		return multistep.ActionContinue
	}
	serverID := stringOf(state, stateServerID)
	port, err := s.serverPort(ctx, state, serverID)
	if err != nil {
		return halt(state, err)
	}

	var existing *FloatingIP
	switch {
	case cfg.FloatingIP != "":
		existing, err = cloud.Network.FindFloatingIP(ctx, cfg.FloatingIP)
		if err != nil {
			return halt(state, fmt.Errorf("finding floating_ip %q: %w", cfg.FloatingIP, err))
		}
		if existing.PortID != "" {
			return halt(state, fmt.Errorf("floating_ip %s (%s) is already attached to port %s", existing.Address, existing.ID, existing.PortID))
		}
	case cfg.ReuseIPs:
		where, networkID := "in the project", ""
		if network, ok := state.Get(stateFloatingNetwork).(*NetworkInfo); ok {
			where, networkID = "on network "+network.ID, network.ID
		}
		existing, err = cloud.Network.FreeFloatingIP(ctx, networkID)
		if err != nil {
			return halt(state, fmt.Errorf("looking for a free floating IP %s: %w", where, err))
		}
		if existing == nil && networkID == "" {
			return halt(state, fmt.Errorf("reuse_ips: the project has no free floating IP; set floating_ip_network to allocate one when none is free"))
		}
	}

	s.port = port
	var fip *FloatingIP
	if existing != nil {
		ui.Sayf("Attaching floating IP %s to server %s...", existing.Address, serverID)
		fip, err = cloud.Network.AssociateFloatingIP(ctx, existing.ID, port)
		if err != nil {
			if retry.CreateMayHaveHappened(ctx, err) {
				// Cut off by Ctrl-C or a lost reply: Neutron may have attached it,
				// and a port the user gave outlives the server.
				s.attached = existing.ID
			}
			return halt(state, fmt.Errorf("attaching floating IP %s to port %s: %w", existing.Address, port, err))
		}
		s.attached = existing.ID
	} else {
		network := state.Get(stateFloatingNetwork).(*NetworkInfo)
		ui.Sayf("Allocating a floating IP on network %s for server %s...", network.Name, serverID)
		fip, err = cloud.Network.CreateFloatingIP(ctx, network.ID, port, tempName(state, "floatingip"))
		if err != nil {
			if retry.CreateMayHaveHappened(ctx, err) {
				s.lost = tempName(state, "floatingip")
			}
			return halt(state, fmt.Errorf("allocating a floating IP on network %s (%s): %w", network.Name, network.ID, err))
		}
		s.allocated = fip.ID
	}
	ui.Sayf("Floating IP %s attached", fip.Address)
	state.Put(stateFloatingIP, fip)
	return multistep.ActionContinue
}

// serverPort picks the port that receives the floating IP: the one on
// instance_floating_ip_net, else the first port in the template's network order.
func (s *stepAllocateFloatingIP) serverPort(ctx context.Context, state multistep.StateBag, serverID string) (string, error) {
	ports, err := cloudOf(state).Network.ServerPorts(ctx, serverID)
	if err != nil {
		return "", fmt.Errorf("listing the ports of server %s: %w", serverID, err)
	}
	if len(ports) == 0 {
		return "", fmt.Errorf("server %s has no port to attach a floating IP to", serverID)
	}
	if want := stringOf(state, stateFloatingPortNet); want != "" {
		for _, p := range ports {
			if p.NetworkID == want {
				return p.ID, nil
			}
		}
		return "", fmt.Errorf("server %s has no port on instance_floating_ip_net %s", serverID, want)
	}
	var order []string
	if given, ok := state.Get(statePorts).([]PortInfo); ok {
		for _, p := range given {
			order = append(order, p.NetworkID)
		}
	}
	if nets, ok := state.Get(stateNetworks).([]NetworkInfo); ok {
		for _, n := range nets {
			order = append(order, n.ID)
		}
	}
	for _, netID := range order {
		for _, p := range ports {
			if p.NetworkID == netID {
				return p.ID, nil
			}
		}
	}
	return ports[0].ID, nil
}

func (s *stepAllocateFloatingIP) Cleanup(state multistep.StateBag) {
	if s.allocated == "" && s.lost != "" {
		description := s.lost
		s.lost = ""
		for _, id := range findLost(state, "floating IP "+description, func(ctx context.Context) ([]string, error) {
			return cloudOf(state).Network.FloatingIPsDescribed(ctx, description)
		}) {
			s.allocated = id
			s.release(state)
		}
		return
	}
	if s.allocated == "" && s.attached == "" {
		return
	}
	s.release(state)
}

// release deletes the floating IP the build allocated, or detaches the one it reused.
func (s *stepAllocateFloatingIP) release(state multistep.StateBag) {
	ui, cloud := uiOf(state), cloudOf(state)
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	if s.allocated != "" {
		ui.Sayf("Releasing floating IP %s...", s.allocated)
		if err := cloud.Network.DeleteFloatingIP(ctx, s.allocated); err != nil && !osapi.IsNotFound(err) {
			ui.Error(fmt.Sprintf("Error releasing floating IP %s: %s (release it by hand)", s.allocated, err))
			return
		}
		s.allocated = ""
	}
	if s.attached != "" {
		// Detached only while it is still on the build's port: another build
		// that reuses free addresses may have taken it since.
		fip, err := cloud.Network.FindFloatingIP(ctx, s.attached)
		switch {
		case err != nil:
			ui.Error(fmt.Sprintf("Error reading floating IP %s before detaching it: %s (check it by hand)", s.attached, err))
			return
		case fip.PortID != s.port:
			s.attached = "" // detached already, or someone else's now
			return
		}
		ui.Sayf("Detaching floating IP %s...", s.attached)
		if _, err := cloud.Network.AssociateFloatingIP(ctx, s.attached, ""); err != nil && !osapi.IsNotFound(err) {
			ui.Error(fmt.Sprintf("Error detaching floating IP %s: %s", s.attached, err))
			return
		}
		s.attached = ""
	}
}
