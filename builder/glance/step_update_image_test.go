package glance

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/common"
)

func TestImageUpdateSendsOnlyDifferences(t *testing.T) {
	e := newTestEnv(t, with("image_visibility", "private", "image_properties", map[string]string{"os_distro": "fedora", "hw_disk_bus": "scsi"},
		"image_tags", []string{"b", "a"}, "image_min_disk", 3, "image_min_ram", 512))
	img := &Image{Visibility: "private", Tags: []string{"a", "b"}, MinDisk: 3, MinRAM: 256, Properties: map[string]string{"os_distro": "fedora"}}
	u := imageUpdate(e.cfg, img, provenance{})
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
	u := imageUpdate(e.cfg, &Image{Visibility: "private", Properties: map[string]string{"image_type": "snapshot"}}, provenance{})
	if u.Properties["image_type"] != "image" {
		t.Errorf("image_type not corrected: %v", u.Properties)
	}
	e = newTestEnv(t, with("image_properties", map[string]string{"image_type": "snapshot"}))
	if u := imageUpdate(e.cfg, &Image{Visibility: "private", Properties: map[string]string{"image_type": "snapshot"}}, provenance{}); !u.Empty() {
		t.Errorf("an image_type the template asked for was changed: %+v", u)
	}
}

// A snapshot's bookkeeping about the temporary server, as Nova writes it.
func novaSnapshotProperties() map[string]string {
	return map[string]string{
		"os_distro": "fedora", "image_type": "snapshot", "base_image_ref": "img-fedora",
		"instance_uuid": "srv-1", "user_id": "u-1", "owner_user_name": "demo", "owner_project_name": "demo",
		"boot_roles": "member,reader", "image_location": "snapshot", "image_state": "available",
		"packer_build_uuid": "0000-uuid",
	}
}

func TestStepUpdateImageDropsBookkeepingAndRecordsProvenance(t *testing.T) {
	env := func(t *testing.T, raw map[string]interface{}) (*testEnv, string) {
		raw[common.BuildNameConfigKey] = "golden"
		e := newTestEnv(t, raw)
		id := e.fake.newImage("golden", novaSnapshotProperties())
		e.fake.images[id].Status = "active"
		e.state.Put(stateImage, e.fake.images[id])
		e.state.Put(stateImageID, id)
		e.state.Put(stateSourceImage, e.fake.images["img-fedora"])
		return e, id
	}
	t.Run("one PATCH adds provenance and removes the defaults the image has", func(t *testing.T) {
		e, id := env(t, with("image_properties", map[string]string{"hw_disk_bus": "scsi"}))
		e.mustRun(t, &stepUpdateImage{})
		if n := e.fake.called("UpdateImage"); n != 1 {
			t.Fatalf("%d PATCHes", n)
		}
		u := e.fake.updates[id][0]
		ops, err := u.Patch().ToImageUpdateMap()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(ops)
		want := `[{"op":"add","path":"/hw_disk_bus","value":"scsi"},{"op":"add","path":"/image_type","value":"image"},` +
			`{"op":"add","path":"/packer_build_name","value":"golden"},{"op":"add","path":"/source_image_id","value":"img-fedora"},` +
			`{"op":"add","path":"/source_image_name","value":"Fedora-37"},` +
			`{"op":"remove","path":"/boot_roles"},{"op":"remove","path":"/image_location"},{"op":"remove","path":"/image_state"},` +
			`{"op":"remove","path":"/instance_uuid"},{"op":"remove","path":"/owner_project_name"},{"op":"remove","path":"/owner_user_name"},` +
			`{"op":"remove","path":"/user_id"}]`
		if string(got) != want {
			t.Errorf("PATCH = %s\nwant    %s", got, want)
		}
		props := e.fake.images[id].Properties
		wantProps := map[string]string{
			"os_distro": "fedora", "image_type": "image", "hw_disk_bus": "scsi", "base_image_ref": "img-fedora",
			"source_image_id": "img-fedora", "source_image_name": "Fedora-37", "packer_build_name": "golden",
			"packer_build_uuid": "0000-uuid",
		}
		if !reflect.DeepEqual(props, wantProps) {
			t.Errorf("properties = %v\nwant %v", props, wantProps)
		}
		if !contains(e.out.String(), "Removing the snapshot's properties about the temporary server: boot_roles, ") {
			t.Errorf("output:\n%s", e.out)
		}
	})
	t.Run("[] keeps every property", func(t *testing.T) {
		e, id := env(t, with("drop_image_properties", []string{}))
		e.mustRun(t, &stepUpdateImage{})
		if u := e.fake.updates[id][0]; len(u.Remove) != 0 {
			t.Errorf("removed %v", u.Remove)
		}
		if p := e.fake.images[id].Properties; p["instance_uuid"] != "srv-1" || p["source_image_id"] != "img-fedora" {
			t.Errorf("properties = %v", p)
		}
	})
	t.Run("a custom list; a provenance key in it is not set", func(t *testing.T) {
		e, id := env(t, with("drop_image_properties", []string{"boot_roles", "packer_build_name", "not_there"}))
		e.mustRun(t, &stepUpdateImage{})
		u := e.fake.updates[id][0]
		if !reflect.DeepEqual(u.Remove, []string{"boot_roles"}) {
			t.Errorf("removed %v, want only the listed key the image has", u.Remove)
		}
		if _, set := u.Properties["packer_build_name"]; set {
			t.Errorf("packer_build_name set although listed: %v", u.Properties)
		}
		if e.fake.images[id].Properties["user_id"] != "u-1" {
			t.Error("a default key outside the custom list was removed")
		}
	})
	t.Run("the template's own value wins", func(t *testing.T) {
		e, id := env(t, with("image_properties", map[string]string{"user_id": "team-images", "source_image_name": "fedora-37"}))
		e.mustRun(t, &stepUpdateImage{})
		p := e.fake.images[id].Properties
		if p["user_id"] != "team-images" || p["source_image_name"] != "fedora-37" || p["instance_uuid"] != "" {
			t.Errorf("properties = %v", p)
		}
	})
}

func TestImageUpdateProvenanceOfAnImportedSource(t *testing.T) {
	e := newTestEnv(t, with("source_image", nil, "external_source_image_url", "https://user:secret@example.com/f.qcow2"))
	e.state.Put(stateSourceImportURL, e.cfg.ExternalSourceImageURL)
	e.state.Put(stateSourceImage, &Image{ID: "tmp-1", Name: "packer_0000-uuid_source"})
	img := &Image{Visibility: "private", Properties: map[string]string{"base_image_ref": "tmp-1", "instance_uuid": "srv-1"}}
	u := imageUpdate(e.cfg, img, provenanceOf(e.state))
	if got := u.Properties["source_image_url"]; got == "" || contains(got, "secret") {
		t.Errorf("source_image_url = %q", got)
	}
	if _, set := u.Properties["source_image_id"]; set {
		t.Errorf("source_image_id names the deleted temporary image: %v", u.Properties)
	}
	if !reflect.DeepEqual(u.Remove, []string{"base_image_ref", "instance_uuid"}) {
		t.Errorf("removed %v, want the temporary image's base_image_ref too", u.Remove)
	}
	e = newTestEnv(t, with("source_image", nil, "external_source_image_url", "https://example.com/f.qcow2", "drop_image_properties", []string{}))
	e.state.Put(stateSourceImportURL, e.cfg.ExternalSourceImageURL)
	if u := imageUpdate(e.cfg, img, provenanceOf(e.state)); len(u.Remove) != 0 {
		t.Errorf("drop_image_properties = [] removed %v", u.Remove)
	}
}
