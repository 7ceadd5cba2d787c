package importpp

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/packer-glance/packer-plugin-glance/internal/imagecopy"
)

func TestPickArtifactFile(t *testing.T) {
	files := []string{"out/packer-manifest.json", "out/disk.qcow2", "out/readme.txt"}
	if got, err := pickArtifactFile(files, ""); err != nil || got != "out/disk.qcow2" {
		t.Fatalf("single image file: %q, %v", got, err)
	}
	if got, err := pickArtifactFile([]string{"a/root.img.xz"}, ""); err != nil || got != "a/root.img.xz" {
		t.Fatalf("compressed image file: %q, %v", got, err)
	}
	if _, err := pickArtifactFile([]string{"a.qcow2", "b.raw"}, ""); err == nil || !strings.Contains(err.Error(), "artifact_file") {
		t.Fatalf("two image files: %v", err)
	}
	if _, err := pickArtifactFile([]string{"notes.txt"}, ""); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("no image file: %v", err)
	}
	if got, err := pickArtifactFile([]string{"x/a.qcow2", "x/b.raw"}, "b.raw"); err != nil || got != "x/b.raw" {
		t.Fatalf("artifact_file by base name: %q, %v", got, err)
	}
	if _, err := pickArtifactFile([]string{"x/a.qcow2"}, "c.raw"); err == nil || !strings.Contains(err.Error(), "c.raw") {
		t.Fatalf("artifact_file not present: %v", err)
	}
}

func TestArtifact(t *testing.T) {
	var deleted []string
	a := &Artifact{ImageID: "id-1", ImageName: "img", Region: "kz-ala-1", Checksum: "sha512:ab", SourceID: "https://x/y.qcow2",
		deleteImage: func(ctx context.Context, id string) error { deleted = append(deleted, id); return nil },
		stateData:   map[string]interface{}{"generated_data": map[string]interface{}{"ImageID": "id-1"}}}
	var _ packer.Artifact = a
	if a.Id() != "id-1" || a.BuilderId() != BuilderID || len(a.Files()) != 0 || !strings.Contains(a.String(), "kz-ala-1") {
		t.Fatalf("artifact basics: %s", a)
	}
	img, ok := a.State(registryimage.ArtifactStateURI).(*registryimage.Image)
	if !ok || img.ImageID != "id-1" || img.ProviderRegion != "kz-ala-1" || img.ProviderName != "openstack" || img.Labels["image_name"] != "img" {
		t.Fatalf("registry metadata %+v", img)
	}
	if gd := a.State("generated_data").(map[string]interface{}); gd["ImageID"] != "id-1" {
		t.Fatalf("generated data %v", gd)
	}
	if err := a.Destroy(); err != nil || len(deleted) != 1 || deleted[0] != "id-1" {
		t.Fatalf("Destroy: %v, deleted %v", err, deleted)
	}
	a.deleteImage = func(context.Context, string) error { return errors.New("boom") }
	if err := a.Destroy(); err == nil || !strings.Contains(err.Error(), "id-1") {
		t.Fatalf("failed Destroy: %v", err)
	}
}

func TestArtifactWithCopies(t *testing.T) {
	a := &Artifact{ImageID: "id-1", ImageName: "img", Region: "RegionOne", Checksum: "sha512:ab",
		stateData: map[string]interface{}{"generated_data": map[string]interface{}{"ImageID": "id-1"}}}
	a.addCopies("RegionOne", &imagecopy.Result{Copies: []*imagecopy.Copy{{Region: "kz-ala-1", ImageID: "id-2", Name: "img"}}})
	if a.Id() != "RegionOne:id-1,kz-ala-1:id-2" || !strings.Contains(a.String(), `copies: "img" (ID id-2) in kz-ala-1`) {
		t.Errorf("Id %s, String %s", a.Id(), a.String())
	}
	if ids := a.State("generated_data").(map[string]interface{})["ImageIDs"]; ids != `{"RegionOne":"id-1","kz-ala-1":"id-2"}` {
		t.Errorf("ImageIDs %v", ids)
	}
	regs := a.State(registryimage.ArtifactStateURI).([]*registryimage.Image)
	if len(regs) != 2 || regs[1].ProviderRegion != "kz-ala-1" || regs[1].ImageID != "id-2" || regs[0].Labels["checksum"] != "sha512:ab" {
		t.Errorf("registry images %+v", regs)
	}
	b := &Artifact{ImageID: "id-1", stateData: map[string]interface{}{"generated_data": map[string]interface{}{}}}
	b.addCopies("RegionOne", nil)
	if b.Id() != "id-1" {
		t.Errorf("without copies Id is %s", b.Id())
	}
}
