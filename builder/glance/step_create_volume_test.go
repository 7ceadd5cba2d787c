package glance

import (
	"testing"
)

func TestVolumeSize(t *testing.T) {
	tests := []struct {
		configured int
		img        Image
		want       int
	}{
		{20, Image{MinDisk: 3}, 20},
		{0, Image{MinDisk: 3, SizeBytes: 10 * gib}, 3},
		{0, Image{SizeBytes: gib + 1}, 2},
		{0, Image{SizeBytes: gib}, 1},
		{0, Image{}, 1},
	}
	for _, tt := range tests {
		if got := volumeSize(&Config{RunConfig: RunConfig{VolumeSize: tt.configured}}, &tt.img); got != tt.want {
			t.Errorf("volumeSize(%d, %+v) = %d, want %d", tt.configured, tt.img, got, tt.want)
		}
	}
}

func TestStepCreateVolume(t *testing.T) {
	volume := with("use_blockstorage_volume", true, "volume_type", "ssd")
	withSource := func(e *testEnv) { e.state.Put(stateSourceImage, e.fake.images["img-fedora"]) }

	t.Run("created, waited for, deleted", func(t *testing.T) {
		e := newTestEnv(t, volume)
		withSource(e)
		s := &stepCreateVolume{}
		e.mustRun(t, s)
		id := stringOf(e.state, stateVolumeID)
		v := e.fake.volumes[id]
		if v == nil || v.spec.Name != "packer_0000-uuid_volume" || v.spec.SizeGiB != 3 || v.spec.ImageID != "img-fedora" || v.spec.VolumeType != "ssd" {
			t.Fatalf("volume = %+v", v)
		}
		s.Cleanup(e.state)
		e.noLeaks(t)
	})
	t.Run("volume in error is reported and deleted", func(t *testing.T) {
		e := newTestEnv(t, volume)
		withSource(e)
		e.fake.volumeScript = []string{"creating", "error"}
		s := &stepCreateVolume{}
		e.mustHalt(t, s, "is error")
		s.Cleanup(e.state)
		e.noLeaks(t)
	})
	t.Run("cleanup waits while the volume is busy", func(t *testing.T) {
		e := newTestEnv(t, volume)
		withSource(e)
		s := &stepCreateVolume{}
		e.mustRun(t, s)
		e.fake.fail["DeleteVolume"] = httpError(400)
		e.fake.onCall = func(m string) {
			if m == "DeleteVolume" && e.fake.called(m) >= 2 {
				delete(e.fake.fail, "DeleteVolume")
			}
		}
		s.Cleanup(e.state)
		e.noLeaks(t)
	})
	t.Run("Cinder refuses", func(t *testing.T) {
		e := newTestEnv(t, volume)
		withSource(e)
		e.fake.fail["CreateVolume"] = errServer
		e.mustHalt(t, &stepCreateVolume{}, `creating volume "packer_0000-uuid_volume"`)
	})
	t.Run("no volume asked for", func(t *testing.T) {
		e := newTestEnv(t, minimal())
		e.mustRun(t, &stepCreateVolume{})
		if len(e.fake.calls) != 0 {
			t.Errorf("calls: %v", e.fake.calls)
		}
	})
}
