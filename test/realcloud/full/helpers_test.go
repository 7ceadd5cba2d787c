package full

import (
	"reflect"
	"strings"
	"testing"
)

// The helpers below decide what counts as a leak and what the benchmark prints: they are checked
// here without a cloud, so `make test-unit` covers them.

func TestLeaksSinceComparesByIDAndHonoursKeep(t *testing.T) {
	before := inventory{
		"server": {"s1 old-server"},
		"image":  {"i1 base status=queued"},
	}
	now := inventory{
		"server":  {"s1 old-server", "s2 packer_x_server"},
		"image":   {"i1 base status=active", "i2 golden status=active", "i3 stray status=active"},
		"keypair": {"packer_x_keypair "},
	}
	keep := func(kind, entry string) bool { return kind == "image" && strings.Contains(entry, " golden ") }
	got := leaksSince(before, now, keep)
	want := map[string][]string{
		"server":  {"s2 packer_x_server"},
		"image":   {"i3 stray status=active"},
		"keypair": {"packer_x_keypair "},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("leaksSince = %v, want %v (a status change of i1 is no leak, i2 is kept)", got, want)
	}
	if l := leaksSince(now, now, nil); len(l) != 0 {
		t.Errorf("an unchanged inventory reports leaks: %v", l)
	}
}

func TestRequestCountsByService(t *testing.T) {
	log := strings.Join([]string{
		"2026/11/27 17:04:05 packer-plugin-glance plugin: 2026/11/27 17:04:05 [DEBUG] openstack: POST http://127.0.0.1:5000/v3/auth/tokens -> 201 (36ms)",
		"x [DEBUG] openstack: GET http://127.0.0.1:8774/v2.1/servers/0b1c3a4e-1111-2222-3333-444455556666 -> 200 (5ms)",
		"x [DEBUG] openstack: POST http://127.0.0.1:8774/v2.1/servers/0b1c3a4e-1111-2222-3333-444455556666/action -> 202 (5ms)",
		"x [DEBUG] openstack: GET http://127.0.0.1:9292/v2/images/abc -> error after 1s: EOF",
		"x [DEBUG] openstack: GET http://127.0.0.1:9696/v2.0/networks?name=private -> 200 (3ms): {}",
		"x [INFO] something else",
	}, "\n")
	counts, total := requestCounts(log)
	// A request that failed on the wire was still sent: it counts.
	if total != 5 || counts != "compute 2, identity 1, image 1, network 1" {
		t.Errorf("requestCounts = %q, %d; want compute 2, identity 1, image 1, network 1 and 5", counts, total)
	}
	list := requestList(log)
	if len(list) != 5 || list[1] != "GET :8774/v2.1/servers/{id} -> 200" {
		t.Errorf("requestList = %q", list)
	}
}
