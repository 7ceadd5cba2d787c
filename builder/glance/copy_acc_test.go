package glance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// imagesIn returns the images named name in one region.
func imagesIn(c *testcloud.Cloud, region, name string) []testcloud.Image {
	var out []testcloud.Image
	for _, img := range c.Images(region) {
		if img.Name == name {
			out = append(out, img)
		}
	}
	return out
}

func onlyIn(t *testing.T, c *testcloud.Cloud, region, name string) testcloud.Image {
	t.Helper()
	imgs := imagesIn(c, region, name)
	if len(imgs) != 1 {
		t.Fatalf("%d images named %q in %s, want 1: %+v", len(imgs), name, region, imgs)
	}
	return imgs[0]
}

// noImagesAnywhere fails when a build left any image, in any region, or any
// temporary resource.
func noImagesAnywhere(t *testing.T, c *testcloud.Cloud) {
	t.Helper()
	for _, region := range []string{"RegionOne", "kz-ala-1"} {
		for _, img := range c.Images(region) {
			if !img.Seeded {
				t.Errorf("image %q (%s, %s) left in %s", img.Name, img.ID, img.Status, region)
			}
		}
	}
	noTempLeaks(t, c)
}

func countIn(c *testcloud.Cloud, op, region string) int {
	n := 0
	for _, r := range c.Requests() {
		if r.Op == op && r.Region == region {
			n++
		}
	}
	return n
}

// withPostProcessors adds blocks to the build block of an accTemplate.
func withPostProcessors(template, blocks string) string {
	i := strings.LastIndex(template, "}")
	return template[:i] + blocks + "\n}\n"
}

// copyTemplate builds the seeded Fedora image into name with the given copy_to
// blocks (and other options).
func copyTemplate(c *testcloud.Cloud, name, options string) string {
	return accTemplate(c, `
  source_image_name = "Fedora-Cloud-Base-37-1.7"
  image_name        = "`+name+`"
  image_properties  = { os_require_quiesce = "yes" }
  `+options, `"echo copied > /etc/marker"`)
}

// The snapshot is copied to kz-ala-1 twice (two names: two writes), read once;
// the second block's overrides apply to its copy only; the artifact lists every
// image as region:id and generated_data carries ImageIDs.
func TestAccBuildCopiesToTwoTargets(t *testing.T) {
	c, env := accCloud(t, testcloud.Options{})
	manifest := filepath.Join(t.TempDir(), "manifest.json")
	template := withPostProcessors(copyTemplate(c, "golden-copied", `
  copy_to {
    region = "kz-ala-1"
  }
  copy_to {
    region     = "kz-ala-1"
    name       = "golden-copied-kz"
    visibility = "community"
    tags       = ["kz"]
    properties = { site = "almaty" }
  }`), `
  post-processor "manifest" {
    output     = "`+manifest+`"
    custom_data = { ids = build.ImageIDs }
  }`)
	res := accBuild(t, env, template, "")
	mustSucceed(t, res)
	img := onlyIn(t, c, "RegionOne", "golden-copied")
	plain, over := onlyIn(t, c, "kz-ala-1", "golden-copied"), onlyIn(t, c, "kz-ala-1", "golden-copied-kz")
	if n := countIn(c, "image.download", "RegionOne"); n != 1 {
		t.Errorf("the snapshot was read %d times for two copies, want once", n)
	}
	for _, cp := range []testcloud.Image{plain, over} {
		if cp.Status != "active" || cp.OSHashValue != img.OSHashValue || cp.Size != img.Size || cp.DiskFormat != img.DiskFormat ||
			cp.Properties["image_type"] != "image" || cp.Properties["os_require_quiesce"] != "yes" || cp.Properties["os_distro"] != "fedora" {
			t.Errorf("copy %s differs from the image: %+v", cp.Name, cp)
		}
	}
	if data, err := c.ImageFileContent(plain.ID, "/etc/marker"); err != nil || strings.TrimSpace(string(data)) != "copied" {
		t.Errorf("/etc/marker in the copy = %q, %v", data, err)
	}
	if plain.Visibility != "private" || over.Visibility != "community" || strings.Join(over.Tags, ",") != "kz" ||
		over.Properties["site"] != "almaty" || plain.Properties["site"] != "" {
		t.Errorf("overrides: plain %+v, overridden %+v", plain, over)
	}
	var m struct {
		Builds []struct {
			ArtifactID string            `json:"artifact_id"`
			CustomData map[string]string `json:"custom_data"`
		} `json:"builds"`
	}
	b, _ := os.ReadFile(manifest)
	if err := json.Unmarshal(b, &m); err != nil || len(m.Builds) != 1 {
		t.Fatalf("manifest %s: %v", b, err)
	}
	want := "RegionOne:" + img.ID + ",kz-ala-1:" + plain.ID + ",kz-ala-1/golden-copied-kz:" + over.ID
	if m.Builds[0].ArtifactID != want {
		t.Errorf("artifact ID %q, want %q", m.Builds[0].ArtifactID, want)
	}
	var ids map[string]string
	if err := json.Unmarshal([]byte(m.Builds[0].CustomData["ids"]), &ids); err != nil || ids["kz-ala-1"] != plain.ID || ids["RegionOne"] != img.ID {
		t.Errorf("build.ImageIDs = %q (%v)", m.Builds[0].CustomData["ids"], err)
	}
	noTempLeaks(t, c)
}

// A copy that breaks mid-stream fails the build naming its target; the build
// leaves no image in any region, its own snapshot included.
func TestAccBuildCopyFailsMidStream(t *testing.T) {
	c, env := accCloud(t, testcloud.Options{Faults: []testcloud.Fault{{Op: "image.upload", Region: "kz-ala-1", Action: testcloud.ActionCut}}})
	res := accBuild(t, env, copyTemplate(c, "golden-cut", `
  copy_to {
    region = "kz-ala-1"
  }
  copy_to {
    region = "RegionOne"
    name   = "golden-cut-2"
  }`), "")
	mustFail(t, c, res, "copy_to block 1 (region kz-ala-1)")
	noImagesAnywhere(t, c)
}

// Ctrl-C while the copies run leaves nothing anywhere.
func TestAccBuildCopyInterrupted(t *testing.T) {
	c, env := accCloud(t, testcloud.Options{Faults: []testcloud.Fault{{Op: "image.upload", Region: "kz-ala-1", Latency: testcloud.Duration(20 * time.Second)}}})
	res := accBuild(t, env, copyTemplate(c, "golden-ctrlc", `
  copy_to {
    region = "kz-ala-1"
  }`), "Copy to copy_to block 1 (region kz-ala-1): created image")
	if res.ExitCode == 0 {
		t.Fatalf("an interrupted build succeeded:\n%s", res.Output)
	}
	noImagesAnywhere(t, c)
}

// A name taken in the target stops the build before any server exists;
// -force (image_force) replaces the older copy once the build succeeded.
func TestAccBuildCopyNameTakenInTarget(t *testing.T) {
	c, env := accCloud(t, testcloud.Options{})
	block := `
  copy_to {
    region = "kz-ala-1"
    name   = "golden-kz-taken"
  }`
	mustSucceed(t, accBuild(t, env, copyTemplate(c, "golden-one", block), ""))
	first := onlyIn(t, c, "kz-ala-1", "golden-kz-taken")

	c.ResetRequests()
	template := copyTemplate(c, "golden-two", block)
	res := accBuild(t, env, template, "")
	if res.ExitCode == 0 || !strings.Contains(res.Output, "copy_to block 1 (region kz-ala-1)") || !strings.Contains(res.Output, "image_force") {
		t.Fatalf("a name taken in kz-ala-1 did not stop the build:\n%s", res.Output)
	}
	if n := c.CountRequests("server.create"); n != 0 {
		t.Errorf("a server was created although the copy's name was taken")
	}

	dir := t.TempDir()
	acctest.WriteFile(t, dir, "t.pkr.hcl", template)
	res = acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"build", "-color=false", "-force", "."}, Env: env, Timeout: 5 * time.Minute})
	mustSucceed(t, res)
	if now := onlyIn(t, c, "kz-ala-1", "golden-kz-taken"); now.ID == first.ID {
		t.Error("-force kept the old copy")
	}
	onlyIn(t, c, "RegionOne", "golden-one")
	noTempLeaks(t, c)
}

// `packer validate` checks copy_to offline: blocks naming unknown regions and
// clouds validate with no cloud reachable; a block with neither region nor
// cloud is an error naming it.
func TestAccValidateCopyToOffline(t *testing.T) {
	acctest.Skip(t)
	template := func(blocks string) string {
		return `
packer {
  required_plugins {
    glance = { version = ">= 0.1.0", source = "` + acctest.SourceAddress + `" }
  }
}
source "glance" "t" {
  source_image = "7a2c5f0e-4c63-4f3e-9b57-1b0b0d1e6f01"
  flavor       = "m1.small"
  ssh_username = "fedora"
  image_name   = "golden"
` + blocks + `
}
build {
  sources = ["source.glance.t"]
  post-processor "glance-import" {
    image_name       = "imported"
    image_source_url = "https://example.com/disk.qcow2"
` + blocks + `
  }
}
`
	}
	validate := func(content string) acctest.Result {
		dir := t.TempDir()
		acctest.WriteFile(t, dir, "t.pkr.hcl", content)
		return acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"validate", "."}, Env: []string{"OS_AUTH_URL=http://127.0.0.1:1/v3"}})
	}
	res := validate(template(`
  copy_to {
    region = "nowhere-1"
  }
  copy_to {
    cloud      = "no-such-cloud"
    name       = "golden-elsewhere"
    visibility = "community"
    protected  = true
  }
  copy_timeout = "2h"
  copy_failure = "warn"`))
	if res.ExitCode != 0 {
		t.Fatalf("valid copy_to blocks failed to validate offline:\n%s", res.Output)
	}
	// Packer stops at the first component that fails: the builder's block, then the post-processor's.
	bad := "\n  copy_to {\n    name = \"nowhere\"\n  }"
	full := template(bad)
	for _, content := range []string{full, strings.Replace(full, bad, "", 1)} {
		res = validate(content)
		if res.ExitCode == 0 || !strings.Contains(res.Output, "copy_to block 1: set region") {
			t.Fatalf("a copy_to block with neither region nor cloud validated:\n%s", res.Output)
		}
	}
}
