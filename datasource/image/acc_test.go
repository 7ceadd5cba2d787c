package image

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

func TestMain(m *testing.M) {
	code := m.Run()
	acctest.Cleanup()
	os.Exit(code)
}

const accRequiredPlugins = `
packer {
  required_plugins {
    glance = {
      version = ">= 0.1.0"
      source  = "github.com/packer-glance/glance"
    }
  }
}
`

// printTemplate looks two images up and prints every output of the second
// through shell-local, one "OUT key=value" line each. Values go through
// environment variables so quotes and ampersands reach the output intact.
const printTemplate = accRequiredPlugins + `
data "glance-image" "base" {
  name = "Fedora-Cloud-Base-37-*"
}

data "glance-image" "newest" {
  name_regex  = "^acc-fedora-"
  tags        = ["golden"]
  properties  = {
    os_distro = "fedora"
    note      = "it's \"quoted\" & a:b, c"
  }
  most_recent = true
}

source "null" "print" {
  communicator = "none"
}

locals {
  img = data.glance-image.newest
}

build {
  sources = ["source.null.print"]

  post-processor "shell-local" {
    environment_vars = [
      "BASE_ID=${data.glance-image.base.id}",
      "ID=${local.img.id}",
      "NAME=${local.img.name}",
      "CREATED_AT=${local.img.created_at}",
      "UPDATED_AT=${local.img.updated_at}",
      "OWNER=${local.img.owner}",
      "VISIBILITY=${local.img.visibility}",
      "STATUS=${local.img.status}",
      "TAGS=${join(",", sort(local.img.tags))}",
      "NOTE=${local.img.properties["note"]}",
      "OS_DISTRO=${local.img.properties["os_distro"]}",
      "CONTAINER_FORMAT=${local.img.container_format}",
      "DISK_FORMAT=${local.img.disk_format}",
      "MIN_DISK=${local.img.min_disk}",
      "MIN_RAM=${local.img.min_ram}",
      "SIZE=${local.img.size}",
      "CHECKSUM=${local.img.checksum}",
      "OS_HASH_ALGO=${local.img.os_hash_algo}",
      "OS_HASH_VALUE=${local.img.os_hash_value}",
      "PROTECTED=${local.img.protected}",
      "HIDDEN=${local.img.hidden}",
      "REGION=${local.img.region}",
    ]
    inline = [
      "for v in BASE_ID ID NAME CREATED_AT UPDATED_AT OWNER VISIBILITY STATUS TAGS NOTE OS_DISTRO CONTAINER_FORMAT DISK_FORMAT MIN_DISK MIN_RAM SIZE CHECKSUM OS_HASH_ALGO OS_HASH_VALUE PROTECTED HIDDEN REGION; do eval \"printf 'OUT %s=%s\\n' $v \\\"\\$$v\\\"\"; done",
    ]
  }
}
`

const accNote = `it's "quoted" & a:b, c`

// outLines collects the OUT key=value lines packer printed.
func outLines(output string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(output))
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, "OUT ")
		if i < 0 {
			continue
		}
		k, v, ok := strings.Cut(line[i+4:], "=")
		if ok {
			out[k] = v
		}
	}
	return out
}

func cloudEnvVars(e *cloudEnv) []string {
	return []string{"OS_CLIENT_CONFIG_FILE=" + e.yaml, "OS_CLOUD=testcloud"}
}

func TestAccDatasourcePrintsOutputs(t *testing.T) {
	acctest.Skip(t)
	e := startCloud(t)
	admin := e.imageClient(t, "testcloud-admin", "")
	props := map[string]string{"os_distro": "fedora", "note": accNote}
	public := vis(images.ImageVisibilityPublic)
	createImage(t, admin, images.CreateOpts{Name: "acc-fedora-1", Visibility: public, Tags: []string{"golden"}, Properties: props}, 10, false)
	waitNextSecond()
	newest := createImage(t, admin, images.CreateOpts{Name: "acc-fedora-2", Visibility: public, Tags: []string{"golden", "x86_64"},
		Properties: props, MinDisk: 2, MinRAM: 128}, 4321, false)
	// Newer (a later created_at second, so that most_recent alone would pick it), but without the
	// tag: must not be chosen.
	waitNextSecond()
	createImage(t, admin, images.CreateOpts{Name: "acc-fedora-3", Visibility: public, Properties: props}, 10, false)

	dir := t.TempDir()
	acctest.WriteFile(t, dir, "print.pkr.hcl", printTemplate)
	res := acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"build", "-color=false", "."}, Env: cloudEnvVars(e)})
	if res.ExitCode != 0 {
		t.Fatalf("packer build exited %d:\n%s", res.ExitCode, res.Output)
	}
	got := outLines(res.Output)

	img, err := images.Get(context.Background(), admin, newest.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	base := e.cloud.ImagesByName(testcloud.BaseImageName)
	if len(base) == 0 {
		t.Fatal("no seeded base image")
	}
	want := map[string]string{
		"BASE_ID": base[0].ID, "ID": img.ID, "NAME": "acc-fedora-2",
		"CREATED_AT": img.CreatedAt.UTC().Format(time.RFC3339), "UPDATED_AT": img.UpdatedAt.UTC().Format(time.RFC3339),
		"OWNER": e.cloud.ProjectID(testcloud.AdminProject), "VISIBILITY": "public", "STATUS": "active",
		"TAGS": "golden,x86_64", "NOTE": accNote, "OS_DISTRO": "fedora", "CONTAINER_FORMAT": "bare", "DISK_FORMAT": "qcow2",
		"MIN_DISK": "2", "MIN_RAM": "128", "SIZE": "4321", "CHECKSUM": img.Checksum,
		"OS_HASH_ALGO": fmt.Sprint(img.Properties["os_hash_algo"]), "OS_HASH_VALUE": fmt.Sprint(img.Properties["os_hash_value"]),
		"PROTECTED": "false", "HIDDEN": "false", "REGION": e.cloud.DefaultRegion(),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if t.Failed() {
		t.Logf("packer output:\n%s", res.Output)
	}
}

func TestAccDatasourceFailsWithTheEffectiveFilters(t *testing.T) {
	acctest.Skip(t)
	e := startCloud(t)
	dir := t.TempDir()
	acctest.WriteFile(t, dir, "missing.pkr.hcl", accRequiredPlugins+`
data "glance-image" "missing" {
  name       = "no-such-image"
  properties = { os_distro = "fedora" }
}

source "null" "print" {
  communicator = "none"
}

build {
  sources = ["source.null.print"]
  post-processor "shell-local" {
    inline = ["echo OUT id=${data.glance-image.missing.id}"]
  }
}
`)
	res := acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"build", "-color=false", "."}, Env: cloudEnvVars(e)})
	if res.ExitCode == 0 {
		t.Fatalf("packer build succeeded:\n%s", res.Output)
	}
	for _, want := range []string{`no Glance image matches name = "no-such-image"`, `properties = {"os_distro" = "fedora"}`, `status = "active" (default)`} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("output does not contain %q:\n%s", want, res.Output)
		}
	}
	if strings.Contains(res.Output, "OUT id=") {
		t.Error("the build went on after the data source failed")
	}
}

func TestAccDatasourceValidatesOffline(t *testing.T) {
	acctest.Skip(t)
	dir := t.TempDir()
	// No cloud is running: OS_CLOUD names an entry of a clouds.yaml that does not exist.
	env := []string{"OS_CLIENT_CONFIG_FILE=" + dir + "/absent.yaml", "OS_CLOUD=nowhere"}
	body := `
source "null" "print" {
  communicator = "none"
}

build {
  sources = ["source.null.print"]
  post-processor "shell-local" {
    inline = ["echo ${data.glance-image.x.id}"]
  }
}
`
	acctest.WriteFile(t, dir, "bad/t.pkr.hcl", accRequiredPlugins+`
data "glance-image" "x" {
  name        = "a"
  name_regex  = "b"
  visibility  = "everyone"
  sort        = "owner"
}
`+body)
	res := acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"validate", "bad"}, Env: env})
	if res.ExitCode == 0 {
		t.Fatalf("packer validate accepted an invalid data source:\n%s", res.Output)
	}
	for _, want := range []string{"name and name_regex are both set", `visibility "everyone" is not one of`, `Glance cannot sort by "owner"`} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("output does not contain %q:\n%s", want, res.Output)
		}
	}

	acctest.WriteFile(t, dir, "good/t.pkr.hcl", accRequiredPlugins+`
data "glance-image" "x" {
  name        = "Fedora-*"
  most_recent = true
}
`+body)
	res = acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"validate", "good"}, Env: env})
	if res.ExitCode != 0 {
		t.Fatalf("packer validate failed on a valid template without a cloud:\n%s", res.Output)
	}
}
