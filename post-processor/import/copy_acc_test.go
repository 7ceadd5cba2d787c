package importpp

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// inRegion returns the images named name in one region.
func (a *accCloud) inRegion(region, name string) []testcloud.Image {
	var out []testcloud.Image
	for _, img := range a.cloud.Images(region) {
		if img.Name == name {
			out = append(out, img)
		}
	}
	return out
}

func (a *accCloud) onlyIn(t *testing.T, region, name string) testcloud.Image {
	t.Helper()
	imgs := a.inRegion(region, name)
	if len(imgs) != 1 {
		t.Fatalf("%d images named %q in %s, want 1: %+v", len(imgs), name, region, imgs)
	}
	return imgs[0]
}

func (a *accCloud) ops(op, region string) int {
	n := 0
	for _, r := range a.cloud.Requests() {
		if r.Op == op && r.Region == region {
			n++
		}
	}
	return n
}

// nothingAnywhere fails when any image but the seeded ones is left in any region.
func (a *accCloud) nothingAnywhere(t *testing.T) {
	t.Helper()
	for _, region := range []string{"RegionOne", "kz-ala-1"} {
		for _, img := range a.cloud.Images(region) {
			if !img.Seeded {
				t.Errorf("image %q (%s, %s) left in %s", img.Name, img.ID, img.Status, region)
			}
		}
	}
	a.requireNothingLeft(t)
}

// sameImage checks that the copy holds the source's data and metadata.
func sameImage(t *testing.T, src, cp testcloud.Image) {
	t.Helper()
	if cp.Status != "active" || cp.OSHashValue != src.OSHashValue || cp.Size != src.Size || cp.DiskFormat != src.DiskFormat ||
		cp.ContainerFormat != src.ContainerFormat || cp.MinDisk != src.MinDisk || cp.MinRAM != src.MinRAM {
		t.Errorf("copy %s differs from the image %s:\n%+v\n%+v", cp.ID, src.ID, cp, src)
	}
	for k, v := range src.Properties {
		if !strings.HasPrefix(k, "os_glance") && cp.Properties[k] != v {
			t.Errorf("copy %s: property %s = %q, want %q", cp.ID, k, cp.Properties[k], v)
		}
	}
}

// An image imported into RegionOne and copied to kz-ala-1, by both paths: the
// plugin streams it (the test cloud's default), or kz-ala-1's Glance pulls it
// with glance-download when it offers that.
func TestAccImportCopyToRegion(t *testing.T) {
	for _, pull := range []bool{false, true} {
		name := map[bool]string{false: "stream", true: "glance-download"}[pull]
		t.Run(name, func(t *testing.T) {
			a := startAccCloud(t, func(o *testcloud.Options) { o.GlanceDownload = pull })
			data := qcow2Bytes(3<<20 + 5)
			src := filepath.Join(a.dir, "disk.qcow2")
			os.WriteFile(src, data, 0o600)
			manifest := filepath.Join(a.dir, "manifest.json")
			res := a.build(t, `
  post-processors {
    post-processor "glance-import" {
      image_name      = "acc-copy"
      local_file_path = "`+src+`"
      min_disk        = 2
      tags            = ["golden"]
      properties      = { os_distro = "fedora", hw_disk_bus = "scsi" }
      copy_to {
        region = "kz-ala-1"
      }
    }
    post-processor "manifest" {
      output = "`+manifest+`"
    }
  }`, nil)
			requireSuccess(t, res)
			img, cp := a.onlyIn(t, "RegionOne", "acc-copy"), a.onlyIn(t, "kz-ala-1", "acc-copy")
			sameImage(t, img, cp)
			if !bytes.Equal(a.data(t, cp.ID), data) || strings.Join(cp.Tags, ",") != "golden" {
				t.Errorf("the copy's data or tags differ: %v", cp.Tags)
			}
			if id := manifestArtifactID(t, manifest); id != "RegionOne:"+img.ID+",kz-ala-1:"+cp.ID {
				t.Errorf("the artifact's ID is %q, want both images as region:id", id)
			}
			uploads := a.ops("image.upload", "kz-ala-1")
			if pull && (uploads != 0 || !strings.Contains(res.Output, "glance-download")) {
				t.Errorf("glance-download was offered, yet the plugin uploaded %d times:\n%s", uploads, res.Output)
			}
			if !pull && (uploads != 1 || a.ops("image.import", "kz-ala-1") != 0) {
				t.Errorf("streaming: %d uploads to kz-ala-1, want 1", uploads)
			}
			a.requireNothingLeft(t)
		})
	}
}

// Two copy_to blocks into one region under two names: the source is read once
// for both, and the second block's overrides apply to its copy only.
func TestAccImportTwoCopiesOneReadWithOverrides(t *testing.T) {
	a := startAccCloud(t)
	data := qcow2Bytes(12 << 20)
	url := a.serve("/two.qcow2", data)
	res := a.build(t, `
  post-processor "glance-import" {
    image_name       = "acc-two"
    image_source_url = "`+url+`"
    import_method    = "upload"
    visibility       = "shared"
    image_members    = ["`+testcloud.AltProject+`"]
    properties       = { os_distro = "fedora", os_version = "37" }
    copy_to {
      region = "kz-ala-1"
    }
    copy_to {
      region     = "kz-ala-1"
      name       = "acc-two-community"
      visibility = "community"
      tags       = ["kz", "community"]
      properties = { os_version = "37.1", site = "almaty" }
      protected  = true
    }
  }`, nil)
	requireSuccess(t, res)
	if n := a.ops("image.download", "RegionOne"); n != 1 {
		t.Errorf("the image was read %d times from RegionOne for two copies, want once", n)
	}
	img := a.onlyIn(t, "RegionOne", "acc-two")
	plain, over := a.onlyIn(t, "kz-ala-1", "acc-two"), a.onlyIn(t, "kz-ala-1", "acc-two-community")
	sameImage(t, img, plain)
	if plain.Visibility != "shared" || len(plain.Members) != 1 || plain.Protected {
		t.Errorf("the plain copy lost the visibility or members: %+v", plain)
	}
	if over.Visibility != "community" || !over.Protected || len(over.Members) != 0 || strings.Join(over.Tags, ",") != "kz,community" ||
		over.Properties["os_version"] != "37.1" || over.Properties["site"] != "almaty" || over.Properties["os_distro"] != "fedora" ||
		over.OSHashValue != img.OSHashValue {
		t.Errorf("the overrides were not applied: %+v", over)
	}
	if !strings.Contains(res.Output, `"acc-two-community" (ID `+over.ID+`) in kz-ala-1`) {
		t.Errorf("the artifact does not name the second copy:\n%s", res.Output)
	}
}

// A later post-processor that does not keep its input destroys the artifact:
// the image and every copy go.
func TestAccImportCopiesDestroyedWithTheArtifact(t *testing.T) {
	a := startAccCloud(t)
	src := filepath.Join(a.dir, "disk.qcow2")
	os.WriteFile(src, qcow2Bytes(1<<20), 0o600)
	res := a.build(t, `
  post-processors {
    post-processor "glance-import" {
      image_name      = "acc-destroy"
      local_file_path = "`+src+`"
      copy_to {
        region = "kz-ala-1"
      }
      copy_to {
        region = "kz-ala-1"
        name   = "acc-destroy-2"
      }
    }
    post-processor "glance-import" {
      image_name          = "acc-destroy-next"
      local_file_path     = "`+src+`"
      keep_input_artifact = false
    }
  }`, nil)
	requireSuccess(t, res)
	a.onlyIn(t, "RegionOne", "acc-destroy-next")
	for _, name := range []string{"acc-destroy", "acc-destroy-2"} {
		if imgs := a.cloud.ImagesByName(name); len(imgs) != 0 {
			t.Errorf("Destroy left %+v", imgs)
		}
	}
}

// A copy that breaks mid-stream fails the build naming its target, and the
// build leaves no image in any region; with copy_failure = "warn" the other
// copy and the image are kept.
func TestAccImportCopyFailsMidStream(t *testing.T) {
	a := startAccCloud(t, func(o *testcloud.Options) {
		o.Faults = []testcloud.Fault{{Op: "image.upload", Region: "kz-ala-1", Action: testcloud.ActionCut}}
	})
	url := a.serve("/cut.qcow2", qcow2Bytes(6<<20))
	block := `
  post-processor "glance-import" {
    image_name       = "acc-cut"
    image_source_url = "` + url + `"
    import_method    = "upload"
    %s
    copy_to {
      region = "kz-ala-1"
    }
    copy_to {
      region = "RegionOne"
      name   = "acc-cut-2"
    }
  }`
	res := a.build(t, strings.Replace(block, "%s", "", 1), nil)
	if res.ExitCode == 0 {
		t.Fatalf("a broken copy succeeded:\n%s", res.Output)
	}
	for _, want := range []string{"copy_to block 1 (region kz-ala-1)", "was deleted", "the imported image was deleted"} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("the output does not say %q:\n%s", want, lastLines(res.Output, 30))
		}
	}
	a.nothingAnywhere(t)

	res = a.build(t, strings.Replace(block, "%s", `copy_failure = "warn"`, 1), nil)
	requireSuccess(t, res)
	if !strings.Contains(res.Output, "Warning: a copy failed") || !strings.Contains(res.Output, "copy_to block 1 (region kz-ala-1)") {
		t.Errorf("no warning naming the failed target:\n%s", res.Output)
	}
	img := a.onlyIn(t, "RegionOne", "acc-cut")
	sameImage(t, img, a.onlyIn(t, "RegionOne", "acc-cut-2"))
	if imgs := a.inRegion("kz-ala-1", "acc-cut"); len(imgs) != 0 {
		t.Errorf("the failed copy was kept: %+v", imgs)
	}
	a.requireNothingLeft(t)
}

// glance-download that fails in Glance (back to queued with the task's message)
// fails the build with that message and leaves nothing.
func TestAccImportCopyGlanceDownloadFails(t *testing.T) {
	a := startAccCloud(t, func(o *testcloud.Options) {
		o.GlanceDownload = true
		o.Faults = []testcloud.Fault{{Op: "image.import", Region: "kz-ala-1", Action: testcloud.ActionFail, Message: "kz store is full"}}
	})
	src := filepath.Join(a.dir, "disk.qcow2")
	os.WriteFile(src, qcow2Bytes(1<<20), 0o600)
	res := a.build(t, `
  post-processor "glance-import" {
    image_name      = "acc-pullfail"
    local_file_path = "`+src+`"
    copy_to {
      region = "kz-ala-1"
    }
  }`, nil)
	if res.ExitCode == 0 || !strings.Contains(res.Output, "Glance's task says: kz store is full") || !strings.Contains(res.Output, "copy_to block 1 (region kz-ala-1)") {
		t.Fatalf("want a failure with the task's message naming the target:\n%s", res.Output)
	}
	a.nothingAnywhere(t)
}

// Ctrl-C while the copies run leaves no image in any region.
func TestAccImportCopyInterrupted(t *testing.T) {
	a := startAccCloud(t, func(o *testcloud.Options) {
		// The copy to kz-ala-1 is still sending when Ctrl-C comes.
		o.Faults = []testcloud.Fault{{Op: "image.upload", Region: "kz-ala-1", Latency: testcloud.Duration(20 * time.Second)}}
	})
	src := filepath.Join(a.dir, "disk.qcow2")
	os.WriteFile(src, qcow2Bytes(4<<20), 0o600)
	res := a.build(t, `
  post-processor "glance-import" {
    image_name      = "acc-ctrlc"
    local_file_path = "`+src+`"
    copy_to {
      region = "kz-ala-1"
    }
    copy_to {
      region = "RegionOne"
      name   = "acc-ctrlc-2"
    }
  }`, acctest.InterruptWhen("Copy to copy_to block 1 (region kz-ala-1): created image", 2*time.Minute))
	if !res.Interrupted {
		t.Fatalf("the build ended before the copies started: Ctrl-C was never pressed\n%s", res.Output)
	}
	if res.ExitCode == 0 || !strings.Contains(res.Output, "interrupted") {
		t.Fatalf("an interrupted build succeeded, or did not say so:\n%s", res.Output)
	}
	a.nothingAnywhere(t)
}

// image_force applies per target: a name taken in kz-ala-1 only stops the
// build before anything is imported, and image_force replaces it there once
// the build succeeded.
func TestAccImportCopyNameTakenInTarget(t *testing.T) {
	a := startAccCloud(t)
	src := filepath.Join(a.dir, "disk.qcow2")
	os.WriteFile(src, qcow2Bytes(1<<20), 0o600)
	block := `
  post-processor "glance-import" {
    image_name      = "%s"
    local_file_path = "` + src + `"
    %s
    copy_to {
      region = "kz-ala-1"
      name   = "acc-kz-golden"
    }
  }`
	requireSuccess(t, a.build(t, sprintf(block, "acc-first", ""), nil))
	old := a.onlyIn(t, "kz-ala-1", "acc-kz-golden")
	res := a.build(t, sprintf(block, "acc-second", ""), nil)
	if res.ExitCode == 0 || !strings.Contains(res.Output, "copy_to block 1 (region kz-ala-1)") || !strings.Contains(res.Output, "image_force") {
		t.Fatalf("a name taken in the target did not stop the build:\n%s", res.Output)
	}
	if imgs := a.cloud.ImagesByName("acc-second"); len(imgs) != 0 {
		t.Errorf("the image was imported although its copy could not be made: %+v", imgs)
	}
	requireSuccess(t, a.build(t, sprintf(block, "acc-second", "image_force = true"), nil))
	if now := a.onlyIn(t, "kz-ala-1", "acc-kz-golden"); now.ID == old.ID {
		t.Error("image_force kept the old copy")
	}
	a.onlyIn(t, "RegionOne", "acc-first")
	a.requireNothingLeft(t)
}

// manifestArtifactID reads the artifact ID the manifest post-processor wrote.
func manifestArtifactID(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Builds []struct {
			ArtifactID string `json:"artifact_id"`
		} `json:"builds"`
	}
	if err := json.Unmarshal(b, &m); err != nil || len(m.Builds) == 0 {
		t.Fatalf("manifest %s: %v", b, err)
	}
	return m.Builds[len(m.Builds)-1].ArtifactID
}

func sprintf(format string, args ...any) string {
	for _, a := range args {
		format = strings.Replace(format, "%s", a.(string), 1)
	}
	return format
}
