package glance

import (
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// watchFor returns an Interrupt function that never interrupts: once packer's
// output contains marker it calls look (while the build goes on), and done
// reports whether it did.
func watchFor(marker string, look func()) (watch func(*exec.Cmd, *acctest.SyncBuffer), done func() bool) {
	var mu sync.Mutex
	seen := false
	watch = func(_ *exec.Cmd, out *acctest.SyncBuffer) {
		deadline := time.Now().Add(4 * time.Minute)
		for time.Now().Before(deadline) {
			if strings.Contains(out.String(), marker) {
				look()
				mu.Lock()
				seen = true
				mu.Unlock()
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return watch, func() bool { mu.Lock(); defer mu.Unlock(); return seen }
}

// The boot test runs on a server booted from the new image, which is private,
// untagged and outside its family meanwhile; it gets them only afterwards.
func TestAccBuildVerifyPassesThenPromotes(t *testing.T) {
	c, env := accCloud(t, testcloud.Options{})
	tpl := accTemplate(c, `
  source_image_name = "Fedora-Cloud-Base-37-1.7"
  image_name        = "golden-verified"
  image_visibility  = "community"
  image_tags        = ["golden"]
  image_family      = "golden-acc"
  image_properties  = { hw_disk_bus = "scsi" }
  verify {
    inline  = ["echo verify-probe", "sleep 2", "test -s /etc/golden-marker", "cat /etc/golden-marker"]
    timeout = "3m"
  }`, `"echo verified-content > /etc/golden-marker"`)
	var during []testcloud.Image
	var serversDuring []testcloud.Server
	watch, saw := watchFor("verify-probe", func() {
		during = c.ImagesByName("golden-verified")
		serversDuring = c.Servers()
	})
	dir := t.TempDir()
	acctest.WriteFile(t, dir, "t.pkr.hcl", tpl)
	res := acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"build", "-color=false", "."}, Env: env, Timeout: 5 * time.Minute, Interrupt: watch})
	mustSucceed(t, res)
	if !saw() {
		t.Fatalf("the verify commands never ran:\n%s", res.Output)
	}
	if len(during) != 1 {
		t.Fatalf("%d images named golden-verified during verify", len(during))
	}
	d := during[0]
	if d.Status != "active" || d.Visibility != "private" || len(d.Tags) != 0 || d.Properties["image_family"] != "" || d.Properties["hw_disk_bus"] != "scsi" {
		t.Errorf("during verify: %s %s tags %v family %q hw_disk_bus %q; want active, private, untagged, outside its family, with its boot properties",
			d.Status, d.Visibility, d.Tags, d.Properties["image_family"], d.Properties["hw_disk_bus"])
	}
	var testServer bool
	for _, s := range serversDuring {
		if strings.HasSuffix(s.Name, "_verify") && s.ImageID == d.ID {
			testServer = true
		} else {
			t.Errorf("server %s (%s) exists during verify: only the test server should", s.Name, s.ID)
		}
	}
	if !testServer {
		t.Errorf("no packer_<uuid>_verify server booted from %s during verify: %+v", d.ID, serversDuring)
	}
	img := onlyImage(t, c, "golden-verified")
	if img.Visibility != "community" || len(img.Tags) != 1 || img.Properties["image_family"] != "golden-acc" {
		t.Errorf("after verify: %s tags %v family %q", img.Visibility, img.Tags, img.Properties["image_family"])
	}
	for _, want := range []string{"verified-content", "passed its boot test", "Deleting the test server"} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("output lacks %q:\n%s", want, res.Output)
		}
	}
	if n := c.CountRequests("server.create"); n != 2 {
		t.Errorf("%d servers created, want the build's and the test server", n)
	}
	noTempLeaks(t, c)
}

// A failing check fails the build with its output shown and leaves nothing, the
// image included; so does Ctrl-C while the checks run.
func TestAccBuildVerifyFailsOrIsInterrupted(t *testing.T) {
	for _, tc := range []struct {
		name, inline, interrupt, want string
		more                          []string
	}{
		{name: "check fails", inline: `"echo checking-the-image", "test -s /etc/no-such-marker || { echo marker-missing-in-image >&2; exit 4; }"`,
			want: "exited with status 4", more: []string{"checking-the-image", "marker-missing-in-image", "Deleting the unfinished image"}},
		{name: "Ctrl-C during verify", inline: `"echo verify-running", "sleep 60"`, interrupt: "verify-running", want: "cancelled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, env := accCloud(t, testcloud.Options{})
			res := accBuild(t, env, accTemplate(c, `
  source_image_name = "Fedora-Cloud-Base-37-1.7"
  image_name        = "golden-unverified"
  image_family      = "golden-acc"
  verify {
    inline = [`+tc.inline+`]
  }`, `"echo provisioned > /etc/golden-marker"`), tc.interrupt)
			mustFail(t, c, res, tc.want)
			for _, w := range tc.more {
				if !strings.Contains(res.Output, w) {
					t.Errorf("output lacks %q:\n%s", w, res.Output)
				}
			}
			if n := c.CountRequests("server.create"); n != 2 {
				t.Errorf("%d servers created: the test server was never booted", n)
			}
		})
	}
}

// Three builds into a family with keep_latest = 2, the third from the family's
// newest image found by the data source (the golden-image pipeline): the oldest
// is hidden, another project's image of the family is untouched, and the third
// image is in the family without having inherited it.
func TestAccBuildFamilyRetention(t *testing.T) {
	c, env := accCloud(t, testcloud.Options{})
	theirs := acctest.AdminPublicImage(t, c, "golden-theirs", "raw", make([]byte, 1024), map[string]string{"image_family": "golden-acc"})
	build := func(name, source, data string) testcloud.Image {
		t.Helper()
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second))) // created_at has whole seconds
		tpl := accTemplate(c, source+`
  image_name   = "`+name+`"
  image_family = "golden-acc"
  keep_latest  = 2`, `"echo `+name+` > /etc/golden-marker"`)
		tpl = strings.Replace(tpl, `source "glance" "t" {`, data+`source "glance" "t" {`, 1)
		mustSucceed(t, accBuild(t, env, tpl, ""))
		return onlyImage(t, c, name)
	}
	fromBase := `
  source_image_name = "Fedora-Cloud-Base-37-1.7"`
	first := build("golden-acc-1", fromBase, "")
	second := build("golden-acc-2", fromBase, "")
	third := build("golden-acc-3", `
  source_image = data.glance-image.latest.id`, `
data "glance-image" "latest" {
  family = "golden-acc"
}
`)
	if third.Properties["base_image_ref"] != second.ID {
		t.Errorf("the third build started from %s, want the family's newest, %s", third.Properties["base_image_ref"], second.ID)
	}
	if got, _ := c.ImageFileContent(third.ID, "/etc/golden-marker"); strings.TrimSpace(string(got)) != "golden-acc-3" {
		t.Errorf("/etc/golden-marker = %q", got)
	}
	if third.Properties["image_family"] != "golden-acc" || third.Hidden {
		t.Errorf("third image: family %q hidden %t", third.Properties["image_family"], third.Hidden)
	}
	first, _ = c.GetImage(first.ID)
	second, _ = c.GetImage(second.ID)
	if !first.Hidden || first.Properties["retired_at"] == "" {
		t.Errorf("the oldest was not retired: hidden %t, retired_at %q", first.Hidden, first.Properties["retired_at"])
	}
	if second.Hidden {
		t.Error("the second newest was retired")
	}
	if img, ok := c.GetImage(theirs); !ok || img.Hidden || img.Properties["retired_at"] != "" {
		t.Errorf("another project's image of the family was touched: %+v", img)
	}
	noTempLeaks(t, c)
}
