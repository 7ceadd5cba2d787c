package importpp

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// ppCloud is an in-process test cloud that PostProcess reaches through its
// newCloud seam, with a real session (logged in as demo) and the clients made
// from it as in production.
type ppCloud struct {
	tc   *testcloud.Cloud
	auth access.AccessConfig
}

func startPPCloud(t *testing.T, opts testcloud.Options) *ppCloud {
	t.Helper()
	// No seeded resources (faster to start, and nothing to tell apart from the
	// imports); image sources listen on random ports.
	opts.NoSeed, opts.AllowAnyWebDownloadPort = true, true
	opts.ImageDelay, opts.ImportLockLinger = 20*time.Millisecond, 20*time.Millisecond
	tc, err := testcloud.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	for _, k := range []string{"OS_CLOUD", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_CLIENT_CONFIG_FILE", "OS_REGION_NAME", "OS_TOKEN"} {
		t.Setenv(k, "")
	}
	return &ppCloud{tc: tc, auth: access.AccessConfig{
		IdentityEndpoint: tc.AuthURL(), Username: testcloud.DemoUser, Password: testcloud.DemoPassword,
		ProjectName: testcloud.DemoProject, UserDomainName: "Default", ProjectDomainName: "Default", Region: "RegionOne",
	}}
}

// connect is the newCloud seam: it logs in to the test cloud instead of the
// template's cloud, and makes the clients as production does.
func (p *ppCloud) connect(ctx context.Context, c *Config) (*cloud, error) {
	auth := p.auth
	if _, errs := auth.Prepare(); len(errs) > 0 {
		return nil, errs[0]
	}
	sess, err := auth.Authenticate(ctx)
	if err != nil {
		return nil, err
	}
	return sessionCloud(sess, c)
}

// postProcess configures a post-processor from raw and runs it against the
// test cloud.
func (p *ppCloud) postProcess(t *testing.T, raw map[string]interface{}, input packersdk.Artifact) (*Artifact, *packersdk.MockUi, error) {
	t.Helper()
	pp := &PostProcessor{newCloud: p.connect}
	if err := pp.Configure(raw); err != nil {
		t.Fatal(err)
	}
	ui := &packersdk.MockUi{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, keep, force, err := pp.PostProcess(ctx, ui, input)
	if err != nil {
		if a != nil {
			t.Errorf("a failed PostProcess returned an artifact: %v", a)
		}
		return nil, ui, err
	}
	if !keep || force {
		t.Errorf("keep %v, forceOverride %v: the input artifact is the user's to keep", keep, force)
	}
	return a.(*Artifact), ui, nil
}

// requireImported checks an artifact against the image the cloud holds, and
// returns that image.
func (p *ppCloud) requireImported(t *testing.T, a *Artifact, name string, data []byte) testcloud.Image {
	t.Helper()
	imgs := p.tc.ImagesByName(name)
	if len(imgs) != 1 {
		t.Fatalf("%d images named %q, want 1", len(imgs), name)
	}
	img := imgs[0]
	sum := sha512.Sum512(data)
	if img.Status != "active" || img.Size != int64(len(data)) || img.OSHashValue != hex.EncodeToString(sum[:]) {
		t.Fatalf("image %s: status %s, %d bytes, sha512 %.16s…; want active, %d bytes of the source", img.ID, img.Status, img.Size, img.OSHashValue, len(data))
	}
	if a.Id() != img.ID || a.BuilderId() != BuilderID || a.Region != "RegionOne" || a.Checksum != "sha512:"+img.OSHashValue {
		t.Fatalf("artifact %+v for image %s", a, img.ID)
	}
	gd, _ := a.State("generated_data").(map[string]interface{})
	if gd["ImageID"] != img.ID || gd["ImageName"] != name || gd["Checksum"] != a.Checksum {
		t.Fatalf("generated data %v", gd)
	}
	if reg, ok := a.State(registryimage.ArtifactStateURI).(*registryimage.Image); !ok || reg.ImageID != img.ID || reg.ProviderRegion != "RegionOne" {
		t.Fatalf("registry metadata %+v", a.State(registryimage.ArtifactStateURI))
	}
	return img
}

// requireDestroyed destroys the artifact and checks that its image is gone and
// nothing was left behind.
func (p *ppCloud) requireDestroyed(t *testing.T, a *Artifact) {
	t.Helper()
	if err := a.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.tc.GetImage(a.Id()); ok {
		t.Fatalf("image %s is still there after Destroy", a.Id())
	}
	if err := a.Destroy(); err != nil {
		t.Fatalf("a second Destroy of a deleted image: %v", err)
	}
	p.requireNothingLeft(t)
}

func (p *ppCloud) requireNothingLeft(t *testing.T) {
	t.Helper()
	if imgs := p.tc.Images(""); len(imgs) != 0 {
		t.Errorf("images left: %+v", imgs)
	}
	if l := p.tc.Leaks(); !l.Empty() {
		t.Errorf("leaks: %v", l)
	}
}

// serve publishes data on a local server with a Content-Length, as an image
// mirror would, and returns its URL.
func serve(t *testing.T, path string, data []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + path
}

func TestPostProcessImportsALocalFile(t *testing.T) {
	p := startPPCloud(t, testcloud.Options{})
	data := qcow2Bytes(1 << 20)
	path := filepath.Join(t.TempDir(), "disk.qcow2")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	a, ui, err := p.postProcess(t, map[string]interface{}{
		"image_name": "pp-local", "local_file_path": path, "min_disk": 2,
		"properties": map[string]string{"os_distro": "fedora"}, "tags": []string{"golden"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	img := p.requireImported(t, a, "pp-local", data)
	if img.MinDisk != 2 || img.Properties["os_distro"] != "fedora" || strings.Join(img.Tags, ",") != "golden" ||
		img.Visibility != "private" || img.DiskFormat != "qcow2" {
		t.Errorf("image settings: %+v", img)
	}
	if a.State("import_method") != "upload" || a.SourceID != path {
		t.Errorf("import method %v, source %q", a.State("import_method"), a.SourceID)
	}
	if !saidSomething(ui, "is active: ID "+img.ID) {
		t.Errorf("the UI was not told the image is active: %+v", ui.SayMessages)
	}
	p.requireDestroyed(t, a)
}

func TestPostProcessImportsAnInputArtifactsFile(t *testing.T) {
	p := startPPCloud(t, testcloud.Options{})
	data := qcow2Bytes(512 << 10)
	dir := t.TempDir()
	disk := filepath.Join(dir, "out.qcow2")
	if err := os.WriteFile(disk, data, 0o600); err != nil {
		t.Fatal(err)
	}
	input := &packersdk.MockArtifact{FilesValue: []string{filepath.Join(dir, "packer-manifest.json"), disk}}
	a, _, err := p.postProcess(t, map[string]interface{}{"image_name": "pp-artifact"}, input)
	if err != nil {
		t.Fatal(err)
	}
	p.requireImported(t, a, "pp-artifact", data)
	if a.SourceID != disk {
		t.Errorf("source %q, want the artifact's image file", a.SourceID)
	}
	p.requireDestroyed(t, a)
}

func TestPostProcessImportsURLs(t *testing.T) {
	p := startPPCloud(t, testcloud.Options{})
	data := qcow2Bytes(1 << 20)
	for _, tc := range []struct {
		name, path string
		body       []byte
		method     string
	}{
		// A plain, sized image: Glance fetches it itself.
		{"pp-web", "/disk.qcow2", data, "web-download"},
		// Compressed: the plugin decompresses and uploads.
		{"pp-gzip", "/disk.qcow2.gz", packed(t, "gzip", data), "upload"},
	} {
		t.Run(tc.method, func(t *testing.T) {
			url := serve(t, tc.path, tc.body)
			a, _, err := p.postProcess(t, map[string]interface{}{"image_name": tc.name, "image_source_url": url}, nil)
			if err != nil {
				t.Fatal(err)
			}
			p.requireImported(t, a, tc.name, data)
			if a.State("import_method") != tc.method || a.SourceID != url {
				t.Errorf("import method %v (want %s), source %q", a.State("import_method"), tc.method, a.SourceID)
			}
			p.requireDestroyed(t, a)
		})
	}
}

func TestPostProcessFailuresLeaveNoImage(t *testing.T) {
	data := qcow2Bytes(256 << 10)
	path := filepath.Join(t.TempDir(), "disk.qcow2")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("checksum mismatch", func(t *testing.T) {
		p := startPPCloud(t, testcloud.Options{})
		_, _, err := p.postProcess(t, map[string]interface{}{"image_name": "pp-bad-sum", "local_file_path": path,
			"checksum": "sha256:" + strings.Repeat("0", 64)}, nil)
		if err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
			t.Fatalf("err = %v, want a checksum mismatch", err)
		}
		p.requireNothingLeft(t)
	})
	t.Run("Glance fails the upload", func(t *testing.T) {
		// Every upload fails inside Glance (503, image back to queued).
		p := startPPCloud(t, testcloud.Options{Faults: []testcloud.Fault{{Op: "image.upload", Action: testcloud.ActionFail,
			Message: "the store is full"}}})
		_, _, err := p.postProcess(t, map[string]interface{}{"image_name": "pp-no-store", "local_file_path": path}, nil)
		if err == nil || !strings.Contains(err.Error(), "the store is full") {
			t.Fatalf("err = %v, want Glance's upload failure", err)
		}
		if p.tc.CountRequests("image.create") != 1 || p.tc.CountRequests("image.delete") != 1 {
			t.Errorf("%d creates, %d deletes: want the failed image made once and deleted", p.tc.CountRequests("image.create"), p.tc.CountRequests("image.delete"))
		}
		p.requireNothingLeft(t)
	})
	t.Run("wrong credentials", func(t *testing.T) {
		p := startPPCloud(t, testcloud.Options{})
		p.auth.Password = "not-the-password"
		_, _, err := p.postProcess(t, map[string]interface{}{"image_name": "pp-denied", "local_file_path": path}, nil)
		if err == nil || p.tc.CountRequests("image.create") != 0 {
			t.Fatalf("err = %v with %d creates: want a login failure before any Glance call", err, p.tc.CountRequests("image.create"))
		}
	})
}

// Without the seam, PostProcess logs in with the template's own credentials.
func TestPostProcessLogsInWithTheTemplatesCredentials(t *testing.T) {
	p := startPPCloud(t, testcloud.Options{})
	data := qcow2Bytes(256 << 10)
	path := filepath.Join(t.TempDir(), "disk.qcow2")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	pp := new(PostProcessor)
	err := pp.Configure(map[string]interface{}{
		"image_name": "pp-template", "local_file_path": path,
		"identity_endpoint": p.tc.AuthURL(), "username": testcloud.AltUser, "password": testcloud.AltPassword,
		"project_name": testcloud.AltProject, "user_domain_name": "Default", "project_domain_name": "Default",
		"region": "RegionOne",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	art, _, _, err := pp.PostProcess(ctx, &packersdk.MockUi{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := art.(*Artifact)
	if img := p.requireImported(t, a, "pp-template", data); img.Owner != p.tc.ProjectID(testcloud.AltProject) {
		t.Errorf("image owned by %s, want the template's project %s", img.Owner, p.tc.ProjectID(testcloud.AltProject))
	}
	p.requireDestroyed(t, a)
}

func saidSomething(ui *packersdk.MockUi, part string) bool {
	for _, m := range ui.SayMessages {
		if strings.Contains(m.Message, part) {
			return true
		}
	}
	return false
}
