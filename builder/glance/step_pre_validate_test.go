package glance

import (
	"testing"
)

func TestStepPreValidate(t *testing.T) {
	t.Run("free name and known flavor", func(t *testing.T) {
		e := newTestEnv(t, minimal())
		e.mustRun(t, &stepPreValidate{})
		if got := stringOf(e.state, stateFlavorID); got != "flavor-small" {
			t.Errorf("flavor_id = %q", got)
		}
	})
	t.Run("name taken", func(t *testing.T) {
		e := newTestEnv(t, minimal())
		e.fake.images["old-1"] = &Image{ID: "old-1", Name: "golden", Status: "active", Visibility: "private"}
		e.mustHalt(t, &stepPreValidate{}, "image_force")
		if e.fake.called("FlavorID") != 0 {
			t.Error("went on after finding the name taken")
		}
	})
	t.Run("name taken but forced", func(t *testing.T) {
		e := newTestEnv(t, with("image_force", true))
		e.fake.images["old-1"] = &Image{ID: "old-1", Name: "golden", Status: "active", Visibility: "private"}
		e.mustRun(t, &stepPreValidate{})
		if old, _ := e.state.Get(stateOldImages).([]Image); len(old) != 1 || old[0].ID != "old-1" {
			t.Errorf("old_images = %v", old)
		}
	})
	t.Run("skip_create_image does not look", func(t *testing.T) {
		e := newTestEnv(t, with("skip_create_image", true))
		e.mustRun(t, &stepPreValidate{})
		if e.fake.called("OwnedImagesNamed") != 0 {
			t.Error("looked for the image name")
		}
	})
	t.Run("unknown flavor", func(t *testing.T) {
		e := newTestEnv(t, with("flavor", "m9.huge"))
		e.mustHalt(t, &stepPreValidate{}, `finding flavor "m9.huge"`)
	})
	t.Run("image list fails", func(t *testing.T) {
		e := newTestEnv(t, minimal())
		e.fake.fail["OwnedImagesNamed"] = errServer
		e.mustHalt(t, &stepPreValidate{}, `looking for existing images named "golden"`)
	})
}
