package importpp

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

func TestMain(m *testing.M) {
	code := m.Run()
	acctest.Cleanup()
	os.Exit(code)
}

// accCloud is a test cloud plus a local HTTP server for image sources, allowed
// for Glance's web-download.
type accCloud struct {
	cloud *testcloud.Cloud
	mux   *http.ServeMux
	src   string // base URL of the source server
	dir   string
	env   []string
}

func startAccCloud(t *testing.T, tweak ...func(*testcloud.Options)) *accCloud {
	t.Helper()
	acctest.Skip(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	opts := testcloud.Options{WebDownloadAllowedPorts: []int{80, 443, port}}
	for _, f := range tweak {
		f(&opts)
	}
	cloud, err := testcloud.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cloud.Close() })
	dir := t.TempDir()
	yaml := filepath.Join(dir, "clouds.yaml")
	if err := cloud.WriteCloudsYAML(yaml); err != nil {
		t.Fatal(err)
	}
	return &accCloud{cloud: cloud, mux: mux, src: "http://" + ln.Addr().String(), dir: dir,
		env: []string{"OS_CLIENT_CONFIG_FILE=" + yaml, "OS_CLOUD=testcloud"}}
}

// serve publishes data at path with a misleading Content-Type.
func (a *accCloud) serve(path string, data []byte) string {
	a.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
	})
	return a.src + path
}

func (a *accCloud) build(t *testing.T, postProcessors string, interrupt func(*exec.Cmd, *acctest.SyncBuffer)) acctest.Result {
	t.Helper()
	return acctest.Packer(t, acctest.Run{Dir: nullBuild(t, postProcessors), Args: []string{"build", "-color=false", "."}, Env: a.env, Interrupt: interrupt})
}

// nullBuild writes a template that runs the null source, then the given
// post-processor blocks, and returns its folder.
func nullBuild(t *testing.T, postProcessors string) string {
	t.Helper()
	dir := t.TempDir()
	acctest.WriteFile(t, dir, "t.pkr.hcl", `
packer {
  required_plugins {
    glance = { version = ">= 0.1.0", source = "`+acctest.SourceAddress+`" }
  }
}
source "null" "src" {
  communicator = "none"
}
build {
  sources = ["source.null.src"]
`+postProcessors+`
}
`)
	return dir
}

func (a *accCloud) image(t *testing.T, name string) testcloud.Image {
	t.Helper()
	imgs := a.cloud.ImagesByName(name)
	if len(imgs) != 1 {
		t.Fatalf("%d images named %q, want 1", len(imgs), name)
	}
	return imgs[0]
}

func (a *accCloud) data(t *testing.T, id string) []byte {
	t.Helper()
	rc, err := a.cloud.ImageData(id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (a *accCloud) requireNothingLeft(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if imgs := a.cloud.ImagesByName(n); len(imgs) != 0 {
			t.Errorf("image %q was left behind: %+v", n, imgs)
		}
	}
	if l := a.cloud.Leaks(); !l.Empty() {
		t.Errorf("leaks: %v", l)
	}
}

// qcow2Bytes makes n bytes of qcow2-looking, compressible data.
func qcow2Bytes(n int) []byte {
	b := make([]byte, n)
	copy(b, []byte{'Q', 'F', 'I', 0xfb, 0, 0, 0, 3})
	r := rand.New(rand.NewPCG(7, 9))
	for i := 4096; i < n; i += 97 {
		b[i] = byte(r.IntN(256))
	}
	return b
}

func packed(t *testing.T, format string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch format {
	case "gzip":
		w := gzip.NewWriter(&buf)
		w.Write(data)
		w.Close()
	case "xz":
		w, _ := xz.NewWriter(&buf)
		w.Write(data)
		w.Close()
	case "zstd":
		w, _ := zstd.NewWriter(&buf)
		w.Write(data)
		w.Close()
	case "bzip2":
		cmd := exec.Command("bzip2", "-c")
		cmd.Stdin, cmd.Stdout = bytes.NewReader(data), &buf
		if err := cmd.Run(); err != nil {
			t.Fatalf("bzip2 tool (make deps installs it): %v", err)
		}
	}
	return buf.Bytes()
}

func requireSuccess(t *testing.T, res acctest.Result) {
	t.Helper()
	if res.ExitCode != 0 {
		t.Fatalf("packer build failed (%d):\n%s", res.ExitCode, res.Output)
	}
}

func TestAccImportWebDownloadWithProperties(t *testing.T) {
	a := startAccCloud(t)
	data := qcow2Bytes(1 << 20)
	url := a.serve("/images/plain", data)
	res := a.build(t, `
  post-processor "glance-import" {
    image_name       = "acc-web"
    image_source_url = "`+url+`"
    visibility       = "community"
    min_disk         = 4
    min_ram          = 256
    tags             = ["golden", "acc"]
    properties = {
      os_distro           = "fedora"
      hw_qemu_guest_agent = "yes"
    }
  }`, nil)
	requireSuccess(t, res)
	img := a.image(t, "acc-web")
	if !strings.Contains(res.Output, "web-download") {
		t.Errorf("auto did not choose web-download for a plain URL:\n%s", res.Output)
	}
	if img.Status != "active" || img.Visibility != "community" || img.MinDisk != 4 || img.MinRAM != 256 ||
		img.Properties["os_distro"] != "fedora" || img.Properties["hw_qemu_guest_agent"] != "yes" || len(img.Tags) != 2 || img.DiskFormat != "qcow2" {
		t.Fatalf("image %+v", img)
	}
	if !bytes.Equal(a.data(t, img.ID), data) {
		t.Fatal("image data differs from the source")
	}
	a.requireNothingLeft(t)
}

func TestAccImportCompressedStreamsDetectedByContent(t *testing.T) {
	a := startAccCloud(t)
	data := qcow2Bytes(3<<20 + 11)
	var blocks strings.Builder
	for _, f := range []string{"gzip", "bzip2", "xz", "zstd"} {
		url := a.serve("/blob/"+f, packed(t, f, data))
		fmt.Fprintf(&blocks, `
  post-processor "glance-import" {
    image_name       = "acc-%s"
    image_source_url = "%s"
  }`, f, url)
	}
	res := a.build(t, blocks.String(), nil)
	requireSuccess(t, res)
	for _, f := range []string{"gzip", "bzip2", "xz", "zstd"} {
		img := a.image(t, "acc-"+f)
		if !bytes.Equal(a.data(t, img.ID), data) {
			t.Errorf("%s: Glance holds data that differs from the decompressed source", f)
		}
	}
	a.requireNothingLeft(t)
}

func TestAccImportLocalFileArtifactAndGlanceDirect(t *testing.T) {
	a := startAccCloud(t)
	data := qcow2Bytes(2 << 20)
	src := filepath.Join(a.dir, "built.qcow2")
	os.WriteFile(src, data, 0o600)
	dir := t.TempDir()
	acctest.WriteFile(t, dir, "t.pkr.hcl", `
packer {
  required_plugins {
    glance = { version = ">= 0.1.0", source = "`+acctest.SourceAddress+`" }
  }
}
source "file" "disk" {
  source = "`+src+`"
  target = "output/disk.qcow2"
}
build {
  sources = ["source.file.disk"]
  post-processor "glance-import" {
    image_name = "acc-artifact"
  }
  post-processor "glance-import" {
    image_name      = "acc-local"
    local_file_path = "`+src+`"
    disk_format     = "auto"
    protected       = false
    hidden          = true
  }
  post-processor "glance-import" {
    image_name      = "acc-direct"
    local_file_path = "`+src+`"
    import_method   = "glance-direct"
  }
}
`)
	res := acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"build", "-color=false", "."}, Env: a.env})
	requireSuccess(t, res)
	for _, name := range []string{"acc-artifact", "acc-local", "acc-direct"} {
		img := a.image(t, name)
		if !bytes.Equal(a.data(t, img.ID), data) {
			t.Errorf("%s: data differs", name)
		}
	}
	if !a.image(t, "acc-local").Hidden {
		t.Error("hidden was not set")
	}
	if _, err := os.Stat(filepath.Join(dir, "output", "disk.qcow2")); err != nil {
		t.Errorf("the input artifact was not kept: %v", err)
	}
	a.requireNothingLeft(t)
}

func TestAccImportChecksum(t *testing.T) {
	a := startAccCloud(t)
	data := packed(t, "gzip", qcow2Bytes(1<<20))
	sum := sha256.Sum256(data)
	url := a.serve("/rel/disk.qcow2.gz", data)
	a.serve("/rel/SHA256SUMS", []byte(hex.EncodeToString(sum[:])+"  disk.qcow2.gz\n"))
	res := a.build(t, `
  post-processor "glance-import" {
    image_name       = "acc-sum"
    image_source_url = "`+url+`"
    checksum         = "file:`+a.src+`/rel/SHA256SUMS"
  }`, nil)
	requireSuccess(t, res)
	a.image(t, "acc-sum")

	res = a.build(t, `
  post-processor "glance-import" {
    image_name       = "acc-badsum"
    image_source_url = "`+url+`"
    checksum         = "sha256:`+strings.Repeat("0", 64)+`"
  }`, nil)
	if res.ExitCode == 0 || !strings.Contains(res.Output, "checksum mismatch") {
		t.Fatalf("a wrong checksum did not fail the build:\n%s", res.Output)
	}
	a.requireNothingLeft(t, "acc-badsum")
}

func TestAccImportMissingURLFailsWithoutImage(t *testing.T) {
	a := startAccCloud(t)
	res := a.build(t, `
  post-processor "glance-import" {
    image_name       = "acc-404"
    image_source_url = "`+a.src+`/nothing"
  }`, nil)
	if res.ExitCode == 0 || !strings.Contains(res.Output, "404") {
		t.Fatalf("a 404 URL did not fail the build with its status:\n%s", res.Output)
	}
	a.requireNothingLeft(t, "acc-404")
}

// Glance makes the image but the reply is lost (a proxy's 504): the import finds
// the image by its marker and goes on with it, leaving exactly one image.
func TestAccImportLostCreateReplyGoesOn(t *testing.T) {
	a := startAccCloud(t, func(o *testcloud.Options) {
		o.Faults = []testcloud.Fault{{Op: "image.create", Action: testcloud.ActionLoseReply, Times: 1}}
	})
	url := a.serve("/lost.qcow2", qcow2Bytes(256<<10))
	res := a.build(t, `
  post-processor "glance-import" {
    image_name       = "acc-lost-create"
    image_source_url = "`+url+`"
  }`, nil)
	if res.ExitCode != 0 {
		t.Fatalf("a lost create reply failed the import:\n%s", lastLines(res.Output, 30))
	}
	if !strings.Contains(res.Log, "reply to creating") {
		t.Errorf("the fault never fired: no lost reply in the log")
	}
	imgs := a.cloud.ImagesByName("acc-lost-create")
	if len(imgs) != 1 || imgs[0].Status != "active" {
		t.Fatalf("images named acc-lost-create: %+v, want one active", imgs)
	}
}

func TestAccImportWebDownloadFailingInGlanceFailsFast(t *testing.T) {
	a := startAccCloud(t)
	// The plugin does not look at the URL with web-download: Glance's task fails on the 404.
	res := a.build(t, `
  post-processor "glance-import" {
    image_name       = "acc-webfail"
    image_source_url = "`+a.src+`/gone.qcow2"
    web_download     = true
    import_timeout   = "20m"
  }`, nil)
	if res.ExitCode == 0 {
		t.Fatalf("a failed web-download succeeded:\n%s", res.Output)
	}
	for _, want := range []string{"web-download", "queued", "Glance's task says"} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("the error does not mention %q:\n%s", want, res.Output)
		}
	}
	if strings.Contains(res.Output, "timeout") {
		t.Errorf("the failure was reported as a timeout:\n%s", res.Output)
	}
	a.requireNothingLeft(t, "acc-webfail")
}

func TestAccImportNameClashAndForce(t *testing.T) {
	a := startAccCloud(t)
	url := a.serve("/images/one", qcow2Bytes(256<<10))
	block := `
  post-processor "glance-import" {
    image_name       = "acc-same"
    image_source_url = "` + url + `"
    import_method    = "upload"
    %s
  }`
	requireSuccess(t, a.build(t, fmt.Sprintf(block, ""), nil))
	first := a.image(t, "acc-same").ID
	res := a.build(t, fmt.Sprintf(block, ""), nil)
	if res.ExitCode == 0 || !strings.Contains(res.Output, "image_force") {
		t.Fatalf("a second image of the same name was accepted:\n%s", res.Output)
	}
	requireSuccess(t, a.build(t, fmt.Sprintf(block, "image_force = true"), nil))
	if second := a.image(t, "acc-same").ID; second == first {
		t.Fatal("image_force kept the old image")
	}
	a.requireNothingLeft(t)
}

func TestAccImportInterruptDeletesTheImage(t *testing.T) {
	a := startAccCloud(t)
	// A slow, endless source: the upload is still running when Ctrl-C comes.
	a.mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(256<<20))
		chunk := qcow2Bytes(64 << 10)
		for i := 0; i < (256<<20)/len(chunk); i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	res := a.build(t, `
  post-processor "glance-import" {
    image_name       = "acc-interrupted"
    image_source_url = "`+a.src+`/slow"
    import_method    = "upload"
  }`, acctest.InterruptWhen("Uploading", 2*time.Minute))
	if !res.Interrupted {
		t.Fatalf("the build ended before the upload started: Ctrl-C was never pressed\n%s", res.Output)
	}
	if res.ExitCode == 0 {
		t.Fatalf("an interrupted build succeeded:\n%s\n%s", res.Output, lastLines(res.Log, 60))
	}
	if !strings.Contains(res.Output, "Uploading") || !strings.Contains(res.Output, "interrupted") || !strings.Contains(res.Output, "was deleted") {
		t.Fatalf("the upload was not interrupted, or the image not deleted:\n%s", res.Output)
	}
	a.requireNothingLeft(t, "acc-interrupted")
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// The example template validates offline (its URL is external, so it is not built).
func TestAccExampleImportFedoraValidates(t *testing.T) {
	acctest.Skip(t)
	root := acctest.RepoRoot(t)
	dir := t.TempDir()
	body, err := os.ReadFile(filepath.Join(root, "example", "import-fedora.pkr.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	acctest.WriteFile(t, dir, "import-fedora.pkr.hcl", string(body))
	res := acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"validate", "."}})
	if res.ExitCode != 0 {
		t.Fatalf("packer validate failed:\n%s", res.Output)
	}
	res = acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"validate", "-var", "image_url=ftp://example.com/x", "."}})
	if res.ExitCode == 0 || !strings.Contains(res.Output, "image_source_url") {
		t.Fatalf("packer validate accepted an ftp URL:\n%s", res.Output)
	}
}

func TestAccImportBasicAuthAndHeadersStayOutOfLogs(t *testing.T) {
	a := startAccCloud(t)
	const user, password, token = "mirror-user", "s3cret-Mirror-pw", "tok-9f8e7d6c5b4a"
	data := qcow2Bytes(512 << 10)
	a.mux.HandleFunc("/private/disk.qcow2", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != password || r.Header.Get("X-Mirror-Token") != token {
			http.Error(w, "denied", http.StatusUnauthorized)
			return
		}
		w.Write(data)
	})
	res := a.build(t, `
  post-processor "glance-import" {
    image_name            = "acc-auth"
    image_source_url      = "`+a.src+`/private/disk.qcow2"
    image_source_username = "`+user+`"
    image_source_password = "`+password+`"
    image_source_headers  = { X-Mirror-Token = "`+token+`" }
  }`, nil)
	requireSuccess(t, res)
	if !bytes.Equal(a.data(t, a.image(t, "acc-auth").ID), data) {
		t.Fatal("data differs")
	}
	for _, secret := range []string{password, token} {
		if strings.Contains(res.Output, secret) || strings.Contains(res.Log, secret) {
			t.Errorf("secret %q reached the output or the log", secret)
		}
	}
	if !strings.Contains(res.Log, "glance-import") {
		t.Error("the log was not captured")
	}
	a.requireNothingLeft(t)
}

// Tokens may expire during a long transfer; the import must carry on (re-auth).
func TestAccImportOutlivesItsToken(t *testing.T) {
	a := startAccCloud(t, func(o *testcloud.Options) { o.TokenLifetime = 2 * time.Second })
	data := qcow2Bytes(4 << 20)
	a.mux.HandleFunc("/slow.qcow2", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		for i := 0; i < len(data); i += 256 << 10 {
			w.Write(data[i:min(i+256<<10, len(data))])
			w.(http.Flusher).Flush()
			time.Sleep(300 * time.Millisecond) // about 5 s in all: longer than a token lives
		}
	})
	res := a.build(t, `
  post-processor "glance-import" {
    image_name       = "acc-token"
    image_source_url = "`+a.src+`/slow.qcow2"
    import_method    = "glance-direct"
  }`, nil)
	requireSuccess(t, res)
	if !bytes.Equal(a.data(t, a.image(t, "acc-token").ID), data) {
		t.Fatal("data differs")
	}
	a.requireNothingLeft(t)
}

func TestAccImportIntoChosenStores(t *testing.T) {
	a := startAccCloud(t)
	data := qcow2Bytes(512 << 10)
	url := a.serve("/images/stores", data)
	res := a.build(t, `
  post-processor "glance-import" {
    image_name              = "acc-stores"
    image_source_url        = "`+url+`"
    stores                  = ["file2"]
    all_stores_must_succeed = true
  }`, nil)
	requireSuccess(t, res)
	img := a.image(t, "acc-stores")
	if fmt.Sprint(img.Stores) != "[file2]" {
		t.Fatalf("stores %v, want [file2]", img.Stores)
	}
	if !strings.Contains(res.Output, "web-download") {
		t.Errorf("a plain URL with stores should go through web-download, which takes stores:\n%s", res.Output)
	}

	// A local file with stores streams with glance-direct (upload cannot choose stores).
	file := acctest.WriteFile(t, t.TempDir(), "d.qcow2", string(data))
	res = a.build(t, `
  post-processor "glance-import" {
    image_name      = "acc-stores-file"
    local_file_path = "`+file+`"
    all_stores      = true
  }`, nil)
	requireSuccess(t, res)
	if !strings.Contains(res.Output, "with glance-direct") {
		t.Errorf("a file with all_stores should stream with glance-direct:\n%s", res.Output)
	}
	if img := a.image(t, "acc-stores-file"); len(img.Stores) != 2 {
		t.Errorf("all_stores gave stores %v", img.Stores)
	}
	a.requireNothingLeft(t)
}
