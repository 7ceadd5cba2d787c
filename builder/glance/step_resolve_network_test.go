package glance

import (
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
