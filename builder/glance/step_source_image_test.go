package glance

import (
	"testing"
	"time"
)

func TestStepSourceImage(t *testing.T) {
	t.Run("by ID", func(t *testing.T) {
		e := newTestEnv(t, with("source_image", "img-fedora"))
		e.mustRun(t, &stepSourceImage{})
		if img := e.state.Get(stateSourceImage).(*Image); img.ID != "img-fedora" {
			t.Errorf("source = %v", img)
		}
		gen := e.state.Get(stateGeneratedData).(map[string]interface{})
		if gen["SourceImage"] != "img-fedora" || gen["SourceImageName"] != "Fedora-37" {
			t.Errorf("generated = %v", gen)
		}
	})
	t.Run("unknown ID says it takes an ID", func(t *testing.T) {
		e := newTestEnv(t, with("source_image", "Fedora-37"))
		e.mustHalt(t, &stepSourceImage{}, "source_image takes an ID")
	})
	t.Run("inactive source", func(t *testing.T) {
		e := newTestEnv(t, with("source_image", "img-fedora"))
		e.fake.images["img-fedora"].Status = "deactivated"
		e.mustHalt(t, &stepSourceImage{}, "not active")
	})
	t.Run("by name", func(t *testing.T) {
		e := newTestEnv(t, with("source_image", nil, "source_image_name", "Fedora-37"))
		e.mustRun(t, &stepSourceImage{})
	})
	t.Run("ambiguous name", func(t *testing.T) {
		e := newTestEnv(t, with("source_image", nil, "source_image_name", "Fedora-37"))
		e.fake.images["img-2"] = &Image{ID: "img-2", Name: "Fedora-37", Status: "active"}
		e.mustHalt(t, &stepSourceImage{}, "most_recent")
	})
	t.Run("filter takes the newest", func(t *testing.T) {
		e := newTestEnv(t, with("source_image", nil, "source_image_filter", map[string]interface{}{
			"filters": map[string]interface{}{"name": "Fedora-*"}, "most_recent": true}))
		e.fake.images["img-new"] = &Image{ID: "img-new", Name: "Fedora-38", Status: "active", CreatedAt: time.Now()}
		e.mustRun(t, &stepSourceImage{})
		if img := e.state.Get(stateSourceImage).(*Image); img.ID != "img-new" {
			t.Errorf("picked %s, want the newest", img.ID)
		}
	})
	t.Run("filter without match", func(t *testing.T) {
		e := newTestEnv(t, with("source_image", nil, "source_image_filter", map[string]interface{}{
			"filters": map[string]interface{}{"name": "Ubuntu-*"}}))
		e.mustHalt(t, &stepSourceImage{}, `source_image_filter: no Glance image matches name = "Ubuntu-*"`)
	})
	t.Run("search fails", func(t *testing.T) {
		e := newTestEnv(t, with("source_image", nil, "source_image_name", "x"))
		e.fake.fail["ListImages"] = errServer
		e.mustHalt(t, &stepSourceImage{}, "source_image_name: ")
	})
	external := with("source_image", nil, "external_source_image_url", "https://user:pw-url-secret@example.com/f.qcow2",
		"external_source_image_properties", map[string]string{"hw_disk_bus": "scsi"})
	t.Run("external import is deleted after the build", func(t *testing.T) {
		e := newTestEnv(t, external)
		s := &stepSourceImage{}
		e.mustRun(t, s)
		img := e.state.Get(stateSourceImage).(*Image)
		if img.Name != "packer_0000-uuid_source" || img.Status != "active" {
			t.Errorf("imported = %+v", img)
		}
		if want := "Import packer_0000-uuid_source https://user:pw-url-secret@example.com/f.qcow2 qcow2"; e.fake.calls[0] != want {
			t.Errorf("import call = %q, want %q", e.fake.calls[0], want)
		}
		if got := e.fake.images[img.ID].Properties["hw_disk_bus"]; got != "scsi" {
			t.Errorf("hw_disk_bus = %q", got)
		}
		s.Cleanup(e.state)
		e.noLeaks(t)
	})
	t.Run("failed import fails the step without a password in the message", func(t *testing.T) {
		e := newTestEnv(t, external)
		e.fake.fail["Import"] = errConflict
		s := &stepSourceImage{}
		e.mustHalt(t, s, "importing external_source_image_url")
		if got := e.state.Get(stateError).(error).Error(); contains(got, "pw-url-secret") {
			t.Errorf("error shows the URL password: %s", got)
		}
		s.Cleanup(e.state)
		e.noLeaks(t)
	})
}
