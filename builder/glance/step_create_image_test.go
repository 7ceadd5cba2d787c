package glance

import (
	"context"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

func TestStepCreateImage(t *testing.T) {
	snapshot := func(t *testing.T, raw map[string]interface{}) *testEnv {
		e := newTestEnv(t, raw)
		id, _ := e.fake.CreateServer(context.Background(), ServerSpec{Name: "s", ImageID: "img-fedora"})
		e.state.Put(stateServerID, id)
		return e
	}
	t.Run("snapshot kept when the build succeeds", func(t *testing.T) {
		e := snapshot(t, minimal())
		s := &stepCreateImage{}
		e.mustRun(t, s)
		id := stringOf(e.state, stateImageID)
		if img := e.fake.images[id]; img == nil || img.Name != "golden" || img.Properties["os_distro"] != "fedora" {
			t.Fatalf("image = %+v", img)
		}
		s.Cleanup(e.state)
		if _, ok := e.fake.images[id]; !ok {
			t.Error("image deleted after a good build")
		}
	})
	for _, end := range []string{multistep.StateHalted, multistep.StateCancelled} {
		t.Run("deleted when the build ends "+end, func(t *testing.T) {
			e := snapshot(t, minimal())
			s := &stepCreateImage{}
			e.mustRun(t, s)
			e.state.Put(end, true)
			s.Cleanup(e.state)
			if _, ok := e.fake.images[stringOf(e.state, stateImageID)]; ok {
				t.Error("image left behind")
			}
		})
	}
	t.Run("a protected image is unprotected, then deleted", func(t *testing.T) {
		e := snapshot(t, with("image_protected", true))
		s := &stepCreateImage{}
		e.mustRun(t, s)
		e.fake.images[stringOf(e.state, stateImageID)].Protected = true
		e.state.Put(multistep.StateHalted, true)
		s.Cleanup(e.state)
		if _, ok := e.fake.images[stringOf(e.state, stateImageID)]; ok {
			t.Errorf("protected image left behind; calls %v", e.fake.calls)
		}
	})
	t.Run("volume upload with the disk format", func(t *testing.T) {
		e := newTestEnv(t, with("use_blockstorage_volume", true, "image_disk_format", "qcow2"))
		vol, _ := e.fake.CreateVolume(context.Background(), VolumeSpec{Name: "v", ImageID: "img-fedora"})
		e.state.Put(stateVolumeID, vol)
		e.mustRun(t, &stepCreateImage{})
		if e.fake.calls[len(e.fake.calls)-1] != "UploadToImage "+vol+" golden qcow2" {
			t.Errorf("calls: %v", e.fake.calls)
		}
	})
	t.Run("snapshot refused", func(t *testing.T) {
		e := snapshot(t, minimal())
		e.fake.fail["CreateServerImage"] = errConflict
		e.mustHalt(t, &stepCreateImage{}, `creating image "golden" from server`)
	})
	t.Run("upload refused", func(t *testing.T) {
		e := newTestEnv(t, with("use_blockstorage_volume", true))
		e.state.Put(stateVolumeID, "vol-x")
		e.fake.fail["UploadToImage"] = errServer
		e.mustHalt(t, &stepCreateImage{}, `uploading volume vol-x to image "golden"`)
	})
}
