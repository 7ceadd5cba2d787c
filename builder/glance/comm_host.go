package glance

import (
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// commHost chooses the address the communicator connects to, always the same way
// for the same server (the openstack builder walked a Go map, so multi-network
// servers got a random address): ssh_host/winrm_host, else an address on
// ssh_interface when it is set (as the openstack builder does), else the floating
// IP, else the first address of the server's networks in the template's order,
// IPv4 before IPv6 unless ssh_ip_version says otherwise, else the server's access
// IP.
func commHost(cfg *Config) func(multistep.StateBag) (string, error) {
	return serverHost(cfg, &cfg.Comm, stateServer)
}

// serverHost is commHost for the server stored under serverKey, with the
// communicator settings comm (verify reaches its own server this way).
func serverHost(cfg *Config, comm *communicator.Config, serverKey string) func(multistep.StateBag) (string, error) {
	return func(state multistep.StateBag) (string, error) {
		if h := comm.Host(); h != "" {
			return h, nil
		}
		srv, _ := state.Get(serverKey).(*Server)
		if cfg.SSHInterface != "" && srv != nil {
			if addr := pickAddress(srv, cfg.SSHInterface, cfg.SSHIPVersion, nil); addr != "" {
				return addr, nil
			}
		}
		if fip, ok := state.Get(stateFloatingIP).(*FloatingIP); ok && fip != nil {
			return fip.Address, nil
		}
		if srv == nil {
			return "", fmt.Errorf("no server address known yet")
		}
		if addr := pickAddress(srv, cfg.SSHInterface, cfg.SSHIPVersion, networkOrder(state)); addr != "" {
			return addr, nil
		}
		for _, a := range []struct{ addr, version string }{{srv.AccessIPv4, "4"}, {srv.AccessIPv6, "6"}} {
			if a.addr != "" && (cfg.SSHIPVersion == "" || cfg.SSHIPVersion == a.version) {
				return a.addr, nil
			}
		}
		if cfg.SSHInterface != "" {
			return "", fmt.Errorf("server %s has no IPv%s address on network %q (ssh_interface)", srv.ID, orAny(cfg.SSHIPVersion), cfg.SSHInterface)
		}
		return "", fmt.Errorf("server %s has no IPv%s address to connect to", srv.ID, orAny(cfg.SSHIPVersion))
	}
}

func orAny(v string) string {
	if v == "" {
		return "4 or IPv6"
	}
	return v
}

// networkOrder lists the network names of the template, ports first.
func networkOrder(state multistep.StateBag) []string {
	var names []string
	nets, _ := state.Get(stateNetworks).([]NetworkInfo)
	byID := map[string]string{}
	for _, n := range nets {
		byID[n.ID] = n.Name
	}
	if ports, ok := state.Get(statePorts).([]PortInfo); ok {
		for _, p := range ports {
			if name := byID[p.NetworkID]; name != "" {
				names = append(names, name)
			}
		}
	}
	for _, n := range nets {
		names = append(names, n.Name)
	}
	return names
}

// pickAddress applies the rules of commHost to the server's addresses, which the
// adapter lists sorted by network name.
func pickAddress(srv *Server, iface, ipVersion string, order []string) string {
	rank := func(a Address) int {
		for i, name := range order {
			if a.Network == name {
				return i
			}
		}
		return len(order)
	}
	var best *Address
	bestScore := 0
	for i := range srv.Addresses {
		a := &srv.Addresses[i]
		if iface != "" && a.Network != iface {
			continue
		}
		if ipVersion != "" && fmt.Sprint(a.Version) != ipVersion {
			continue
		}
		// Lower is better: a floating address first, then IPv4, then template order.
		score := rank(*a)
		if a.Version != 4 {
			score += 1000
		}
		if a.Type != "floating" {
			score += 10000
		}
		if best == nil || score < bestScore {
			best, bestScore = a, score
		}
	}
	if best == nil {
		return ""
	}
	return best.Addr
}
