package glance

import (
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"
)

var _ packersdk.Artifact = new(Artifact)

func TestArtifact(t *testing.T) {
	fake := newFakeCloud()
	fake.images["img-1"] = &Image{ID: "img-1"}
	a := &Artifact{ImageID: "img-1", ImageName: "golden", Region: "kz-ala-1", SourceImageURL: "https://e/x.qcow2",
		Visibility: "public", Properties: map[string]string{"os_distro": "fedora"},
		StateData: map[string]interface{}{"generated_data": map[string]interface{}{"ImageName": "golden"}}, images: fake}
	if a.BuilderId() != BuilderID || a.Id() != "img-1" || a.Files() != nil {
		t.Errorf("identity: %s %s %v", a.BuilderId(), a.Id(), a.Files())
	}
	if a.String() != "An image was created: golden (img-1) in kz-ala-1" {
		t.Errorf("String() = %q", a.String())
	}
	if gen := a.State("generated_data").(map[string]interface{}); gen["ImageName"] != "golden" {
		t.Errorf("generated_data = %v", gen)
	}
	if a.State("nope") != nil {
		t.Error("unknown state key returned data")
	}
	reg := a.State(registryimage.ArtifactStateURI).(*registryimage.Image)
	if reg.ProviderName != "openstack" || reg.ProviderRegion != "kz-ala-1" || reg.ImageID != "img-1" ||
		reg.Labels["os_distro"] != "fedora" || reg.Labels["visibility"] != "public" || reg.Labels["source_image_url"] != "https://e/x.qcow2" {
		t.Errorf("registry image = %+v", reg)
	}
	if err := a.Destroy(); err != nil {
		t.Fatal(err)
	}
	if err := a.Destroy(); err == nil {
		t.Error("destroying a deleted image succeeded")
	}
}
