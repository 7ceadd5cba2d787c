package imagefind

import (
	"errors"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// familyCatalog: the family "golden-fedora" has g1..g3 (g3 newest visible),
// a newer hidden (retired or hidden by hand) image, a newer one still being
// uploaded, and a newer one of another family; another project shares g2b.
func familyCatalog() *fakeGlance {
	mine := func(i *images.Image) { i.Owner = "demo"; i.Visibility = images.ImageVisibilityPrivate }
	fam := withProps("image_family", "golden-fedora", "os_distro", "fedora")
	return &fakeGlance{
		project: "demo",
		members: map[string]string{"g2b": "accepted"},
		images: []images.Image{
			img("g1", "golden-fedora-1", 1, mine, fam),
			img("g2", "golden-fedora-2", 2, mine, fam),
			img("g2b", "golden-fedora-theirs", 3, fam, func(i *images.Image) { i.Owner = "other"; i.Visibility = images.ImageVisibilityShared }),
			img("g3", "golden-fedora-3", 4, mine, fam, withTags("golden")),
			img("g4-hidden", "golden-fedora-4", 5, mine, fam, func(i *images.Image) { i.Hidden = true }),
			img("g5-queued", "golden-fedora-5", 6, mine, fam, func(i *images.Image) { i.Status = images.ImageStatusQueued }),
			img("s1", "silver-1", 7, mine, withProps("image_family", "silver")),
		},
	}
}

func TestFindFamilyTakesTheNewestActiveVisible(t *testing.T) {
	g := familyCatalog()
	got := mustFind(t, g, Query{Filter: Filter{Family: "golden-fedora"}})
	if got.ID != "g3" {
		t.Fatalf("found %s, want g3 (the newest active, non-hidden image of the family)", got.ID)
	}
	req := g.requests[0]
	if req.Properties["image_family"] != "golden-fedora" || req.Status != "active" || req.Hidden || req.Sort != mostRecentSort {
		t.Errorf("request %+v: the family, active, visible and newest first should go to Glance", req)
	}

	// With the other filters.
	if got := mustFind(t, familyCatalog(), Query{Filter: Filter{Family: "golden-fedora", Owner: "other"}}); got.ID != "g2b" {
		t.Errorf("family + owner: %s", got.ID)
	}
	if got := mustFind(t, familyCatalog(), Query{Filter: Filter{Family: "golden-fedora", Name: "golden-fedora-1"}}); got.ID != "g1" {
		t.Errorf("family + name: %s", got.ID)
	}
	if got := mustFind(t, familyCatalog(), Query{Filter: Filter{Family: "golden-fedora", NameRegex: "-[12]$"}}); got.ID != "g2" {
		t.Errorf("family + name_regex: %s", got.ID)
	}
	if got := mustFind(t, familyCatalog(), Query{Filter: Filter{Family: "golden-fedora", Hidden: true}}); got.ID != "g4-hidden" {
		t.Errorf("family + hidden: %s", got.ID)
	}
	if got := mustFind(t, familyCatalog(), Query{Filter: Filter{Family: "golden-fedora", Tags: []string{"golden"}}, MostRecent: true}); got.ID != "g3" {
		t.Errorf("family + tags + most_recent: %s", got.ID)
	}
}

// A cloud that ignores the property filter cannot hand back another family's image.
func TestFindFamilyIsCheckedOnTheClient(t *testing.T) {
	g := familyCatalog()
	g.ignoreFilters = true
	if got := mustFind(t, g, Query{Filter: Filter{Family: "golden-fedora"}}); got.ID != "g3" {
		t.Errorf("found %s", got.ID)
	}
	_, err := find(t, familyCatalog(), Query{Filter: Filter{Family: "bronze"}})
	var none *NoMatchError
	if !errors.As(err, &none) || !strings.Contains(err.Error(), `family = "bronze"`) {
		t.Errorf("err = %v", err)
	}
}

func TestFamilyValidation(t *testing.T) {
	for _, tc := range []struct {
		q    Query
		want string
	}{
		{Query{Filter: Filter{Family: "golden"}, Sort: "name"}, "sort and family are both set"},
		{Query{Filter: Filter{Family: "  "}}, "family is blank"},
		{Query{Filter: Filter{Family: "golden", Properties: map[string]string{"image_family": "silver"}}}, "can never both match"},
	} {
		errs := tc.q.Validate("")
		if !strings.Contains(errors.Join(errs...).Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.q, errs, tc.want)
		}
	}
	for _, q := range []Query{
		{Filter: Filter{Family: "golden"}},
		{Filter: Filter{Family: "golden"}, MostRecent: true},
		{Filter: Filter{Family: "golden", Properties: map[string]string{"image_family": "golden"}}},
	} {
		if errs := q.Validate(""); len(errs) != 0 {
			t.Errorf("%+v: %v", q, errs)
		}
	}
}
