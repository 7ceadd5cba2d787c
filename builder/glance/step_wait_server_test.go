package glance

import (
	"context"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

func TestStepWaitServer(t *testing.T) {
	start := func(t *testing.T, script ...string) *testEnv {
		e := newTestEnv(t, with("state_timeout", "2s"))
		e.fake.serverScript = script
		id, _ := e.fake.CreateServer(context.Background(), ServerSpec{Name: "s"})
		e.state.Put(stateServerID, id)
		return e
	}
	t.Run("active", func(t *testing.T) {
		e := start(t, "BUILD", "BUILD", "ACTIVE")
		e.mustRun(t, &stepWaitServer{})
		if srv := e.state.Get(stateServer).(*Server); srv.Status != "ACTIVE" || len(srv.Addresses) == 0 {
			t.Errorf("server = %+v", srv)
		}
	})
	t.Run("ERROR fails at once with the fault", func(t *testing.T) {
		e := start(t, "BUILD", "ERROR", "ACTIVE")
		e.mustHalt(t, &stepWaitServer{}, "went to ERROR while waiting for ACTIVE: No valid host was found")
		if n := e.fake.called("GetServer"); n != 2 {
			t.Errorf("%d reads, want to stop at the first ERROR", n)
		}
	})
	t.Run("server disappears", func(t *testing.T) {
		e := start(t, "BUILD")
		e.state.Put(stateServerID, "gone")
		e.mustHalt(t, &stepWaitServer{}, "disappeared")
	})
	t.Run("read fails", func(t *testing.T) {
		e := start(t, "BUILD")
		e.fake.fail["GetServer"] = errServer
		e.mustHalt(t, &stepWaitServer{}, "reading server")
	})
	t.Run("timeout", func(t *testing.T) {
		e := newTestEnv(t, with("state_timeout", "20ms"))
		e.fake.serverScript = []string{"BUILD"}
		id, _ := e.fake.CreateServer(context.Background(), ServerSpec{Name: "s"})
		e.state.Put(stateServerID, id)
		e.mustHalt(t, &stepWaitServer{}, "timed out after 20ms waiting for server "+id+" to become ACTIVE")
	})
	t.Run("cancel", func(t *testing.T) {
		e := start(t, "BUILD")
		ctx, cancel := context.WithCancel(context.Background())
		e.fake.onCall = func(string) { cancel() }
		if a := (&stepWaitServer{}).Run(ctx, e.state); a != multistep.ActionHalt {
			t.Fatalf("action %v", a)
		}
		if err, _ := e.state.Get(stateError).(error); err == nil || !contains(err.Error(), "stopped waiting") {
			t.Errorf("error = %v", err)
		}
	})
}

// A read error that reaches a status wait has outlasted the client's retries
// (the session's policy rides out passing 5xx answers, see internal/retry):
// the wait fails at once, naming what it read.
func TestStatusWaitsFailOnAReadErrorThatOutlastedTheRetries(t *testing.T) {
	t.Run("server", func(t *testing.T) {
		e := newTestEnv(t, with("state_timeout", "5s"))
		id, _ := e.fake.CreateServer(context.Background(), ServerSpec{Name: "s"})
		e.state.Put(stateServerID, id)
		e.fake.fail["GetServer"] = errServer
		e.mustHalt(t, &stepWaitServer{}, "reading server")
		if n := e.fake.called("GetServer"); n != 1 {
			t.Errorf("%d reads, want 1: retrying is the client's job", n)
		}
	})
	t.Run("image", func(t *testing.T) {
		e := newTestEnv(t, with("image_timeout", "5s"))
		e.state.Put(stateImageID, e.fake.newImage("golden", nil))
		e.fake.fail["GetImage"] = httpError(502)
		e.mustHalt(t, &stepWaitImage{}, "502")
	})
}
