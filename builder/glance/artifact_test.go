package glance

import (
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/packer-glance/packer-plugin-glance/internal/imagecopy"
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

func TestArtifactWithCopies(t *testing.T) {
	a := &Artifact{ImageID: "img-1", ImageName: "golden", Region: "", Visibility: "private",
		StateData: map[string]interface{}{"generated_data": map[string]interface{}{"ImageName": "golden"}}}
	a.addCopies(&Cloud{Copies: &imagecopy.Origin{Region: "RegionOne"}}, &imagecopy.Result{Copies: []*imagecopy.Copy{
		{Region: "kz-ala-1", ImageID: "img-2", Name: "golden"},
		{Region: "kz-ala-1", ImageID: "img-3", Name: "golden-kz"},
	}})
	if got := a.Id(); got != "RegionOne:img-1,kz-ala-1:img-2,kz-ala-1/golden-kz:img-3" {
		t.Errorf("Id() = %s", got)
	}
	if got := a.String(); !strings.Contains(got, "golden (img-1)") || !strings.Contains(got, "copies: golden (img-2) in kz-ala-1, golden-kz (img-3) in kz-ala-1") {
		t.Errorf("String() = %s", got)
	}
	if ids := a.State("generated_data").(map[string]interface{})["ImageIDs"]; ids != `{"RegionOne":"img-1","kz-ala-1":"img-2","kz-ala-1/golden-kz":"img-3"}` {
		t.Errorf("ImageIDs = %v", ids)
	}
	regs := a.State(registryimage.ArtifactStateURI).([]*registryimage.Image)
	if len(regs) != 3 || regs[1].ProviderRegion != "kz-ala-1" || regs[1].ImageID != "img-2" || regs[2].Labels["image_name"] != "golden-kz" {
		t.Errorf("registry images = %+v", regs)
	}

	// Without copies: the image's ID alone, one registry image, and ImageIDs of its region.
	b := &Artifact{ImageID: "img-1", ImageName: "golden", Region: "RegionOne"}
	b.addCopies(&Cloud{}, nil)
	if b.Id() != "img-1" || b.State("generated_data").(map[string]interface{})["ImageIDs"] != `{"RegionOne":"img-1"}` {
		t.Errorf("without copies: %s %v", b.Id(), b.State("generated_data"))
	}
	if _, ok := b.State(registryimage.ArtifactStateURI).(*registryimage.Image); !ok {
		t.Error("without copies the registry metadata is not one image")
	}
}
