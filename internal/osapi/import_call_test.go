package osapi

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// An import call whose reply is lost, or which fails on Glance's side, is sent
// again: a repeat that Glance refuses with 409 means the first went through, a
// repeat that is accepted means it did not; either way the image is imported.
// A call that fails every time fails after CreateAttempts calls.
func TestStartImportSendsALostCallAgain(t *testing.T) {
	saved := LostLookupPause
	LostLookupPause = 10 * time.Millisecond
	t.Cleanup(func() { LostLookupPause = saved })
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("some raw disk data"))
	}))
	defer src.Close()
	tc, err := testcloud.Start(testcloud.Options{NoSeed: true, ImageDelay: 10 * time.Millisecond, ImportLockLinger: 10 * time.Millisecond,
		WebDownloadAllowedPorts: []int{src.Listener.Addr().(*net.TCPAddr).Port}})
	if err != nil {
		t.Skipf("the test cloud cannot start here: %v", err)
	}
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g := demoServices(t, ctx, tc).Glance()
	call := ImportCall{Method: "web-download", URI: src.URL + "/disk.raw"}

	for _, f := range []testcloud.Fault{
		{Op: "image.import", Action: testcloud.ActionLoseReply, Times: 1},
		{Op: "image.import", Status: 503, Times: 2},
	} {
		tc.ClearFaults()
		tc.AddFault(f)
		img, err := g.CreateImage(ctx, images.CreateOpts{Name: "import-again", DiskFormat: "raw", ContainerFormat: "bare"})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.StartImport(ctx, img.ID, call); err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		got, err := WaitForImage(ctx, func(ctx context.Context, id string) (*images.Image, error) { return g.GetImage(ctx, id) },
			img.ID, ImageWait{ImportStarted: true, Timeout: 20 * time.Second})
		if err != nil || got.Status != images.ImageStatusActive {
			t.Errorf("%+v: the image after the import: %v", f, err)
		}
	}

	tc.ClearFaults()
	tc.ResetRequests()
	tc.AddFault(testcloud.Fault{Op: "image.import", Status: 500})
	img, err := g.CreateImage(ctx, images.CreateOpts{Name: "import-never", DiskFormat: "raw", ContainerFormat: "bare"})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.StartImport(ctx, img.ID, call); !gophercloud.ResponseCodeIs(err, 500) {
		t.Errorf("an import call that always fails: %v", err)
	}
	if n := tc.CountRequests("image.import"); n != CreateAttempts {
		t.Errorf("%d import calls, want %d", n, CreateAttempts)
	}
}
