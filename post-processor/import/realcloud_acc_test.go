package importpp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
)

// The same post-processor against real Glance (the real-cloud tier: `make
// import-realcloud-test`). GLANCE_IMPORT_CLOUDS_YAML and GLANCE_IMPORT_CLOUD name
// the cloud; Glance's web-download filter there allows 127.0.0.1 on port 8080.

type realCloud struct {
	yaml, cloud string
	mux         *http.ServeMux
	src         string
	webOK       bool // the source server got the port web-download accepts
	run         string
}

func startRealCloud(t *testing.T) *realCloud {
	t.Helper()
	acctest.Skip(t)
	yaml := os.Getenv("GLANCE_IMPORT_CLOUDS_YAML")
	if yaml == "" {
		t.Skip("set GLANCE_IMPORT_CLOUDS_YAML (make import-realcloud-test does)")
	}
	r := &realCloud{yaml: yaml, cloud: os.Getenv("GLANCE_IMPORT_CLOUD"), mux: http.NewServeMux(), run: fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)}
	if r.cloud == "" {
		r.cloud = "realcloud"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	if err == nil {
		r.webOK = true
	} else if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r.mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { srv.Close() })
	r.src = "http://" + ln.Addr().String()
	return r
}

func (r *realCloud) name(s string) string { return "pp-acc-" + s + "-" + r.run }

func (r *realCloud) serve(path string, data []byte) string {
	r.mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
	})
	return r.src + path
}

func (r *realCloud) build(t *testing.T, body string, interrupt func(*exec.Cmd, *acctest.SyncBuffer)) acctest.Result {
	t.Helper()
	return acctest.Packer(t, acctest.Run{Dir: nullBuild(t, body), Args: []string{"build", "-color=false", "."},
		Env: []string{"OS_CLIENT_CONFIG_FILE=" + r.yaml, "OS_CLOUD=" + r.cloud}, Interrupt: interrupt})
}

// images lists the images of a name through the plugin's own session, and
// deletes them when the test ends.
func (r *realCloud) images(t *testing.T, name string) []images.Image {
	t.Helper()
	t.Setenv("OS_CLIENT_CONFIG_FILE", r.yaml)
	ac := access.AccessConfig{Cloud: r.cloud}
	if _, errs := ac.Prepare(); len(errs) > 0 {
		t.Fatal(errs)
	}
	sess, err := ac.Authenticate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	glance := osapi.New(sess).Glance()
	found, err := glance.ImagesNamed(context.Background(), name, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, img := range found {
			glance.DeleteImage(context.Background(), img.ID) //nolint:errcheck
		}
	})
	return found
}

func TestAccRealGlanceStreamsAndUploads(t *testing.T) {
	r := startRealCloud(t)
	data := qcow2Bytes(8 << 20)
	gz := r.serve("/blob", packed(t, "gzip", data))
	xzURL := r.serve("/xzblob", packed(t, "xz", data))
	file := acctest.WriteFile(t, t.TempDir(), "disk.qcow2", string(data))
	res := r.build(t, fmt.Sprintf(`
  post-processor "glance-import" {
    image_name       = "%s"
    image_source_url = "%s"
    properties       = { os_distro = "fedora", hw_disk_bus = "scsi" }
    min_disk         = 1
    tags             = ["acc"]
  }
  post-processor "glance-import" {
    image_name       = "%s"
    image_source_url = "%s"
  }
  post-processor "glance-import" {
    image_name      = "%s"
    local_file_path = "%s"
  }
  post-processor "glance-import" {
    image_name      = "%s"
    local_file_path = "%s"
    import_method   = "glance-direct"
  }`, r.name("gz"), gz, r.name("xz"), xzURL, r.name("file"), file, r.name("direct"), file), nil)
	if res.ExitCode != 0 {
		t.Fatalf("build failed:\n%s", res.Output)
	}
	for _, n := range []string{"gz", "xz", "file", "direct"} {
		imgs := r.images(t, r.name(n))
		if len(imgs) != 1 || imgs[0].Status != images.ImageStatusActive || imgs[0].SizeBytes != int64(len(data)) {
			t.Errorf("%s: images %+v", n, imgs)
		}
	}
	if !strings.Contains(res.Output, "Glance's sha512 matches") {
		t.Errorf("the upload was not compared with Glance's hash:\n%s", res.Output)
	}
	if img := r.images(t, r.name("gz")); len(img) == 1 && (img[0].Properties["os_distro"] != "fedora" || img[0].MinDiskGigabytes != 1) {
		t.Errorf("properties not set: %+v", img[0])
	}
}

func TestAccRealGlanceWebDownload(t *testing.T) {
	r := startRealCloud(t)
	if !r.webOK {
		t.Skip("port 8080 is busy: Glance's web-download filter allows no other free port here")
	}
	data := qcow2Bytes(4 << 20)
	url := r.serve("/plain.qcow2", data)
	res := r.build(t, fmt.Sprintf(`
  post-processor "glance-import" {
    image_name       = "%s"
    image_source_url = "%s"
  }`, r.name("web"), url), nil)
	if res.ExitCode != 0 || !strings.Contains(res.Output, "web-download") {
		t.Fatalf("web-download import:\n%s", res.Output)
	}
	if imgs := r.images(t, r.name("web")); len(imgs) != 1 || imgs[0].Status != images.ImageStatusActive {
		t.Fatalf("images %+v", imgs)
	}

	// Zed's web-download fails on a response without Content-Length; auto streams it.
	r.mux.HandleFunc("/chunked.qcow2", func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i < len(data); i += 1 << 20 {
			w.Write(data[i:min(i+1<<20, len(data))])
			w.(http.Flusher).Flush()
		}
	})
	res = r.build(t, fmt.Sprintf(`
  post-processor "glance-import" {
    image_name       = "%s"
    image_source_url = "%s/chunked.qcow2"
  }`, r.name("chunked"), r.src), nil)
	if res.ExitCode != 0 || !strings.Contains(res.Output, "chunked") {
		t.Fatalf("auto import of a chunked source:\n%s", res.Output)
	}
	if imgs := r.images(t, r.name("chunked")); len(imgs) != 1 || imgs[0].Status != images.ImageStatusActive {
		t.Fatalf("images %+v", imgs)
	}

	start := time.Now()
	res = r.build(t, fmt.Sprintf(`
  post-processor "glance-import" {
    image_name       = "%s"
    image_source_url = "%s/missing.qcow2"
    web_download     = true
  }`, r.name("webfail"), r.src), nil)
	took := time.Since(start)
	if res.ExitCode == 0 || !strings.Contains(res.Output, "queued") || strings.Contains(res.Output, "timed out") {
		t.Fatalf("a web-download that fails inside Glance:\n%s", res.Output)
	}
	t.Logf("the failed web-download was reported after %s", took.Round(time.Second))
	if imgs := r.images(t, r.name("webfail")); len(imgs) != 0 {
		t.Fatalf("the failed image was left behind: %+v", imgs)
	}
}

func TestAccRealGlanceChecksumMismatchLeavesNothing(t *testing.T) {
	r := startRealCloud(t)
	data := qcow2Bytes(2 << 20)
	sum := sha256.Sum256(append(bytes.Clone(data), 0))
	url := r.serve("/c.qcow2", data)
	res := r.build(t, fmt.Sprintf(`
  post-processor "glance-import" {
    image_name       = "%s"
    image_source_url = "%s"
    checksum         = "sha256:%s"
  }`, r.name("badsum"), url, hex.EncodeToString(sum[:])), nil)
	if res.ExitCode == 0 || !strings.Contains(res.Output, "checksum mismatch") {
		t.Fatalf("wrong checksum:\n%s", res.Output)
	}
	if imgs := r.images(t, r.name("badsum")); len(imgs) != 0 {
		t.Fatalf("left behind: %+v", imgs)
	}
}

func TestAccRealGlanceInterruptLeavesNothing(t *testing.T) {
	r := startRealCloud(t)
	chunk := qcow2Bytes(64 << 10)
	r.mux.HandleFunc("/slow", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(256<<20))
		for i := 0; i < (256<<20)/len(chunk); i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-req.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	res := r.build(t, `
  post-processor "glance-import" {
    image_name       = "`+r.name("ctrlc")+`"
    image_source_url = "`+r.src+`/slow"
    import_method    = "upload"
  }`, acctest.InterruptWhen("Uploading", 2*time.Minute))
	if !res.Interrupted {
		t.Fatalf("the build ended before the upload started: Ctrl-C was never pressed\n%s", res.Output)
	}
	if res.ExitCode == 0 || !strings.Contains(res.Output, "was deleted") {
		t.Fatalf("interrupted import:\n%s", res.Output)
	}
	if imgs := r.images(t, r.name("ctrlc")); len(imgs) != 0 {
		t.Fatalf("left behind: %+v", imgs)
	}
}
