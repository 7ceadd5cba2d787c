package glance

import (
	"net"
	"testing"
)

func TestStepResolveNetwork(t *testing.T) {
	t.Run("names become IDs in order", func(t *testing.T) {
		e := newTestEnv(t, with("networks", []string{"public", "private"}, "security_groups", []string{"default"},
			"ports", []string{"port-a"}, "floating_ip_network", "public", "instance_floating_ip_net", "private"))
		e.fake.ports = []PortInfo{{ID: "port-a", NetworkID: "net-private"}}
		e.mustRun(t, &stepResolveNetwork{})
		nets := e.state.Get(stateNetworks).([]NetworkInfo)
		if len(nets) != 2 || nets[0].ID != "net-public" || nets[1].ID != "net-private" {
			t.Errorf("networks = %v", nets)
		}
		if g := e.state.Get(stateSecurityGroups).([]string); len(g) != 1 || g[0] != "sg-default" {
			t.Errorf("security groups = %v", g)
		}
		if p := e.state.Get(statePorts).([]PortInfo); len(p) != 1 || p[0].ID != "port-a" {
			t.Errorf("ports = %v", p)
		}
		if n := e.state.Get(stateFloatingNetwork).(*NetworkInfo); n.ID != "net-public" {
			t.Errorf("floating network = %v", n)
		}
		if got := stringOf(e.state, stateFloatingPortNet); got != "net-private" {
			t.Errorf("floating port network = %q", got)
		}
	})
	t.Run("floating network must be external", func(t *testing.T) {
		e := newTestEnv(t, with("floating_ip_network", "private"))
		e.mustHalt(t, &stepResolveNetwork{}, "not an external network")
	})
	for option, raw := range map[string]map[string]interface{}{
		"networks":            with("networks", []string{"nope"}),
		"ports":               with("ports", []string{"nope"}),
		"security_groups":     with("security_groups", []string{"nope"}),
		"floating_ip_network": with("floating_ip_network", "nope"),
	} {
		t.Run("unknown in "+option, func(t *testing.T) {
			e := newTestEnv(t, raw)
			e.mustHalt(t, &stepResolveNetwork{}, option)
		})
	}
}

func TestStepResolveNetworkDiscovery(t *testing.T) {
	discover := func(t *testing.T, cidrs []string, subnets []SubnetInfo) *testEnv {
		e := newTestEnv(t, with("network_discovery_cidrs", cidrs))
		if subnets != nil {
			e.fake.subnets = subnets
		}
		return e
	}
	t.Run("the network of the subnet within a range", func(t *testing.T) {
		e := discover(t, []string{"10.0.0.0/8"}, nil)
		e.mustRun(t, &stepResolveNetwork{})
		if nets := e.state.Get(stateNetworks).([]NetworkInfo); len(nets) != 1 || nets[0].ID != "net-private" || nets[0].Name != "private" {
			t.Errorf("networks = %v", nets)
		}
		if !contains(e.out.String(), "Network private (net-private) found by network_discovery_cidrs") {
			t.Errorf("output:\n%s", e.out)
		}
	})
	t.Run("the first matching subnet in Neutron's order wins", func(t *testing.T) {
		e := discover(t, []string{"192.168.0.0/16", "10.0.0.0/8"}, []SubnetInfo{
			{ID: "s0", NetworkID: "net-public", CIDR: "not-a-cidr"},
			{ID: "s1", NetworkID: "net-public", CIDR: "172.16.0.0/12"},
			{ID: "s2", NetworkID: "net-private", CIDR: "10.1.0.0/16"},
			{ID: "s3", NetworkID: "net-public", CIDR: "192.168.7.0/24"},
		})
		e.mustRun(t, &stepResolveNetwork{})
		if nets := e.state.Get(stateNetworks).([]NetworkInfo); len(nets) != 1 || nets[0].ID != "net-private" {
			t.Errorf("networks = %v", nets)
		}
	})
	t.Run("a subnet wider than the range does not lie within it", func(t *testing.T) {
		e := discover(t, []string{"10.0.5.0/25"}, nil)
		e.mustHalt(t, &stepResolveNetwork{}, "none of the 2 subnets the project can see lies within 10.0.5.0/25")
	})
	t.Run("IPv6", func(t *testing.T) {
		e := discover(t, []string{"2001:db8::/32"}, []SubnetInfo{
			{ID: "v4", NetworkID: "net-public", CIDR: "0.0.0.0/0"},
			{ID: "v6", NetworkID: "net-private", CIDR: "2001:db8:1::/64"},
		})
		e.mustRun(t, &stepResolveNetwork{})
		if nets := e.state.Get(stateNetworks).([]NetworkInfo); len(nets) != 1 || nets[0].ID != "net-private" {
			t.Errorf("networks = %v", nets)
		}
	})
	t.Run("listing fails", func(t *testing.T) {
		e := discover(t, []string{"10.0.0.0/8"}, nil)
		e.fake.fail["Subnets"] = httpError(403)
		e.mustHalt(t, &stepResolveNetwork{}, "listing subnets (network_discovery_cidrs)")
	})
	t.Run("not used with networks", func(t *testing.T) {
		e := newTestEnv(t, with("networks", []string{"public"}, "network_discovery_cidrs", []string{"10.0.0.0/8"}))
		e.mustRun(t, &stepResolveNetwork{})
		if e.fake.called("Subnets") != 0 {
			t.Errorf("calls: %v", e.fake.calls)
		}
	})
}

func TestContainsNet(t *testing.T) {
	for _, tc := range []struct {
		outer, inner string
		want         bool
	}{
		{"10.0.0.0/8", "10.1.0.0/16", true},
		{"10.0.0.0/8", "10.0.0.0/8", true},
		{"10.1.0.0/16", "10.0.0.0/8", false},
		{"10.0.0.0/8", "11.0.0.0/24", false},
		{"0.0.0.0/0", "2001:db8::/64", false},
		{"::/0", "10.0.0.0/8", false},
		{"2001:db8::/32", "2001:db8:ff::/48", true},
	} {
		_, outer, _ := net.ParseCIDR(tc.outer)
		_, inner, _ := net.ParseCIDR(tc.inner)
		if got := containsNet(outer, inner); got != tc.want {
			t.Errorf("containsNet(%s, %s) = %v", tc.outer, tc.inner, got)
		}
	}
}
