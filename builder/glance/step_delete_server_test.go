package glance

import (
	"context"
	"testing"
)

func TestStepDeleteServer(t *testing.T) {
	t.Run("deletes and marks it", func(t *testing.T) {
		e := newTestEnv(t, minimal())
		id, _ := e.fake.CreateServer(context.Background(), ServerSpec{Name: "s"})
		e.state.Put(stateServerID, id)
		e.mustRun(t, &stepDeleteServer{})
		if deleted, _ := e.state.Get(stateServerDeleted).(bool); !deleted {
			t.Error("server_deleted not set")
		}
		e.noLeaks(t)
	})
	t.Run("delete refused", func(t *testing.T) {
		e := newTestEnv(t, minimal())
		id, _ := e.fake.CreateServer(context.Background(), ServerSpec{Name: "s"})
		e.state.Put(stateServerID, id)
		e.fake.fail["DeleteServer"] = httpError(403)
		e.mustHalt(t, &stepDeleteServer{}, "before uploading its volume")
		if _, set := e.state.GetOk(stateServerDeleted); set {
			t.Error("marked deleted after a failure")
		}
	})
}
