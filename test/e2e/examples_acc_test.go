package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// The templates of example/ run, unchanged, against the test cloud: the two that
// make demo runs, and the import, whose URL and checksum the test points at a
// local file server through the template's own variables.

// exampleCloud starts a test cloud and returns it with the environment packer
// needs to reach it.
func exampleCloud(t *testing.T, opts testcloud.Options) (*testcloud.Cloud, []string) {
	t.Helper()
	acctest.Skip(t)
	c, err := testcloud.Start(opts)
	if err != nil {
		t.Fatalf("starting the test cloud: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	clouds := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := c.WriteCloudsYAML(clouds); err != nil {
		t.Fatal(err)
	}
	return c, []string{"OS_CLIENT_CONFIG_FILE=" + clouds, "OS_CLOUD=testcloud"}
}

// runExample runs `packer build` on a copy of example/<name> with the variables.
func runExample(t *testing.T, env []string, name string, vars ...string) acctest.Result {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(acctest.RepoRoot(t), "example", name))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	acctest.WriteFile(t, dir, name, string(body))
	args := []string{"build", "-color=false"}
	for _, v := range vars {
		args = append(args, "-var", v)
	}
	res := acctest.Packer(t, acctest.Run{Dir: dir, Args: append(args, name), Env: env, Timeout: 5 * time.Minute})
	if res.ExitCode != 0 {
		t.Fatalf("packer build %s failed (exit %d):\n%s", name, res.ExitCode, res.Output)
	}
	return res
}

func imageNamed(t *testing.T, c *testcloud.Cloud, name, owner string) testcloud.Image {
	t.Helper()
	var found []testcloud.Image
	for _, img := range c.Images(c.DefaultRegion()) {
		if img.Name == name && img.Owner == owner {
			found = append(found, img)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d images named %q owned by %s, want 1", len(found), name, owner)
	}
	return found[0]
}

func noLeaks(t *testing.T, c *testcloud.Cloud) {
	t.Helper()
	if l := c.Leaks(); !l.Empty() {
		t.Errorf("leaked: %v", l)
	}
}

func TestAccExampleFindImage(t *testing.T) {
	_, env := exampleCloud(t, testcloud.Options{})
	res := runExample(t, env, "find-image.pkr.hcl")
	if !strings.Contains(res.Output, "base image: Fedora-Cloud-Base-37-1.7 (") {
		t.Errorf("the data source's result is not printed:\n%s", res.Output)
	}
}

func TestAccExampleBuild(t *testing.T) {
	c, env := exampleCloud(t, testcloud.Options{})
	res := runExample(t, env, "build.pkr.hcl", fmt.Sprintf("ssh_port=%d", c.SSHPort()))
	demo := c.ProjectID(testcloud.DemoProject)
	img := imageNamed(t, c, "golden-fedora-37", demo)
	if img.Visibility != "private" || img.MinDisk != 5 || img.Properties["hw_disk_bus"] != "scsi" {
		t.Errorf("image: visibility %s, min_disk %d, properties %v", img.Visibility, img.MinDisk, img.Properties)
	}
	release, err := c.ImageFileContent(img.ID, "/etc/golden-release")
	if err != nil || !strings.HasPrefix(string(release), "built from Fedora-Cloud-Base-37-1.7 (") {
		t.Errorf("/etc/golden-release = %q, %v", release, err)
	}
	// The snapshot's bookkeeping about the build server is gone; provenance is there.
	for _, k := range []string{"instance_uuid", "user_id", "owner_user_name", "owner_project_name", "boot_roles"} {
		if v, ok := img.Properties[k]; ok {
			t.Errorf("property %s = %q is still on the image", k, v)
		}
	}
	for _, k := range []string{"source_image_id", "source_image_name", "packer_build_name", "base_image_ref"} {
		if img.Properties[k] == "" {
			t.Errorf("no provenance property %s: %v", k, img.Properties)
		}
	}
	if !strings.Contains(res.Output, img.ID) {
		t.Errorf("the artifact line does not name %s", img.ID)
	}
	noLeaks(t, c)
}

func TestAccExampleImportFedora(t *testing.T) {
	c, env := exampleCloud(t, testcloud.Options{})
	// A local mirror of Fedora's archive folder: the image (the test cloud's own
	// seed, a real qcow2) and a CHECKSUM file in Fedora's format.
	var seed []byte
	for _, img := range c.Images(c.DefaultRegion()) {
		if img.Name == "Fedora-Cloud-Base-37-1.7" && img.Seeded {
			r, err := c.ImageData(img.ID)
			if err != nil {
				t.Fatal(err)
			}
			seed, err = io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	const file = "Fedora-Cloud-Base-37-1.7.x86_64.qcow2"
	sum := sha256.Sum256(seed)
	mux := http.NewServeMux()
	mux.HandleFunc("/images/"+file, func(w http.ResponseWriter, _ *http.Request) { w.Write(seed) })
	mux.HandleFunc("/images/Fedora-Cloud-37-1.7-x86_64-CHECKSUM", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "# Fedora-Cloud-Base-37-1.7.x86_64.qcow2: %d bytes\nSHA256 (%s) = %s\n", len(seed), file, hex.EncodeToString(sum[:]))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	vars := []string{
		"image_url=" + srv.URL + "/images/" + file,
		"checksum=sha256:file:" + srv.URL + "/images/Fedora-Cloud-37-1.7-x86_64-CHECKSUM",
	}
	res := runExample(t, env, "import-fedora.pkr.hcl", vars...)
	demo := c.ProjectID(testcloud.DemoProject)
	img := imageNamed(t, c, "Fedora-Cloud-Base-37-1.7", demo)
	if img.Region != c.DefaultRegion() || img.Visibility != "private" || img.MinDisk != 5 || img.Properties["os_version"] != "37" {
		t.Errorf("image: region %s, visibility %s, min_disk %d, properties %v", img.Region, img.Visibility, img.MinDisk, img.Properties)
	}
	if img.OSHashValue == "" || img.Size != int64(len(seed)) {
		t.Errorf("image data: %d bytes, hash %q", img.Size, img.OSHashValue)
	}
	if !strings.Contains(res.Output, img.ID) {
		t.Errorf("the artifact line does not name %s", img.ID)
	}

	// The region the header's comment shows: the same import, in kz-ala-1.
	runExample(t, env, "import-fedora.pkr.hcl", append(vars, "region=kz-ala-1")...)
	found := false
	for _, img := range c.Images("kz-ala-1") {
		found = found || (img.Name == "Fedora-Cloud-Base-37-1.7" && img.Owner == demo)
	}
	if !found {
		t.Error("-var region=kz-ala-1 did not import into kz-ala-1")
	}
	noLeaks(t, c)
}
