package imagefind

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

func find(t *testing.T, g *fakeGlance, q Query) (*images.Image, error) {
	t.Helper()
	return Find(context.Background(), g, q)
}

func mustFind(t *testing.T, g *fakeGlance, q Query) *images.Image {
	t.Helper()
	got, err := find(t, g, q)
	if err != nil {
		t.Fatalf("Find(%+v): %v", q, err)
	}
	return got
}

// catalog is a cloud with several distributions, versions and formats.
func catalog() *fakeGlance {
	return &fakeGlance{
		project: "demo",
		members: map[string]string{"shared-pending": "pending", "shared-accepted": "accepted"},
		images: []images.Image{
			img("f36", "Fedora-Cloud-Base-36-1.5", 1, withProps("os_distro", "fedora", "os_version", "36")),
			img("f37", "Fedora-Cloud-Base-37-1.7", 2, withProps("os_distro", "fedora", "os_version", "37"), withTags("golden", "x86_64")),
			img("f37raw", "Fedora-Cloud-Base-37-1.7.raw", 3, withProps("os_distro", "fedora", "os_version", "37"), func(i *images.Image) { i.DiskFormat = "raw"; i.SizeBytes = 5000 }),
			img("deb12", "debian:12", 4, withProps("os_distro", "debian", "build", `a&b=c "d", e:f/ü`, "cpu_max", "4")),
			img("mine", "my-golden", 5, func(i *images.Image) { i.Owner = "demo"; i.Visibility = images.ImageVisibilityPrivate }, withTags("golden")),
			img("hidden", "Fedora-Cloud-Base-37-1.7", 6, func(i *images.Image) { i.Hidden = true }),
			img("queued", "Fedora-Cloud-Base-37-1.7", 7, func(i *images.Image) { i.Status = images.ImageStatusQueued }),
			img("shared-pending", "shared-base", 8, func(i *images.Image) { i.Owner = "other"; i.Visibility = images.ImageVisibilityShared }),
			img("shared-accepted", "shared-base", 9, func(i *images.Image) { i.Owner = "other"; i.Visibility = images.ImageVisibilityShared }),
			img("community", "community-base", 10, func(i *images.Image) { i.Owner = "other"; i.Visibility = images.ImageVisibilityCommunity }),
		},
	}
}

func TestFindEachFilterAlone(t *testing.T) {
	cases := []struct {
		name string
		f    Filter
		want string
	}{
		{"exact name skips hidden and queued twins", Filter{Name: "Fedora-Cloud-Base-37-1.7"}, "f37"},
		{"name with a colon", Filter{Name: "debian:12"}, "deb12"},
		{"wildcard", Filter{Name: "Fedora-*-36-*"}, "f36"},
		{"wildcard matches the whole name", Filter{Name: "*.raw"}, "f37raw"},
		{"regex", Filter{NameRegex: `^Fedora-Cloud-Base-\d+-1\.5$`}, "f36"},
		{"owner", Filter{Owner: "demo"}, "mine"},
		{"visibility private", Filter{Visibility: "private"}, "mine"},
		{"visibility community", Filter{Visibility: "community"}, "community"},
		{"tags all must match", Filter{Tags: []string{"golden", "x86_64"}}, "f37"},
		{"property", Filter{Properties: map[string]string{"os_version": "36"}}, "f36"},
		{"property value needing escaping", Filter{Properties: map[string]string{"build": `a&b=c "d", e:f/ü`}}, "deb12"},
		{"disk format", Filter{DiskFormat: "raw"}, "f37raw"},
		{"container format with name", Filter{Name: "my-golden", ContainerFormat: "bare"}, "mine"},
		{"size_min", Filter{SizeMin: 4000}, "f37raw"},
		{"hidden", Filter{Name: "Fedora-Cloud-Base-37-1.7", Hidden: true}, "hidden"},
		{"status", Filter{Name: "Fedora-Cloud-Base-37-1.7", Status: "queued"}, "queued"},
		{"shared accepted by default", Filter{Name: "shared-base"}, "shared-accepted"},
		{"shared pending", Filter{Name: "shared-base", MemberStatus: "pending"}, "shared-pending"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustFind(t, catalog(), Query{Filter: tc.f}); got.ID != tc.want {
				t.Errorf("found %s (%s), want %s", got.ID, got.Name, tc.want)
			}
		})
	}
}

func TestFindCombinedFilters(t *testing.T) {
	got := mustFind(t, catalog(), Query{Filter: Filter{
		Name: "Fedora-*", Properties: map[string]string{"os_distro": "fedora", "os_version": "37"},
		DiskFormat: "qcow2", Tags: []string{"golden"}, Visibility: "public", SizeMax: 2000,
	}})
	if got.ID != "f37" {
		t.Errorf("found %s, want f37", got.ID)
	}
}

// A cloud that ignores every filter must not change the answer: each option
// is checked again on the client.
func TestFindRechecksEveryFilterOnTheClient(t *testing.T) {
	for _, f := range []Filter{
		{Name: "Fedora-Cloud-Base-37-1.7"},
		{Name: "Fedora-Cloud-Base-37-1.7", Hidden: true},
		{Name: "Fedora-Cloud-Base-37-1.7", Status: "queued"},
		{Properties: map[string]string{"os_version": "36"}},
		{Tags: []string{"golden", "x86_64"}},
		{Owner: "demo"},
		{Visibility: "private"},
		{DiskFormat: "raw"},
		{SizeMin: 4000},
	} {
		strict := mustFind(t, catalog(), Query{Filter: f})
		g := catalog()
		g.ignoreFilters = true
		lax := mustFind(t, g, Query{Filter: f})
		if strict.ID != lax.ID {
			t.Errorf("filter %+v: %s with server filters, %s without", f, strict.ID, lax.ID)
		}
	}
}

func TestFindSendsWhatGlanceCanFilter(t *testing.T) {
	g := catalog()
	mustFind(t, g, Query{Filter: Filter{
		Name: "debian:12", Owner: "admin-project", Tags: []string{"t"}[:0],
		Properties: map[string]string{"build": `a&b=c "d", e:f/ü`, "cpu_max": "4"},
	}, PageSize: 3})
	// cpu_max would be read by Glance as a range on a "cpu" column: client only.
	req := g.requests[0]
	if req.Name != "debian:12" || req.Owner != "admin-project" || req.Status != "active" || req.Limit != 3 {
		t.Errorf("request %+v", req)
	}
	if _, sent := req.Properties["cpu_max"]; sent {
		t.Error("cpu_max was sent to Glance")
	}
	if req.Properties["build"] != `a&b=c "d", e:f/ü` {
		t.Errorf("build property not sent: %v", req.Properties)
	}

	g = catalog()
	mustFind(t, g, Query{Filter: Filter{Name: "Fedora-*-36-*"}})
	if g.requests[0].Name != "" {
		t.Errorf("a wildcard name was sent to Glance as %q", g.requests[0].Name)
	}
}

func TestFindZeroResultsEchoesTheEffectiveFilters(t *testing.T) {
	_, err := find(t, catalog(), Query{Filter: Filter{
		Name: "Fedora-*", Properties: map[string]string{"os_version": "99"}, Tags: []string{"golden"},
	}})
	var nm *NoMatchError
	if !errors.As(err, &nm) {
		t.Fatalf("err = %v, want *NoMatchError", err)
	}
	for _, want := range []string{`name = "Fedora-*"`, `properties = {"os_version" = "99"}`, `tags = ["golden"]`,
		`status = "active" (default)`, "hidden = false", "visibility unset", "Glance listed no image"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}

	// When Glance lists images the client rejects, the error says which option rejected them.
	_, err = find(t, catalog(), Query{Filter: Filter{NameRegex: "^nothing$", Visibility: "public"}})
	if err == nil || !strings.Contains(err.Error(), "rejected on the client by name_regex (") {
		t.Errorf("error %v does not count the name_regex rejections", err)
	}
}

func TestFindSeveralResultsListsUpToTenCandidates(t *testing.T) {
	g := &fakeGlance{project: "demo"}
	for i := 0; i < 14; i++ {
		g.images = append(g.images, img(fmt.Sprintf("id-%02d", i), "ubuntu-22.04", i))
	}
	_, err := find(t, g, Query{Filter: Filter{Name: "ubuntu-22.04"}, PageSize: 5})
	var amb *AmbiguousError
	if !errors.As(err, &amb) {
		t.Fatalf("err = %v, want *AmbiguousError", err)
	}
	if amb.Count != 14 || len(amb.Candidates) != 10 {
		t.Errorf("count %d, %d candidates", amb.Count, len(amb.Candidates))
	}
	msg := err.Error()
	for _, want := range []string{"14 Glance images match", "most_recent = true", `"ubuntu-22.04" (ID id-13, created 2026-01-01T13:00:00Z)`, "... and 4 more"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "id-03") {
		t.Errorf("error lists more than 10 candidates: %s", msg)
	}
	if g.pages != 3 {
		t.Errorf("served %d pages, want all 3", g.pages)
	}
}

func TestFindMostRecentTiesGoToNameThenID(t *testing.T) {
	g := &fakeGlance{images: []images.Image{
		img("a", "base-2026.01", 5),
		img("b", "base-2026.02", 5), // same second, greater name
		img("c", "base-2026.00", 4),
	}}
	if got := mustFind(t, g, Query{Filter: Filter{Name: "base-*"}, MostRecent: true}); got.ID != "b" {
		t.Errorf("found %s, want b (same created_at, greater name)", got.ID)
	}
	g = &fakeGlance{images: []images.Image{
		img("0f", "base", 5), img("1a", "base", 5), img("09", "base", 5), img("ff", "base", 4),
	}}
	if got := mustFind(t, g, Query{Filter: Filter{Name: "base"}, MostRecent: true}); got.ID != "1a" {
		t.Errorf("found %s, want 1a (same created_at and name, greatest ID)", got.ID)
	}
	// The tie is resolved on the client even when ties straddle pages and the
	// server orders them differently.
	g = &fakeGlance{images: []images.Image{img("x1", "n-a", 5), img("x2", "n-c", 5), img("x3", "n-b", 5)}}
	g.ignoreFilters = true
	if got := mustFind(t, g, Query{Filter: Filter{Name: "n-*"}, MostRecent: true, PageSize: 1}); got.ID != "x2" {
		t.Errorf("found %s, want x2", got.ID)
	}
}

func TestFindMostRecentStopsEarly(t *testing.T) {
	g := &fakeGlance{}
	for i := 0; i < 100; i++ {
		g.images = append(g.images, img(fmt.Sprintf("id-%03d", i), fmt.Sprintf("nightly-%03d", i), i))
	}
	got := mustFind(t, g, Query{Filter: Filter{Name: "nightly-*"}, MostRecent: true, PageSize: 10})
	if got.ID != "id-099" {
		t.Errorf("found %s, want id-099", got.ID)
	}
	if g.requests[0].Sort != "created_at:desc,name:desc" {
		t.Errorf("sort sent = %q", g.requests[0].Sort)
	}
	if g.pages != 1 {
		t.Errorf("served %d pages; the newest match was on the first", g.pages)
	}

	// A match deep in the list: the walk goes on until it finds one, then stops
	// at the next older image.
	got = mustFind(t, g, Query{Filter: Filter{NameRegex: "nightly-0[0-4]"}, MostRecent: true, PageSize: 10})
	if got.ID != "id-049" {
		t.Errorf("found %s, want id-049", got.ID)
	}
	if g.pages != 1+6 {
		t.Errorf("served %d pages in all, want 1 then 6", g.pages)
	}
}

func TestFindWithoutMostRecentReadsEveryPage(t *testing.T) {
	g := &fakeGlance{}
	for i := 0; i < 57; i++ {
		g.images = append(g.images, img(fmt.Sprintf("id-%03d", i), fmt.Sprintf("img-%03d", i), i))
	}
	got := mustFind(t, g, Query{Filter: Filter{NameRegex: "^img-000$"}, PageSize: 10})
	if got.ID != "id-000" || g.pages != 6 {
		t.Errorf("found %s after %d pages, want id-000 after 6", got.ID, g.pages)
	}
}

func TestFindCountsRepeatedImagesOnce(t *testing.T) {
	dup := img("same", "only", 1)
	g := &fakeGlance{images: []images.Image{dup, dup}}
	if got := mustFind(t, g, Query{Filter: Filter{Name: "only"}, PageSize: 1}); got.ID != "same" {
		t.Errorf("found %s", got.ID)
	}
}

// loopingGlance serves the same page for ever, as a broken next link would.
type loopingGlance struct{ served int }

func (l *loopingGlance) ListImages(_ context.Context, _ images.ListOptsBuilder, page func([]images.Image) bool) error {
	for l.served < 1000 {
		l.served++
		if !page([]images.Image{img("a", "loop", 1), img("b", "other", 1)}) {
			return nil
		}
	}
	return nil
}

func TestFindStopsOnAPageOfRepeatedImages(t *testing.T) {
	l := &loopingGlance{}
	got, err := Find(context.Background(), l, Query{Filter: Filter{Name: "loop"}})
	if err != nil || got.ID != "a" {
		t.Fatalf("found %v, %v", got, err)
	}
	if l.served != 2 {
		t.Errorf("served %d pages, want the walk to stop at the first repeated page", l.served)
	}
}

func TestFindSortIsSentAndOrdersCandidates(t *testing.T) {
	g := &fakeGlance{images: []images.Image{img("1", "b", 1), img("2", "a", 2), img("3", "c", 3)}}
	_, err := find(t, g, Query{Filter: Filter{Visibility: "public"}, Sort: "name:asc"})
	var amb *AmbiguousError
	if !errors.As(err, &amb) {
		t.Fatalf("err = %v", err)
	}
	if g.requests[0].Sort != "name:asc" || amb.Candidates[0].Name != "a" || amb.Candidates[2].Name != "c" {
		t.Errorf("sort %q, candidates %v", g.requests[0].Sort, amb.Candidates)
	}
}

type fakeProjects map[string]string

func (p fakeProjects) ProjectID(_ context.Context, v string) (string, error) {
	if id, ok := p[v]; ok {
		return id, nil
	}
	return v, nil
}

func TestFindResolvesOwnerNames(t *testing.T) {
	g := catalog()
	fd := Finder{Images: g, Projects: fakeProjects{"admin": "admin-project"}}
	got, err := fd.Find(context.Background(), Query{Filter: Filter{Owner: "admin", Name: "Fedora-Cloud-Base-36-1.5"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "f36" || g.requests[0].Owner != "admin-project" {
		t.Errorf("found %s with owner %q sent", got.ID, g.requests[0].Owner)
	}
	_, err = fd.Find(context.Background(), Query{Filter: Filter{Owner: "admin", Name: "nope"}})
	if err == nil || !strings.Contains(err.Error(), `owner = "admin" (project admin-project)`) {
		t.Errorf("error %v does not show the resolved owner", err)
	}
}

func TestFindReportsListerErrorsAndInvalidQueries(t *testing.T) {
	g := &fakeGlance{err: errors.New("listing Glance images at http://x/v2/images: GET ... returned HTTP 503")}
	if _, err := find(t, g, Query{Filter: Filter{Name: "a"}}); err == nil || !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("err = %v", err)
	}
	_, err := find(t, &fakeGlance{}, Query{Filter: Filter{Name: "a", Visibility: "nope"}})
	var inv *InvalidQueryError
	if !errors.As(err, &inv) {
		t.Errorf("err = %v, want *InvalidQueryError", err)
	}
	if len(g.requests) != 1 {
		t.Errorf("an invalid query reached Glance")
	}
}

func TestFindHonoursCancellation(t *testing.T) {
	g := &fakeGlance{}
	for i := 0; i < 30; i++ {
		g.images = append(g.images, img(fmt.Sprint(i), "x", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Find(ctx, g, Query{Filter: Filter{Name: "x"}, PageSize: 5}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestFindAmbiguityNamesTheNewestFirst(t *testing.T) {
	// Glance's default order here is oldest first, and there are more matches than
	// the error lists: the candidates must still be the newest, newest first, with
	// same-second ties ranked by name as most_recent ranks them.
	var all []images.Image
	for i := 0; i < 14; i++ {
		all = append(all, img(fmt.Sprintf("id-%02d", i), fmt.Sprintf("n-%02d", i), i/2))
	}
	g := &fakeGlance{images: all}
	_, err := find(t, g, Query{Filter: Filter{Visibility: "public"}})
	var amb *AmbiguousError
	if !errors.As(err, &amb) {
		t.Fatalf("err = %v", err)
	}
	if amb.Count != 14 || len(amb.Candidates) != maxCandidates {
		t.Fatalf("count %d, %d candidates", amb.Count, len(amb.Candidates))
	}
	for i, c := range amb.Candidates {
		if want := fmt.Sprintf("n-%02d", 13-i); c.Name != want {
			t.Errorf("candidate %d = %s, want %s", i, c.Name, want)
		}
	}
}
