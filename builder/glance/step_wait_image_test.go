package glance

import (
	"testing"
)

func TestStepWaitImage(t *testing.T) {
	start := func(t *testing.T, script ...string) *testEnv {
		e := newTestEnv(t, with("image_timeout", "2s"))
		e.fake.imageScript = script
		e.state.Put(stateImageID, e.fake.newImage("golden", nil))
		return e
	}
	t.Run("active", func(t *testing.T) {
		e := start(t, "queued", "saving", "active")
		e.mustRun(t, &stepWaitImage{})
		if img := e.state.Get(stateImage).(*Image); img.Status != "active" {
			t.Errorf("image = %+v", img)
		}
		if !contains(e.out.String(), "is saving") {
			t.Errorf("no progress shown:\n%s", e.out)
		}
	})
	for _, status := range []string{"killed", "deleted", "deactivated"} {
		t.Run(status+" fails at once", func(t *testing.T) {
			e := start(t, "saving", status, "active")
			e.mustHalt(t, &stepWaitImage{}, "is "+status)
			if n := e.fake.called("GetImage"); n != 2 {
				t.Errorf("%d reads, want to stop at %s", n, status)
			}
		})
	}
	t.Run("image vanishes", func(t *testing.T) {
		e := start(t, "saving")
		e.state.Put(stateImageID, "gone")
		e.mustHalt(t, &stepWaitImage{}, "no longer exists")
	})
	t.Run("timeout", func(t *testing.T) {
		e := newTestEnv(t, with("image_timeout", "20ms"))
		e.fake.imageScript = []string{"saving"}
		e.state.Put(stateImageID, e.fake.newImage("golden", nil))
		e.mustHalt(t, &stepWaitImage{}, "timed out after 20ms")
	})
}
