package chaos

import (
	"path"
	"reflect"
	"testing"

	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// Every operation that deletes or releases something: clean-up needs them all.
var deleteOps = []string{
	"server.delete", "server.forceDelete", "volume.delete", "image.delete", "image.tag.delete",
	"image.member.delete", "port.delete", "floatingip.delete", "secgroup.delete", "secgroup_rule.delete",
	"keypair.delete", "network.delete", "identity.token.revoke", "identity.appcred.delete",
}

// transientOK says whether f is something a run must ride out.
func transientOK(t *testing.T, f testcloud.Fault) {
	t.Helper()
	if f.Percent < 1 || f.Percent > 20 || f.Nth != 0 || f.Times != 0 {
		t.Errorf("transient fault %+v fires outside 1–20 %% of calls", f)
	}
	switch {
	case f.Action == testcloud.ActionLoseReply:
		if f.Status != 0 && f.Status < 500 {
			t.Errorf("a lost reply answered %d", f.Status)
		}
	case f.Action != "":
		t.Errorf("transient fault %+v has the state action %q", f, f.Action)
	case f.Status == 409:
		for _, op := range []string{"image.create", "server.create", "server.stop", "image.import", "image.update"} {
			if ok, _ := path.Match(f.Op, op); ok {
				t.Errorf("409 on %s (op %q): only deletes may be answered 409", op, f.Op)
			}
		}
	case f.Status == 429:
		if f.RetryAfter < 1 {
			t.Errorf("429 without Retry-After: %+v", f)
		}
	case f.Status >= 500:
	case f.Status == 0 && f.Latency > 0:
	default:
		t.Errorf("transient fault %+v answers a status that is not transient", f)
	}
}

func TestPlans(t *testing.T) {
	kinds := map[Kind]int{}
	scenarios := map[Scenario]int{}
	for seed := uint64(0); seed < 20000; seed++ {
		p := NewPlan(seed)
		if q := NewPlan(seed); !reflect.DeepEqual(p, q) {
			t.Fatalf("seed %d gives two plans:\n%s\n%s", seed, p, q)
		}
		kinds[p.Kind]++
		scenarios[p.Scenario]++
		faults := p.Faults
		switch p.Kind {
		case Fatal:
			f := faults[0]
			faults = faults[1:]
			for _, op := range deleteOps {
				if ok, _ := path.Match(f.Op, op); ok {
					t.Fatalf("seed %d: the fatal fault %+v breaks %s, which clean-up needs", seed, f, op)
				}
			}
			if f.Percent != 0 || f.Nth != 0 || f.Times != 0 {
				t.Fatalf("seed %d: the fatal fault %+v does not fire on every call", seed, f)
			}
			if f.Action == "" && f.Status == 0 || f.Action == testcloud.ActionLoseReply {
				t.Fatalf("seed %d: the fatal fault %+v breaks nothing", seed, f)
			}
			if len(p.Expect) == 0 {
				t.Fatalf("seed %d: no expected error for %+v", seed, f)
			}
		case CtrlC:
			if p.CtrlCAfter == "" {
				t.Fatalf("seed %d: Ctrl-C before packer started", seed)
			}
		case Transient:
			if len(faults) == 0 {
				t.Fatalf("seed %d: a transient plan without faults", seed)
			}
		}
		for _, f := range faults {
			transientOK(t, f)
		}
		if t.Failed() {
			t.Fatalf("seed %d: %s", seed, p)
		}
	}
	for _, k := range []Kind{Transient, Fatal, CtrlC} {
		if kinds[k] < 20000/5 {
			t.Errorf("only %d %s plans in 20000", kinds[k], k)
		}
	}
	for _, s := range Scenarios {
		if scenarios[s] < 20000/10 {
			t.Errorf("only %d %s plans in 20000", scenarios[s], s)
		}
	}
}

// Every fatal fault names an operation of the test cloud and does what the
// cloud can do for it.
func TestFatalFaultsAreValid(t *testing.T) {
	c, err := testcloud.Start(testcloud.Options{NoSeed: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, s := range Scenarios {
		for _, f := range append(fatalFaults(s, false), fatalFaults(s, true)...) {
			for _, status := range append([]int{0}, f.statuses...) {
				ff := testcloud.Fault{Op: f.op, Action: f.action, Status: status}
				if ff.Action == "" && ff.Status == 0 {
					continue
				}
				c.AddFault(ff) // panics when invalid
			}
		}
	}
}
