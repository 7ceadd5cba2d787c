package glance

import (
	"testing"
)

func TestStepReplaceImages(t *testing.T) {
	t.Run("deletes the old images, keeps protected ones", func(t *testing.T) {
		e := newTestEnv(t, with("image_force", true))
		e.fake.images["old-1"] = &Image{ID: "old-1", Name: "golden"}
		e.fake.images["old-2"] = &Image{ID: "old-2", Name: "golden", Protected: true}
		e.state.Put(stateOldImages, []Image{*e.fake.images["old-1"], *e.fake.images["old-2"]})
		e.state.Put(stateImageID, "img-new")
		e.mustRun(t, &stepReplaceImages{})
		if _, ok := e.fake.images["old-1"]; ok {
			t.Error("old image kept")
		}
		if _, ok := e.fake.images["old-2"]; !ok {
			t.Error("protected image deleted")
		}
		if !contains(e.out.String(), "old-2: it is protected") {
			t.Errorf("no warning:\n%s", e.out)
		}
	})
	t.Run("a failed delete is a warning, the new image stays", func(t *testing.T) {
		e := newTestEnv(t, with("image_force", true))
		e.fake.images["old-1"] = &Image{ID: "old-1", Name: "golden"}
		e.state.Put(stateOldImages, []Image{*e.fake.images["old-1"]})
		e.fake.fail["DeleteImage"] = errServer
		e.mustRun(t, &stepReplaceImages{})
		if !contains(e.out.String(), "deleting the old image old-1") {
			t.Errorf("no warning:\n%s", e.out)
		}
	})
	t.Run("nothing to replace", func(t *testing.T) {
		e := newTestEnv(t, minimal())
		e.mustRun(t, &stepReplaceImages{})
		if len(e.fake.calls) != 0 {
			t.Errorf("calls: %v", e.fake.calls)
		}
	})
}
