package testcloud

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imageimport"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

func createImage(t *testing.T, sc *gophercloud.ServiceClient, opts images.CreateOpts) *images.Image {
	t.Helper()
	if opts.ContainerFormat == "" {
		opts.ContainerFormat, opts.DiskFormat = "bare", "raw"
	}
	img, err := images.Create(testCtx(t), sc, opts).Extract()
	if err != nil {
		t.Fatalf("create image %s: %v", opts.Name, err)
	}
	return img
}

func TestGlanceUploadHashesAndDownload(t *testing.T) {
	c := startCloud(t, Options{})
	sc := imageClient(t, demoProvider(t, c), "RegionOne")
	data := bytes.Repeat([]byte("0123456789abcdef"), 70000) // ~1 MiB
	path := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	md5sum := md5.Sum(data)
	sha := sha512.Sum512(data)
	for _, mode := range []string{"chunked", "content-length"} {
		img := createImage(t, sc, images.CreateOpts{Name: "up-" + mode})
		if img.Status != images.ImageStatusQueued || img.Visibility != images.ImageVisibilityShared {
			t.Fatalf("new image: status %s visibility %s", img.Status, img.Visibility)
		}
		if len(img.OpenStackImageImportMethods) != 3 {
			t.Errorf("import methods header: %v", img.OpenStackImageImportMethods)
		}
		var body io.Reader
		if mode == "chunked" {
			f, _ := os.Open(path) // *os.File: Go sends it chunked
			defer f.Close()
			body = f
		} else {
			body = bytes.NewReader(data)
		}
		if err := imagedata.Upload(testCtx(t), sc, img.ID, body).ExtractErr(); err != nil {
			t.Fatalf("upload (%s): %v", mode, err)
		}
		got, err := images.Get(testCtx(t), sc, img.ID).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != images.ImageStatusActive || got.SizeBytes != int64(len(data)) || got.Checksum != hex.EncodeToString(md5sum[:]) {
			t.Fatalf("%s: status %s size %d checksum %s", mode, got.Status, got.SizeBytes, got.Checksum)
		}
		if got.Properties["os_hash_algo"] != "sha512" || got.Properties["os_hash_value"] != hex.EncodeToString(sha[:]) {
			t.Fatalf("%s: hash %v %v", mode, got.Properties["os_hash_algo"], got.Properties["os_hash_value"])
		}
		rc, err := imagedata.Download(testCtx(t), sc, img.ID).Extract()
		if err != nil {
			t.Fatal(err)
		}
		back, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(back, data) {
			t.Fatalf("%s: downloaded data differs", mode)
		}
		// A second upload is refused: the image is no longer queued.
		err = imagedata.Upload(testCtx(t), sc, img.ID, bytes.NewReader(data)).ExtractErr()
		if !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
			t.Fatalf("re-upload: want 409, got %v", err)
		}
	}
}

func TestGlanceReservedKeysAndProtected(t *testing.T) {
	c := startCloud(t, Options{})
	sc := imageClient(t, demoProvider(t, c), "RegionOne")
	_, err := images.Create(testCtx(t), sc, images.CreateOpts{Name: "x", Properties: map[string]string{"os_glance_import_task": "x"}}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("reserved key on create: want 403, got %v", err)
	}
	protected := true
	img := createImage(t, sc, images.CreateOpts{Name: "prot", Protected: &protected})
	_, err = images.Update(testCtx(t), sc, img.ID, images.UpdateOpts{
		images.UpdateImageProperty{Op: images.AddOp, Name: "os_glance_failed_import", Value: "x"}}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("reserved key on patch: want 403, got %v", err)
	}
	if err := images.Delete(testCtx(t), sc, img.ID).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("delete protected: want 403, got %v", err)
	}
	upd, err := images.Update(testCtx(t), sc, img.ID, images.UpdateOpts{
		images.ReplaceImageProtected{NewProtected: false},
		images.UpdateImageProperty{Op: images.AddOp, Name: "os_distro", Value: "fedora"},
		images.ReplaceImageTags{NewTags: []string{"a", "b"}},
		images.ReplaceImageMinDisk{NewMinDisk: 3},
	}).Extract()
	if err != nil || upd.Protected || upd.Properties["os_distro"] != "fedora" || len(upd.Tags) != 2 || upd.MinDiskGigabytes != 3 {
		t.Fatalf("patch: %v %+v", err, upd)
	}
	_, err = images.Update(testCtx(t), sc, img.ID, images.UpdateOpts{
		images.UpdateImageProperty{Op: images.RemoveOp, Name: "missing"}}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Fatalf("remove missing property: want 409, got %v", err)
	}
	_, err = images.Update(testCtx(t), sc, img.ID, images.UpdateOpts{images.UpdateVisibility{Visibility: images.ImageVisibilityPublic}}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("member publicizing: want 403, got %v", err)
	}
	if err := images.Delete(testCtx(t), sc, img.ID).ExtractErr(); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := images.Get(testCtx(t), sc, img.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("get deleted: want 404, got %v", err)
	}
}

// propertyFilter adds arbitrary property filters, which images.ListOpts cannot express.
type propertyFilter struct {
	images.ListOpts
	props map[string]string
}

func (p propertyFilter) ToImageListQuery() (string, error) {
	q, err := p.ListOpts.ToImageListQuery()
	if err != nil {
		return "", err
	}
	v, _ := url.ParseQuery(strings.TrimPrefix(q, "?"))
	for k, val := range p.props {
		v.Set(k, val)
	}
	return "?" + v.Encode(), nil
}

func listNames(t *testing.T, sc *gophercloud.ServiceClient, opts images.ListOptsBuilder) []string {
	t.Helper()
	var names []string
	err := images.List(sc, opts).EachPage(testCtx(t), func(_ context.Context, p pagination.Page) (bool, error) {
		list, err := images.ExtractImages(p)
		for _, img := range list {
			names = append(names, img.Name)
		}
		return true, err
	})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	return names
}

func TestGlanceListFiltersSortAndPagination(t *testing.T) {
	c := startCloud(t, Options{})
	pc := demoProvider(t, c)
	sc := imageClient(t, pc, "RegionOne")
	hidden := true
	for i := 0; i < 7; i++ {
		opts := images.CreateOpts{Name: fmt.Sprintf("img-%d", i), Tags: []string{"all"},
			Properties: map[string]string{"parity": strconv.Itoa(i % 2)}}
		if i == 3 {
			opts.Tags = append(opts.Tags, "three")
		}
		if i == 6 {
			opts.Hidden = &hidden
		}
		createImage(t, sc, opts)
	}
	// Default listing: newest first, hidden excluded, seeded public image included. Glance keeps times
	// to the second, so images created in the same second come in descending ID order.
	var want []Image
	for _, img := range c.Images("RegionOne") {
		if !img.Hidden {
			want = append(want, img)
		}
	}
	sort.Slice(want, func(i, j int) bool {
		if !want[i].CreatedAt.Equal(want[j].CreatedAt) {
			return want[i].CreatedAt.After(want[j].CreatedAt)
		}
		return want[i].ID > want[j].ID
	})
	var wantNames []string
	for _, img := range want {
		wantNames = append(wantNames, img.Name)
	}
	names := listNames(t, sc, images.ListOpts{Limit: 2})
	if strings.Join(names, ",") != strings.Join(wantNames, ",") || names[6] != BaseImageName {
		t.Fatalf("paged default list: %v, want %v", names, wantNames)
	}
	if n := c.CountRequests("image.list"); n != 4 {
		t.Errorf("pages requested = %d, want 4 (2+2+2+1)", n)
	}
	check := func(what string, opts images.ListOptsBuilder, want ...string) {
		t.Helper()
		got := listNames(t, sc, opts)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
	}
	check("name", images.ListOpts{Name: "img-2"}, "img-2")
	check("name in:", images.ListOpts{Name: "in:img-1,img-4", Sort: "name:asc"}, "img-1", "img-4")
	check("tag", images.ListOpts{Tags: []string{"all", "three"}}, "img-3")
	check("hidden", images.ListOpts{Hidden: true}, "img-6")
	check("property", propertyFilter{ListOpts: images.ListOpts{Sort: "name:asc"}, props: map[string]string{"parity": "1"}}, "img-1", "img-3", "img-5")
	check("property seed", propertyFilter{props: map[string]string{"os_distro": "fedora", "os_version": "37"}}, BaseImageName)
	check("visibility public", images.ListOpts{Visibility: images.ImageVisibilityPublic}, BaseImageName)
	check("status", images.ListOpts{Status: images.ImageStatusActive}, BaseImageName)
	check("owner", images.ListOpts{Owner: c.ProjectID(DemoProject), Sort: "name:desc", Limit: 3}, "img-5", "img-4", "img-3", "img-2", "img-1", "img-0")

	// Another project sees a shared image only once it accepted membership.
	img := c.ImagesByName("img-0")[0]
	if _, err := c.CreateUser("carol", "carol-secret", AdminProject, "member"); err != nil {
		t.Fatal(err)
	}
	other := imageClient(t, provider(t, c, "carol", "carol-secret", AdminProject), "RegionOne")
	if err := c.ShareImage(img.ID, AdminProject, false); err != nil {
		t.Fatal(err)
	}
	if got := listNames(t, other, images.ListOpts{Name: "img-0"}); len(got) != 0 {
		t.Errorf("pending member lists the image: %v", got)
	}
	if got := listNames(t, other, images.ListOpts{Name: "img-0", MemberStatus: images.ImageMemberStatusPending}); len(got) != 1 {
		t.Errorf("member_status=pending: %v", got)
	}
	// Region isolation.
	if got := listNames(t, imageClient(t, pc, "kz-ala-1"), images.ListOpts{Name: "img-0"}); len(got) != 0 {
		t.Errorf("RegionOne image visible in kz-ala-1: %v", got)
	}
	// Bad sort key and marker are 400.
	_, err := images.List(sc, images.ListOpts{Sort: "owner:asc"}).AllPages(testCtx(t))
	if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Errorf("bad sort key: want 400, got %v", err)
	}
}

func TestGlanceImportGlanceDirectAndWebDownload(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, "downloaded-disk")
	}))
	defer srv.Close()
	port, _ := strconv.Atoi(srv.URL[strings.LastIndex(srv.URL, ":")+1:])
	c := startCloud(t, Options{WebDownloadAllowedPorts: []int{80, 443, port}, ImportLockLinger: 2 * time.Second})
	sc := imageClient(t, demoProvider(t, c), "RegionOne")

	info, err := imageimport.Get(testCtx(t), sc).Extract()
	if err != nil || len(info.ImportMethods.Value) != 3 {
		t.Fatalf("import info: %v %+v", err, info)
	}
	// glance-direct: stage, import, active.
	img := createImage(t, sc, images.CreateOpts{Name: "direct"})
	if err := imagedata.Stage(testCtx(t), sc, img.ID, strings.NewReader("staged-disk")).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got, _ := images.Get(testCtx(t), sc, img.ID).Extract(); got.Status != images.ImageStatusUploading {
		t.Fatalf("after stage: %s", got.Status)
	}
	if err := imageimport.Create(testCtx(t), sc, img.ID, imageimport.CreateOpts{Name: imageimport.GlanceDirectMethod}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	done := waitImageStatus(t, sc, img.ID, "active")
	if done.SizeBytes != int64(len("staged-disk")) {
		t.Fatalf("glance-direct size %d", done.SizeBytes)
	}
	// As on Glance, the task holds the image a moment after it turns active, then succeeds and lets go.
	if done.Properties["os_glance_import_task"] == nil {
		t.Errorf("active image released its import lock at once: %v", done.Properties)
	}
	waitFor(t, "the import task to release the image", func() bool {
		got, _ := images.Get(testCtx(t), sc, img.ID).Extract()
		return got.Status == images.ImageStatusActive && got.Properties["os_glance_import_task"] == nil
	})
	// web-download success.
	img = createImage(t, sc, images.CreateOpts{Name: "web"})
	if err := imageimport.Create(testCtx(t), sc, img.ID, imageimport.CreateOpts{Name: imageimport.WebDownloadMethod, URI: srv.URL + "/disk"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got, _ := images.Get(testCtx(t), sc, img.ID).Extract(); got.Properties["os_glance_import_task"] == nil {
		t.Fatalf("import lock not taken synchronously: %v", got.Properties)
	}
	waitImageStatus(t, sc, img.ID, "active")
	// A second import while locked is refused; a filtered URI is 400.
	img = createImage(t, sc, images.CreateOpts{Name: "web-bad"})
	err = imageimport.Create(testCtx(t), sc, img.ID, imageimport.CreateOpts{Name: imageimport.WebDownloadMethod, URI: "http://127.0.0.1:1/x"}).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("filtered port: want 400, got %v", err)
	}
	// web-download failure: back to queued, lock dropped, the failed store recorded, and the task failed
	// with Glance's generic message (Glance does not pass the HTTP status on).
	if err := imageimport.Create(testCtx(t), sc, img.ID, imageimport.CreateOpts{Name: imageimport.WebDownloadMethod, URI: srv.URL + "/missing"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	err = imageimport.Create(testCtx(t), sc, img.ID, imageimport.CreateOpts{Name: imageimport.WebDownloadMethod, URI: srv.URL + "/disk"}).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Fatalf("import while locked: want 409, got %v", err)
	}
	waitFor(t, "failed import to release the lock", func() bool {
		got, _ := images.Get(testCtx(t), sc, img.ID).Extract()
		return got.Status == images.ImageStatusQueued && got.Properties["os_glance_import_task"] == nil
	})
	var tasks struct {
		Tasks []struct{ Status, Message string } `json:"tasks"`
	}
	_, err = sc.Get(testCtx(t), sc.ServiceURL("images", img.ID, "tasks"), &tasks, nil)
	if err != nil || len(tasks.Tasks) != 1 || tasks.Tasks[0].Status != "failure" || tasks.Tasks[0].Message != "Task failed due to Internal Error" {
		t.Fatalf("tasks: %v %+v", err, tasks)
	}
	if got, _ := images.Get(testCtx(t), sc, img.ID).Extract(); got.Properties["os_glance_failed_import"] != "file1" ||
		got.Properties["os_glance_importing_to_stores"] != "" {
		t.Errorf("after the failed import: %v", got.Properties)
	}
}

func TestGlanceFaultsHappenThenClear(t *testing.T) {
	c := startCloud(t, Options{})
	sc := imageClient(t, demoProvider(t, c), "RegionOne")
	id := c.AddFault(Fault{Op: "image.create", Status: 503, Nth: 1})
	_, err := images.Create(testCtx(t), sc, images.CreateOpts{Name: "a", ContainerFormat: "bare", DiskFormat: "raw"}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusServiceUnavailable) {
		t.Fatalf("first create: want 503, got %v", err)
	}
	createImage(t, sc, images.CreateOpts{Name: "b"}) // the 2nd call is not the Nth
	if f := c.Faults()[0]; f.ID != id || f.Calls != 2 || f.Fired != 1 {
		t.Fatalf("fault counters: %+v", f)
	}
	c.AddFault(Fault{Op: "image.get", Status: 429, RetryAfter: 7, Region: "RegionOne"})
	_, err = images.Get(testCtx(t), sc, "x").Extract()
	var ue gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &ue) || ue.Actual != 429 || ue.ResponseHeader.Get("Retry-After") != "7" {
		t.Fatalf("429 fault: %v", err)
	}
	c.ClearFaults()
	// import fail action: the import is accepted, then fails like a real one.
	img := createImage(t, sc, images.CreateOpts{Name: "imp"})
	_ = imagedata.Stage(testCtx(t), sc, img.ID, strings.NewReader("x")).ExtractErr()
	c.AddFault(Fault{Op: "image.import", Action: ActionFail, Message: "disk on fire", Times: 1})
	if err := imageimport.Create(testCtx(t), sc, img.ID, imageimport.CreateOpts{Name: imageimport.GlanceDirectMethod}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "import failure", func() bool {
		got, _ := images.Get(testCtx(t), sc, img.ID).Extract()
		return got.Status == images.ImageStatusQueued && got.Properties["os_glance_import_task"] == nil
	})
	// kill action on upload leaves the image killed, which the leak report shows.
	img = createImage(t, sc, images.CreateOpts{Name: "killme"})
	c.AddFault(Fault{Op: "image.upload", Action: ActionKill})
	_ = imagedata.Upload(testCtx(t), sc, img.ID, strings.NewReader("x")).ExtractErr()
	if got, _ := images.Get(testCtx(t), sc, img.ID).Extract(); got.Status != images.ImageStatusKilled {
		t.Fatalf("kill fault: status %s", got.Status)
	}
	leaks := c.Leaks()
	found := false
	for _, r := range leaks["images"] {
		found = found || r.Name == "killme"
	}
	if !found {
		t.Fatalf("killed image not reported as a leak: %v", leaks["images"])
	}
}

// countingReader produces n bytes without holding them, so the upload's memory use shows the server's.
type countingReader struct{ left int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > r.left {
		n = r.left
	}
	for i := range p[:n] {
		p[i] = byte(i)
	}
	r.left -= n
	return int(n), nil
}

func TestGlanceLargeUploadStreams(t *testing.T) {
	c := startCloud(t, Options{})
	sc := imageClient(t, demoProvider(t, c), "RegionOne")
	img := createImage(t, sc, images.CreateOpts{Name: "big"})
	const size = 256 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := imagedata.Upload(testCtx(t), sc, img.ID, &countingReader{left: size}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// Client and server share this process: everything they allocated together must stay far below the
	// data size, which proves neither side buffered the body.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/4 {
		t.Fatalf("upload of %d bytes allocated %d bytes", size, alloc)
	}
	got, _ := images.Get(testCtx(t), sc, img.ID).Extract()
	if got.SizeBytes != size || got.Status != images.ImageStatusActive {
		t.Fatalf("big image: %d %s", got.SizeBytes, got.Status)
	}
}

func TestOptionsFaultsInstalledAtStart(t *testing.T) {
	c := startCloud(t, Options{Faults: []Fault{{Op: "identity.token.create", Status: 503, Times: 1}}})
	_, err := openstackAuth(c)
	if !gophercloud.ResponseCodeIs(err, http.StatusServiceUnavailable) {
		t.Fatalf("first auth: want 503, got %v", err)
	}
	if _, err := openstackAuth(c); err != nil {
		t.Fatalf("second auth: %v", err)
	}
}

func TestGlanceUploadNeedsFormatsAndMethodsAre405(t *testing.T) {
	c := startCloud(t, Options{})
	pc := demoProvider(t, c)
	sc := imageClient(t, pc, "RegionOne")
	img, err := images.Create(testCtx(t), sc, images.CreateOpts{Name: "no-formats"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	err = imagedata.Upload(testCtx(t), sc, img.ID, strings.NewReader("x")).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("upload without formats: want 400, got %v", err)
	}
	if got, _ := images.Get(testCtx(t), sc, img.ID).Extract(); got.Status != images.ImageStatusQueued {
		t.Fatalf("status after refused upload: %s", got.Status)
	}
	req, _ := http.NewRequest(http.MethodPost, sc.ServiceURL("images", img.ID), nil)
	req.Header.Set("X-Auth-Token", pc.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST on an image: %d, want 405", resp.StatusCode)
	}
}
