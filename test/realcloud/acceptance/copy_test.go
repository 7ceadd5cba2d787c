package acceptance

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// secondRegion is the region of the second real Glance `make realcloud` registers in the same
// Keystone (test/realcloud/README.md).
const secondRegion = "kz-ala-1"

// inRegion is the same clouds.yaml entry, logged in again, talking to the Glance of another region
// of its catalog.
func (id *identity) inRegion(t *testing.T, region string) *identity {
	t.Helper()
	entry := *id.entry
	entry.RegionName = region
	other, err := newIdentity(id.cloud, &entry)
	if err != nil {
		t.Fatalf("%v: the second Glance (region %s) is missing; run `make realcloud`", err, region)
	}
	if other.Glance == id.Glance {
		t.Fatalf("region %s's image endpoint is %s, the same as the first region's: want a second Glance", region, other.Glance)
	}
	return other
}

// sweepIn deletes, when the test ends, the images whose name starts with prefix in the Glance of
// admin (prefixFor sweeps the first region only).
func sweepIn(t *testing.T, admin *identity, prefix string) {
	t.Cleanup(func() {
		imgs, err := admin.imagesWithPrefix(prefix)
		if err != nil {
			t.Errorf("cleanup in %s: %v", admin.Glance, err)
			return
		}
		for _, img := range imgs {
			if err := admin.deleteImage(img.ID); err != nil {
				t.Errorf("cleanup in %s: %v", admin.Glance, err)
			}
		}
	})
}

// TestAccImportCopyToSecondRegion imports an image into RegionOne and copies it to kz-ala-1, a
// second real Glance with its own store and database in the same Keystone, twice (two copy_to
// blocks, the second with overrides): the plugin reads the image once from the first Glance and
// streams it to both copies (Zed offers no glance-download), and the second Glance's own hashes
// equal the first's.
func TestAccImportCopyToSecondRegion(t *testing.T) {
	e := setup(t)
	kz := e.admin.inRegion(t, secondRegion)
	p := e.prefixFor(t, "copy")
	sweepIn(t, kz, p)
	data := testQcow2(t)
	src := filepath.Join(t.TempDir(), "disk.qcow2")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	name, renamed := p+"golden", p+"golden-community"
	run := e.build(t, importer(`
    image_name      = `+hclString(name)+`
    local_file_path = `+hclString(src)+`
    tags            = ["golden"]
    min_disk        = 10
    properties      = `+hclMap("os_distro", "fedora", "hw_disk_bus", "scsi")+`
    copy_to {
      region = "`+secondRegion+`"
    }
    copy_to {
      region     = "`+secondRegion+`"
      name       = `+hclString(renamed)+`
      visibility = "community"
      tags       = ["kz"]
      properties = `+hclMap("os_distro", "fedora-kz")+`
    }`), runOpts{Cloud: cloudDemo})
	requireSuccess(t, run)
	requireOutput(t, run, "streaming the source's data", "its data matches the source's")

	img := theImage(t, e, name)
	requireStored(t, img, data)
	imgs := kz.imagesNamed(t, name)
	others := kz.imagesNamed(t, renamed)
	if len(imgs) != 1 || len(others) != 1 {
		t.Fatalf("in %s: %d images named %s and %d named %s, want one each", secondRegion, len(imgs), name, len(others), renamed)
	}
	plain, over := kz.getImage(t, imgs[0].ID), kz.getImage(t, others[0].ID)
	for _, cp := range []*image{plain, over} {
		// The second Glance hashed what it stored itself: equal hashes mean equal data.
		requireStored(t, cp, data)
		if cp.HashValue != img.HashValue || cp.Owner != e.demo.Project || cp.DiskFormat != img.DiskFormat ||
			cp.ContainerFormat != img.ContainerFormat || cp.MinDisk != 10 || cp.prop("hw_disk_bus") != "scsi" {
			t.Errorf("copy %s (%s): %+v; the image: %+v", cp.Name, cp.ID, cp, img)
		}
	}
	if plain.Visibility != "private" || !slices.Equal(plain.Tags, []string{"golden"}) || plain.prop("os_distro") != "fedora" {
		t.Errorf("the plain copy differs from the image: %+v", plain)
	}
	if over.Visibility != "community" || !slices.Equal(over.Tags, []string{"kz"}) || over.prop("os_distro") != "fedora-kz" {
		t.Errorf("the second block's overrides were not applied: %+v", over)
	}
	if plain.prop("packer_build_uuid") == "" || plain.prop("packer_build_uuid") != img.prop("packer_build_uuid") {
		t.Errorf("the copy does not carry the run's marker: %q vs %q", plain.prop("packer_build_uuid"), img.prop("packer_build_uuid"))
	}
	if !strings.Contains(run.Output, `in `+secondRegion) {
		t.Errorf("the artifact does not name the copies' region:\n%s", run.Output)
	}
}
