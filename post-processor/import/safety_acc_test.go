package importpp

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// The post-processor runs on shared clouds: these tests check that it deletes
// or changes only what its own import made, and that a source's secrets stay
// with the plugin.

func (a *accCloud) user(name, password, project string) acctest.User {
	return acctest.User{AuthURL: a.cloud.AuthURL(), Name: name, Password: password, Project: project}
}

// tokenEnv logs packer in with a bare token, as OS_TOKEN from `openstack token
// issue` would.
func (a *accCloud) tokenEnv(token string) []string {
	return []string{"OS_AUTH_URL=" + a.cloud.AuthURL(), "OS_TOKEN=" + token, "OS_REGION_NAME=" + a.cloud.DefaultRegion()}
}

func (a *accCloud) buildWith(t *testing.T, env []string, postProcessors string) acctest.Result {
	t.Helper()
	return acctest.Packer(t, acctest.Run{Dir: nullBuild(t, postProcessors), Args: []string{"build", "-color=false", "."}, Env: env})
}

func TestAccImportForceWithAdminTokenReplacesOnlyItsProjectsImage(t *testing.T) {
	t.Parallel()
	a := startAccCloud(t)
	const name = "acc-shared-name"
	admin := a.user(testcloud.AdminUser, testcloud.AdminPassword, testcloud.AdminProject)
	own := acctest.CreateImage(t, admin.Images(t), name, false)
	others := map[string]bool{
		acctest.CreateImage(t, a.user(testcloud.AltUser, testcloud.AltPassword, testcloud.AltProject).Images(t), name, false):    true,
		acctest.CreateImage(t, a.user(testcloud.DemoUser, testcloud.DemoPassword, testcloud.DemoProject).Images(t), name, false): true,
	}
	a.cloud.ResetRequests()
	url := a.serve("/images/force", qcow2Bytes(256<<10))
	res := a.buildWith(t, a.tokenEnv(admin.Token(t)), `
  post-processor "glance-import" {
    image_name       = "`+name+`"
    image_source_url = "`+url+`"
    image_force      = true
  }`)
	requireSuccess(t, res)

	adminProject := a.cloud.ProjectID(testcloud.AdminProject)
	built := 0
	for _, img := range a.cloud.ImagesByName(name) {
		switch {
		case img.ID == own:
			t.Errorf("the token's own older image %s was not replaced", own)
		case others[img.ID]:
			delete(others, img.ID)
			if touched := acctest.Touched(a.cloud, img.ID); len(touched) > 0 {
				t.Errorf("another project's image %s was changed: %v", img.ID, touched)
			}
		case img.Owner == adminProject && img.Status == "active":
			built++
		default:
			t.Errorf("unexpected image %s (owner %s, %s)", img.ID, img.Owner, img.Status)
		}
	}
	for id := range others {
		t.Errorf("another project's image %s of the same name was deleted", id)
	}
	if built != 1 {
		t.Errorf("%d new images in the admin project, want 1", built)
	}
}

// A colleague makes a protected image of the same name just after the name
// check (when the plugin starts reading the source); then the create call's
// reply is lost, and the lookup that would let the import go on with its image
// is refused too, so the import fails. Cleanup deletes the import's own image,
// found by its marker, and never touches the colleague's.
func TestAccImportLostCreateReplySparesAColleaguesProtectedImage(t *testing.T) {
	t.Parallel()
	a := startAccCloud(t)
	const name = "acc-team"
	if _, err := a.cloud.CreateUser("colleague", "colleague-secret", testcloud.DemoProject); err != nil {
		t.Fatal(err)
	}
	colleague := a.user("colleague", "colleague-secret", testcloud.DemoProject).Images(t)
	data := qcow2Bytes(256 << 10)
	var (
		once   sync.Once
		theirs atomic.Value
	)
	a.mux.HandleFunc("/team.qcow2", func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() {
			id, err := acctest.MakeImage(colleague, name, true)
			if err != nil {
				theirs.Store("failed: " + err.Error())
				return
			}
			theirs.Store(id)
			// From now on a create's reply is lost, and the first listing after
			// it (the lost-reply lookup) is refused.
			a.cloud.AddFault(testcloud.Fault{Op: "image.create", Action: testcloud.ActionLoseReply, Times: 1})
			a.cloud.AddFault(testcloud.Fault{Op: "image.list", Status: 400, Times: 1})
		})
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
	})
	res := a.build(t, `
  post-processor "glance-import" {
    image_name       = "`+name+`"
    image_source_url = "`+a.src+`/team.qcow2"
    import_method    = "upload"
    protected        = true
  }`, nil)
	if res.ExitCode == 0 || !strings.Contains(res.Output, "made although the create call failed, was deleted") {
		t.Fatalf("the lost create was not cleaned up (exit %d):\n%s", res.ExitCode, res.Output)
	}
	id, _ := theirs.Load().(string)
	if id == "" || strings.HasPrefix(id, "failed: ") {
		t.Fatalf("the colleague's image was never made:\n%s", res.Output)
	}
	left := a.cloud.ImagesByName(name)
	if len(left) != 1 || left[0].ID != id {
		t.Fatalf("images named %q: %+v; want only the colleague's %s", name, left, id)
	}
	if !left[0].Protected || left[0].Status != "active" {
		t.Errorf("the colleague's image is now protected=%v, %s", left[0].Protected, left[0].Status)
	}
	if touched := acctest.Touched(a.cloud, id); len(touched) > 0 {
		t.Errorf("the import touched the colleague's image: %v", touched)
	}
	if strings.Contains(res.Output, id) {
		t.Errorf("the output names the colleague's image %s:\n%s", id, res.Output)
	}
	if l := a.cloud.Leaks(); !l.Empty() {
		t.Errorf("leaks: %v", l)
	}
}

func TestAccImportUnscopedTokenWithForceCreatesNothing(t *testing.T) {
	t.Parallel()
	a := startAccCloud(t)
	const name = "acc-unscoped"
	theirs := acctest.CreateImage(t, a.user(testcloud.AltUser, testcloud.AltPassword, testcloud.AltProject).Images(t), name, false)
	a.cloud.ResetRequests()
	res := a.buildWith(t, a.tokenEnv(a.user(testcloud.AdminUser, testcloud.AdminPassword, "").Token(t)), `
  post-processor "glance-import" {
    image_name       = "`+name+`"
    image_source_url = "`+a.serve("/images/unscoped", qcow2Bytes(64<<10))+`"
    image_force      = true
  }`)
	if res.ExitCode == 0 || !strings.Contains(res.Output, "not scoped to a project") {
		t.Fatalf("an import with an unscoped token did not stop for the lack of a project (exit %d):\n%s", res.ExitCode, res.Output)
	}
	for _, r := range a.cloud.Requests() {
		if r.Method != http.MethodGet && r.Service != "identity" {
			t.Errorf("%s %s (%s) sent by an import that had to stop first", r.Method, r.Path, r.Op)
		}
	}
	if imgs := a.cloud.ImagesByName(name); len(imgs) != 1 || imgs[0].ID != theirs {
		t.Errorf("images named %q: %+v; want only alt's %s", name, imgs, theirs)
	}
}

// The access config's insecure is about the cloud's API: the source's
// certificate is still checked, unless source_insecure says otherwise.
func TestAccImportInsecureAPIStillChecksTheSource(t *testing.T) {
	t.Parallel()
	a := startAccCloud(t)
	data := qcow2Bytes(128 << 10)
	src := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
	}))
	defer src.Close()
	block := `
  post-processor "glance-import" {
    insecure         = true
    image_name       = "acc-self-signed"
    image_source_url = "` + src.URL + `/disk.qcow2"
    import_method    = "upload"
    %s
  }`
	res := a.build(t, strings.Replace(block, "%s", "", 1), nil)
	if res.ExitCode == 0 || !strings.Contains(res.Output, "certificate") {
		t.Fatalf("insecure = true let the plugin download from a self-signed source (exit %d):\n%s", res.ExitCode, res.Output)
	}
	a.requireNothingLeft(t, "acc-self-signed")

	requireSuccess(t, a.build(t, strings.Replace(block, "%s", "source_insecure = true", 1), nil))
	a.image(t, "acc-self-signed")
}

// In auto, a pre-signed URL is downloaded by the plugin: Glance would keep it
// in its task records, which the image's users can read. A plain URL in the
// same run goes to Glance (web-download), so the records are seen to hold URLs.
func TestAccImportSignedURLNeverReachesGlancesTasks(t *testing.T) {
	t.Parallel()
	a := startAccCloud(t)
	data := qcow2Bytes(256 << 10)
	const sig = "sig-9f8e7d6c5b4a3921"
	a.serve("/bucket/disk.qcow2", data)
	signed := a.src + "/bucket/disk.qcow2?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=600&X-Amz-Signature=" + sig
	plain := a.src + "/bucket/disk.qcow2"
	res := a.build(t, `
  post-processor "glance-import" {
    image_name       = "acc-signed"
    image_source_url = "`+signed+`"
  }
  post-processor "glance-import" {
    image_name       = "acc-plain"
    image_source_url = "`+plain+`"
  }`, nil)
	requireSuccess(t, res)
	glance := a.user(testcloud.DemoUser, testcloud.DemoPassword, testcloud.DemoProject).Images(t)

	if tasks := acctest.ImageTasks(t, glance, a.image(t, "acc-plain").ID); !strings.Contains(tasks, "/bucket/disk.qcow2") {
		t.Fatalf("the plain URL's web-download left no record of it, so the check below proves nothing: %s", tasks)
	}
	img := a.image(t, "acc-signed")
	if tasks := acctest.ImageTasks(t, glance, img.ID); strings.Contains(tasks, sig) {
		t.Errorf("Glance's task records hold the signature: %s", tasks)
	}
	for k, v := range img.Properties {
		if strings.Contains(v, sig) {
			t.Errorf("image property %s holds the signature", k)
		}
	}
	if strings.Contains(res.Output, sig) || strings.Contains(res.Log, sig) {
		t.Error("the signature reached packer's output or log")
	}
	a.requireNothingLeft(t)
}

// Glance reads "a:b" in a name filter as operator a; the plugin quotes such
// names, so the name check, image_force and a lookup all work.
func TestAccImportNameWithColonIsCheckedAndReplaced(t *testing.T) {
	t.Parallel()
	a := startAccCloud(t)
	const name = "debian:12"
	// Names a careless filter would confuse with it.
	decoys := []string{
		acctest.CreateImage(t, a.user(testcloud.DemoUser, testcloud.DemoPassword, testcloud.DemoProject).Images(t), "debian", false),
		acctest.CreateImage(t, a.user(testcloud.DemoUser, testcloud.DemoPassword, testcloud.DemoProject).Images(t), "in:debian:12", false),
	}
	url := a.serve("/images/debian", qcow2Bytes(128<<10))
	block := `
  post-processor "glance-import" {
    image_name       = "` + name + `"
    image_source_url = "` + url + `"
    %s
  }`
	requireSuccess(t, a.build(t, strings.Replace(block, "%s", "", 1), nil))
	first := a.image(t, name).ID

	res := a.build(t, strings.Replace(block, "%s", "", 1), nil)
	if res.ExitCode == 0 || !strings.Contains(res.Output, `already has an image named "debian:12" (`+first+`)`) {
		t.Fatalf("a second image named %q was not stopped by the name check:\n%s", name, res.Output)
	}
	requireSuccess(t, a.build(t, strings.Replace(block, "%s", "image_force = true", 1), nil))
	if second := a.image(t, name).ID; second == first {
		t.Fatal("image_force kept the old image")
	}
	for _, id := range decoys {
		if _, ok := a.cloud.GetImage(id); !ok {
			t.Errorf("image %s of another name was deleted", id)
		}
	}
	a.requireNothingLeft(t)
}

// max_image_size stops the stream, not just the result: the source is not read
// to its end, and nothing is left in Glance.
func TestAccImportMaxImageSizeStopsTheStream(t *testing.T) {
	t.Parallel()
	a := startAccCloud(t)
	const total = 256 << 20
	var served atomic.Int64
	a.mux.HandleFunc("/huge.qcow2", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(total))
		chunk := qcow2Bytes(1 << 20)
		for served.Load() < total {
			n, err := w.Write(chunk)
			served.Add(int64(n))
			if err != nil || r.Context().Err() != nil {
				return
			}
		}
	})
	res := a.build(t, `
  post-processor "glance-import" {
    image_name       = "acc-too-big"
    image_source_url = "`+a.src+`/huge.qcow2"
    max_image_size   = "2MiB"
  }`, nil)
	if res.ExitCode == 0 || !strings.Contains(res.Output, "grew past max_image_size (2.0 MiB)") {
		t.Fatalf("an image over max_image_size was not stopped (exit %d):\n%s", res.ExitCode, res.Output)
	}
	if n := served.Load(); n >= total/2 {
		t.Errorf("the source served %d of %d bytes: the stream was not stopped", n, total)
	}
	a.requireNothingLeft(t, "acc-too-big")
}
