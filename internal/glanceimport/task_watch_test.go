package glanceimport

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// breakingProxy stands between the plugin and the image service and, while
// breaks is positive, cuts the connection of image reads instead of passing
// them on, as a restarting glance-api does.
type breakingProxy struct {
	next   *httputil.ReverseProxy
	breaks atomic.Int32
}

var imageRead = regexp.MustCompile(`/v2/images/[0-9a-f-]+$`)

func (p *breakingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && imageRead.MatchString(r.URL.Path) && p.breaks.Add(-1) >= 0 {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	p.next.ServeHTTP(w, r)
}

// glance-api restarts while its web-download task runs: the task dies with it
// and Glance keeps the image importing for good (the real Glance 25 does; see
// test/realcloud/FACTS.md). The import notices it — the image service went
// away during the wait, then the task stayed processing with no update — and
// imports again into a new image, leaving one image behind.
func TestImportStartsAgainWhenTheImportTaskDied(t *testing.T) {
	saved := deadTaskGrace
	deadTaskGrace = 200 * time.Millisecond
	t.Cleanup(func() { deadTaskGrace = saved })
	c, err := testcloud.Start(testcloud.Options{NoSeed: true, AllowAnyWebDownloadPort: true, ImageDelay: 20 * time.Millisecond,
		ImportLockLinger: 20 * time.Millisecond,
		Faults:           []testcloud.Fault{{Op: "image.import", Action: testcloud.ActionHold, Times: 1}}})
	if err != nil {
		t.Skipf("the test cloud cannot start here: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	ac := access.AccessConfig{IdentityEndpoint: c.AuthURL(), Username: testcloud.DemoUser, Password: testcloud.DemoPassword,
		ProjectName: testcloud.DemoProject, UserDomainName: "Default", ProjectDomainName: "Default", Region: "RegionOne"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sess, err := ac.Authenticate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := openstack.NewImageV2(sess.Provider, sess.EndpointOpts())
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(direct.Endpoint)
	proxy := &breakingProxy{next: httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})}
	proxySrv := httptest.NewServer(proxy)
	t.Cleanup(proxySrv.Close)
	viaProxy := *direct
	viaProxy.Endpoint = strings.Replace(direct.Endpoint, target.Host, strings.TrimPrefix(proxySrv.URL, "http://"), 1)
	viaProxy.ResourceBase = viaProxy.Endpoint + "v2/"
	g := osapi.NewGlance(&viaProxy, sess.Project.ID)

	src := newSourceServer(t, fakeQcow2(256<<10))
	// The wait's first reads: glance-api is restarting. (Two: Go's transport
	// silently re-sends a GET once when a reused connection closes unanswered.)
	proxy.breaks.Store(2)
	var said []string
	res, err := Import(ctx, g, Request{
		Source: Source{URL: src.url() + "?name=disk.qcow2"}, Method: MethodWebDownload, OwnerID: sess.Project.ID,
		Image: ImageSpec{Name: "task-died", DiskFormat: "qcow2"}, Say: func(line string) { said = append(said, line) },
	})
	if err != nil {
		t.Fatalf("import: %v\n%s", err, strings.Join(said, "\n"))
	}
	if !strings.Contains(strings.Join(said, "\n"), "importing again into a new image") {
		t.Errorf("no new attempt reported:\n%s", strings.Join(said, "\n"))
	}
	imgs := c.ImagesByName("task-died")
	if len(imgs) != 1 || imgs[0].ID != res.Image.ID || imgs[0].Status != "active" {
		t.Errorf("images named task-died: %+v, want only the active %s", imgs, res.Image.ID)
	}
}
