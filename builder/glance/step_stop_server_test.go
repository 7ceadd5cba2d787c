package glance

import (
	"context"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

func TestStepStopServer(t *testing.T) {
	start := func(t *testing.T, raw map[string]interface{}) *testEnv {
		e := newTestEnv(t, raw)
		id, _ := e.fake.CreateServer(context.Background(), ServerSpec{Name: "s"})
		e.state.Put(stateServerID, id)
		return e
	}
	t.Run("Nova stop, then SHUTOFF", func(t *testing.T) {
		e := start(t, minimal())
		e.mustRun(t, &stepStopServer{})
		if e.fake.called("StopServer") != 1 || e.state.Get(stateServer).(*Server).Status != "SHUTOFF" {
			t.Errorf("calls: %v", e.fake.calls)
		}
	})
	t.Run("409 means already stopped", func(t *testing.T) {
		e := start(t, minimal())
		e.fake.fail["StopServer"] = errConflict
		e.fake.servers[stringOf(e.state, stateServerID)].script = []string{"SHUTOFF"}
		e.mustRun(t, &stepStopServer{})
	})
	t.Run("other errors fail", func(t *testing.T) {
		e := start(t, minimal())
		e.fake.fail["StopServer"] = errServer
		e.mustHalt(t, &stepStopServer{}, "stopping server")
	})
	t.Run("ERROR while stopping", func(t *testing.T) {
		e := start(t, minimal())
		e.fake.stopScript = []string{"ACTIVE", "ERROR"}
		e.mustHalt(t, &stepStopServer{}, "went to ERROR while waiting for SHUTOFF")
	})
	t.Run("stop_before_snapshot = false", func(t *testing.T) {
		e := start(t, with("stop_before_snapshot", false))
		e.mustRun(t, &stepStopServer{})
		if e.fake.called("StopServer")+e.fake.called("GetServer") != 0 {
			t.Errorf("calls: %v", e.fake.calls)
		}
	})
	t.Run("shutdown_command shuts the guest down without Nova's stop", func(t *testing.T) {
		e := start(t, with("shutdown_command", "sudo poweroff"))
		comm := new(packersdk.MockCommunicator)
		e.state.Put(stateCommunicatorKey, comm)
		e.fake.servers[stringOf(e.state, stateServerID)].script = []string{"ACTIVE", "SHUTOFF"}
		e.mustRun(t, &stepStopServer{})
		if comm.StartCmd == nil || comm.StartCmd.Command != "sudo poweroff" {
			t.Errorf("command run: %+v", comm.StartCmd)
		}
		if e.fake.called("StopServer") != 0 {
			t.Error("Nova's stop was used although the guest shut down")
		}
	})
	t.Run("shutdown_command ignored: falls back to Nova's stop", func(t *testing.T) {
		e := start(t, with("shutdown_command", "sudo poweroff", "shutdown_timeout", "20ms"))
		e.state.Put(stateCommunicatorKey, new(packersdk.MockCommunicator))
		e.fake.servers[stringOf(e.state, stateServerID)].script = []string{"ACTIVE"}
		e.mustRun(t, &stepStopServer{})
		if e.fake.called("StopServer") != 1 {
			t.Errorf("calls: %v", e.fake.calls)
		}
	})
}
