package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/imagefind"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// cloudEnv is a running test cloud with a clouds.yaml in OS_CLIENT_CONFIG_FILE.
type cloudEnv struct {
	cloud *testcloud.Cloud
	yaml  string
}

func startCloud(t *testing.T) *cloudEnv {
	t.Helper()
	c, err := testcloud.Start(testcloud.Options{})
	if err != nil {
		t.Fatalf("starting the test cloud: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	yaml := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := c.WriteCloudsYAML(yaml); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"OS_CLOUD", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME", "OS_REGION_NAME", "OS_TOKEN"} {
		t.Setenv(k, "")
	}
	t.Setenv("OS_CLIENT_CONFIG_FILE", yaml)
	return &cloudEnv{cloud: c, yaml: yaml}
}

// session logs in as the clouds.yaml entry named cloud ("testcloud" is user
// demo, "testcloud-admin" is admin).
func (e *cloudEnv) session(t *testing.T, cloud, region string) *access.Session {
	t.Helper()
	ac := access.AccessConfig{Cloud: cloud, Region: region}
	if _, errs := ac.Prepare(); len(errs) > 0 {
		t.Fatal(errs)
	}
	sess, err := ac.Authenticate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

func (e *cloudEnv) imageClient(t *testing.T, cloud, region string) *gophercloud.ServiceClient {
	t.Helper()
	sess := e.session(t, cloud, region)
	c, err := openstack.NewImageV2(sess.Provider, sess.EndpointOpts())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// finder is the lookup the data source makes: the shared Glance and Keystone
// clients of a session.
func (e *cloudEnv) finder(t *testing.T, cloud string) *imagefind.Finder {
	t.Helper()
	svc := osapi.New(e.session(t, cloud, ""))
	return &imagefind.Finder{Images: svc.Glance(), Projects: svc.Keystone()}
}

// createImage creates an image through the Glance API and, unless queued is
// asked for, uploads size bytes so it becomes active.
func createImage(t *testing.T, c *gophercloud.ServiceClient, opts images.CreateOpts, size int, queued bool) images.Image {
	t.Helper()
	ctx := context.Background()
	if opts.ContainerFormat == "" {
		opts.ContainerFormat = "bare"
	}
	if opts.DiskFormat == "" {
		opts.DiskFormat = "qcow2"
	}
	img, err := images.Create(ctx, c, opts).Extract()
	if err != nil {
		t.Fatalf("creating image %q: %v", opts.Name, err)
	}
	if !queued {
		if err := imagedata.Upload(ctx, c, img.ID, bytes.NewReader(make([]byte, size))).ExtractErr(); err != nil {
			t.Fatalf("uploading image %q: %v", opts.Name, err)
		}
	}
	got, err := images.Get(ctx, c, img.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	return *got
}

func vis(v images.ImageVisibility) *images.ImageVisibility { return &v }

// waitNextSecond sleeps until the wall clock starts a new second: Glance's created_at has whole
// seconds, so an image created after it is strictly newer than one created before.
func waitNextSecond() { time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second))) }

// sameSecond creates the images of opts (in that order) within one second of
// created_at, retrying at the next second if the clock ticked in between.
func sameSecond(t *testing.T, c *gophercloud.ServiceClient, opts ...images.CreateOpts) []images.Image {
	t.Helper()
	for attempt := 0; attempt < 5; attempt++ {
		waitNextSecond()
		var made []images.Image
		for _, o := range opts {
			made = append(made, createImage(t, c, o, 10, false))
		}
		same := true
		for _, m := range made {
			same = same && m.CreatedAt.Equal(made[0].CreatedAt)
		}
		if same {
			return made
		}
		for _, m := range made {
			_ = images.Delete(context.Background(), c, m.ID).ExtractErr()
		}
	}
	t.Fatal("could not create the images within one second")
	return nil
}

// seeded is the test cloud's image catalogue for the lookup tests.
type seeded struct {
	byName         map[string]images.Image
	nightlies      []images.Image
	tieNames       []images.Image // tie-c, tie-a, tie-b: one second, created in that order
	tieIDs         []images.Image // three "tie-id" images in one second
	demoProject    string
	partnerProject string
}

const nightlies = 30

// escapedValue needs URL escaping and holds Glance's list syntax characters.
const escapedValue = `a&b=c "d", e:f/ü+%?#`

func seed(t *testing.T, e *cloudEnv) *seeded {
	t.Helper()
	admin := e.imageClient(t, "testcloud-admin", "")
	demo := e.imageClient(t, "testcloud", "")
	s := &seeded{byName: map[string]images.Image{}, demoProject: e.cloud.ProjectID(testcloud.DemoProject)}
	add := func(img images.Image) images.Image { s.byName[img.Name] = img; return img }

	for i := 0; i < nightlies; i++ {
		s.nightlies = append(s.nightlies, createImage(t, admin, images.CreateOpts{
			Name: fmt.Sprintf("nightly-%03d", i), Visibility: vis(images.ImageVisibilityPublic),
			Properties: map[string]string{"build_number": fmt.Sprint(i), "channel": "nightly"},
		}, 10, false))
	}
	add(createImage(t, admin, images.CreateOpts{Name: "debian:12", Visibility: vis(images.ImageVisibilityPublic),
		Properties: map[string]string{"os_distro": "debian", "build": escapedValue}}, 10, false))
	add(createImage(t, admin, images.CreateOpts{Name: "golden-a", Visibility: vis(images.ImageVisibilityPublic),
		Tags: []string{"golden", "x86_64"}}, 10, false))
	add(createImage(t, admin, images.CreateOpts{Name: "golden-b", Visibility: vis(images.ImageVisibilityPublic),
		Tags: []string{"golden"}}, 10, false))
	add(createImage(t, admin, images.CreateOpts{Name: "raw-big", Visibility: vis(images.ImageVisibilityPublic),
		DiskFormat: "raw", ContainerFormat: "ovf"}, 5000, false))
	add(createImage(t, admin, images.CreateOpts{Name: "twin", Visibility: vis(images.ImageVisibilityPublic)}, 10, false))
	hidden := true
	s.byName["twin (hidden)"] = createImage(t, admin, images.CreateOpts{Name: "twin", Visibility: vis(images.ImageVisibilityPublic), Hidden: &hidden}, 10, false)
	add(createImage(t, admin, images.CreateOpts{Name: "queued-one", Visibility: vis(images.ImageVisibilityPublic)}, 0, true))
	add(createImage(t, admin, images.CreateOpts{Name: "community-one", Visibility: vis(images.ImageVisibilityCommunity)}, 10, false))
	add(createImage(t, demo, images.CreateOpts{Name: "demo-private", Visibility: vis(images.ImageVisibilityPrivate)}, 10, false))

	// Images of another project shared with demo, one accepted and one not yet.
	s.partnerProject = e.cloud.CreateProject("partner")
	for _, name := range []string{"shared-accepted", "shared-pending"} {
		img := add(createImage(t, admin, images.CreateOpts{Name: name, Visibility: vis(images.ImageVisibilityShared),
			Properties: map[string]string{"origin": "partner"}}, 10, false))
		if err := e.cloud.ShareImage(img.ID, testcloud.DemoProject, name == "shared-accepted"); err != nil {
			t.Fatal(err)
		}
	}

	public := vis(images.ImageVisibilityPublic)
	s.tieNames = sameSecond(t, admin,
		images.CreateOpts{Name: "tie-c", Visibility: public}, images.CreateOpts{Name: "tie-a", Visibility: public},
		images.CreateOpts{Name: "tie-b", Visibility: public})
	s.tieIDs = sameSecond(t, admin,
		images.CreateOpts{Name: "tie-id", Visibility: public}, images.CreateOpts{Name: "tie-id", Visibility: public},
		images.CreateOpts{Name: "tie-id", Visibility: public})
	return s
}

func TestTestCloudLookups(t *testing.T) {
	e := startCloud(t)
	s := seed(t, e)
	demo := e.finder(t, "testcloud")
	admin := e.finder(t, "testcloud-admin")
	ctx := context.Background()
	id := func(name string) string {
		img, ok := s.byName[name]
		if !ok {
			t.Fatalf("no seeded image %q", name)
		}
		return img.ID
	}
	adminProject := e.cloud.ProjectID(testcloud.AdminProject)

	cases := []struct {
		name   string
		finder *imagefind.Finder
		q      imagefind.Query
		want   func() string
	}{
		{"seeded base image by name", demo, imagefind.Query{Filter: imagefind.Filter{Name: testcloud.BaseImageName}}, nil},
		{"name with a colon", demo, imagefind.Query{Filter: imagefind.Filter{Name: "debian:12"}}, func() string { return id("debian:12") }},
		{"wildcard", demo, imagefind.Query{Filter: imagefind.Filter{Name: "debian:*"}}, func() string { return id("debian:12") }},
		{"wildcard spanning pages, most recent", demo, imagefind.Query{Filter: imagefind.Filter{Name: "nightly-00*"}, MostRecent: true, PageSize: 4},
			func() string { return s.nightlies[9].ID }},
		{"regex", demo, imagefind.Query{Filter: imagefind.Filter{NameRegex: `^nightly-01[7]$`}, PageSize: 5}, func() string { return s.nightlies[17].ID }},
		{"owner by ID", demo, imagefind.Query{Filter: imagefind.Filter{Owner: s.demoProject}}, func() string { return id("demo-private") }},
		{"owner by name, resolved in Keystone", admin, imagefind.Query{Filter: imagefind.Filter{Owner: testcloud.DemoProject}}, func() string { return id("demo-private") }},
		{"owner name the user may not list: own project", demo, imagefind.Query{Filter: imagefind.Filter{Owner: testcloud.DemoProject}}, func() string { return id("demo-private") }},
		{"visibility private", demo, imagefind.Query{Filter: imagefind.Filter{Visibility: "private"}}, func() string { return id("demo-private") }},
		{"visibility community", demo, imagefind.Query{Filter: imagefind.Filter{Visibility: "community"}}, func() string { return id("community-one") }},
		{"tags, all must match", demo, imagefind.Query{Filter: imagefind.Filter{Tags: []string{"golden", "x86_64"}}}, func() string { return id("golden-a") }},
		{"property", demo, imagefind.Query{Filter: imagefind.Filter{Properties: map[string]string{"build_number": "21"}}, PageSize: 5}, func() string { return s.nightlies[21].ID }},
		{"property value needing escaping", demo, imagefind.Query{Filter: imagefind.Filter{Properties: map[string]string{"build": escapedValue}}}, func() string { return id("debian:12") }},
		{"disk and container format", demo, imagefind.Query{Filter: imagefind.Filter{DiskFormat: "raw", ContainerFormat: "ovf"}}, func() string { return id("raw-big") }},
		{"size_min", demo, imagefind.Query{Filter: imagefind.Filter{SizeMin: 4000, SizeMax: 6000, Visibility: "public"}}, func() string { return id("raw-big") }},
		{"size_max with name", demo, imagefind.Query{Filter: imagefind.Filter{Name: "raw-big", SizeMax: 5000}}, func() string { return id("raw-big") }},
		{"visible twin by default", demo, imagefind.Query{Filter: imagefind.Filter{Name: "twin"}}, func() string { return id("twin") }},
		{"hidden twin", demo, imagefind.Query{Filter: imagefind.Filter{Name: "twin", Hidden: true}}, func() string { return id("twin (hidden)") }},
		{"queued status", demo, imagefind.Query{Filter: imagefind.Filter{Name: "queued-one", Status: "queued"}}, func() string { return id("queued-one") }},
		{"shared accepted by default", demo, imagefind.Query{Filter: imagefind.Filter{Properties: map[string]string{"origin": "partner"}}}, func() string { return id("shared-accepted") }},
		{"shared pending", demo, imagefind.Query{Filter: imagefind.Filter{Name: "shared-pending", MemberStatus: "pending"}}, func() string { return id("shared-pending") }},
		{"shared, visibility shared, member_status all, most recent", demo,
			imagefind.Query{Filter: imagefind.Filter{Visibility: "shared", MemberStatus: "all"}, MostRecent: true}, func() string { return id("shared-pending") }},
		{"combined", demo, imagefind.Query{Filter: imagefind.Filter{Name: "nightly-*", Properties: map[string]string{"channel": "nightly", "build_number": "3"},
			Visibility: "public", DiskFormat: "qcow2", Owner: adminProject, SizeMax: 10}, PageSize: 7}, func() string { return s.nightlies[3].ID }},
		{"most_recent tie goes to the greatest name", demo, imagefind.Query{Filter: imagefind.Filter{NameRegex: "^tie-[abc]$"}, MostRecent: true, PageSize: 2},
			func() string { return s.tieNames[0].ID }},
		{"most_recent tie on name goes to the greatest ID", demo, imagefind.Query{Filter: imagefind.Filter{Name: "tie-id"}, MostRecent: true},
			func() string { return maxID(s.tieIDs) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.finder.Find(ctx, tc.q)
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			if tc.want == nil {
				if got.Name != tc.q.Filter.Name {
					t.Errorf("found %q", got.Name)
				}
				return
			}
			if want := tc.want(); got.ID != want {
				t.Errorf("found %s (%q), want %s", got.ID, got.Name, want)
			}
		})
	}
}

func maxID(imgs []images.Image) string {
	ids := make([]string, len(imgs))
	for i, m := range imgs {
		ids[i] = m.ID
	}
	sort.Strings(ids)
	return ids[len(ids)-1]
}

func TestTestCloudZeroAndManyResults(t *testing.T) {
	e := startCloud(t)
	s := seed(t, e)
	demo := e.finder(t, "testcloud")
	ctx := context.Background()

	_, err := demo.Find(ctx, imagefind.Query{Filter: imagefind.Filter{Name: "shared-pending"}})
	var nm *imagefind.NoMatchError
	if !errors.As(err, &nm) || !strings.Contains(err.Error(), `name = "shared-pending"`) {
		t.Errorf("an unaccepted shared image was found without member_status: %v", err)
	}
	_, err = demo.Find(ctx, imagefind.Query{Filter: imagefind.Filter{Name: "nightly-*", Properties: map[string]string{"channel": "stable"}}, PageSize: 4})
	if !errors.As(err, &nm) || !strings.Contains(err.Error(), `properties = {"channel" = "stable"}`) {
		t.Errorf("err = %v", err)
	}
	_, err = demo.Find(ctx, imagefind.Query{Filter: imagefind.Filter{NameRegex: "^nightly-9"}, PageSize: 4})
	if !errors.As(err, &nm) || !strings.Contains(err.Error(), "rejected on the client by name_regex") {
		t.Errorf("err = %v", err)
	}
	t.Logf("no match: %v", err)

	_, err = demo.Find(ctx, imagefind.Query{Filter: imagefind.Filter{Properties: map[string]string{"channel": "nightly"}}, PageSize: 7})
	var amb *imagefind.AmbiguousError
	if !errors.As(err, &amb) {
		t.Fatalf("err = %v, want *imagefind.AmbiguousError", err)
	}
	t.Logf("several matches: %v", err)
	if amb.Count != nightlies || len(amb.Candidates) != 10 {
		t.Errorf("count %d, %d candidates", amb.Count, len(amb.Candidates))
	}
	newest := s.nightlies[nightlies-1]
	if !strings.Contains(err.Error(), fmt.Sprintf("%q (ID %s, created %s)", newest.Name, newest.ID, newest.CreatedAt.UTC().Format(time.RFC3339))) ||
		!strings.Contains(err.Error(), fmt.Sprintf("and %d more", nightlies-10)) {
		t.Errorf("candidates not listed: %v", err)
	}
}

// countingLister counts the pages and images Glance served.
type countingLister struct {
	next          imagefind.Lister
	pages, images int
}

func (c *countingLister) ListImages(ctx context.Context, req images.ListOptsBuilder, page func([]images.Image) bool) error {
	return c.next.ListImages(ctx, req, func(imgs []images.Image) bool {
		c.pages++
		c.images += len(imgs)
		return page(imgs)
	})
}

func TestTestCloudWalksPagesAndStopsEarly(t *testing.T) {
	e := startCloud(t)
	s := seed(t, e)
	fd := e.finder(t, "testcloud")
	ctx := context.Background()
	find := func(q imagefind.Query) (*images.Image, *countingLister, error) {
		c := &countingLister{next: fd.Images}
		img, err := imagefind.Finder{Images: c}.Find(ctx, q)
		return img, c, err
	}

	// What demo sees: every active, visible image.
	pages, err := images.List(e.imageClient(t, "testcloud", ""), images.ListOpts{Status: images.ImageStatusActive}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	visible, _ := images.ExtractImages(pages)
	if len(visible) < 40 {
		t.Fatalf("only %d images visible", len(visible))
	}

	got, c, err := find(imagefind.Query{Filter: imagefind.Filter{NameRegex: "^nightly-000$"}, PageSize: 5})
	if err != nil || got.ID != s.nightlies[0].ID {
		t.Fatalf("found %v, %v", got, err)
	}
	if c.images != len(visible) || c.pages != (len(visible)+4)/5 {
		t.Errorf("read %d images in %d pages, want all %d", c.images, c.pages, len(visible))
	}

	// The three tie-id images are the newest, alone in their second: the walk
	// stops at the first older image, on the first page.
	got, c, err = find(imagefind.Query{Filter: imagefind.Filter{NameRegex: "^tie-id$"}, MostRecent: true, PageSize: 5})
	if err != nil || got.ID != maxID(s.tieIDs) {
		t.Fatalf("found %v, %v", got, err)
	}
	if c.pages != 1 {
		t.Errorf("read %d pages for most_recent, want 1", c.pages)
	}
	// Same-second ties spanning pages are all compared before stopping.
	got, c, err = find(imagefind.Query{Filter: imagefind.Filter{NameRegex: "^tie-[abc]$"}, MostRecent: true, PageSize: 2})
	if err != nil || got.ID != s.tieNames[0].ID {
		t.Fatalf("found %v, %v", got, err)
	}
	if c.pages < 3 || c.pages > 4 {
		t.Errorf("read %d pages, want 3 or 4 (tie-id, tie-a/b/c, then the first older image)", c.pages)
	}
}

func TestTestCloudDatasourceOutputsAndRegion(t *testing.T) {
	e := startCloud(t)
	kz := e.imageClient(t, "testcloud-admin", "kz-ala-1")
	made := createImage(t, kz, images.CreateOpts{Name: "kz-only", Visibility: vis(images.ImageVisibilityPublic),
		Tags: []string{"regional"}, MinDisk: 3, MinRAM: 256, Properties: map[string]string{"os_distro": "alpine", "site": "ala"}}, 123, false)

	var d Datasource
	if err := d.Configure(map[string]any{"cloud": "testcloud", "region": "kz-ala-1", "name": "kz-only"}); err != nil {
		t.Fatal(err)
	}
	v, err := d.Execute()
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	str := func(k string) string { return v.GetAttr(k).AsString() }
	if str("id") != made.ID || str("region") != "kz-ala-1" || str("name") != "kz-only" || str("status") != "active" ||
		str("visibility") != "public" || str("disk_format") != "qcow2" || str("container_format") != "bare" ||
		str("owner") != e.cloud.ProjectID(testcloud.AdminProject) || str("created_at") != made.CreatedAt.UTC().Format(time.RFC3339) {
		t.Errorf("outputs %#v", v)
	}
	props := v.GetAttr("properties").AsValueMap()
	if props["os_distro"].AsString() != "alpine" || props["site"].AsString() != "ala" {
		t.Errorf("properties %#v", props)
	}
	if str("os_hash_algo") == "" || str("os_hash_value") == "" {
		t.Errorf("hash outputs empty: %q %q", str("os_hash_algo"), str("os_hash_value"))
	}
	if n, _ := v.GetAttr("size").AsBigFloat().Int64(); n != 123 {
		t.Errorf("size %d", n)
	}
	if n, _ := v.GetAttr("min_disk").AsBigFloat().Int64(); n != 3 {
		t.Errorf("min_disk %d", n)
	}

	// The default region (RegionOne) does not have it.
	var d2 Datasource
	if err := d2.Configure(map[string]any{"cloud": "testcloud", "name": "kz-only"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d2.Execute(); err == nil || !strings.Contains(err.Error(), `no Glance image matches name = "kz-only"`) {
		t.Errorf("err = %v", err)
	}
}

func TestTestCloudAPIErrorsAndTimeout(t *testing.T) {
	e := startCloud(t)
	// A 503 that outlasts the retry budget (api_retry_timeout) fails the lookup.
	e.cloud.AddFault(testcloud.Fault{Op: "image.list", Status: 503, Message: "glance is down for maintenance"})
	var d Datasource
	if err := d.Configure(map[string]any{"cloud": "testcloud", "name": testcloud.BaseImageName, "api_retry_timeout": "2s"}); err != nil {
		t.Fatal(err)
	}
	_, err := d.Execute()
	if err == nil {
		t.Fatal("no error")
	}
	t.Logf("API error: %v", err)
	for _, want := range []string{e.cloud.URL(), "/v2/images", "HTTP 503", "glance is down for maintenance"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}

	e.cloud.ClearFaults()
	e.cloud.AddFault(testcloud.Fault{Op: "image.list", Latency: testcloud.Duration(5 * time.Second)})
	var slow Datasource
	if err := slow.Configure(map[string]any{"cloud": "testcloud", "name": testcloud.BaseImageName, "timeout": "1s"}); err != nil {
		t.Fatal(err)
	}
	_, err = slow.Execute()
	if err == nil || !strings.Contains(err.Error(), "did not finish within timeout (1s)") {
		t.Errorf("err = %v, want the timeout named", err)
	}
	t.Logf("timeout: %v", err)
}
