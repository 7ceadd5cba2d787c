package image

import (
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
)

// Glance reads "a:b" in a name filter as operator a; the data source quotes
// such names (commas included), so they are found, and only they.
func TestAccDatasourceFindsNamesWithAColon(t *testing.T) {
	acctest.Skip(t)
	e := startCloud(t)
	demo := e.imageClient(t, "testcloud", "")
	want := map[string]string{}
	for _, name := range []string{"debian:12", "suse:15,sp5"} {
		want[name] = createImage(t, demo, images.CreateOpts{Name: name}, 10, false).ID
	}
	// Names a careless filter would confuse with them.
	for _, name := range []string{"debian", "in:debian:12", "debian:12:1", "suse:15", "sp5"} {
		createImage(t, demo, images.CreateOpts{Name: name}, 10, false)
	}
	dir := t.TempDir()
	acctest.WriteFile(t, dir, "colon.pkr.hcl", accRequiredPlugins+`
data "glance-image" "debian" {
  name = "debian:12"
}

data "glance-image" "suse" {
  name = "suse:15,sp5"
}

source "null" "print" {
  communicator = "none"
}

build {
  sources = ["source.null.print"]
  post-processor "shell-local" {
    inline = [
      "echo OUT debian:12=${data.glance-image.debian.id}",
      "echo OUT suse:15,sp5=${data.glance-image.suse.id}",
    ]
  }
}
`)
	res := acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"build", "-color=false", "."}, Env: cloudEnvVars(e)})
	if res.ExitCode != 0 {
		t.Fatalf("packer build exited %d:\n%s", res.ExitCode, res.Output)
	}
	got := outLines(res.Output)
	for name, id := range want {
		if got[name] != id {
			t.Errorf("%q found %q, want %s", name, got[name], id)
		}
	}
}
