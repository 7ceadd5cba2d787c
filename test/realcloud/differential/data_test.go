package differential

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"math/rand"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Glance image data: upload, download, staging + glance-direct, web-download.

// payload is deterministic pseudo-random data (incompressible enough to be a fair upload).
func payload(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func md5hex(b []byte) string    { s := md5.Sum(b); return hex.EncodeToString(s[:]) }
func sha512hex(b []byte) string { s := sha512.Sum512(b); return hex.EncodeToString(s[:]) }

// checkActive checks the data fields Glance sets once an image has data.
func checkActive(t *testing.T, img map[string]any, data []byte) {
	t.Helper()
	field(t, img, "status", "active")
	field(t, img, "size", len(data))
	field(t, img, "checksum", md5hex(data))
	field(t, img, "os_hash_algo", "sha512")
	field(t, img, "os_hash_value", sha512hex(data))
	if str(img, "stores") == "" {
		t.Errorf("stores missing or empty on an active image: %v", img["stores"])
	}
}

func TestUploadDownload(t *testing.T) {
	demo, _ := setup(t)
	data := payload(3<<20+17, 1)
	img := createImage(t, demo, map[string]any{"name": name("upload"), "disk_format": "raw", "container_format": "bare"})
	id := str(img, "id")

	t.Run("download before upload", func(t *testing.T) {
		// No data yet: 204 No Content, not 404.
		r := demo.Do(t, "GET", "/v2/images/"+id+"/file", nil, nil)
		checkStatus(t, r, 204)
	})

	r := demo.Do(t, "PUT", "/v2/images/"+id+"/file", data, nil)
	expectStatus(t, r, 204)
	got := getImage(t, demo, id)
	checkActive(t, got, data)
	t.Logf("after upload: stores=%v virtual_size=%v direct_url=%v", got["stores"], got["virtual_size"], got["direct_url"])

	t.Run("download", func(t *testing.T) {
		r := demo.Do(t, "GET", "/v2/images/"+id+"/file", nil, nil)
		expectStatus(t, r, 200)
		if !bytes.Equal(r.Body, data) {
			t.Errorf("downloaded %d bytes, not the %d uploaded", len(r.Body), len(data))
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("Content-Type %q", ct)
		}
		// Glance sends the md5 hex digest (not base64) as Content-MD5.
		if h := r.Header.Get("Content-MD5"); h != md5hex(data) {
			t.Errorf("Content-MD5 = %q, want %s", h, md5hex(data))
		}
	})
	t.Run("download range", func(t *testing.T) {
		r := demo.Do(t, "GET", "/v2/images/"+id+"/file", nil, map[string]string{"Range": "bytes=10-19"})
		expectStatus(t, r, 206)
		if !bytes.Equal(r.Body, data[10:20]) {
			t.Errorf("range 10-19: %d bytes, not the data's", len(r.Body))
		}
		if h := r.Header.Get("Content-Range"); h != "bytes 10-19/"+strconv.Itoa(len(data)) {
			t.Errorf("Content-Range = %q", h)
		}
		// Content-MD5 stays the whole image's.
		if h := r.Header.Get("Content-MD5"); h != md5hex(data) {
			t.Errorf("Content-MD5 on a range = %q, want %s", h, md5hex(data))
		}
		r = demo.Do(t, "GET", "/v2/images/"+id+"/file", nil, map[string]string{"Range": "bytes=" + strconv.Itoa(len(data)+5) + "-"})
		checkStatus(t, r, 416)
	})
	t.Run("second upload", func(t *testing.T) {
		checkStatus(t, demo.Do(t, "PUT", "/v2/images/"+id+"/file", []byte("again"), nil), 409)
	})
	t.Run("stage on active image", func(t *testing.T) {
		checkStatus(t, demo.Do(t, "PUT", "/v2/images/"+id+"/stage", []byte("again"), nil), 409)
	})
	t.Run("import on active image", func(t *testing.T) {
		r := demo.Do(t, "POST", "/v2/images/"+id+"/import", map[string]any{"method": map[string]any{"name": "glance-direct"}}, nil)
		checkStatus(t, r, 409)
	})
	t.Run("copy-image as member", func(t *testing.T) {
		r := demo.Do(t, "POST", "/v2/images/"+id+"/import",
			map[string]any{"method": map[string]any{"name": "copy-image"}, "stores": []string{str(got, "stores")}}, nil)
		checkStatus(t, r, 403)
	})
}

func TestUploadSizeHeaderIgnored(t *testing.T) {
	demo, _ := setup(t)
	// Glance does not compare X-OpenStack-Image-Size with the data.
	img := createImage(t, demo, map[string]any{"name": name("sizehdr"), "disk_format": "raw", "container_format": "bare"})
	r := demo.Do(t, "PUT", "/v2/images/"+str(img, "id")+"/file", []byte("abcd"), map[string]string{"X-OpenStack-Image-Size": "10"})
	checkStatus(t, r, 204)
	field(t, getImage(t, demo, str(img, "id")), "size", 4)
}

func TestUploadWithoutFormats(t *testing.T) {
	demo, _ := setup(t)
	// Data needs disk_format and container_format first.
	img := createImage(t, demo, map[string]any{"name": name("noformat")})
	r := demo.Do(t, "PUT", "/v2/images/"+str(img, "id")+"/file", []byte("data"), nil)
	checkStatus(t, r, 400)
	field(t, getImage(t, demo, str(img, "id")), "status", "queued")
}

func TestGlanceDirect(t *testing.T) {
	demo, _ := setup(t)
	data := payload(1<<20, 2)
	img := createImage(t, demo, map[string]any{"name": name("direct"), "disk_format": "raw", "container_format": "bare"})
	id := str(img, "id")

	t.Run("import before staging", func(t *testing.T) {
		r := demo.Do(t, "POST", "/v2/images/"+id+"/import", map[string]any{"method": map[string]any{"name": "glance-direct"}}, nil)
		checkStatus(t, r, 409)
	})

	expectStatus(t, demo.Do(t, "PUT", "/v2/images/"+id+"/stage", data, nil), 204)
	staged := getImage(t, demo, id)
	field(t, staged, "status", "uploading")
	t.Logf("after stage: size=%v checksum=%v %v", staged["size"], staged["checksum"], importProps(staged))

	r := demo.Do(t, "POST", "/v2/images/"+id+"/import", map[string]any{"method": map[string]any{"name": "glance-direct"}}, nil)
	expectStatus(t, r, 202)
	if len(bytes.TrimSpace(r.Body)) != 0 {
		t.Errorf("import 202 body: %s, want it empty", r.Body)
	}
	start := time.Now()
	done := waitImage(t, demo, id, 60*time.Second, "active", func(m map[string]any) bool { return m["status"] == "active" })
	t.Logf("glance-direct active after %s: %v", time.Since(start).Round(time.Millisecond), importProps(done))
	checkActive(t, done, data)
	// The import lock (os_glance_import_task) can still be there for a moment after status turns
	// active; it is then removed.
	done = waitImage(t, demo, id, 10*time.Second, "unlocked", func(m map[string]any) bool {
		_, locked := m["os_glance_import_task"]
		return !locked
	})
	field(t, done, "os_glance_failed_import", "")
	field(t, done, "os_glance_importing_to_stores", "")
}

func TestImportUnknownMethod(t *testing.T) {
	demo, _ := setup(t)
	img := createImage(t, demo, map[string]any{"name": name("badmethod"), "disk_format": "raw", "container_format": "bare"})
	r := demo.Do(t, "POST", "/v2/images/"+str(img, "id")+"/import", map[string]any{"method": map[string]any{"name": "carrier-pigeon"}}, nil)
	checkStatus(t, r, 400)
}

// webSource serves files for web-download on 127.0.0.1 (Glance's filter allows only its listed
// ports there) and counts requests per path.
type webSource struct {
	base  string
	mu    sync.Mutex
	files map[string][]byte
	hits  map[string]int
}

func startWebSource(t *testing.T) *webSource {
	t.Helper()
	// DIFF_WEB_PORT when set; otherwise 8080, then 8000 if another test holds 8080 (both are in
	// the real cloud's allowed_ports).
	ports := []string{cfg.webPort}
	if cfg.webPort == "" {
		ports = []string{"8080", "8000"}
	}
	var ln net.Listener
	var err error
	port := ""
	for _, port = range ports {
		if ln, err = net.Listen("tcp", "127.0.0.1:"+port); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("web-download source on 127.0.0.1:%v: %v (set DIFF_WEB_PORT to a free allowed port)", ports, err)
	}
	ws := &webSource{base: "http://127.0.0.1:" + port, files: map[string][]byte{}, hits: map[string]int{}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws.mu.Lock()
		ws.hits[r.URL.Path]++
		b, ok := ws.files[r.URL.Path]
		ws.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		// Glance's web-download reads Content-Length and fails without it: a "/chunked/" path
		// leaves it out on purpose (Go then sends the body chunked).
		if !strings.HasPrefix(r.URL.Path, "/chunked/") {
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		}
		_, _ = w.Write(b)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ws
}

func (ws *webSource) add(path string, b []byte) string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.files[path] = b
	return ws.base + path
}

func (ws *webSource) count(path string) int {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.hits[path]
}

func webDownload(t *testing.T, s *session, id, uri string) *response {
	t.Helper()
	return s.Do(t, "POST", "/v2/images/"+id+"/import",
		map[string]any{"method": map[string]any{"name": "web-download", "uri": uri}}, nil)
}

func TestWebDownload(t *testing.T) {
	demo, _ := setup(t)
	ws := startWebSource(t)

	t.Run("plain", func(t *testing.T) {
		data := payload(2<<20, 3)
		uri := ws.add("/plain.raw", data)
		img := createImage(t, demo, map[string]any{"name": name("web"), "disk_format": "raw", "container_format": "bare"})
		id := str(img, "id")
		expectStatus(t, webDownload(t, demo, id, uri), 202)
		start := time.Now()
		done := waitImage(t, demo, id, 60*time.Second, "active", activeOrFailed(t))
		t.Logf("web-download active after %s; %d GET(s) of the source; %v", time.Since(start).Round(time.Millisecond), ws.count("/plain.raw"), importProps(done))
		checkActive(t, done, data)
	})

	t.Run("source without Content-Length", func(t *testing.T) {
		uri := ws.add("/chunked/disk.raw", payload(1<<20, 5))
		img := createImage(t, demo, map[string]any{"name": name("web-chunked"), "disk_format": "raw", "container_format": "bare"})
		id := str(img, "id")
		expectStatus(t, webDownload(t, demo, id, uri), 202)
		done := waitImage(t, demo, id, 60*time.Second, "failed", importFailed)
		field(t, done, "status", "queued")
		if str(done, "os_glance_failed_import") == "" {
			t.Error("os_glance_failed_import empty after a failed import")
		}
	})

	t.Run("gzip is decompressed by the image_decompression plugin", func(t *testing.T) {
		data := payload(1<<20, 4)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write(data)
		_ = zw.Close()
		uri := ws.add("/disk.raw.gz", gz.Bytes())
		img := createImage(t, demo, map[string]any{"name": name("web-gz"), "disk_format": "raw", "container_format": "bare"})
		id := str(img, "id")
		expectStatus(t, webDownload(t, demo, id, uri), 202)
		done := waitImage(t, demo, id, 60*time.Second, "active", activeOrFailed(t))
		// Size and hashes are those of the decompressed bytes.
		checkActive(t, done, data)
	})

	t.Run("404 source", func(t *testing.T) {
		img := createImage(t, demo, map[string]any{"name": name("web-404"), "disk_format": "raw", "container_format": "bare"})
		id := str(img, "id")
		expectStatus(t, webDownload(t, demo, id, ws.base+"/missing.raw"), 202)
		start := time.Now()
		// The import fails in the background: the image goes back to queued and the import lock
		// (os_glance_import_task) is released.
		done := waitImage(t, demo, id, 60*time.Second, "back to queued with the import lock released", func(m map[string]any) bool {
			_, locked := m["os_glance_import_task"]
			return m["status"] == "queued" && !locked && time.Since(start) > 0 && ws.count("/missing.raw") > 0
		})
		t.Logf("404 import settled after %s: status=%v %v", time.Since(start).Round(time.Millisecond), done["status"], importProps(done))
		field(t, done, "status", "queued")
		field(t, done, "size", nil)

		// The failed task is readable through the image's tasks.
		r := demo.Do(t, "GET", "/v2/images/"+id+"/tasks", nil, nil)
		if !checkStatus(t, r, 200) {
			return
		}
		tasks := list(r.JSON(), "tasks")
		if len(tasks) != 1 {
			t.Fatalf("tasks: %s", r)
		}
		task := tasks[0].(map[string]any)
		field(t, task, "type", "api_image_import")
		field(t, task, "image_id", id)
		t.Logf("task status=%v message=%q result=%v", task["status"], task["message"], task["result"])
		task = waitTask(t, demo, id, "failure")
		// Glance's executor does not pass the reason on: the message is its generic one.
		field(t, task, "message", "Task failed due to Internal Error")
		field(t, task, "result", nil)
		field(t, task, "deleted", false)
		field(t, task, "deleted_at", nil)
		field(t, obj(task, "input"), "backend", []string{"file1"})
		field(t, obj(obj(task, "input"), "import_req"), "method", map[string]any{"name": "web-download", "uri": ws.base + "/missing.raw"})
		// Task times are the database's: microseconds and no zone.
		for _, k := range []string{"created_at", "updated_at", "expires_at"} {
			if v := str(task, k); len(v) != len("2006-01-02T15:04:05.000000") || strings.HasSuffix(v, "Z") {
				t.Errorf("task %s = %q, want 2006-01-02T15:04:05.000000 form", k, v)
			}
		}
	})

	t.Run("port not allowed", func(t *testing.T) {
		img := createImage(t, demo, map[string]any{"name": name("web-port"), "disk_format": "raw", "container_format": "bare"})
		r := webDownload(t, demo, str(img, "id"), "http://127.0.0.1:9/disk.raw")
		checkStatus(t, r, 400)
		field(t, getImage(t, demo, str(img, "id")), "status", "queued")
	})
	t.Run("scheme not allowed", func(t *testing.T) {
		img := createImage(t, demo, map[string]any{"name": name("web-scheme"), "disk_format": "raw", "container_format": "bare"})
		r := webDownload(t, demo, str(img, "id"), "ftp://127.0.0.1:8080/disk.raw")
		checkStatus(t, r, 400)
	})
}

// importFailed: the import gave up (Glance lists the stores that failed).
func importFailed(m map[string]any) bool { return str(m, "os_glance_failed_import") != "" }

// activeOrFailed is a waitImage condition that stops at active, and fails the test at once when
// the import failed instead of waiting out the timeout.
func activeOrFailed(t *testing.T) func(map[string]any) bool {
	return func(m map[string]any) bool {
		if importFailed(m) {
			t.Fatalf("import failed: status %v, %v", m["status"], importProps(m))
		}
		return m["status"] == "active"
	}
}

// waitTask waits until the image's newest import task reaches status.
func waitTask(t *testing.T, s *session, id, status string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := s.Do(t, "GET", "/v2/images/"+id+"/tasks", nil, nil)
		expectStatus(t, r, 200)
		tasks := list(r.JSON(), "tasks")
		if len(tasks) > 0 {
			task := tasks[0].(map[string]any)
			if task["status"] == status {
				return task
			}
			if time.Now().After(deadline) {
				t.Fatalf("task of image %s: status %v, want %s", id, task["status"], status)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("image %s has no task", id)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
