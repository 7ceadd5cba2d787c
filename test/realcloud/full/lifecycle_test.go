package full

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// TestAccFullBuildVerify: a build whose image is boot-tested before it is promoted. Real Nova boots
// a second server from the new snapshot (with the build's temporary keypair, which must still exist
// then), the communicator reaches it through the build's floating IP, the checks see what the
// provisioner wrote, and only then does the image get its visibility, tags and family. Both
// servers, the keypair, the security group and the floating IP are gone afterwards.
func TestAccFullBuildVerify(t *testing.T) {
	p := newIsolated(t)
	c := p.cloud
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	before := takeInventory(t, ctx, c)
	name, family, marker := uniqueName("rcfull-verified"), uniqueName("rcfull-family"), uniqueName("marker")

	res := packerBuild(t, p, buildTemplate(fmt.Sprintf(`
  source_image             = data.glance-image.guest.id
  networks                 = ["private"]
  floating_ip_network      = "public"
  temporary_security_group = true
  image_name               = %q
  image_visibility         = "community"
  image_tags               = ["golden", "verified"]
  image_family             = %q
  keep_latest              = 2
  verify {
    inline  = ["cat /etc/golden-marker", "test \"$(cat /etc/golden-marker)\" = %s", "grep -q ' / ' /proc/mounts"]
    timeout = "10m"
  }`, name, family, marker), shell(fmt.Sprintf("echo %s > /etc/golden-marker", marker), "sync")), "")
	requireSuccess(t, res)
	img := imageByName(t, ctx, c, name)
	deleteImageAtEnd(t, c, img.ID)

	for _, want := range []string{"_verify from image " + img.ID, "Verify 2/3", "passed its boot test", "Deleting the test server"} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("output lacks %q:\n%s", want, res.Output)
		}
	}
	// The marker is printed by the first check, on the test server: the provisioner's output
	// holds no such line of its own (echo goes to the file).
	if strings.Count(res.Output, marker) < 2 {
		t.Errorf("the check's output (the marker) is not shown:\n%s", res.Output)
	}
	if img.Visibility != images.ImageVisibilityCommunity || len(img.Tags) != 2 {
		t.Errorf("image %s: visibility %s, tags %v", img.ID, img.Visibility, img.Tags)
	}
	if got, _ := img.Properties["image_family"].(string); got != family {
		t.Errorf("image_family = %q, want %q", got, family)
	}
	keep := func(kind, entry string) bool { return kind == "image" && strings.Contains(entry, " "+name) }
	assertNoLeaks(t, ctx, c, before, keep, "the verified build")
}
