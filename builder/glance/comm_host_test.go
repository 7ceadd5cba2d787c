package glance

import (
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

func TestCommHost(t *testing.T) {
	srv := &Server{ID: "s", Addresses: []Address{
		{Network: "a-net", Addr: "10.1.0.5", Version: 4, Type: "fixed"},
		{Network: "b-net", Addr: "10.2.0.5", Version: 4, Type: "fixed"},
		{Network: "b-net", Addr: "fd00::5", Version: 6, Type: "fixed"},
	}}
	tests := []struct {
		name  string
		raw   map[string]interface{}
		state map[string]interface{}
		want  string
		err   bool
	}{
		{"ssh_host wins", with("ssh_host", "192.0.2.1"), map[string]interface{}{stateFloatingIP: &FloatingIP{Address: "203.0.113.1"}}, "192.0.2.1", false},
		{"floating IP next", minimal(), map[string]interface{}{stateFloatingIP: &FloatingIP{Address: "203.0.113.1"}}, "203.0.113.1", false},
		{"template network order", minimal(), map[string]interface{}{stateNetworks: []NetworkInfo{{ID: "b", Name: "b-net"}, {ID: "a", Name: "a-net"}}}, "10.2.0.5", false},
		{"sorted names without networks", minimal(), nil, "10.1.0.5", false},
		{"ssh_interface", with("ssh_interface", "b-net"), nil, "10.2.0.5", false},
		{"ssh_interface before the floating IP", with("ssh_interface", "b-net"), map[string]interface{}{stateFloatingIP: &FloatingIP{Address: "203.0.113.1"}}, "10.2.0.5", false},
		{"ssh_ip_version 6", with("ssh_ip_version", "6"), nil, "fd00::5", false},
		{"nothing on the interface", with("ssh_interface", "c-net"), nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Builder
			if _, _, err := b.Prepare(tt.raw); err != nil {
				t.Fatal(err)
			}
			state := new(multistep.BasicStateBag)
			state.Put(stateServer, srv)
			for k, v := range tt.state {
				state.Put(k, v)
			}
			got, err := commHost(&b.config)(state)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("got %q, %v; want %q (error %v)", got, err, tt.want, tt.err)
			}
		})
	}
}
