package importpp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
)

// nextSecond waits for the wall clock's next second: Glance keeps created_at to
// the second, and the family's order must not depend on a tie.
func nextSecond() { time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second))) }

// Four imports into one family with keep_latest = 2: the third hides the oldest;
// the fourth, with retire_action = "delete", deletes the image hidden before and
// only hides the protected one; another project's image of the family is never
// touched; the data source's family finds the newest.
func TestAccImportFamilyRetention(t *testing.T) {
	a := startAccCloud(t)
	url := a.serve("/images/base", qcow2Bytes(256<<10))
	theirs := acctest.AdminPublicImage(t, a.cloud, "acc-base-theirs", "qcow2", qcow2Bytes(64<<10), map[string]string{"image_family": "acc-base"})
	nextSecond()
	imp := func(name, extra string) string {
		t.Helper()
		res := a.build(t, fmt.Sprintf(`
  post-processor "glance-import" {
    image_name       = %q
    image_source_url = %q
    import_method    = "upload"
    image_family     = "acc-base"
    keep_latest      = 2
    %s
  }`, name, url, extra), nil)
		requireSuccess(t, res)
		nextSecond()
		return res.Output
	}
	imp("acc-base-1", "")
	imp("acc-base-2", "protected = true")
	out := imp("acc-base-3", "")
	state := func(name string) string {
		imgs := a.cloud.ImagesByName(name)
		switch {
		case len(imgs) == 0:
			return "deleted"
		case imgs[0].Hidden && imgs[0].Properties["retired_at"] != "":
			if _, err := time.Parse(time.RFC3339, imgs[0].Properties["retired_at"]); err != nil {
				return "hidden with a bad retired_at " + imgs[0].Properties["retired_at"]
			}
			return "hidden"
		case imgs[0].Hidden:
			return "hidden without retired_at"
		}
		return "visible"
	}
	expect := func(after string, want map[string]string) {
		t.Helper()
		for name, w := range want {
			if got := state(name); got != w {
				t.Errorf("after %s: %s is %s, want %s", after, name, got, w)
			}
		}
	}
	expect("the third import", map[string]string{"acc-base-1": "hidden", "acc-base-2": "visible", "acc-base-3": "visible", "acc-base-theirs": "visible"})
	if !strings.Contains(out, "Hiding image") || !strings.Contains(out, `family "acc-base" keeps its 2 newest`) {
		t.Errorf("the third import did not say what it retired:\n%s", out)
	}

	out = imp("acc-base-4", `retire_action = "delete"`)
	expect("the fourth import", map[string]string{"acc-base-1": "deleted", "acc-base-2": "hidden", "acc-base-3": "visible", "acc-base-4": "visible", "acc-base-theirs": "visible"})
	if img, ok := a.cloud.GetImage(theirs); !ok || img.Hidden || img.Properties["retired_at"] != "" {
		t.Errorf("another project's image of the family was touched: %+v", img)
	}
	if !strings.Contains(out, "instead of deleting it: it is protected") {
		t.Errorf("the fourth import did not say it kept the protected image:\n%s", out)
	}

	// The data source's family: the newest active, visible image of the family.
	dir := t.TempDir()
	acctest.WriteFile(t, dir, "t.pkr.hcl", `
packer {
  required_plugins {
    glance = { version = ">= 0.1.0", source = "`+acctest.SourceAddress+`" }
  }
}
data "glance-image" "base" {
  family = "acc-base"
}
source "null" "src" {
  communicator = "none"
}
build {
  sources = ["source.null.src"]
  provisioner "shell-local" {
    inline = ["echo newest-of-family=${data.glance-image.base.name}"]
  }
}
`)
	res := acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"build", "-color=false", "."}, Env: a.env})
	requireSuccess(t, res)
	if !strings.Contains(res.Output, "newest-of-family=acc-base-4") {
		t.Errorf("the data source's family did not find acc-base-4:\n%s", res.Output)
	}
	if l := a.cloud.Leaks(); !l.Empty() {
		t.Errorf("leaks: %v", l)
	}
}
