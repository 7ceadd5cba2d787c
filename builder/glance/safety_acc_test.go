package glance

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// The builder runs on shared clouds: these tests check that it deletes or
// changes only what its own build made, whoever else has images of the same
// name.

func cloudUser(c *testcloud.Cloud, name, password, project string) acctest.User {
	return acctest.User{AuthURL: c.AuthURL(), Name: name, Password: password, Project: project}
}

// tokenEnv logs packer in with a bare token, as OS_TOKEN from `openstack token
// issue` would.
func tokenEnv(c *testcloud.Cloud, token string) []string {
	return []string{"OS_AUTH_URL=" + c.AuthURL(), "OS_TOKEN=" + token, "OS_REGION_NAME=" + c.DefaultRegion()}
}

// withShellLocal adds a shell-local provisioner running inline on the machine
// running packer, before the template's own provisioner.
func withShellLocal(template, inline string) string {
	const head = "build {\n  sources = [\"source.glance.t\"]\n"
	return strings.Replace(template, head, head+"  provisioner \"shell-local\" {\n    inline = ["+inline+"]\n  }\n", 1)
}

// An admin's token sees every project's images: image_force must still replace
// only the images of the token's own project.
func TestAccForceWithAdminTokenReplacesOnlyItsProjectsImage(t *testing.T) {
	t.Parallel()
	c, _ := accCloud(t, testcloud.Options{})
	admin := cloudUser(c, testcloud.AdminUser, testcloud.AdminPassword, testcloud.AdminProject)
	const name = "golden-shared-name"
	own := acctest.CreateImage(t, admin.Images(t), name, false)
	others := map[string]string{
		acctest.CreateImage(t, cloudUser(c, testcloud.AltUser, testcloud.AltPassword, testcloud.AltProject).Images(t), name, false):    "alt",
		acctest.CreateImage(t, cloudUser(c, testcloud.DemoUser, testcloud.DemoPassword, testcloud.DemoProject).Images(t), name, false): "demo",
	}

	res := accBuild(t, tokenEnv(c, admin.Token(t)), accTemplate(c, `
  source_image_name = "Fedora-Cloud-Base-37-1.7"
  image_name        = "`+name+`"
  image_force       = true`, `"true"`), "")
	mustSucceed(t, res)

	adminProject := c.ProjectID(testcloud.AdminProject)
	var built []string
	for _, img := range c.ImagesByName(name) {
		switch {
		case img.ID == own:
			t.Errorf("the token's own older image %s was not replaced", own)
		case others[img.ID] != "":
			delete(others, img.ID)
		case img.Owner == adminProject && img.Status == "active":
			built = append(built, img.ID)
		default:
			t.Errorf("unexpected image %s (owner %s, %s)", img.ID, img.Owner, img.Status)
		}
	}
	for id, project := range others {
		t.Errorf("project %s's image %s of the same name was deleted", project, id)
	}
	if len(built) != 1 {
		t.Errorf("%d new images in the admin project, want 1", len(built))
	}
	for _, img := range c.ImagesByName(name) {
		if img.Owner != adminProject {
			if touched := acctest.Touched(c, img.ID); len(touched) > 0 {
				t.Errorf("another project's image %s was changed: %v", img.ID, touched)
			}
		}
	}
	noTempLeaks(t, c)
}

// A colleague makes a protected image of the build's name while the build
// runs; the snapshot's reply is then lost, and the lookup that would let the
// build go on with its snapshot fails too, so the build fails. Cleanup must
// find and delete the build's own snapshot, by its marker, and never touch the
// colleague's image.
func TestAccLostSnapshotReplySparesAColleaguesProtectedImage(t *testing.T) {
	t.Parallel()
	c, env := accCloud(t, testcloud.Options{})
	const name = "golden-team"
	if _, err := c.CreateUser("colleague", "colleague-secret", testcloud.DemoProject); err != nil {
		t.Fatal(err)
	}
	colleague := cloudUser(c, "colleague", "colleague-secret", testcloud.DemoProject).Images(t)
	var (
		mu       sync.Mutex
		theirsID string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		id, err := acctest.MakeImage(colleague, name, true)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		mu.Lock()
		theirsID = id
		mu.Unlock()
		// From now on: the snapshot is made but its reply lost, and the first
		// image listing after it (the lost-reply lookup) is refused.
		c.AddFault(testcloud.Fault{Op: "server.createImage", Action: testcloud.ActionLoseReply, Times: 1})
		c.AddFault(testcloud.Fault{Op: "image.list", Status: 400, Times: 1})
		fmt.Fprintln(w, "a colleague made an image of the same name")
	}))
	defer srv.Close()

	template := withShellLocal(accTemplate(c, `
  source_image_name = "Fedora-Cloud-Base-37-1.7"
  image_name        = "`+name+`"
  image_protected   = true`, `"true"`), `"curl -fsS `+srv.URL+`/"`)
	res := accBuild(t, env, template, "")
	if res.ExitCode == 0 || !strings.Contains(res.Output, "whose creation was cut off") {
		t.Fatalf("the build did not fail on the lost reply (exit %d):\n%s", res.ExitCode, res.Output)
	}
	mu.Lock()
	theirs := theirsID
	mu.Unlock()
	if theirs == "" {
		t.Fatalf("the colleague's image was never made:\n%s", res.Output)
	}

	left := c.ImagesByName(name)
	if len(left) != 1 || left[0].ID != theirs {
		var ids []string
		for _, img := range left {
			ids = append(ids, img.ID+" "+img.Status)
		}
		t.Fatalf("images named %q: %v; want only the colleague's %s (the build's own snapshot deleted)", name, ids, theirs)
	}
	if !left[0].Protected || left[0].Status != "active" {
		t.Errorf("the colleague's image is now protected=%v, %s", left[0].Protected, left[0].Status)
	}
	if touched := acctest.Touched(c, theirs); len(touched) > 0 {
		t.Errorf("the build touched the colleague's image: %v", touched)
	}
	if strings.Contains(res.Output, theirs) {
		t.Errorf("the build's output names the colleague's image %s:\n%s", theirs, res.Output)
	}
	noTempLeaks(t, c)
}

// Without a project, "the images of this name" would be every project's the
// token can see: an unscoped token with image_force stops before anything is
// made.
func TestAccUnscopedTokenWithForceCreatesNothing(t *testing.T) {
	t.Parallel()
	c, _ := accCloud(t, testcloud.Options{})
	admin := cloudUser(c, testcloud.AdminUser, testcloud.AdminPassword, "")
	const name = "golden-unscoped"
	theirs := acctest.CreateImage(t, cloudUser(c, testcloud.AltUser, testcloud.AltPassword, testcloud.AltProject).Images(t), name, false)
	c.ResetRequests()

	res := accBuild(t, tokenEnv(c, admin.Token(t)), accTemplate(c, `
  source_image_name = "Fedora-Cloud-Base-37-1.7"
  image_name        = "`+name+`"
  image_force       = true`, `"true"`), "")
	if res.ExitCode == 0 || !strings.Contains(res.Output, "not scoped to a project") {
		t.Fatalf("a build with an unscoped token did not stop for the lack of a project (exit %d):\n%s", res.ExitCode, res.Output)
	}
	for _, r := range c.Requests() {
		if r.Method != http.MethodGet && r.Service != "identity" {
			t.Errorf("%s %s (%s) sent by a build that had to stop first", r.Method, r.Path, r.Op)
		}
	}
	if _, ok := c.GetImage(theirs); !ok {
		t.Errorf("another project's image %s was deleted", theirs)
	}
	noLeaksBut(t, c, theirs)
}

// noLeaksBut is noLeaks allowing the given images.
func noLeaksBut(t *testing.T, c *testcloud.Cloud, ids ...string) {
	t.Helper()
	noTempLeaks(t, c)
	allowed := map[string]bool{}
	for _, id := range ids {
		allowed[id] = true
	}
	for _, img := range c.Images(c.DefaultRegion()) {
		if !img.Seeded && !allowed[img.ID] {
			t.Errorf("image %s (%s, %s) left behind", img.Name, img.ID, img.Status)
		}
	}
}
