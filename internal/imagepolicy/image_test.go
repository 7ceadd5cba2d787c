package imagepolicy

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestPatchAddsThenRemovesProperties(t *testing.T) {
	u := Update{
		Properties: map[string]string{"source_image_id": "img-1", "image_type": "image"},
		Remove:     []string{"user_id", "instance_uuid"},
	}
	ops, err := u.Patch().ToImageUpdateMap()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(ops)
	want := `[{"op":"add","path":"/image_type","value":"image"},{"op":"add","path":"/source_image_id","value":"img-1"},` +
		`{"op":"remove","path":"/instance_uuid"},{"op":"remove","path":"/user_id"}]`
	if string(got) != want {
		t.Errorf("patch = %s\nwant    %s", got, want)
	}
}

func TestApplyRemovesProperties(t *testing.T) {
	img := Image{Properties: map[string]string{"user_id": "u", "os_distro": "fedora", "instance_uuid": "s"}}
	u := Update{Properties: map[string]string{"source_image_id": "img-1"}, Remove: []string{"user_id", "instance_uuid"}}
	got := u.Apply(img)
	want := map[string]string{"os_distro": "fedora", "source_image_id": "img-1"}
	if !reflect.DeepEqual(got.Properties, want) {
		t.Errorf("properties = %v, want %v", got.Properties, want)
	}
	if len(img.Properties) != 3 {
		t.Errorf("Apply changed its argument: %v", img.Properties)
	}
	if (Update{Remove: []string{"x"}}).Empty() {
		t.Error("an update that only removes counts as empty")
	}
}
