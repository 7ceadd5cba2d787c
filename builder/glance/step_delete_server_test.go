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
	t.Run("waits until the volume is released", func(t *testing.T) {
		e := newTestEnv(t, with("use_blockstorage_volume", true))
		vol, _ := e.fake.CreateVolume(context.Background(), VolumeSpec{Name: "v"})
		e.fake.volumes[vol].script = []string{"in-use", "detaching", "available"}
		id, _ := e.fake.CreateServer(context.Background(), ServerSpec{Name: "s", VolumeID: vol})
		e.state.Put(stateServerID, id)
		e.state.Put(stateVolumeID, vol)
		e.mustRun(t, &stepDeleteServer{})
		if n := e.fake.called("GetVolume"); n != 3 {
			t.Errorf("%d volume reads, want 3 (until available)", n)
		}
	})
	t.Run("volume in error after the delete", func(t *testing.T) {
		e := newTestEnv(t, with("use_blockstorage_volume", true))
		vol, _ := e.fake.CreateVolume(context.Background(), VolumeSpec{Name: "v"})
		e.fake.volumes[vol].script = []string{"detaching", "error"}
		id, _ := e.fake.CreateServer(context.Background(), ServerSpec{Name: "s", VolumeID: vol})
		e.state.Put(stateServerID, id)
		e.state.Put(stateVolumeID, vol)
		e.mustHalt(t, &stepDeleteServer{}, "is error after its server was deleted")
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
