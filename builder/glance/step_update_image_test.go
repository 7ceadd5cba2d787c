package glance

import (
	"reflect"
	"testing"
)

func TestImageUpdateSendsOnlyDifferences(t *testing.T) {
	e := newTestEnv(t, with("image_visibility", "private", "image_properties", map[string]string{"os_distro": "fedora", "hw_disk_bus": "scsi"},
		"image_tags", []string{"b", "a"}, "image_min_disk", 3, "image_min_ram", 512))
	img := &Image{Visibility: "private", Tags: []string{"a", "b"}, MinDisk: 3, MinRAM: 256, Properties: map[string]string{"os_distro": "fedora"}}
	u := imageUpdate(e.cfg, img)
	if u.Visibility != nil || u.Tags != nil || u.MinDisk != nil || u.Protected != nil || u.Hidden != nil {
		t.Errorf("unchanged fields in the update: %+v", u)
	}
	if u.MinRAM == nil || *u.MinRAM != 512 {
		t.Errorf("min_ram = %v", u.MinRAM)
	}
	if !reflect.DeepEqual(u.Properties, map[string]string{"hw_disk_bus": "scsi"}) {
		t.Errorf("properties = %v", u.Properties)
	}
}

func TestStepUpdateImage(t *testing.T) {
	env := func(t *testing.T, raw map[string]interface{}) (*testEnv, string) {
		e := newTestEnv(t, raw)
		id := e.fake.newImage("golden", map[string]string{"os_distro": "fedora"})
		e.fake.images[id].Status = "active"
		e.state.Put(stateImage, e.fake.images[id])
		e.state.Put(stateImageID, id)
		return e, id
	}
	t.Run("everything in one PATCH, then members", func(t *testing.T) {
		e, id := env(t, with("image_visibility", "shared", "image_properties", map[string]string{"os_require_quiesce": "yes"},
			"image_tags", []string{"golden"}, "image_min_disk", 10, "image_min_ram", 1024, "image_protected", true,
			"image_hidden", true, "image_members", []string{"p2", "p3"}, "image_auto_accept_members", true))
		e.mustRun(t, &stepUpdateImage{})
		if n := e.fake.called("UpdateImage"); n != 1 {
			t.Fatalf("%d PATCHes", n)
		}
		img := e.fake.images[id]
		if img.Visibility != "shared" || img.MinDisk != 10 || img.MinRAM != 1024 || !img.Protected || !img.Hidden ||
			!reflect.DeepEqual(img.Tags, []string{"golden"}) || img.Properties["os_require_quiesce"] != "yes" || img.Properties["os_distro"] != "fedora" {
			t.Errorf("image = %+v", img)
		}
		if !reflect.DeepEqual(e.fake.members[id], []string{"p2", "p3"}) || e.fake.called("AcceptMember") != 2 {
			t.Errorf("members = %v, calls %v", e.fake.members[id], e.fake.calls)
		}
		if got := e.state.Get(stateImage).(*Image); got.Visibility != "shared" {
			t.Errorf("state image not updated: %+v", got)
		}
	})
	t.Run("nothing to change, no request", func(t *testing.T) {
		e, _ := env(t, minimal())
		e.mustRun(t, &stepUpdateImage{})
		if len(e.fake.calls) != 0 {
			t.Errorf("calls: %v", e.fake.calls)
		}
	})
	t.Run("PATCH refused", func(t *testing.T) {
		e, id := env(t, with("image_visibility", "public"))
		e.fake.fail["UpdateImage"] = httpError(403)
		e.mustHalt(t, &stepUpdateImage{}, "updating image "+id)
	})
	t.Run("member refused", func(t *testing.T) {
		e, _ := env(t, with("image_members", []string{"p2"}))
		e.fake.fail["AddMember"] = errConflict
		e.mustHalt(t, &stepUpdateImage{}, "adding project p2 as a member")
	})
	t.Run("accept refused", func(t *testing.T) {
		e, _ := env(t, with("image_members", []string{"p2"}, "image_auto_accept_members", true))
		e.fake.fail["AcceptMember"] = httpError(403)
		e.mustHalt(t, &stepUpdateImage{}, "image_auto_accept_members needs rights")
	})
}

func TestImageUpdateMarksSnapshotsAsImages(t *testing.T) {
	e := newTestEnv(t, minimal())
	u := imageUpdate(e.cfg, &Image{Visibility: "private", Properties: map[string]string{"image_type": "snapshot"}})
	if u.Properties["image_type"] != "image" {
		t.Errorf("image_type not corrected: %v", u.Properties)
	}
	e = newTestEnv(t, with("image_properties", map[string]string{"image_type": "snapshot"}))
	if u := imageUpdate(e.cfg, &Image{Visibility: "private", Properties: map[string]string{"image_type": "snapshot"}}); !u.Empty() {
		t.Errorf("an image_type the template asked for was changed: %+v", u)
	}
}
