package glanceimport

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// restartCloud starts a test cloud for one test and logs in as its demo user,
// with API retries cut short so that a fault reaches the import quickly.
func restartCloud(t *testing.T) (*testcloud.Cloud, *access.Session, context.Context) {
	t.Helper()
	c, err := testcloud.Start(testcloud.Options{})
	if err != nil {
		t.Skipf("the test cloud cannot start here: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	ac := access.AccessConfig{IdentityEndpoint: c.AuthURL(), Username: testcloud.DemoUser, Password: testcloud.DemoPassword,
		ProjectName: testcloud.DemoProject, UserDomainName: "Default", ProjectDomainName: "Default", APIRetryTimeout: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	sess, err := ac.Authenticate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c, sess, ctx
}

// An upload that fails transiently (here a 502, as a proxy answers while
// glance-api restarts behind it) starts again from the file with a new image: the import
// succeeds and leaves exactly one image. A refused upload of a stream that
// cannot be read again is not restarted.
func TestImportStartsAgainWhenTheUploadBreaks(t *testing.T) {
	c, sess, ctx := restartCloud(t)
	g := osapi.New(sess).Glance()
	file := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(file, []byte(strings.Repeat("golden", 200000)), 0o600); err != nil {
		t.Fatal(err)
	}

	c.AddFault(testcloud.Fault{Op: "image.upload", Status: 502, Times: 2})
	var said []string
	res, err := Import(ctx, g, Request{
		Source: Source{File: file}, Image: ImageSpec{Name: "restarted", DiskFormat: "raw"}, OwnerID: sess.Project.ID,
		Say: func(line string) { said = append(said, line) },
	})
	if err != nil {
		t.Fatalf("import: %v\n%s", err, strings.Join(said, "\n"))
	}
	if !strings.Contains(strings.Join(said, "\n"), "starting again from") {
		t.Errorf("no restart reported:\n%s", strings.Join(said, "\n"))
	}
	imgs := c.ImagesByName("restarted")
	if len(imgs) != 1 || imgs[0].ID != res.Image.ID || imgs[0].Status != "active" {
		t.Errorf("images named restarted: %+v, want only the active %s", imgs, res.Image.ID)
	}

	c.AddFault(testcloud.Fault{Op: "image.upload", Status: 502, Times: 1})
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = Import(ctx, g, Request{
		Source: Source{Reader: struct{ *os.File }{f}, Name: "stream"}, Image: ImageSpec{Name: "stream-once", DiskFormat: "raw"},
		OwnerID: sess.Project.ID, Say: func(string) {},
	})
	if err == nil {
		t.Error("a broken upload of a stream that cannot be read again succeeded")
	}
	if imgs := c.ImagesByName("stream-once"); len(imgs) != 0 {
		t.Errorf("the failed stream left %+v", imgs)
	}
}

// When the attempt after a broken upload fails another way (here the new
// image's create is refused), the error still tells of the broken upload.
func TestImportErrorAfterARestartTellsOfTheBrokenUpload(t *testing.T) {
	c, sess, ctx := restartCloud(t)
	file := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(file, []byte(strings.Repeat("golden", 100000)), 0o600); err != nil {
		t.Fatal(err)
	}
	c.AddFault(testcloud.Fault{Op: "image.upload", Status: 502, Times: 1})
	// The first create goes through; the restart's create is refused.
	c.AddFault(testcloud.Fault{Op: "image.create", Status: 403, Nth: 2})
	_, err := Import(ctx, osapi.New(sess).Glance(), Request{
		Source: Source{File: file}, Image: ImageSpec{Name: "refused-again", DiskFormat: "raw"}, OwnerID: sess.Project.ID,
		Say: func(string) {},
	})
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "the upload broke 1 time(s)") {
		t.Errorf("error = %v, want the refused create and the broken upload before it", err)
	}
	if imgs := c.ImagesByName("refused-again"); len(imgs) != 0 {
		t.Errorf("the failed import left %+v", imgs)
	}
}
