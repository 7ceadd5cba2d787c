package differential

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Cinder (block storage v3): what a boot-from-volume build relies on. The expectations are those of
// Cinder 21 (Zed) with the RBD driver, as the full real-cloud profile runs it (make realcloud
// PROFILE=full); the tests are skipped when the catalog has no block-storage endpoint. The in-use
// scenario also needs Nova and a flavor (DIFF_FLAVOR, default m1.tiny): its server has no network.
// The scenarios run one after another: in parallel, three volume copies on a loaded 2-core machine
// (load average 18) took over 3 minutes each. The waits allow 6 minutes for a copy.

// cinderTime is Cinder's time format: microseconds, no zone.
var cinderTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$`)

// volumeData is the content of the suite's volume source image: 1 MiB that no format probe
// mistakes for anything but raw data.
var volumeData = bytes.Repeat([]byte("diff-volume-data"), 65536)

func cinderSetup(t *testing.T) *session {
	t.Helper()
	demo, _ := setup(t)
	if demo.Volume == "" {
		t.Skip("no block-storage (or volumev3) endpoint in the catalog")
	}
	// The real cloud keeps its catalog when only the base profile runs: an endpoint nobody listens
	// on means Cinder is not up, not that it misbehaves.
	if _, err := rawRequest("GET", demo.Volume, nil, nil); err != nil {
		t.Skipf("the block-storage endpoint %s does not answer (is the full profile up?): %v", demo.Volume, err)
	}
	return demo
}

// vol sends a request to Cinder; microversion "" sends no version header (3.0).
func vol(t *testing.T, s *session, method, path string, body any, microversion string) *response {
	t.Helper()
	var h map[string]string
	if microversion != "" {
		h = map[string]string{"OpenStack-API-Version": "volume " + microversion}
	}
	return s.DoURL(t, method, s.Volume+path, body, h)
}

// createVolume creates a volume and deletes it when the test ends (waiting until it is gone).
func createVolume(t *testing.T, s *session, body map[string]any) map[string]any {
	t.Helper()
	r := vol(t, s, "POST", "/volumes", map[string]any{"volume": body}, "")
	expectStatus(t, r, 202)
	v := obj(r.JSON(), "volume")
	id := str(v, "id")
	t.Cleanup(func() { deleteVolume(t, s, id) })
	return v
}

func deleteVolume(t *testing.T, s *session, id string) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := vol(t, s, "DELETE", "/volumes/"+id, nil, "")
		if r.Status == 404 {
			return
		}
		if r.Status == 202 {
			break
		}
		// Still uploading or detaching: Cinder refuses with 400 until it is done.
		if time.Now().After(deadline) {
			t.Logf("cleanup of volume %s: %s", id, r)
			return
		}
		time.Sleep(time.Second)
	}
	for time.Now().Before(deadline) {
		if vol(t, s, "GET", "/volumes/"+id, nil, "").Status == 404 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("cleanup: volume %s still exists", id)
}

// waitVolume polls a volume every 250 ms until cond holds, recording every status it passes.
func waitVolume(t *testing.T, s *session, id string, timeout time.Duration, what string, cond func(map[string]any) bool) (map[string]any, []string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var seen []string
	for {
		r := vol(t, s, "GET", "/volumes/"+id, nil, "")
		expectStatus(t, r, 200)
		v := obj(r.JSON(), "volume")
		if st := str(v, "status"); len(seen) == 0 || seen[len(seen)-1] != st {
			seen = append(seen, st)
		}
		if cond(v) {
			return v, seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("volume %s: not %s after %s (statuses %v)", id, what, timeout, seen)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func statusIs(want string) func(map[string]any) bool {
	return func(v map[string]any) bool { return str(v, "status") == want || str(v, "status") == "error" }
}

// cinderError checks Cinder's error body: {"<name>": {"code": <number>, "message": "..."}}.
func cinderError(t *testing.T, r *response, status int, name, contains string) {
	t.Helper()
	if !checkStatus(t, r, status) {
		return
	}
	e := obj(r.JSON(), name)
	if e == nil {
		t.Errorf("error body has no %q object: %s", name, r)
		return
	}
	field(t, e, "code", status)
	if !strings.Contains(str(e, "message"), contains) {
		t.Errorf("error message %q does not contain %q", str(e, "message"), contains)
	}
}

// defaultVolumeType is the name of the cloud's default volume type.
func defaultVolumeType(t *testing.T, s *session) string {
	t.Helper()
	r := vol(t, s, "GET", "/types/default", nil, "")
	expectStatus(t, r, 200)
	name := str(obj(r.JSON(), "volume_type"), "name")
	if name == "" {
		t.Fatalf("default volume type without a name: %s", r)
	}
	return name
}

// sourceImage uploads the suite's raw 1 MiB image with min_disk 1 and a custom property.
func sourceImage(t *testing.T, s *session, suffix string) map[string]any {
	t.Helper()
	img := createImage(t, s, map[string]any{"name": name("volsrc", suffix), "disk_format": "raw",
		"container_format": "bare", "min_disk": 1, "diff_prop": "v1"})
	id := str(img, "id")
	expectStatus(t, s.Do(t, "PUT", "/v2/images/"+id+"/file", volumeData, nil), 204)
	return getImage(t, s, id)
}

// bootableVolume makes an available volume from a new source image and returns both.
func bootableVolume(t *testing.T, s *session, suffix string) (v, img map[string]any) {
	t.Helper()
	img = sourceImage(t, s, suffix)
	v = createVolume(t, s, map[string]any{"size": 1, "name": name("vol", suffix), "imageRef": str(img, "id"),
		"metadata": map[string]any{"k": "v"}})
	v, seen := waitVolume(t, s, str(v, "id"), 6*time.Minute, "available", statusIs("available"))
	if str(v, "status") != "available" {
		t.Fatalf("volume from image %s: %v", str(img, "id"), seen)
	}
	return v, img
}

func TestVolumeStates(t *testing.T) {
	demo := cinderSetup(t)
	typ := defaultVolumeType(t, demo)

	cinderError(t, vol(t, demo, "POST", "/volumes", map[string]any{"volume": map[string]any{"size": 0, "name": name("zero")}}, ""),
		400, "badRequest", "size")
	cinderError(t, vol(t, demo, "GET", "/volumes/00000000-0000-0000-0000-000000000000", nil, ""),
		404, "itemNotFound", "could not be found")

	n := name("empty")
	v := createVolume(t, demo, map[string]any{"size": 1, "name": n})
	id := str(v, "id")
	field(t, v, "status", "creating")
	field(t, v, "size", 1)
	field(t, v, "name", n)
	field(t, v, "bootable", "false")
	field(t, v, "attachments", []any{})
	field(t, v, "metadata", map[string]any{})
	field(t, v, "description", nil)
	field(t, v, "encrypted", false)
	field(t, v, "multiattach", false)
	field(t, v, "volume_type", typ)
	field(t, v, "user_id", demo.UserID)
	field(t, v, "updated_at", nil)
	if links := list(v, "links"); len(links) == 0 || !strings.HasSuffix(str(links[0].(map[string]any), "href"), "/volumes/"+id) {
		t.Errorf("links = %v", v["links"])
	}

	v, seen := waitVolume(t, demo, id, 2*time.Minute, "available", statusIs("available"))
	field(t, v, "status", "available")
	if len(seen) > 2 || seen[0] != "creating" && seen[0] != "available" {
		t.Errorf("statuses %v, want creating then available", seen)
	}
	field(t, v, "os-vol-tenant-attr:tenant_id", demo.ProjectID)
	for _, k := range []string{"created_at", "updated_at"} {
		if !cinderTime.MatchString(str(v, k)) {
			t.Errorf("%s = %q, want Cinder's format 2006-01-02T15:04:05.000000", k, v[k])
		}
	}
	absent(t, v, "volume_image_metadata")

	r := vol(t, demo, "GET", "/volumes?name="+n, nil, "")
	expectStatus(t, r, 200)
	if vs := list(r.JSON(), "volumes"); len(vs) != 1 || str(vs[0].(map[string]any), "id") != id || str(vs[0].(map[string]any), "name") != n {
		t.Errorf("list by name: %s", r)
	} else {
		absent(t, vs[0].(map[string]any), "status")
	}
	r = vol(t, demo, "GET", "/volumes/detail?name="+n, nil, "")
	expectStatus(t, r, 200)
	if vs := list(r.JSON(), "volumes"); len(vs) != 1 || str(vs[0].(map[string]any), "status") != "available" {
		t.Errorf("detailed list by name: %s", r)
	}

	cinderError(t, vol(t, demo, "POST", "/volumes/"+id+"/action", map[string]any{"os-bogus": map[string]any{}}, ""),
		400, "badRequest", "There is no such action: os-bogus")

	r = vol(t, demo, "DELETE", "/volumes/"+id, nil, "")
	expectStatus(t, r, 202)
	if len(r.Body) != 0 {
		t.Errorf("delete answered a body: %s", r)
	}
	r = vol(t, demo, "GET", "/volumes/"+id, nil, "")
	if r.Status == 200 {
		field(t, obj(r.JSON(), "volume"), "status", "deleting")
	} else {
		checkStatus(t, r, 404)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for vol(t, demo, "GET", "/volumes/"+id, nil, "").Status != 404 {
		if time.Now().After(deadline) {
			t.Fatalf("volume %s still exists two minutes after its delete", id)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func TestVolumeFromImage(t *testing.T) {
	demo := cinderSetup(t)
	queued := createImage(t, demo, map[string]any{"name": name("volsrc-queued"), "disk_format": "raw", "container_format": "bare"})
	cinderError(t, vol(t, demo, "POST", "/volumes", map[string]any{"volume": map[string]any{
		"size": 1, "name": name("from-queued"), "imageRef": str(queued, "id")}}, ""), 400, "badRequest", "is not active")
	cinderError(t, vol(t, demo, "POST", "/volumes", map[string]any{"volume": map[string]any{
		"size": 1, "name": name("from-nothing"), "imageRef": "00000000-0000-0000-0000-000000000000"}}, ""),
		400, "badRequest", "Invalid image identifier")
	big := createImage(t, demo, map[string]any{"name": name("volsrc-big"), "disk_format": "raw", "container_format": "bare", "min_disk": 2})
	expectStatus(t, demo.Do(t, "PUT", "/v2/images/"+str(big, "id")+"/file", volumeData, nil), 204)
	cinderError(t, vol(t, demo, "POST", "/volumes", map[string]any{"volume": map[string]any{
		"size": 1, "name": name("too-small"), "imageRef": str(big, "id")}}, ""), 400, "badRequest", "minDisk")

	img := sourceImage(t, demo, "fromimg")
	v := createVolume(t, demo, map[string]any{"size": 1, "name": name("fromimg"), "imageRef": str(img, "id"),
		"metadata": map[string]any{"k": "v"}})
	// Bootable only once the image data is in: Cinder sets the flag when the copy has finished.
	field(t, v, "bootable", "false")
	field(t, v, "status", "creating")
	absent(t, v, "volume_image_metadata")
	v, seen := waitVolume(t, demo, str(v, "id"), 6*time.Minute, "available", statusIs("available"))
	field(t, v, "status", "available")
	for _, st := range seen {
		if st != "creating" && st != "downloading" && st != "available" {
			t.Errorf("statuses %v: %q is none of creating, downloading, available", seen, st)
		}
	}
	field(t, v, "bootable", "true")
	field(t, v, "metadata", map[string]any{"k": "v"})
	meta := obj(v, "volume_image_metadata")
	for k, want := range map[string]string{
		"image_id": str(img, "id"), "image_name": str(img, "name"), "checksum": str(img, "checksum"),
		"container_format": "bare", "disk_format": "raw", "min_disk": "1", "min_ram": "0",
		"size": fmt.Sprint(len(volumeData)), "diff_prop": "v1",
		// Cinder records that it did not verify a signature (the image has none).
		"signature_verified": "False",
	} {
		if got, ok := meta[k]; !ok || got != want {
			t.Errorf("volume_image_metadata[%s] = %#v, want %q (all: %v)", k, got, want, meta)
		}
	}

	// os-set_image_metadata merges and answers the whole map; Cinder protects no key.
	r := vol(t, demo, "POST", "/volumes/"+str(v, "id")+"/action", map[string]any{"os-set_image_metadata": map[string]any{
		"metadata": map[string]any{"packer_x": "y", "diff_prop": "v2"}}}, "")
	expectStatus(t, r, 200)
	md := obj(r.JSON(), "metadata")
	for k, want := range map[string]string{"packer_x": "y", "diff_prop": "v2", "image_id": str(img, "id"), "signature_verified": "False"} {
		if md[k] != want {
			t.Errorf("metadata after os-set_image_metadata: %s = %#v, want %q (%s)", k, md[k], want, r)
		}
	}
}

func TestVolumeUploadToImage(t *testing.T) {
	demo := cinderSetup(t)
	typ := defaultVolumeType(t, demo)
	v, _ := bootableVolume(t, demo, "upload")
	id := str(v, "id")
	expectStatus(t, vol(t, demo, "POST", "/volumes/"+id+"/action", map[string]any{"os-set_image_metadata": map[string]any{
		"metadata": map[string]any{"packer_x": "y"}}}, ""), 200)

	// Without a microversion: no visibility or protected in the request.
	n := name("uploaded")
	r := vol(t, demo, "POST", "/volumes/"+id+"/action", map[string]any{"os-volume_upload_image": map[string]any{
		"image_name": n, "disk_format": "raw", "container_format": "bare"}}, "")
	expectStatus(t, r, 202)
	up := obj(r.JSON(), "os-volume_upload_image")
	imageID := str(up, "image_id")
	if imageID != "" {
		t.Cleanup(func() { deleteImage(t, imageID) })
	}
	field(t, up, "id", id)
	field(t, up, "image_name", n)
	field(t, up, "disk_format", "raw")
	field(t, up, "container_format", "bare")
	field(t, up, "status", "uploading")
	field(t, up, "size", 1)
	field(t, up, "display_description", nil)
	// Glance's default visibility, as Cinder leaves it to Glance.
	field(t, up, "visibility", "shared")
	field(t, up, "protected", false)
	if vt := obj(up, "volume_type"); str(vt, "name") != typ || str(vt, "id") == "" {
		t.Errorf("volume_type = %v, want the %s type object", up["volume_type"], typ)
	}

	// While the upload runs, the volume refuses deletion and another upload.
	if r := vol(t, demo, "GET", "/volumes/"+id, nil, ""); str(obj(r.JSON(), "volume"), "status") == "uploading" {
		cinderError(t, vol(t, demo, "DELETE", "/volumes/"+id, nil, ""), 400, "badRequest", "Invalid volume")
		cinderError(t, vol(t, demo, "POST", "/volumes/"+id+"/action", map[string]any{"os-volume_upload_image": map[string]any{
			"image_name": name("second")}}, ""), 400, "badRequest", "must be available")
	}
	img := waitImage(t, demo, imageID, 6*time.Minute, "active", func(m map[string]any) bool {
		return m["status"] == "active" || m["status"] == "killed" || m["status"] == "deleted"
	})
	field(t, img, "status", "active")
	field(t, img, "name", n)
	field(t, img, "disk_format", "raw")
	field(t, img, "container_format", "bare")
	field(t, img, "visibility", "shared")
	field(t, img, "protected", false)
	field(t, img, "owner", demo.ProjectID)
	// Cinder does not pass the volume's size or the source image's min_disk on.
	field(t, img, "min_disk", 0)
	field(t, img, "min_ram", 0)
	// The volume's image metadata become properties, except Cinder's own bookkeeping keys.
	field(t, img, "diff_prop", "v1")
	field(t, img, "packer_x", "y")
	field(t, img, "signature_verified", "False")
	for _, k := range []string{"image_id", "image_name", "volume_id"} {
		absent(t, img, k)
	}
	waitVolume(t, demo, id, 2*time.Minute, "available again", statusIs("available"))

	// Microversion 3.1: visibility and protected; public needs admin.
	cinderError(t, vol(t, demo, "POST", "/volumes/"+id+"/action", map[string]any{"os-volume_upload_image": map[string]any{
		"image_name": name("public"), "visibility": "public"}}, "3.1"), 403, "forbidden", "upload_public")
	n = name("uploaded-private")
	r = vol(t, demo, "POST", "/volumes/"+id+"/action", map[string]any{"os-volume_upload_image": map[string]any{
		"image_name": n, "disk_format": "qcow2", "container_format": "bare", "visibility": "private"}}, "3.1")
	expectStatus(t, r, 202)
	up = obj(r.JSON(), "os-volume_upload_image")
	private := str(up, "image_id")
	if private != "" {
		t.Cleanup(func() { deleteImage(t, private) })
	}
	field(t, up, "visibility", "private")
	field(t, up, "disk_format", "qcow2")
	img = waitImage(t, demo, private, 6*time.Minute, "active", func(m map[string]any) bool {
		return m["status"] == "active" || m["status"] == "killed" || m["status"] == "deleted"
	})
	field(t, img, "status", "active")
	field(t, img, "visibility", "private")
	field(t, img, "disk_format", "qcow2")
	waitVolume(t, demo, id, 2*time.Minute, "available again", statusIs("available"))
}

func TestVolumeInUse(t *testing.T) {
	demo := cinderSetup(t)
	if demo.Compute == "" {
		t.Skip("no compute endpoint in the catalog")
	}
	nova := map[string]string{"OpenStack-API-Version": "compute 2.79", "X-OpenStack-Nova-API-Version": "2.79"}
	r := demo.DoURL(t, "GET", demo.Compute+"/flavors", nil, nova)
	expectStatus(t, r, 200)
	flavor := ""
	for _, f := range list(r.JSON(), "flavors") {
		if m := f.(map[string]any); str(m, "name") == env("DIFF_FLAVOR", "m1.tiny") {
			flavor = str(m, "id")
		}
	}
	if flavor == "" {
		t.Skipf("no flavor %s", env("DIFF_FLAVOR", "m1.tiny"))
	}
	v, _ := bootableVolume(t, demo, "inuse")
	id := str(v, "id")

	// A server booted from the volume, without a network: the volume is attached while it exists.
	r = demo.DoURL(t, "POST", demo.Compute+"/servers", map[string]any{"server": map[string]any{
		"name": name("bfv"), "flavorRef": flavor, "networks": "none",
		"block_device_mapping_v2": []any{map[string]any{"boot_index": 0, "uuid": id, "source_type": "volume",
			"destination_type": "volume", "delete_on_termination": false}},
	}}, nova)
	expectStatus(t, r, 202)
	server := str(obj(r.JSON(), "server"), "id")
	deleteServer := func() {
		demo.DoURL(t, "DELETE", demo.Compute+"/servers/"+server, nil, nova)
		deadline := time.Now().Add(2 * time.Minute)
		for demo.DoURL(t, "GET", demo.Compute+"/servers/"+server, nil, nova).Status != 404 && time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
		}
	}
	t.Cleanup(deleteServer)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		r = demo.DoURL(t, "GET", demo.Compute+"/servers/"+server, nil, nova)
		expectStatus(t, r, 200)
		st := str(obj(r.JSON(), "server"), "status")
		if st == "ACTIVE" {
			break
		}
		if st == "ERROR" || time.Now().After(deadline) {
			t.Fatalf("server %s booted from volume %s: %s", server, id, r)
		}
		time.Sleep(500 * time.Millisecond)
	}
	v, seen := waitVolume(t, demo, id, 2*time.Minute, "in-use", statusIs("in-use"))
	field(t, v, "status", "in-use")
	for _, st := range seen {
		if st != "available" && st != "reserved" && st != "attaching" && st != "in-use" {
			t.Errorf("statuses %v while the server booted: %q unexpected", seen, st)
		}
	}
	atts := list(v, "attachments")
	if len(atts) != 1 {
		t.Fatalf("attachments = %v, want one", v["attachments"])
	}
	att := atts[0].(map[string]any)
	field(t, att, "server_id", server)
	field(t, att, "volume_id", id)
	field(t, att, "id", id)
	field(t, att, "device", "/dev/vda")
	if len(str(att, "attachment_id")) != 36 {
		t.Errorf("attachment_id %q is not a UUID", att["attachment_id"])
	}
	if !cinderTime.MatchString(str(att, "attached_at")) {
		t.Errorf("attached_at = %#v", att["attached_at"])
	}

	// An attached volume can be neither deleted nor uploaded, forced or not (enable_force_upload is
	// off by default).
	cinderError(t, vol(t, demo, "DELETE", "/volumes/"+id, nil, ""), 400, "badRequest",
		"Volume status must be available or error")
	for _, force := range []bool{false, true} {
		cinderError(t, vol(t, demo, "POST", "/volumes/"+id+"/action", map[string]any{"os-volume_upload_image": map[string]any{
			"image_name": name("inuse"), "force": force}}, ""), 400, "badRequest", "must be available")
	}
	r = demo.DoURL(t, "GET", demo.Compute+"/servers/"+server+"/os-volume_attachments", nil, nova)
	expectStatus(t, r, 200)
	if va := list(r.JSON(), "volumeAttachments"); len(va) != 1 || str(va[0].(map[string]any), "volumeId") != id {
		t.Errorf("server's volume attachments: %s", r)
	} else {
		field(t, va[0].(map[string]any), "delete_on_termination", false)
	}

	// Deleting the server detaches the volume, which stays (delete_on_termination false).
	deleteServer()
	v, _ = waitVolume(t, demo, id, 2*time.Minute, "available after the server's delete", statusIs("available"))
	field(t, v, "status", "available")
	field(t, v, "attachments", []any{})
}
