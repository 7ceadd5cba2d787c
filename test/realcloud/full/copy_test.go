package full

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/access"
)

// secondRegion is the region of the second real Glance in the same Keystone (test/realcloud/README.md).
const secondRegion = "kz-ala-1"

// imageClientIn is the image service of another region, for the project of clouds.yaml entry name.
func imageClientIn(t *testing.T, path, name, region string) *gophercloud.ServiceClient {
	t.Helper()
	t.Setenv("OS_CLIENT_CONFIG_FILE", path)
	ac := access.AccessConfig{Cloud: name}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sess, err := ac.Authenticate(ctx)
	if err != nil {
		t.Fatalf("authenticating as %s: %v", name, err)
	}
	sc, err := openstack.NewImageV2(sess.Provider, gophercloud.EndpointOpts{Region: region, Availability: gophercloud.AvailabilityPublic})
	if err != nil {
		t.Fatalf("the second Glance (region %s) is missing from the catalog: %v (run `make realcloud PROFILE=full`)", region, err)
	}
	return sc
}

// TestAccFullBuildCopiesToSecondRegion: a full build whose Nova snapshot is copied, by copy_to, to
// the second real Glance (kz-ala-1). The copy holds the snapshot's data (the second Glance's own
// hash equals the first's), its properties (the builder's provenance included) and the build's marker;
// the build leaves nothing but the two images.
func TestAccFullBuildCopiesToSecondRegion(t *testing.T) {
	p := newIsolated(t)
	c := p.cloud
	kz := imageClientIn(t, p.cloudsYAML, isolatedCloudName, secondRegion)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	before := takeInventory(t, ctx, c)
	name := uniqueName("rcfull-copied")
	t.Cleanup(func() {
		cctx := cleanupCtx()
		if pages, err := images.List(kz, images.ListOpts{Name: name}).AllPages(cctx); err == nil {
			imgs, _ := images.ExtractImages(pages)
			for _, img := range imgs {
				_ = images.Delete(cctx, kz, img.ID).ExtractErr()
			}
		}
	})

	res := packerBuild(t, p, buildTemplate(fmt.Sprintf(`
  source_image             = data.glance-image.guest.id
  networks                 = ["private"]
  floating_ip_network      = "public"
  temporary_security_group = true
  image_name               = %q
  image_tags               = ["golden"]
  image_properties         = { os_distro = "debian" }
  copy_to {
    region = %q
  }`, name, secondRegion), shell("echo copied > /etc/golden-marker", "sync")), "")
	requireSuccess(t, res)
	img := imageByName(t, ctx, c, name)
	deleteImageAtEnd(t, c, img.ID)

	pages, err := images.List(kz, images.ListOpts{Name: name}).AllPages(ctx)
	must(t, "listing the copies", err)
	copies, err := images.ExtractImages(pages)
	must(t, "reading the copies", err)
	if len(copies) != 1 {
		t.Fatalf("%d images named %q in %s, want 1", len(copies), name, secondRegion)
	}
	cp := copies[0]
	hash := func(i images.Image) string { s, _ := i.Properties["os_hash_value"].(string); return s }
	prop := func(i images.Image, k string) string { s, _ := i.Properties[k].(string); return s }
	if cp.Status != images.ImageStatusActive || hash(cp) == "" || hash(cp) != hash(*img) || cp.SizeBytes != img.SizeBytes ||
		cp.DiskFormat != img.DiskFormat || cp.Owner != c.projectID {
		t.Errorf("copy %s: status %s, hash %.16s…, %d bytes, %s, owner %s; the image: hash %.16s…, %d bytes, %s",
			cp.ID, cp.Status, hash(cp), cp.SizeBytes, cp.DiskFormat, cp.Owner, hash(*img), img.SizeBytes, img.DiskFormat)
	}
	for _, k := range []string{"os_distro", "image_type", "source_image_id", "packer_build_uuid"} {
		if prop(cp, k) == "" || prop(cp, k) != prop(*img, k) {
			t.Errorf("property %s: copy %q, image %q", k, prop(cp, k), prop(*img, k))
		}
	}
	if len(cp.Tags) != 1 || cp.Tags[0] != "golden" {
		t.Errorf("the copy's tags are %v", cp.Tags)
	}
	if !strings.Contains(res.Output, "in "+secondRegion) || !strings.Contains(res.Output, "its data matches the source's") {
		t.Errorf("the build did not report the verified copy:\n%s", res.Output)
	}
	keep := func(kind, entry string) bool { return kind == "image" && strings.Contains(entry, " "+name+" ") }
	assertNoLeaks(t, ctx, c, before, keep, "the build with a copy")
}
