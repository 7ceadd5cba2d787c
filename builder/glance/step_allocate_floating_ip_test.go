package glance

import (
	"testing"
)

func TestStepAllocateFloatingIP(t *testing.T) {
	env := func(t *testing.T, raw map[string]interface{}) *testEnv {
		e := newTestEnv(t, raw)
		e.state.Put(stateServerID, "srv-1")
		e.state.Put(stateFloatingNetwork, &NetworkInfo{ID: "net-public", Name: "public", External: true})
		return e
	}
	t.Run("allocates on the network, bound to the port, then releases", func(t *testing.T) {
		e := env(t, with("floating_ip_network", "public"))
		s := &stepAllocateFloatingIP{}
		e.mustRun(t, s)
		fip := e.state.Get(stateFloatingIP).(*FloatingIP)
		if fip.NetworkID != "net-public" || fip.PortID != "port-of-srv-1" {
			t.Errorf("floating IP = %+v", fip)
		}
		if e.fake.called("AssociateFloatingIP") != 0 {
			t.Error("a separate associate call: allocation binds the port in one request")
		}
		s.Cleanup(e.state)
		e.noLeaks(t)
	})
	t.Run("a given address is attached and detached, never deleted", func(t *testing.T) {
		e := env(t, with("floating_ip", "198.51.100.4"))
		e.fake.floatingIPs["given"] = &FloatingIP{ID: "given", Address: "198.51.100.4", NetworkID: "net-public"}
		s := &stepAllocateFloatingIP{}
		e.mustRun(t, s)
		if e.fake.floatingIPs["given"].PortID != "port-of-srv-1" {
			t.Error("not attached")
		}
		s.Cleanup(e.state)
		if fip := e.fake.floatingIPs["given"]; fip == nil || fip.PortID != "" {
			t.Errorf("after cleanup: %+v", fip)
		}
	})
	t.Run("a reused address another build has taken since is not detached", func(t *testing.T) {
		e := env(t, with("floating_ip_network", "public", "reuse_ips", true))
		e.fake.floatingIPs["free"] = &FloatingIP{ID: "free", Address: "198.51.100.9", NetworkID: "net-public"}
		s := &stepAllocateFloatingIP{}
		e.mustRun(t, s)
		e.fake.floatingIPs["free"].PortID = "port-of-another-build"
		s.Cleanup(e.state)
		if e.fake.floatingIPs["free"].PortID != "port-of-another-build" {
			t.Errorf("the other build's address was detached: calls %v", e.fake.calls)
		}
	})
	t.Run("a given address in use is refused", func(t *testing.T) {
		e := env(t, with("floating_ip", "198.51.100.4"))
		e.fake.floatingIPs["given"] = &FloatingIP{ID: "given", Address: "198.51.100.4", PortID: "other"}
		e.mustHalt(t, &stepAllocateFloatingIP{}, "already attached")
	})
	t.Run("reuse takes a free address of that network", func(t *testing.T) {
		e := env(t, with("floating_ip_network", "public", "reuse_ips", true))
		e.fake.floatingIPs["free"] = &FloatingIP{ID: "free", Address: "198.51.100.9", NetworkID: "net-public"}
		s := &stepAllocateFloatingIP{}
		e.mustRun(t, s)
		if e.fake.called("CreateFloatingIP") != 0 || e.state.Get(stateFloatingIP).(*FloatingIP).ID != "free" {
			t.Errorf("calls: %v", e.fake.calls)
		}
		s.Cleanup(e.state)
		if _, ok := e.fake.floatingIPs["free"]; !ok {
			t.Error("a reused address was deleted")
		}
	})
	t.Run("reuse with none free allocates", func(t *testing.T) {
		e := env(t, with("floating_ip_network", "public", "reuse_ips", true))
		s := &stepAllocateFloatingIP{}
		e.mustRun(t, s)
		if e.fake.called("CreateFloatingIP") != 1 {
			t.Errorf("calls: %v", e.fake.calls)
		}
		s.Cleanup(e.state)
		e.noLeaks(t)
	})
	// Without floating_ip_network, reuse_ips takes any free address of the
	// project, as the openstack builder does; with none free it cannot allocate.
	noNetwork := func(t *testing.T) *testEnv {
		e := newTestEnv(t, with("reuse_ips", true))
		e.state.Put(stateServerID, "srv-1")
		return e
	}
	t.Run("reuse without a network takes any free address", func(t *testing.T) {
		e := noNetwork(t)
		e.fake.floatingIPs["taken"] = &FloatingIP{ID: "taken", Address: "198.51.100.8", NetworkID: "net-other", PortID: "p"}
		e.fake.floatingIPs["free"] = &FloatingIP{ID: "free", Address: "198.51.100.9", NetworkID: "net-other"}
		s := &stepAllocateFloatingIP{}
		e.mustRun(t, s)
		if got := e.state.Get(stateFloatingIP).(*FloatingIP); got.ID != "free" || got.PortID != "port-of-srv-1" {
			t.Errorf("floating IP = %+v", got)
		}
		s.Cleanup(e.state)
		if fip, ok := e.fake.floatingIPs["free"]; !ok || fip.PortID != "" {
			t.Errorf("a reused address must be detached and kept: %+v", fip)
		}
	})
	t.Run("reuse without a network and none free fails", func(t *testing.T) {
		e := noNetwork(t)
		e.mustHalt(t, &stepAllocateFloatingIP{}, "the project has no free floating IP; set floating_ip_network")
		if e.fake.called("CreateFloatingIP") != 0 {
			t.Errorf("calls: %v", e.fake.calls)
		}
	})
	t.Run("no port on instance_floating_ip_net", func(t *testing.T) {
		e := env(t, with("floating_ip_network", "public", "instance_floating_ip_net", "other"))
		e.state.Put(stateFloatingPortNet, "net-other")
		e.mustHalt(t, &stepAllocateFloatingIP{}, "no port on instance_floating_ip_net")
	})
	t.Run("allocation refused", func(t *testing.T) {
		e := env(t, with("floating_ip_network", "public"))
		e.fake.fail["CreateFloatingIP"] = errConflict
		s := &stepAllocateFloatingIP{}
		e.mustHalt(t, s, "allocating a floating IP on network public (net-public)")
		s.Cleanup(e.state)
		if e.fake.called("DeleteFloatingIP") != 0 {
			t.Error("released an address it did not get")
		}
	})
	t.Run("not asked for", func(t *testing.T) {
		e := env(t, minimal())
		e.mustRun(t, &stepAllocateFloatingIP{})
		if len(e.fake.calls) != 0 {
			t.Errorf("calls: %v", e.fake.calls)
		}
	})
}
