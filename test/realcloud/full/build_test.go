package full

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
)

// The builds below use the real cloud the way a pipeline would: the guest image found by the
// glance-image data source, a temporary keypair and security group, a floating IP from "public",
// provisioners over scp and SFTP, and a stopped-server snapshot with properties, visibility and tags.

// packerBuild runs `packer build` as the member of project p on a template; interrupt, if set, sends Ctrl-C
// when that text appears in the output.
func packerBuild(t *testing.T, p *isolated, template, interrupt string) acctest.Result {
	t.Helper()
	dir := t.TempDir()
	acctest.WriteFile(t, dir, "t.pkr.hcl", template)
	run := acctest.Run{
		Dir:     dir,
		Args:    []string{"build", "-color=false", "."},
		Env:     []string{"OS_CLIENT_CONFIG_FILE=" + p.cloudsYAML, "OS_CLOUD=" + isolatedCloudName},
		Timeout: 12 * time.Minute,
	}
	if interrupt != "" {
		run.Interrupt = acctest.InterruptWhen(interrupt, 8*time.Minute)
	}
	res := acctest.Packer(t, run)
	if interrupt != "" && !res.Interrupted {
		t.Fatalf("the build ended before %q appeared: Ctrl-C was never pressed\n%s", interrupt, res.Output)
	}
	return res
}

// buildTemplate is a template whose source block gets extra, and whose provisioners are provs.
// The base image comes from the glance-image data source, so the data source is exercised against
// the real Glance too.
func buildTemplate(source, provs string) string {
	return fmt.Sprintf(`
packer {
  required_plugins {
    glance = {
      version = ">= 0.1.0"
      source  = %q
    }
  }
}

data "glance-image" "guest" {
  name = %q
}

source "glance" "t" {
  flavor       = %q
  ssh_username = "root"
  ssh_timeout  = "5m"
  %s
}

build {
  sources = ["source.glance.t"]
  %s
}
`, acctest.SourceAddress, guestImage, guestFlavor, source, provs)
}

// shell returns a shell provisioner block running the commands.
func shell(cmds ...string) string {
	q := make([]string, len(cmds))
	for i, c := range cmds {
		q[i] = fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf("provisioner \"shell\" {\n    inline = [%s]\n  }", strings.Join(q, ", "))
}

func requireSuccess(t *testing.T, res acctest.Result) {
	t.Helper()
	if res.ExitCode != 0 {
		t.Fatalf("packer build failed (exit %d):\n%s", res.ExitCode, res.Output)
	}
}

// imageByName returns the only image of that name in the demo project's view.
func imageByName(t *testing.T, ctx context.Context, c *cloud, name string) *images.Image {
	t.Helper()
	pages, err := images.List(c.image, images.ListOpts{Name: name}).AllPages(ctx)
	must(t, "listing images named "+name, err)
	imgs, err := images.ExtractImages(pages)
	must(t, "reading images", err)
	if len(imgs) != 1 {
		t.Fatalf("%d images named %q, want 1", len(imgs), name)
	}
	return &imgs[0]
}

// deleteImageAtEnd removes a build's image when the test ends, whatever happened.
func deleteImageAtEnd(t *testing.T, c *cloud, id string) {
	t.Cleanup(func() { _ = images.Delete(cleanupCtx(), c.image, id).ExtractErr() })
}

// TestAccFullBuildAndRebuild: a full build, then a second build from its result that finds the
// marker the first one wrote. The first build transfers files with scp (Packer's default), the
// second with SFTP; the first image asks for a virtio-scsi disk, so the second server boots from
// a SCSI disk. Both builds go through a floating IP and leave nothing but their images.
func TestAccFullBuildAndRebuild(t *testing.T) {
	p := newIsolated(t)
	c := p.cloud
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	before := takeInventory(t, ctx, c)
	name1, name2 := uniqueName("rcfull-golden"), uniqueName("rcfull-golden-2")
	marker := uniqueName("marker")
	files := t.TempDir()
	acctest.WriteFile(t, files, "payload.txt", "uploaded-by-file-provisioner\n")

	res := packerBuild(t, p, buildTemplate(fmt.Sprintf(`
  source_image             = data.glance-image.guest.id
  networks                 = ["private"]
  floating_ip_network      = "public"
  temporary_security_group = true
  image_name               = %q
  image_visibility         = "community"
  image_tags               = ["golden", "realcloud"]
  image_min_disk           = 1
  image_properties = {
    os_distro     = "debian"
    os_version    = "12"
    hw_disk_bus   = "scsi"
    hw_scsi_model = "virtio-scsi"
  }`, name1), strings.Join([]string{
		fmt.Sprintf("provisioner \"file\" {\n    source = %q\n    destination = \"/etc/payload.txt\"\n  }",
			filepath.Join(files, "payload.txt")),
		shell(fmt.Sprintf("echo %s > /etc/golden-marker", marker), "cat /etc/payload.txt", "sync"),
	}, "\n  ")), "")
	requireSuccess(t, res)
	img := imageByName(t, ctx, c, name1)
	deleteImageAtEnd(t, c, img.ID)
	if !strings.Contains(res.Output, img.ID) {
		t.Errorf("the build output does not name image %s", img.ID)
	}
	if !regexp.MustCompile(`(?i)floating ip`).MatchString(res.Output) {
		t.Errorf("the build did not go through a floating IP:\n%s", res.Output)
	}
	if img.Status != images.ImageStatusActive || img.Visibility != images.ImageVisibilityCommunity || img.MinDiskGigabytes != 1 {
		t.Errorf("image %s: status %s, visibility %s, min_disk %d", img.ID, img.Status, img.Visibility, img.MinDiskGigabytes)
	}
	for k, want := range map[string]string{
		"os_distro": "debian", "os_version": "12", "hw_disk_bus": "scsi", "hw_scsi_model": "virtio-scsi",
		// The builder turns Nova's image_type=snapshot into "image" (documented in image_config.go).
		"image_type": "image",
	} {
		if got, _ := img.Properties[k].(string); got != want {
			t.Errorf("property %s = %q, want %q", k, got, want)
		}
	}
	// A Nova snapshot of the build's server (not, say, an upload): Nova records the server's base
	// image, and the builder adds its provenance. The bookkeeping about the deleted server and whoever
	// ran the build is dropped by default (drop_image_properties).
	src, _ := img.Properties["source_image_id"].(string)
	if base, _ := img.Properties["base_image_ref"].(string); src == "" || base != src ||
		img.Properties["source_image_name"] != "tiny-guest" || img.Properties["packer_build_name"] == nil {
		t.Errorf("image %s: no snapshot provenance (base_image_ref, source_image_id, source_image_name, packer_build_name): %v", img.ID, img.Properties)
	}
	for _, k := range []string{"instance_uuid", "user_id", "owner_user_name", "owner_project_name", "boot_roles", "image_location", "image_state"} {
		if v, ok := img.Properties[k]; ok {
			t.Errorf("image %s keeps Nova's bookkeeping %s=%v", img.ID, k, v)
		}
	}
	tags := slices.Clone(img.Tags)
	slices.Sort(tags)
	if !slices.Equal(tags, []string{"golden", "realcloud"}) {
		t.Errorf("tags = %v", img.Tags)
	}
	keepImages := func(kind, entry string) bool {
		return kind == "image" && (strings.Contains(entry, " "+name1+" ") || strings.Contains(entry, " "+name2+" "))
	}
	assertNoLeaks(t, ctx, c, before, keepImages, "the first build")

	// The second build starts from the first image, over SFTP, on a SCSI disk.
	res = packerBuild(t, p, buildTemplate(fmt.Sprintf(`
  source_image             = %q
  networks                 = ["private"]
  floating_ip_network      = "public"
  temporary_security_group = true
  ssh_file_transfer_method = "sftp"
  image_name               = %q`, img.ID, name2),
		shell("cat /etc/golden-marker /etc/payload.txt", fmt.Sprintf("test \"$(cat /etc/golden-marker)\" = %s", marker),
			"grep -q ' / ext4 ' /proc/mounts", "ls /sys/bus/virtio/drivers/virtio_scsi | grep -q virtio")), "")
	requireSuccess(t, res)
	img2 := imageByName(t, ctx, c, name2)
	deleteImageAtEnd(t, c, img2.ID)
	if !strings.Contains(res.Output, marker) || !strings.Contains(res.Output, "uploaded-by-file-provisioner") {
		t.Errorf("the second build did not see the first build's files:\n%s", res.Output)
	}
	assertNoLeaks(t, ctx, c, before, keepImages, "the second build")
}

// TestAccFullBuildFailuresLeaveNothing: a provisioner that fails and a Ctrl-C while provisioning
// both end the build with no server, port, floating IP, keypair, security group, image or volume
// left (the boot-from-volume variants are in volume_test.go).
func TestAccFullBuildFailuresLeaveNothing(t *testing.T) {
	source := `
  source_image             = data.glance-image.guest.id
  networks                 = ["private"]
  floating_ip_network      = "public"
  temporary_security_group = true
  image_name               = "%s"`
	tests := []struct {
		name, provisioner, interrupt, want string
	}{
		{name: "provisioner fails", provisioner: shell("echo about-to-fail", "exit 3"), want: "non-zero exit status: 3"},
		{name: "Ctrl-C while provisioning", provisioner: shell("echo provisioning-now", "sleep 120"),
			interrupt: "provisioning-now", want: "ancel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIsolated(t)
			c := p.cloud
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			before := takeInventory(t, ctx, c)
			res := packerBuild(t, p, buildTemplate(fmt.Sprintf(source, uniqueName("rcfull-never")), tt.provisioner), tt.interrupt)
			if res.ExitCode == 0 {
				t.Fatalf("packer build succeeded, want a failure:\n%s", res.Output)
			}
			if !strings.Contains(res.Output, tt.want) {
				t.Errorf("output does not say %q:\n%s", tt.want, res.Output)
			}
			assertNoLeaks(t, ctx, c, before, nil, "the failed build")
		})
	}
}
