package full

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// Boot-from-volume builds against the real Cinder (Ceph RBD) of the full profile: the builder makes a
// volume from tiny-guest, boots the server from it, provisions, deletes the server and uploads the
// volume to Glance (Cinder's os-volume_upload_image).

// volumeSource is the source block of a boot-from-volume build from tiny-guest, on the private
// network (the host reaches fixed IPs directly) with a temporary security group for SSH.
func volumeSource(imageName, extra string) string {
	return fmt.Sprintf(`
  source_image             = data.glance-image.guest.id
  networks                 = ["private"]
  temporary_security_group = true
  use_blockstorage_volume  = true
  volume_size              = 1
  image_name               = %q
  %s`, imageName, extra)
}

func requireCinder(t *testing.T, c *cloud) {
	t.Helper()
	if c.volume == nil {
		t.Fatal("the full profile's catalog has no block-storage endpoint (make realcloud PROFILE=full brings up Cinder)")
	}
}

// TestAccFullBuildFromVolume: a boot-from-volume build provisions the volume, uploads it, and the
// image gets the template's properties, visibility, tags and min_disk; a second build (from the
// image, on a local disk) finds the marker the first one wrote. Only the two images are left.
func TestAccFullBuildFromVolume(t *testing.T) {
	p := newIsolated(t)
	c := p.cloud
	requireCinder(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	before := takeInventory(t, ctx, c)
	name1, name2 := uniqueName("rcfull-volume"), uniqueName("rcfull-volume-2")
	marker := uniqueName("marker")
	keep := func(kind, entry string) bool {
		return kind == "image" && (strings.Contains(entry, " "+name1+" ") || strings.Contains(entry, " "+name2+" "))
	}

	res := packerBuild(t, p, buildTemplate(volumeSource(name1, `
  image_visibility = "community"
  image_tags       = ["golden", "from-volume"]
  image_min_disk   = 1
  image_properties = {
    os_distro  = "debian"
    os_version = "12"
    build_kind = "boot-from-volume"
  }`), shell(fmt.Sprintf("echo %s > /etc/golden-marker", marker), "sync")), "")
	requireSuccess(t, res)
	img := imageByName(t, ctx, c, name1)
	deleteImageAtEnd(t, c, img.ID)
	if !strings.Contains(res.Output, img.ID) {
		t.Errorf("the build output does not name image %s", img.ID)
	}
	if img.Status != images.ImageStatusActive || img.Visibility != images.ImageVisibilityCommunity || img.MinDiskGigabytes != 1 {
		t.Errorf("image %s: status %s, visibility %s, min_disk %d", img.ID, img.Status, img.Visibility, img.MinDiskGigabytes)
	}
	for k, want := range map[string]string{"os_distro": "debian", "os_version": "12", "build_kind": "boot-from-volume"} {
		if got, _ := img.Properties[k].(string); got != want {
			t.Errorf("property %s = %q, want %q", k, got, want)
		}
	}
	// A Cinder upload of the volume, not a Nova snapshot of a volume-backed server (which is an
	// empty image naming volume snapshots in block_device_mapping); the volume carried tiny-guest's
	// boot properties (kernel, ramdisk, command line) over to the image.
	if bdm, ok := img.Properties["block_device_mapping"]; ok || img.SizeBytes == 0 {
		t.Errorf("image %s (%d bytes, block_device_mapping %v): a Nova snapshot, not a volume upload", img.ID, img.SizeBytes, bdm)
	}
	for _, k := range []string{"kernel_id", "ramdisk_id", "os_command_line"} {
		if v, _ := img.Properties[k].(string); v == "" {
			t.Errorf("image %s lacks %s (from the volume's image metadata): %v", img.ID, k, img.Properties)
		}
	}
	tags := slices.Clone(img.Tags)
	slices.Sort(tags)
	if !slices.Equal(tags, []string{"from-volume", "golden"}) {
		t.Errorf("tags = %v", img.Tags)
	}
	assertNoLeaks(t, ctx, c, before, keep, "the volume build")

	// The second build boots the uploaded image on a local disk and reads the marker.
	res = packerBuild(t, p, buildTemplate(fmt.Sprintf(`
  source_image             = %q
  networks                 = ["private"]
  temporary_security_group = true
  image_name               = %q`, img.ID, name2),
		shell("cat /etc/golden-marker", fmt.Sprintf("test \"$(cat /etc/golden-marker)\" = %s", marker))), "")
	requireSuccess(t, res)
	img2 := imageByName(t, ctx, c, name2)
	deleteImageAtEnd(t, c, img2.ID)
	if !strings.Contains(res.Output, marker) {
		t.Errorf("the second build did not see the first build's marker:\n%s", res.Output)
	}
	assertNoLeaks(t, ctx, c, before, keep, "the second build")
}

// TestAccFullVolumeBuildFailuresLeaveNothing: a failing provisioner, a Ctrl-C while provisioning and a
// Ctrl-C during the upload of the volume end the build with no volume, server, port, keypair,
// security group or image left (checked through the APIs).
func TestAccFullVolumeBuildFailuresLeaveNothing(t *testing.T) {
	tests := []struct {
		name, provisioner, interrupt, want string
	}{
		{name: "provisioner fails", provisioner: shell("echo about-to-fail", "exit 3"), want: "non-zero exit status: 3"},
		{name: "Ctrl-C while provisioning", provisioner: shell("echo provisioning-now", "sleep 120"),
			interrupt: "provisioning-now", want: "ancel"},
		// The builder says "Image <id> is being made" once Cinder has accepted the upload: the Ctrl-C
		// lands while Cinder copies the volume into the image (about 6 s for 1 GiB here), so the
		// cleanup deletes an image in "saving" and waits for Cinder to let go of the volume. (A
		// Ctrl-C on "Uploading volume", which may cut the upload call itself, passed too; it is left
		// out to keep the tier short.)
		{name: "Ctrl-C while Cinder uploads", provisioner: shell("echo provisioned", "sync"),
			interrupt: "is being made", want: "ancel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIsolated(t)
			c := p.cloud
			requireCinder(t, c)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			before := takeInventory(t, ctx, c)
			res := packerBuild(t, p, buildTemplate(volumeSource(uniqueName("rcfull-never"), ""), tt.provisioner), tt.interrupt)
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
