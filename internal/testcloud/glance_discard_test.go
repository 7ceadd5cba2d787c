package testcloud

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imageimport"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// patternReader yields n bytes of a repeated 1 MiB pattern: cheap to produce, even under -race.
type patternReader struct {
	left    int64
	pattern []byte
	pos     int
}

func newPatternReader(n int64) *patternReader {
	p := make([]byte, 1<<20)
	for i := range p {
		p[i] = byte(i * 7 / 3)
	}
	return &patternReader{left: n, pattern: p}
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(int64(len(p)), r.left)], r.pattern[r.pos:])
	r.pos = (r.pos + n) % len(r.pattern)
	r.left -= int64(n)
	return n, nil
}

// sums returns the md5 and sha512 hex of what r yields.
func sums(t *testing.T, r io.Reader) (md5hex, sha512hex string) {
	t.Helper()
	m, s := md5.New(), sha512.New()
	if _, err := io.Copy(io.MultiWriter(m, s), r); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(m.Sum(nil)), hex.EncodeToString(s.Sum(nil))
}

// dataBytes adds up the regular files under dir.
func dataBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			total += info.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGlanceDiscardImageDataHashesWithoutStoring(t *testing.T) {
	plain := append(qcow2Header(1<<30), bytes.Repeat([]byte("disk block "), 50000)...)
	packed := gzipped(t, plain)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(packed)))
		_, _ = w.Write(packed)
	}))
	defer srv.Close()
	dir := t.TempDir()
	// The source listens on a random port: AllowAnyWebDownloadPort lets web-download reach it.
	c := startCloud(t, Options{DataDir: dir, DiscardImageData: true, AllowAnyWebDownloadPort: true, NoSeed: true,
		ImportLockLinger: 20 * time.Millisecond})
	if _, err := os.Stat(filepath.Join(dir, "RegionOne", "images")); err != nil {
		t.Fatalf("the cloud does not use DataDir, so the disk check below would prove nothing: %v", err)
	}
	sc := imageClient(t, demoProvider(t, c), "RegionOne")

	// A big upload: hashed, not written.
	const big = 128 << 20
	img := createImage(t, sc, images.CreateOpts{Name: "big"})
	if err := imagedata.Upload(testCtx(t), sc, img.ID, newPatternReader(big)).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	wantMD5, wantSHA := sums(t, newPatternReader(big))
	got, err := images.Get(testCtx(t), sc, img.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != images.ImageStatusActive || got.SizeBytes != big || got.VirtualSize != big || got.Checksum != wantMD5 ||
		got.Properties["os_hash_value"] != wantSHA {
		t.Fatalf("big upload: status %s size %d virtual %d checksum %s", got.Status, got.SizeBytes, got.VirtualSize, got.Checksum)
	}
	if n := dataBytes(t, dir); n > 64<<10 {
		t.Fatalf("a discarded upload left %d bytes in the data folder", n)
	}
	// Its data cannot be read back, and says why.
	if _, err := imagedata.Download(testCtx(t), sc, img.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("download of discarded data: want 404, got %v", err)
	}
	if _, err := c.ImageData(img.ID); err == nil || !strings.Contains(err.Error(), "DiscardImageData") {
		t.Errorf("ImageData of discarded data: %v", err)
	}

	checkImports(t, c, sc, srv.URL, plain, packed)
	if n := dataBytes(t, dir); n > 64<<10 {
		t.Fatalf("discarded imports left %d bytes in the data folder", n)
	}
}

// Imports give the same results whether the cloud keeps the data or not.
func TestGlanceImportsStoreWhatTheyHash(t *testing.T) {
	plain := append(qcow2Header(1<<30), bytes.Repeat([]byte("disk block "), 50000)...)
	packed := gzipped(t, plain)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(packed)))
		_, _ = w.Write(packed)
	}))
	defer srv.Close()
	c := startCloud(t, Options{AllowAnyWebDownloadPort: true, NoSeed: true, ImportLockLinger: 20 * time.Millisecond})
	checkImports(t, c, imageClient(t, demoProvider(t, c), "RegionOne"), srv.URL, plain, packed)
}

// checkImports imports packed (the gzip of plain, served at srvURL) with glance-direct and
// web-download: Glance's image_decompression plugin stores plain unless the container format is
// compressed. Staged data that claims to be gzip but is not fails its import.
func checkImports(t *testing.T, c *Cloud, sc *gophercloud.ServiceClient, srvURL string, plain, packed []byte) {
	t.Helper()
	var err error
	plainMD5, plainSHA := sums(t, bytes.NewReader(plain))
	packedMD5, packedSHA := sums(t, bytes.NewReader(packed))
	for _, tc := range []struct {
		method, container string
		size, virtual     int64
		md5, sha          string
	}{
		{"glance-direct", "bare", int64(len(plain)), 1 << 30, plainMD5, plainSHA},
		{"web-download", "bare", int64(len(plain)), 1 << 30, plainMD5, plainSHA},
		{"glance-direct", "compressed", int64(len(packed)), 0, packedMD5, packedSHA},
		{"web-download", "compressed", int64(len(packed)), 0, packedMD5, packedSHA},
	} {
		name := tc.method + "/" + tc.container
		img := createImage(t, sc, images.CreateOpts{Name: name, ContainerFormat: tc.container, DiskFormat: "qcow2"})
		opts := imageimport.CreateOpts{Name: imageimport.ImportMethod(tc.method)}
		if tc.method == "glance-direct" {
			if err := imagedata.Stage(testCtx(t), sc, img.ID, bytes.NewReader(packed)).ExtractErr(); err != nil {
				t.Fatalf("%s: stage: %v", name, err)
			}
		} else {
			opts.URI = srvURL + "/disk.qcow2.gz"
		}
		if err := imageimport.Create(testCtx(t), sc, img.ID, opts).ExtractErr(); err != nil {
			t.Fatalf("%s: import: %v", name, err)
		}
		var got *images.Image
		waitFor(t, name+" to settle", func() bool {
			got, err = images.Get(testCtx(t), sc, img.ID).Extract()
			if err != nil {
				t.Fatal(err)
			}
			// Right after the 202 the image is still queued, but held by the task.
			return got.Status == images.ImageStatusActive ||
				(got.Status == images.ImageStatusQueued && got.Properties["os_glance_import_task"] == nil)
		})
		if got.Status != images.ImageStatusActive || got.SizeBytes != tc.size || got.VirtualSize != tc.virtual ||
			got.Checksum != tc.md5 || got.Properties["os_hash_value"] != tc.sha {
			t.Errorf("%s: status %s size %d (want %d) virtual %d (want %d) checksum %s (want %s)", name, got.Status,
				got.SizeBytes, tc.size, got.VirtualSize, tc.virtual, got.Checksum, tc.md5)
		}
	}

	broken := append(append([]byte{}, gzipMagic...), bytes.Repeat([]byte{0xff}, 4096)...)
	img := createImage(t, sc, images.CreateOpts{Name: "broken"})
	if err := imagedata.Stage(testCtx(t), sc, img.ID, bytes.NewReader(broken)).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := imageimport.Create(testCtx(t), sc, img.ID, imageimport.CreateOpts{Name: imageimport.GlanceDirectMethod}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the broken import to fail", func() bool {
		got, _ := images.Get(testCtx(t), sc, img.ID).Extract()
		return got.Status == images.ImageStatusQueued && got.Properties["os_glance_failed_import"] == "file1"
	})
}

func TestGlanceImportMethodsOption(t *testing.T) {
	if _, err := Start(Options{ImportMethods: []string{"s3-download"}, NoSeed: true}); err == nil {
		t.Fatal("an import method the cloud does not implement was accepted")
	}
	c := startCloud(t, Options{ImportMethods: []string{"web-download"}, NoSeed: true})
	sc := imageClient(t, demoProvider(t, c), "RegionOne")
	info, err := imageimport.Get(testCtx(t), sc).Extract()
	if err != nil || strings.Join(info.ImportMethods.Value, ",") != "web-download" {
		t.Fatalf("import info: %v %+v", err, info)
	}
	img := createImage(t, sc, images.CreateOpts{Name: "no-direct"})
	if strings.Join(img.OpenStackImageImportMethods, ",") != "web-download" {
		t.Errorf("create reply's import methods: %v", img.OpenStackImageImportMethods)
	}
	// As Glance: staging is 404 without glance-direct, and another method's import is 400.
	err = imagedata.Stage(testCtx(t), sc, img.ID, strings.NewReader("data")).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) || !strings.Contains(err.Error(), "'glance-direct' method is not available") {
		t.Errorf("stage without glance-direct: %v", err)
	}
	err = imageimport.Create(testCtx(t), sc, img.ID, imageimport.CreateOpts{Name: imageimport.GlanceDirectMethod}).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) || !strings.Contains(err.Error(), "Unknown import method name 'glance-direct'") {
		t.Errorf("glance-direct import: %v", err)
	}
}

func TestRequestLogShowsBodiesHeadersAndImportLocks(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "downloaded-disk")
	}))
	defer srv.Close()
	c := startCloud(t, Options{NoSeed: true, AllowAnyWebDownloadPort: true, ImportLockLinger: time.Hour})
	token, base := glanceFixture(t, c)
	upload := func(name string, body io.Reader, header map[string]string) {
		img := createRaw(t, token, base, map[string]any{"name": name, "disk_format": "raw", "container_format": "bare"})
		header["Content-Type"] = "application/octet-stream"
		if st, _, b := rawCall(t, "PUT", base+"/v2/images/"+img["id"].(string)+"/file", token, body, header); st != 204 {
			t.Fatalf("upload %s: %d %s", name, st, b)
		}
	}
	upload("sized", strings.NewReader("0123456789"), map[string]string{"X-OpenStack-Image-Size": "10"})
	upload("chunked", io.MultiReader(strings.NewReader("01234")), map[string]string{}) // not a known length: chunked
	var ups []Request
	for _, r := range c.Requests() {
		if r.Op == "image.upload" {
			ups = append(ups, r)
		}
	}
	if len(ups) != 2 || ups[0].ContentLength != 10 || ups[0].Headers["X-Openstack-Image-Size"] != "10" ||
		ups[1].ContentLength != -1 || ups[1].Headers != nil {
		t.Fatalf("upload log entries: %+v", ups)
	}
	for _, r := range c.Requests() {
		if _, leaked := r.Headers["X-Auth-Token"]; leaked {
			t.Fatalf("the log keeps tokens: %+v", r)
		}
	}

	// A web-download import holds the image (here for an hour) after it turns active: a change made then
	// is logged with the task that held the image; one made before the import is not.
	img := createRaw(t, token, base, map[string]any{"name": "locked", "disk_format": "raw", "container_format": "bare"})
	id := img["id"].(string)
	patch := func() {
		if st, _, b := rawCall(t, "PATCH", base+"/v2/images/"+id, token, jsonBody(t, []any{map[string]any{"op": "add", "path": "/k", "value": "v"}}),
			map[string]string{"Content-Type": "application/openstack-images-v2.1-json-patch"}); st != 200 {
			t.Fatalf("patch: %d %s", st, b)
		}
	}
	patch()
	if st, _, b := rawCall(t, "POST", base+"/v2/images/"+id+"/import", token,
		jsonBody(t, map[string]any{"method": map[string]any{"name": "web-download", "uri": srv.URL + "/d"}}), jsonHeaders); st != 202 {
		t.Fatalf("import: %d %s", st, b)
	}
	waitFor(t, "the imported image to turn active", func() bool { return getRaw(t, token, base, id)["status"] == "active" })
	task, _ := getRaw(t, token, base, id)["os_glance_import_task"].(string)
	patch()
	var tasks []string
	for _, r := range c.Requests() {
		if r.Op == "image.update" {
			tasks = append(tasks, r.ImportTask)
		}
	}
	if task == "" || len(tasks) != 2 || tasks[0] != "" || tasks[1] != task {
		t.Fatalf("import tasks logged with the two changes: %q (the task was %q)", tasks, task)
	}
}
