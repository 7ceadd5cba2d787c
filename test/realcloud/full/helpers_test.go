package full

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/instanceactions"
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

// The critical path is read from Nova's and Glance's own log lines (shapes copied from the full
// profile's logs) and falls back to the instance actions' whole seconds.
func TestCriticalPathFromLogs(t *testing.T) {
	dir := t.TempDir()
	const (
		create = "req-d36b984d-a718-47b9-b55d-743adf316329"
		stop   = "req-b9eea97b-5d9d-41aa-8cfe-896f2e46dec2"
		snap   = "req-bbf355ca-6c79-4450-8c4d-51cd8d3fae07"
		del    = "req-d7e0b073-429e-4581-a25c-160d8c7dd765"
		server = "49f3c7ae-d98e-4c63-8843-4b8beee46204"
		image  = "b63eb3c0-fadd-4309-8941-cee36b67e9c6"
		who    = " a86318abb34b4bd6b6edb24de296c783 8344f7a470b248d8b0e7dc352bc52b0b - - default default] "
	)
	write := func(name string, lines ...string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Something logged before the mark must be ignored.
	write("nova-api.log", `2026-12-05 15:00:00.000 1 INFO nova.osapi_compute.wsgi.server [None `+create+who+`127.0.0.1 "POST /v2.1/servers HTTP/1.1" status: 202 len: 834 time: 1.0`)
	logs := &logFiles{dir: dir, offsets: map[string]int64{}}
	for _, n := range logNames {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil {
			logs.offsets[n] = st.Size()
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, "nova-api.log"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{
		`2026-12-05 15:30:58.050 26055 INFO nova.osapi_compute.wsgi.server [None ` + create + who + `127.0.0.1 "POST /v2.1/servers HTTP/1.1" status: 202 len: 834 time: 3.8966248`,
		`2026-12-05 15:31:46.745 4604 INFO nova.osapi_compute.wsgi.server [None ` + stop + who + `127.0.0.1 "POST /v2.1/servers/` + server + `/action HTTP/1.1" status: 202 len: 379 time: 0.3842883`,
		`2026-12-05 15:31:54.403 4604 INFO nova.osapi_compute.wsgi.server [None ` + snap + who + `127.0.0.1 "POST /v2.1/servers/` + server + `/action HTTP/1.1" status: 202 len: 464 time: 1.1001012`,
		`2026-12-05 15:31:59.609 4604 INFO nova.osapi_compute.wsgi.server [None ` + del + who + `127.0.0.1 "DELETE /v2.1/servers/` + server + ` HTTP/1.1" status: 204 len: 381 time: 0.3302512`,
	} {
		if _, err := f.WriteString(l + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	write("nova-compute.log",
		`2026-12-05 15:31:21.689 25971 INFO nova.compute.manager [None `+create+who+`[instance: `+server+`] Took 21.36 seconds to build instance.`,
		`2026-12-05 15:31:51.742 25971 INFO nova.virt.libvirt.driver [None `+stop+who+`[instance: `+server+`] Instance shutdown successfully after 3 seconds.`,
		`2026-12-05 15:32:01.963 25971 INFO nova.compute.manager [-] [instance: `+server+`] Took 0.83 seconds to deallocate network for instance.`)
	// No Glance log: the snapshot's end comes from its instance action, to the second; so does
	// the delete's start, its nova-api line being missing.
	at := func(s string) time.Time {
		v, err := time.ParseInLocation(logStamp, s, time.Local)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	actions := map[string]actionInfo{
		"create":      {reqID: create, start: at("2026-12-05 15:30:54.000")},
		"stop":        {reqID: stop, start: at("2026-12-05 15:31:46.000")},
		"createImage": {reqID: snap, start: at("2026-12-05 15:31:53.000"), events: map[string]instanceactions.Event{"compute_snapshot_instance": {FinishTime: at("2026-12-05 15:32:00.000")}}},
		"delete":      {reqID: "req-00000000-0000-0000-0000-000000000000", start: at("2026-12-05 15:31:59.000"), events: map[string]instanceactions.Event{"compute_terminate_instance": {FinishTime: at("2026-12-05 15:32:06.000")}}},
	}
	p := buildPath(actions, logs, server, image, at("2026-12-05 15:31:30.189"))
	want := map[string]string{
		"create": "2026-12-05 15:30:54.153 → 2026-12-05 15:31:21.689 false",
		"ssh":    "2026-12-05 15:31:21.689 → 2026-12-05 15:31:30.189 false",
		"stop":   "2026-12-05 15:31:46.360 → 2026-12-05 15:31:51.742 false",
		"snap":   "2026-12-05 15:31:53.302 → 2026-12-05 15:32:00.000 true",
		"delete": "2026-12-05 15:31:59.000 → 2026-12-05 15:32:01.963 true",
	}
	for name, s := range map[string]span{"create": p.create, "ssh": p.ssh, "stop": p.stop, "snap": p.snapshot, "delete": p.del} {
		got := fmt.Sprintf("%s → %s %v", s.from.Format(logStamp), s.to.Format(logStamp), s.coarse)
		if got != want[name] {
			t.Errorf("%s = %s, want %s", name, got, want[name])
		}
	}
	if total, ok := p.total(); !ok || total.Round(time.Millisecond) != 51*time.Second+77*time.Millisecond {
		t.Errorf("total = %s, %v", total, ok)
	}
	if got := p.format(); got != "create 27.5 + ssh 8.5 + stop 5.4 + snapshot ~6.7 + delete ~3.0" {
		t.Errorf("format = %q", got)
	}
	if m := median([]time.Duration{3, 1, 2, 10}); m != 2 {
		t.Errorf("median = %d, want 2 (the mean of the middle two, rounded down)", m)
	}
}
