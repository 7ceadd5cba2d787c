package glanceimport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// testCloud is the in-process OpenStack (internal/testcloud) the engine's tests
// import into, with the project the engine's session is scoped to.
type testCloud struct {
	*testcloud.Cloud
	owner string
}

// startCloud runs the test cloud and returns the engine's adapter, built
// through the plugin's real session (and so its transport and retry policy),
// logged in as the member demo.
func startCloud(t testing.TB, opts testcloud.Options) (*testCloud, Glance) {
	t.Helper()
	return startCloudAs(t, opts, testcloud.DemoUser, testcloud.DemoPassword, testcloud.DemoProject)
}

// startCloudAs is startCloud logged in as another user, e.g. admin, whom Glance
// lets accept an image on a member project's behalf.
func startCloudAs(t testing.TB, opts testcloud.Options, user, password, project string) (*testCloud, Glance) {
	t.Helper()
	// No seeded resources: they cost startup time and are not what these tests import.
	opts.NoSeed = true
	// Source servers listen on random ports; Glance's port filter is its config's business.
	opts.AllowAnyWebDownloadPort = true
	if opts.ImageDelay == 0 {
		opts.ImageDelay = 20 * time.Millisecond
	}
	if opts.ImportLockLinger == 0 {
		opts.ImportLockLinger = 20 * time.Millisecond
	}
	cloud, err := testcloud.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cloud.Close() })
	ac := access.AccessConfig{
		IdentityEndpoint: cloud.AuthURL(), Username: user, Password: password,
		ProjectName: project, UserDomainName: "Default", ProjectDomainName: "Default", Region: "RegionOne",
	}
	for _, k := range []string{"OS_CLOUD", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_CLIENT_CONFIG_FILE", "OS_REGION_NAME"} {
		t.Setenv(k, "")
	}
	if _, errs := ac.Prepare(); len(errs) > 0 {
		t.Fatal(errs)
	}
	sess, err := ac.Authenticate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return &testCloud{Cloud: cloud, owner: sess.Project.ID}, osapi.New(sess).Glance()
}

// request fills what every test's request needs: a quiet Say, a name, and the
// session's project as owner, as the post-processor passes it.
func (c *testCloud) request(r Request) Request {
	r.Say = func(string) {}
	if r.Image.Name == "" {
		r.Image.Name = "test-image"
	}
	if r.OwnerID == "" {
		r.OwnerID = c.owner
	}
	return r
}

// requests lists the logged calls of one operation, e.g. image.upload.
func (c *testCloud) requests(op string) []testcloud.Request {
	var out []testcloud.Request
	for _, r := range c.Requests() {
		if r.Op == op {
			out = append(out, r)
		}
	}
	return out
}

// data reads back the data Glance stored for an image.
func (c *testCloud) data(t *testing.T, id string) []byte {
	t.Helper()
	rc, err := c.ImageData(id)
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

// images lists the images of the default region.
func (c *testCloud) images() []testcloud.Image { return c.Images("") }

// raced lists the changes clients made to an image while its import task still
// held it. On a real Glance such a change races the task's own database updates
// and can fail with a 500.
func (c *testCloud) raced() []string {
	var out []string
	for _, r := range c.Requests() {
		switch {
		case r.ImportTask == "" || r.Method == http.MethodGet:
		case r.Op == "image.upload" || r.Op == "image.stage" || r.Op == "image.import":
			// These are the import itself; Glance refuses them while it is locked.
		default:
			out = append(out, r.Method+" "+r.Path+" ("+r.Op+")")
		}
	}
	return out
}

// addImage makes an active image of this name through the API, as another
// build would have.
func addImage(t *testing.T, g Glance, name string, protected bool) string {
	t.Helper()
	ctx := context.Background()
	img, err := g.CreateImage(ctx, images.CreateOpts{Name: name, DiskFormat: "qcow2", ContainerFormat: "bare", Protected: &protected})
	if err != nil {
		t.Fatal(err)
	}
	data := fakeQcow2(64 << 10)
	if err := g.Upload(ctx, img.ID, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	return img.ID
}

// sourceServer serves one body at /download with a misleading Content-Type, and
// whatever else a test adds to its mux.
type sourceServer struct {
	*httptest.Server
	mux      *http.ServeMux
	gets     atomic.Int32
	ranges   []string
	mu       sync.Mutex
	failures atomic.Int32 // answer 503 this many times first
	breakAt  atomic.Int64 // cut the first full response after this many bytes
}

func newSourceServer(t testing.TB, body []byte) *sourceServer {
	s := &sourceServer{mux: http.NewServeMux()}
	s.mux.HandleFunc("/download", func(w http.ResponseWriter, r *http.Request) {
		s.gets.Add(1)
		if s.failures.Load() > 0 {
			s.failures.Add(-1)
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8") // deliberately wrong
		w.Header().Set("Accept-Ranges", "bytes")
		w.Header().Set("ETag", `"v1"`)
		if rg := r.Header.Get("Range"); rg != "" {
			s.mu.Lock()
			s.ranges = append(s.ranges, rg)
			s.mu.Unlock()
			from, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
			if rg == fmt.Sprintf("bytes=0-%d", sniffLen-1) {
				from = 0
				w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", min(sniffLen, len(body))-1, len(body)))
				w.Header().Set("Content-Length", strconv.Itoa(min(sniffLen, len(body))))
				w.WriteHeader(http.StatusPartialContent)
				w.Write(body[:min(sniffLen, len(body))])
				return
			}
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(body)-1, len(body)))
			w.Header().Set("Content-Length", strconv.Itoa(len(body)-from))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(body[from:])
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if cut := s.breakAt.Swap(0); cut > 0 {
			w.WriteHeader(200)
			w.Write(body[:cut])
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		w.Write(body)
	})
	s.Server = httptest.NewServer(s.mux)
	t.Cleanup(s.Close)
	return s
}

func (s *sourceServer) url() string { return s.URL + "/download" }

func sha512Of(b []byte) string { s := sha512.Sum512(b); return hex.EncodeToString(s[:]) }
func sha256Of(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func requireNoImages(t *testing.T, cloud *testCloud) {
	t.Helper()
	if imgs := cloud.images(); len(imgs) != 0 {
		t.Fatalf("a failed import left %d images behind: %v", len(imgs), imgs)
	}
}

func TestImportLocalFileSendsContentLengthAndSetsImageFields(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{})
	data := fakeQcow2(3<<20 + 123)
	path := filepath.Join(t.TempDir(), "disk.qcow2")
	os.WriteFile(path, data, 0o600)
	res, err := Import(context.Background(), g, cloud.request(Request{
		Source: Source{File: path},
		Image: ImageSpec{Name: "local", DiskFormat: "auto", Visibility: "community", MinDisk: 3, MinRAM: 512,
			Tags: []string{"golden"}, Protected: true, Hidden: true,
			Properties: map[string]string{"os_distro": "fedora", "hw_disk_bus": "scsi"}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Method != MethodUpload || res.Image.Status != "active" || res.Image.DiskFormat != "qcow2" {
		t.Fatalf("result: method %s, image %+v", res.Method, res.Image)
	}
	// A known length, not chunked (ContentLength -1 would say chunked).
	ups := cloud.requests("image.upload")
	if len(ups) != 1 || ups[0].ContentLength != int64(len(data)) || ups[0].Headers["X-Openstack-Image-Size"] != strconv.Itoa(len(data)) {
		t.Fatalf("upload was not sent with its length: %+v", ups)
	}
	if res.UploadedSHA512 != sha512Of(data) {
		t.Fatal("uploaded hash differs from the file's")
	}
	img := cloud.images()[0]
	got := map[string]any{"visibility": img.Visibility, "min_disk": img.MinDisk, "min_ram": img.MinRAM, "protected": img.Protected,
		"os_hidden": img.Hidden, "os_distro": img.Properties["os_distro"], "hw_disk_bus": img.Properties["hw_disk_bus"],
		"container_format": img.ContainerFormat}
	want := map[string]any{"visibility": "community", "min_disk": 3, "min_ram": 512, "protected": true,
		"os_hidden": true, "os_distro": "fedora", "hw_disk_bus": "scsi", "container_format": "bare"}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("image %s = %v, want %v", k, got[k], v)
		}
	}
	if fmt.Sprint(img.Tags) != "[golden]" {
		t.Errorf("tags = %v", img.Tags)
	}
}

func TestImportDecompressesByContentNotByHeaders(t *testing.T) {
	plain := fakeQcow2(2<<20 + 77)
	for _, c := range []Compression{Gzip, Bzip2, Xz, Zstd} {
		t.Run(string(c), func(t *testing.T) {
			cloud, g := startCloud(t, testcloud.Options{})
			src := newSourceServer(t, compress(t, c, plain))
			res, err := Import(context.Background(), g, cloud.request(Request{Source: Source{URL: src.url()}}))
			if err != nil {
				t.Fatal(err)
			}
			if res.Compression != c || res.Method != MethodUpload {
				t.Fatalf("compression %q via %s, want %q via upload", res.Compression, res.Method, c)
			}
			if got := cloud.data(t, res.Image.ID); !bytes.Equal(got, plain) {
				t.Fatalf("Glance holds %d bytes that differ from the %d decompressed bytes", len(got), len(plain))
			}
			if ups := cloud.requests("image.upload"); len(ups) != 1 || ups[0].ContentLength != -1 {
				t.Fatalf("a decompressed stream has no known length, want chunked: %+v", ups)
			}
		})
	}
}

func TestImportPlainURLUsesWebDownload(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{})
	data := fakeQcow2(1 << 20)
	src := newSourceServer(t, data)
	res, err := Import(context.Background(), g, cloud.request(Request{Source: Source{URL: src.url()}, Image: ImageSpec{DiskFormat: "auto"}}))
	if err != nil {
		t.Fatal(err)
	}
	if ups := cloud.requests("image.upload"); res.Method != MethodWebDownload || len(ups) != 0 {
		t.Fatalf("method %s with %d uploads; want web-download and none", res.Method, len(ups))
	}
	if res.Image.Properties["os_hash_value"] != sha512Of(data) || res.Image.DiskFormat != "qcow2" {
		t.Fatalf("image %+v", res.Image)
	}
	// The plugin only looked at the first bytes, asking for just those.
	if len(src.ranges) != 1 || src.ranges[0] != fmt.Sprintf("bytes=0-%d", sniffLen-1) {
		t.Fatalf("probe ranges %v", src.ranges)
	}
}

func TestImportWithoutWebDownloadOnTheCloudStreams(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{ImportMethods: []string{"glance-direct"}})
	src := newSourceServer(t, fakeQcow2(1<<20))
	res, err := Import(context.Background(), g, cloud.request(Request{Source: Source{URL: src.url()}}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Method != MethodUpload || len(cloud.requests("image.upload")) != 1 {
		t.Fatalf("method %s; want upload", res.Method)
	}
	if _, err := Import(context.Background(), g, cloud.request(Request{Source: Source{URL: src.url()}, Method: MethodWebDownload, Image: ImageSpec{Name: "other"}})); err == nil || !strings.Contains(err.Error(), "does not offer the web-download") {
		t.Fatalf("explicit web-download on a cloud without it: %v", err)
	}
}

func TestImportFailedWebDownloadFailsAtOnceWithTaskMessage(t *testing.T) {
	// The import is accepted, then its task fails with this message.
	cloud, g := startCloud(t, testcloud.Options{Faults: []testcloud.Fault{{Op: "image.import", Action: testcloud.ActionFail,
		Message: "URI for web-download does not pass filtering"}}})
	src := newSourceServer(t, fakeQcow2(1<<20))
	_, err := Import(context.Background(), g, cloud.request(Request{Source: Source{URL: src.url()}, Method: MethodWebDownload, Timeout: 10 * time.Minute}))
	if err == nil {
		t.Fatal("a failed web-download succeeded")
	}
	for _, want := range []string{"does not pass filtering", "web-download", "queued", src.url(), "deleted"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if errors.Is(err, retry.ErrWaitTimeout) {
		t.Fatal("the failure was reported as a timeout")
	}
	requireNoImages(t, cloud)
}

func TestImportGlanceDirect(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{})
	data := fakeQcow2(1<<20 + 5)
	path := filepath.Join(t.TempDir(), "d.qcow2")
	os.WriteFile(path, data, 0o600)
	res, err := Import(context.Background(), g, cloud.request(Request{Source: Source{File: path}, Method: MethodGlanceDirect}))
	if err != nil {
		t.Fatal(err)
	}
	stages, ups := cloud.requests("image.stage"), cloud.requests("image.upload")
	if len(stages) != 1 || len(ups) != 0 || !bytes.Equal(cloud.data(t, res.Image.ID), data) {
		t.Fatalf("glance-direct did not stage the data: %d stage and %d upload calls", len(stages), len(ups))
	}
}

func TestImportChecksum(t *testing.T) {
	plain := fakeQcow2(1 << 20)
	packed := compress(t, Gzip, plain)
	t.Run("value matches the compressed source", func(t *testing.T) {
		cloud, g := startCloud(t, testcloud.Options{})
		src := newSourceServer(t, packed)
		res, err := Import(context.Background(), g, cloud.request(Request{Source: Source{URL: src.url()}, Checksum: "sha256:" + sha256Of(packed)}))
		if err != nil {
			t.Fatal(err)
		}
		if res.SourceChecksum != "sha256:"+sha256Of(packed) {
			t.Fatalf("SourceChecksum = %q", res.SourceChecksum)
		}
	})
	t.Run("SUMS file", func(t *testing.T) {
		cloud, g := startCloud(t, testcloud.Options{})
		src := newSourceServer(t, packed)
		src.mux.HandleFunc("/SHA256SUMS", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s  other\n%s *download\n", strings.Repeat("0", 64), sha256Of(packed))
		})
		if _, err := Import(context.Background(), g, cloud.request(Request{Source: Source{URL: src.url()}, Checksum: "file:" + src.URL + "/SHA256SUMS"})); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("mismatch deletes the image", func(t *testing.T) {
		cloud, g := startCloud(t, testcloud.Options{})
		src := newSourceServer(t, packed)
		_, err := Import(context.Background(), g, cloud.request(Request{Source: Source{URL: src.url()}, Checksum: "md5:" + strings.Repeat("ab", 16)}))
		if err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
			t.Fatalf("mismatch: %v", err)
		}
		requireNoImages(t, cloud)
	})
}

func TestImportMissingURLCreatesNoImage(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{})
	src := newSourceServer(t, nil)
	for _, m := range []Method{MethodAuto, MethodUpload} {
		_, err := Import(context.Background(), g, cloud.request(Request{Source: Source{URL: src.URL + "/nothing-here.qcow2"}, Method: m}))
		if err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("%s: a 404 source gave %v", m, err)
		}
	}
	requireNoImages(t, cloud)
}

func TestImportRetriesServerErrorsButNot4xx(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{})
	data := fakeQcow2(256 << 10)
	src := newSourceServer(t, data)
	src.failures.Store(2)
	if _, err := Import(context.Background(), g, cloud.request(Request{Source: Source{URL: src.url()}, Method: MethodUpload})); err != nil {
		t.Fatal(err)
	}
	if n := src.gets.Load(); n != 3 {
		t.Fatalf("%d GETs, want 2 failed and 1 good", n)
	}

	var forbidden atomic.Int32
	deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		forbidden.Add(1)
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer deny.Close()
	if _, err := Import(context.Background(), g, cloud.request(Request{Source: Source{URL: deny.URL + "/x.qcow2"}, Method: MethodUpload, Image: ImageSpec{Name: "denied"}})); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("403: %v", err)
	}
	if forbidden.Load() != 1 {
		t.Fatalf("a 403 was retried: %d requests", forbidden.Load())
	}
}

func TestImportResumesABrokenDownloadWithRange(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{})
	data := fakeQcow2(3 << 20)
	src := newSourceServer(t, data)
	src.breakAt.Store(1<<20 + 7)
	res, err := Import(context.Background(), g, cloud.request(Request{Source: Source{URL: src.url()}, Method: MethodUpload}))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cloud.data(t, res.Image.ID), data) {
		t.Fatal("resumed data differs")
	}
	if len(src.ranges) != 1 || src.ranges[0] != fmt.Sprintf("bytes=%d-", 1<<20+7) {
		t.Fatalf("range requests %v", src.ranges)
	}
}

func TestImportNameClash(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{})
	old := addImage(t, g, "golden", false)
	keep := addImage(t, g, "golden", true)
	cloud.ResetRequests()
	path := filepath.Join(t.TempDir(), "d.qcow2")
	os.WriteFile(path, fakeQcow2(64<<10), 0o600)
	req := cloud.request(Request{Source: Source{File: path}, Image: ImageSpec{Name: "golden"}})
	if _, err := Import(context.Background(), g, req); err == nil || !strings.Contains(err.Error(), "image_force") {
		t.Fatalf("an existing name: %v", err)
	}
	if len(cloud.requests("image.upload")) != 0 || len(cloud.images()) != 2 {
		t.Fatal("data was sent or an image created despite the clash")
	}
	req.Force = true
	res, err := Import(context.Background(), g, req)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Replaced) != "["+old+"]" {
		t.Fatalf("replaced %v, want [%s]", res.Replaced, old)
	}
	// Glance keeps times to the second: the order of images made in one second is not theirs.
	var ids []string
	for _, img := range cloud.images() {
		ids = append(ids, img.ID)
	}
	sort.Strings(ids)
	want := []string{keep, res.Image.ID}
	sort.Strings(want)
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("images left %v; want the protected old one and the new one (%v)", ids, want)
	}
}

func TestImportDecompressTrueRejectsPlainData(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{})
	src := newSourceServer(t, fakeQcow2(64<<10))
	_, err := Import(context.Background(), g, cloud.request(Request{Source: Source{URL: src.url()}, Decompress: DecompressAlways}))
	if err == nil || !strings.Contains(err.Error(), "not gzip, bzip2, xz or zstd") {
		t.Fatalf("plain data with decompress=true: %v", err)
	}
	requireNoImages(t, cloud)
}

func TestImportSharesWithMembers(t *testing.T) {
	// Glance lets only the member project, or an admin, accept an image.
	cloud, g := startCloudAs(t, testcloud.Options{}, testcloud.AdminUser, testcloud.AdminPassword, testcloud.AdminProject)
	path := filepath.Join(t.TempDir(), "d.qcow2")
	os.WriteFile(path, fakeQcow2(64<<10), 0o600)
	res, err := Import(context.Background(), g, cloud.request(Request{Source: Source{File: path},
		Image: ImageSpec{Visibility: "shared", Members: []string{"p1", "p2"}, AutoAcceptMembers: true}}))
	if err != nil {
		t.Fatal(err)
	}
	if img, _ := cloud.GetImage(res.Image.ID); img.Members["p1"] != "accepted" || img.Members["p2"] != "accepted" {
		t.Fatalf("members %v", img.Members)
	}
}

// slowReader yields some data, then blocks until its context ends: an upload
// that is still running when the user presses Ctrl-C.
type slowReader struct {
	ctx  context.Context
	sent int
}

func (s *slowReader) Read(p []byte) (int, error) {
	if s.sent < 2<<20 {
		n := min(len(p), 2<<20-s.sent)
		copy(p, make([]byte, n))
		s.sent += n
		return n, nil
	}
	<-s.ctx.Done()
	return 0, s.ctx.Err()
}

func TestImportCancelStopsTheUploadAndDeletesTheImage(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	blocked, unblock := context.WithCancel(context.Background())
	defer unblock()
	// Ctrl-C once Glance is receiving the data (the image is saving).
	go func() {
		for ctx.Err() == nil {
			for _, img := range cloud.images() {
				if img.Status == "saving" {
					cancel()
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	_, err := Import(ctx, g, cloud.request(Request{Source: Source{Reader: &slowReader{ctx: blocked}, Name: "stream", Size: 100 << 20}, Image: ImageSpec{DiskFormat: "raw"}}))
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("cancelled import: %v", err)
	}
	requireNoImages(t, cloud)
}

func TestImportCallOmitsUnsetStoreFields(t *testing.T) {
	body, _ := ImportCall{Method: "glance-direct"}.ToImportCreateMap()
	if fmt.Sprint(body) != "map[method:map[name:glance-direct]]" {
		t.Fatalf("body %v", body)
	}
	no := false
	body, _ = ImportCall{Method: "web-download", URI: "http://x", Stores: []string{"a"}, AllStoresMustSucceed: &no}.ToImportCreateMap()
	if fmt.Sprint(body) != "map[all_stores_must_succeed:false method:map[name:web-download uri:http://x] stores:[a]]" {
		t.Fatalf("body %v", body)
	}
}

// failingUpload is a Glance whose upload breaks after reading some data, as a
// proxy or a full store would.
type failingUpload struct {
	Glance
}

func (f failingUpload) Upload(ctx context.Context, id string, data io.Reader, size int64) error {
	if _, err := io.CopyN(io.Discard, data, 1<<20); err != nil {
		return err
	}
	return errors.New("HTTP 413: the store is full")
}

// stalledAfter yields data, then blocks until released: a source that stops
// sending while the import has already failed elsewhere.
type stalledAfter struct {
	data    []byte
	release <-chan struct{}
}

func (s *stalledAfter) Read(p []byte) (int, error) {
	if len(s.data) > 0 {
		n := copy(p, s.data)
		s.data = s.data[n:]
		return n, nil
	}
	<-s.release
	return 0, io.ErrUnexpectedEOF
}

func TestImportUploadFailureWithStalledSourceEndsAndCleansUp(t *testing.T) {
	for _, c := range []Compression{Xz, Gzip} {
		t.Run(string(c), func(t *testing.T) {
			cloud, g := startCloud(t, testcloud.Options{})
			packed := compress(t, c, fakeQcow2(4<<20))
			release := make(chan struct{})
			defer close(release)
			src := &stalledAfter{data: packed[:len(packed)*3/4], release: release}
			_, err := Import(context.Background(), failingUpload{g}, cloud.request(Request{Source: Source{Reader: src, Name: "stalled"}}))
			if err == nil || !strings.Contains(err.Error(), "store is full") {
				t.Fatalf("upload failure: %v", err)
			}
			requireNoImages(t, cloud)
		})
	}
}

func TestImportAutoStreamsAChunkedSource(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{})
	data := fakeQcow2(256 << 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// No Content-Length and no ranges: Go answers chunked.
		for i := 0; i < len(data); i += 64 << 10 {
			w.Write(data[i : i+64<<10])
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	res, err := Import(context.Background(), g, cloud.request(Request{Source: Source{URL: srv.URL + "/x.qcow2"}}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Method != MethodUpload || len(cloud.requests("image.upload")) != 1 {
		t.Fatalf("a chunked source went to %s; Glance's web-download (Zed) fails without a length", res.Method)
	}
}

func TestImportKeepFailedImage(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{})
	src := newSourceServer(t, fakeQcow2(256<<10))
	_, err := Import(context.Background(), g, cloud.request(Request{Source: Source{URL: src.url()}, KeepFailedImage: true,
		Checksum: "sha256:" + strings.Repeat("1", 64)}))
	if err == nil || !strings.Contains(err.Error(), "kept") {
		t.Fatalf("failure with keep_failed_image: %v", err)
	}
	if imgs := cloud.images(); len(imgs) != 1 {
		t.Fatalf("%d images; the failed one should be kept", len(imgs))
	}
}

func TestImportURLWithCredentialsNeverGoesToGlance(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{})
	src := newSourceServer(t, fakeQcow2(1<<20))
	withCreds := strings.Replace(src.url(), "http://", "http://mirror-user:pw-in-url-71@", 1)

	// auto: the cloud offers web-download and the source is a plain sized image, yet
	// the plugin must download it itself, or Glance would store the password.
	res, err := Import(context.Background(), g, cloud.request(Request{Source: Source{URL: withCreds}}))
	if err != nil {
		t.Fatal(err)
	}
	if ups := cloud.requests("image.upload"); res.Method != MethodUpload || len(ups) != 1 {
		t.Fatalf("method %s with %d uploads; want the plugin's own upload", res.Method, len(ups))
	}

	// An explicit web-download is refused before any image is made.
	before := len(cloud.images())
	_, err = Import(context.Background(), g, cloud.request(Request{Source: Source{URL: withCreds}, Method: MethodWebDownload, Image: ImageSpec{Name: "other"}}))
	if err == nil || !strings.Contains(err.Error(), "credentials in the URL") || strings.Contains(err.Error(), "pw-in-url-71") {
		t.Fatalf("explicit web-download with credentials in the URL: %v", err)
	}
	if len(cloud.images()) != before {
		t.Fatal("an image was created for a refused import")
	}
}

// Glance turns an imported image active before its import task is done; changing
// the image before the task drops its lock races the task (a 500 on real Glance).
func TestImportWaitsForTheImportTaskToLetGo(t *testing.T) {
	for _, method := range []Method{MethodWebDownload, MethodGlanceDirect} {
		t.Run(string(method), func(t *testing.T) {
			// The task holds the image for 300 ms after it turns active; admin accepts members.
			cloud, g := startCloudAs(t, testcloud.Options{ImportLockLinger: 300 * time.Millisecond},
				testcloud.AdminUser, testcloud.AdminPassword, testcloud.AdminProject)
			data := fakeQcow2(256 << 10)
			src := Source{URL: newSourceServer(t, data).url()}
			if method == MethodGlanceDirect {
				src = Source{File: filepath.Join(t.TempDir(), "d.qcow2")}
				os.WriteFile(src.File, data, 0o600)
			}
			res, err := Import(context.Background(), g, cloud.request(Request{Source: src, Method: method,
				Image: ImageSpec{Visibility: "shared", Members: []string{"p1"}, AutoAcceptMembers: true, Protected: true}}))
			if err != nil {
				t.Fatal(err)
			}
			if raced := cloud.raced(); len(raced) != 0 {
				t.Errorf("changed the image while Glance's import task still held it: %v", raced)
			}
			if lock, held := res.Image.Properties["os_glance_import_task"]; held {
				t.Errorf("the import returned while the task held the image (%v)", lock)
			}
			if img, _ := cloud.GetImage(res.Image.ID); img.Members["p1"] != "accepted" || !img.Protected || !res.Image.Protected {
				t.Errorf("members %v, protected %v (result says %v)", img.Members, img.Protected, res.Image.Protected)
			}
		})
	}
}

// A create whose reply was lost made the image anyway: the import finds it by
// its marker and goes on with it, and image_force replaces the older one.
func TestImportGoesOnWithTheImageALostCreateMade(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{})
	old := addImage(t, g, "lost-create", false)
	// The next create happens, but its reply is a proxy's 504.
	cloud.AddFault(testcloud.Fault{Op: "image.create", Action: testcloud.ActionLoseReply, Times: 1})
	path := filepath.Join(t.TempDir(), "d.qcow2")
	os.WriteFile(path, fakeQcow2(64<<10), 0o600)
	res, err := Import(context.Background(), g, cloud.request(Request{Source: Source{File: path}, Force: true,
		Image: ImageSpec{Name: "lost-create"}}))
	if err != nil {
		t.Fatalf("a lost create reply failed the import: %v", err)
	}
	imgs := cloud.images()
	if len(imgs) != 1 || imgs[0].ID != res.Image.ID || imgs[0].ID == old {
		t.Fatalf("images left: %v; want only the new image (%s), the older one replaced", imgs, res.Image.ID)
	}
}

// With KeepOlder the older image of the name stays, for the caller to replace
// once what follows the import (copies) succeeded too.
func TestImportKeepOlderLeavesTheReplacementToTheCaller(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{})
	old := addImage(t, g, "kept", false)
	path := filepath.Join(t.TempDir(), "d.qcow2")
	os.WriteFile(path, fakeQcow2(64<<10), 0o600)
	res, err := Import(context.Background(), g, cloud.request(Request{Source: Source{File: path}, Force: true, KeepOlder: true,
		Image: ImageSpec{Name: "kept"}}))
	if err != nil {
		t.Fatal(err)
	}
	if len(cloud.images()) != 2 || len(res.Replaced) != 0 || len(res.Older) != 1 || res.Older[0].ID != old {
		t.Fatalf("images %v, replaced %v, older %v; want the old image kept and returned", cloud.images(), res.Replaced, res.Older)
	}
}
