package image

import (
	"path/filepath"
	"testing"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// Glance reads "a:b" in a name filter as operator a; the data source quotes
// such names (commas included), so they are found, and only they.
func TestAccDatasourceFindsNamesWithAColon(t *testing.T) {
	acctest.Skip(t)
	t.Parallel()
	c, err := testcloud.Start(testcloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	yaml := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := c.WriteCloudsYAML(yaml); err != nil {
		t.Fatal(err)
	}
	demo := acctest.User{AuthURL: c.AuthURL(), Name: testcloud.DemoUser, Password: testcloud.DemoPassword, Project: testcloud.DemoProject}.Images(t)
	want := map[string]string{}
	for _, name := range []string{"debian:12", "suse:15,sp5"} {
		want[name] = acctest.CreateImage(t, demo, name, false)
	}
	// Names a careless filter would confuse with them.
	for _, name := range []string{"debian", "in:debian:12", "debian:12:1", "suse:15", "sp5"} {
		acctest.CreateImage(t, demo, name, false)
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
	res := acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"build", "-color=false", "."}, Env: []string{"OS_CLIENT_CONFIG_FILE=" + yaml, "OS_CLOUD=testcloud"}})
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
