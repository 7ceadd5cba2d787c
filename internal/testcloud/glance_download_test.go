package testcloud

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imageimport"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// glanceDownloadCall is a glance-download import request; empty fields are left out.
type glanceDownloadCall struct{ imageID, region, iface string }

func (g glanceDownloadCall) ToImportCreateMap() (map[string]any, error) {
	m := map[string]any{"name": "glance-download"}
	for k, v := range map[string]string{"glance_image_id": g.imageID, "glance_region": g.region, "glance_service_interface": g.iface} {
		if v != "" {
			m[k] = v
		}
	}
	return map[string]any{"method": m}, nil
}

func imageTasks(t *testing.T, sc *gophercloud.ServiceClient, id string) []map[string]any {
	t.Helper()
	var body struct {
		Tasks []map[string]any `json:"tasks"`
	}
	if _, err := sc.Get(testCtx(t), sc.ServiceURL("images", id, "tasks"), &body, nil); err != nil {
		t.Fatal(err)
	}
	return body.Tasks
}

func TestGlanceDownloadPullsFromAnotherRegion(t *testing.T) {
	plain := startCloud(t, Options{})
	if methods := importMethodsOf(t, imageClient(t, demoProvider(t, plain), "kz-ala-1")); slices.Contains(methods, "glance-download") {
		t.Fatalf("glance-download offered without the option: %v", methods)
	}

	c := startCloud(t, Options{GlanceDownload: true})
	pc := demoProvider(t, c)
	one, kz := imageClient(t, pc, "RegionOne"), imageClient(t, pc, "kz-ala-1")
	if methods := importMethodsOf(t, kz); !slices.Contains(methods, "glance-download") {
		t.Fatalf("import methods %v lack glance-download", methods)
	}
	data := bytes.Repeat([]byte("golden-data "), 50000)
	src := createImage(t, one, images.CreateOpts{Name: "src", DiskFormat: "qcow2", ContainerFormat: "bare",
		Properties: map[string]string{"hw_disk_bus": "scsi", "os_distro": "fedora", "owner_note": "x"}})
	if err := imagedata.Upload(testCtx(t), one, src.ID, bytes.NewReader(data)).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitImageStatus(t, one, src.ID, "active")

	// The target's formats are overwritten by the remote image's, and the hw_/os_distro properties copied.
	dst := createImage(t, kz, images.CreateOpts{Name: "copy", DiskFormat: "raw", ContainerFormat: "bare"})
	if err := imageimport.Create(testCtx(t), kz, dst.ID, glanceDownloadCall{imageID: src.ID, region: "RegionOne"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	got := waitImageStatus(t, kz, dst.ID, "active")
	sum := sha512.Sum512(data)
	if got.SizeBytes != int64(len(data)) || got.Properties["os_hash_value"] != hex.EncodeToString(sum[:]) {
		t.Errorf("copy holds %d bytes, hash %v", got.SizeBytes, got.Properties["os_hash_value"])
	}
	if got.DiskFormat != "qcow2" || got.Properties["hw_disk_bus"] != "scsi" || got.Properties["os_distro"] != "fedora" || got.Properties["owner_note"] != nil {
		t.Errorf("metadata after glance-download: %s %v", got.DiskFormat, got.Properties)
	}
	tasks := imageTasks(t, kz, dst.ID)
	req := tasks[0]["input"].(map[string]any)["import_req"].(map[string]any)["method"].(map[string]any)
	if req["glance_service_interface"] != "public" {
		t.Errorf("the task does not record the default interface: %v", req)
	}
	// The source region served the data to the importing user's token.
	if n := countOps(c, "image.download", "RegionOne"); n != 1 {
		t.Errorf("%d downloads from RegionOne, want 1", n)
	}

	// Synchronous checks: a missing region or image ID, an ID that is no UUID, a target not queued.
	for _, call := range []glanceDownloadCall{{region: "RegionOne"}, {imageID: src.ID}, {imageID: "nope", region: "RegionOne"}} {
		bad := createImage(t, kz, images.CreateOpts{Name: "bad", DiskFormat: "raw", ContainerFormat: "bare"})
		if err := imageimport.Create(testCtx(t), kz, bad.ID, call).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
			t.Errorf("%+v: want 400, got %v", call, err)
		}
	}
	if err := imageimport.Create(testCtx(t), kz, dst.ID, glanceDownloadCall{imageID: src.ID, region: "RegionOne"}).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Errorf("import into an active image: want 409, got %v", err)
	}

	// Asynchronous failures return the image to queued, drop the lock, revert the metadata and fail
	// the task: an unknown region, an image the user cannot see, a fault with its message.
	alt := createImage(t, imageClient(t, provider(t, c, AltUser, AltPassword, AltProject), "RegionOne"),
		images.CreateOpts{Name: "alt-private", DiskFormat: "raw", ContainerFormat: "bare", Visibility: ptr(images.ImageVisibilityPrivate)})
	c.AddFault(Fault{Op: "image.import", Region: "kz-ala-1", Action: ActionFail, Message: "pull refused", Nth: 3})
	for i, call := range []glanceDownloadCall{
		{imageID: src.ID, region: "nowhere"},
		{imageID: alt.ID, region: "RegionOne"},
		{imageID: src.ID, region: "RegionOne"},
	} {
		img := createImage(t, kz, images.CreateOpts{Name: "fails", DiskFormat: "raw", ContainerFormat: "bare"})
		if err := imageimport.Create(testCtx(t), kz, img.ID, call).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the failed pull to release the image", func() bool {
			got, _ := images.Get(testCtx(t), kz, img.ID).Extract()
			return got.Status == images.ImageStatusQueued && got.Properties["os_glance_import_task"] == nil && got.Properties["os_glance_failed_import"] == "file1"
		})
		got, _ := images.Get(testCtx(t), kz, img.ID).Extract()
		if got.DiskFormat != "raw" || got.Properties["hw_disk_bus"] != nil {
			t.Errorf("case %d: metadata not reverted: %s %v", i, got.DiskFormat, got.Properties)
		}
		tasks := imageTasks(t, kz, img.ID)
		want := taskFailedMessage
		if i == 2 {
			want = "pull refused"
		}
		if len(tasks) != 1 || tasks[0]["status"] != "failure" || tasks[0]["message"] != want {
			t.Errorf("case %d: tasks %v, want one failure saying %q", i, tasks, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func importMethodsOf(t *testing.T, sc *gophercloud.ServiceClient) []string {
	t.Helper()
	info, err := imageimport.Get(testCtx(t), sc).Extract()
	if err != nil {
		t.Fatal(err)
	}
	return info.ImportMethods.Value
}

func countOps(c *Cloud, op, region string) int {
	n := 0
	for _, r := range c.Requests() {
		if r.Op == op && r.Region == region {
			n++
		}
	}
	return n
}

// A cut fault breaks an upload or a download half way: the client sees a broken connection, an
// upload's image returns to queued.
func TestGlanceCutFaultBreaksTransfers(t *testing.T) {
	c := startCloud(t, Options{})
	sc := imageClient(t, demoProvider(t, c), "RegionOne")
	data := bytes.Repeat([]byte("x"), 4<<20)
	img := createImage(t, sc, images.CreateOpts{Name: "cut", DiskFormat: "raw", ContainerFormat: "bare"})
	c.AddFault(Fault{Op: "image.upload", Action: ActionCut, Times: 1})
	err := imagedata.Upload(testCtx(t), sc, img.ID, bytes.NewReader(data)).ExtractErr()
	if err == nil || gophercloud.ResponseCodeIs(err, http.StatusServiceUnavailable) {
		t.Fatalf("a cut upload answered %v, want a broken connection", err)
	}
	waitImageStatus(t, sc, img.ID, "queued")
	if err := imagedata.Upload(testCtx(t), sc, img.ID, bytes.NewReader(data)).ExtractErr(); err != nil {
		t.Fatalf("upload after the cut: %v", err)
	}
	waitImageStatus(t, sc, img.ID, "active")

	c.AddFault(Fault{Op: "image.download", Action: ActionCut, Times: 1})
	body, err := imagedata.Download(testCtx(t), sc, img.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, body)
	body.Close()
	if err == nil || n >= int64(len(data)) || !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("a cut download read %d bytes with %v, want a break half way", n, err)
	}
	var logged bool
	for _, r := range c.Requests() {
		logged = logged || r.Op == "image.upload" && r.Status == 0
	}
	if !logged {
		t.Error("the cut upload is not in the request log")
	}
}
