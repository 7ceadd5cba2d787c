package imagepolicy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// familyImages is an in-memory Glance holding images of several projects; it
// answers as the session project "demo" and refuses what Glance refuses.
type familyImages struct {
	images  map[string]*Image
	refuse  map[string]error // image ID -> error of its delete
	listErr error
	calls   []string
}

func (f *familyImages) add(id, owner, family string, age time.Duration, mod func(*Image)) {
	img := &Image{ID: id, Name: "golden-" + id, Status: "active", Owner: owner, Visibility: "private",
		CreatedAt: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).Add(-age), Properties: map[string]string{}}
	if family != "" {
		img.Properties[FamilyProperty] = family
	}
	if mod != nil {
		mod(img)
	}
	f.images[id] = img
}

func (f *familyImages) OwnedImagesInFamily(ctx context.Context, family string) ([]Image, error) {
	f.calls = append(f.calls, "list "+family)
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []Image
	for _, img := range f.images {
		if img.Owner == "demo" && img.Properties[FamilyProperty] == family {
			out = append(out, *img)
		}
	}
	return out, nil
}

func (f *familyImages) UpdateImage(ctx context.Context, id string, u Update) error {
	f.calls = append(f.calls, "update "+id)
	img, ok := f.images[id]
	if !ok {
		return gophercloud.ErrUnexpectedResponseCode{Actual: 404}
	}
	if img.Owner != "demo" {
		return gophercloud.ErrUnexpectedResponseCode{Actual: 403}
	}
	f.images[id] = u.Apply(*img)
	return nil
}

func (f *familyImages) DeleteImage(ctx context.Context, id string) error {
	f.calls = append(f.calls, "delete "+id)
	img, ok := f.images[id]
	switch {
	case !ok:
		return gophercloud.ErrUnexpectedResponseCode{Actual: 404}
	case f.refuse[id] != nil:
		return f.refuse[id]
	case img.Protected || img.Owner != "demo":
		return gophercloud.ErrUnexpectedResponseCode{Actual: 403}
	}
	delete(f.images, id)
	return nil
}

func (f *familyImages) GetImage(context.Context, string) (*Image, error) { panic("not used") }
func (f *familyImages) OwnedImagesNamed(context.Context, string) ([]Image, error) {
	panic("not used")
}
func (f *familyImages) OwnedImagesMarked(context.Context, string) ([]Image, error) {
	panic("not used")
}
func (f *familyImages) AddMember(context.Context, string, string) error    { panic("not used") }
func (f *familyImages) AcceptMember(context.Context, string, string) error { panic("not used") }

// newFamily holds, in project demo and family "golden": new (the image just
// made), a 1 h old, b 2 h, c 3 h (protected), d 4 h (hidden before), and
// images that must never be touched: e (5 h, another family), x (6 h, project
// alt, same family), q (7 h, same family but still queued).
func newFamily() *familyImages {
	f := &familyImages{images: map[string]*Image{}, refuse: map[string]error{}}
	f.add("new", "demo", "golden", 0, nil)
	f.add("a", "demo", "golden", time.Hour, nil)
	f.add("b", "demo", "golden", 2*time.Hour, nil)
	f.add("c", "demo", "golden", 3*time.Hour, func(i *Image) { i.Protected = true })
	f.add("d", "demo", "golden", 4*time.Hour, func(i *Image) { i.Hidden = true; i.Properties[RetiredAtProperty] = "2024-01-01T00:00:00Z" })
	f.add("e", "demo", "silver", 5*time.Hour, nil)
	f.add("x", "alt", "golden", 6*time.Hour, func(i *Image) { i.Visibility = "public" })
	f.add("q", "demo", "golden", 7*time.Hour, func(i *Image) { i.Status = "queued" })
	return f
}

func retire(t *testing.T, f *familyImages, r Retention, newID string) (Retired, string) {
	t.Helper()
	var said []string
	got, err := Retire(context.Background(), f, r, newID, nil, func(s string) { said = append(said, s) })
	if err != nil {
		t.Fatalf("Retire: %v", err)
	}
	return got, strings.Join(said, "\n")
}

func TestRetireHidesBeyondTheNewest(t *testing.T) {
	f := newFamily()
	before := time.Now().UTC().Add(-time.Second)
	got, said := retire(t, f, Retention{Family: "golden", Keep: 2, Action: RetireHide}, "new")
	if !slices.Equal(got.Kept, []string{"new", "a"}) || !slices.Equal(got.Hidden, []string{"b", "c"}) || len(got.Deleted)+len(got.Failed) != 0 {
		t.Fatalf("retired %+v\n%s", got, said)
	}
	for _, id := range []string{"b", "c"} {
		img := f.images[id]
		at, err := time.Parse(time.RFC3339, img.Properties[RetiredAtProperty])
		if !img.Hidden || err != nil || at.Before(before.Truncate(time.Second)) {
			t.Errorf("image %s: hidden %t, retired_at %q (%v)", id, img.Hidden, img.Properties[RetiredAtProperty], err)
		}
	}
	// Already hidden: left as it was, its retirement date kept.
	if d := f.images["d"]; d.Properties[RetiredAtProperty] != "2024-01-01T00:00:00Z" || slices.Contains(f.calls, "update d") {
		t.Errorf("image d, hidden before, was changed: %+v", d)
	}
	for _, id := range []string{"new", "a", "e", "x", "q"} {
		if img := f.images[id]; img.Hidden || img.Properties[RetiredAtProperty] != "" {
			t.Errorf("image %s was retired: %+v", id, img)
		}
	}
	if !strings.Contains(said, "Hiding image b") {
		t.Errorf("output:\n%s", said)
	}
}

func TestRetireDeletesButOnlyHidesProtected(t *testing.T) {
	f := newFamily()
	got, said := retire(t, f, Retention{Family: "golden", Keep: 2, Action: RetireDelete}, "new")
	if !slices.Equal(got.Deleted, []string{"b", "d"}) || !slices.Equal(got.Hidden, []string{"c"}) {
		t.Fatalf("retired %+v\n%s", got, said)
	}
	if _, ok := f.images["b"]; ok {
		t.Error("b not deleted")
	}
	if c := f.images["c"]; c == nil || !c.Hidden || !c.Protected {
		t.Errorf("protected c: %+v", c)
	}
	if slices.Contains(f.calls, "delete c") {
		t.Error("a delete of the protected image was attempted")
	}
	for _, id := range []string{"new", "a", "e", "x", "q"} {
		if f.images[id] == nil {
			t.Errorf("image %s deleted", id)
		}
	}
	if !strings.Contains(said, "instead of deleting it: it is protected") {
		t.Errorf("output:\n%s", said)
	}
}

// A delete Glance refuses (409: the image backs volumes on Ceph) is reported and
// skipped; the others are still retired and nothing fails.
func TestRetireSkipsARefusedDelete(t *testing.T) {
	f := newFamily()
	f.refuse["b"] = gophercloud.ErrUnexpectedResponseCode{Actual: 409, Body: []byte("Image is in use")}
	got, said := retire(t, f, Retention{Family: "golden", Keep: 2, Action: RetireDelete}, "new")
	if !slices.Equal(got.Failed, []string{"b"}) || !slices.Equal(got.Deleted, []string{"d"}) || f.images["b"] == nil {
		t.Fatalf("retired %+v", got)
	}
	if !strings.Contains(said, "refused to delete image b") || !strings.Contains(said, "still in use") {
		t.Errorf("output:\n%s", said)
	}
}

// The new image keeps its place whatever its created_at says (a clock behind
// Glance's, a list that does not show it yet).
func TestRetireAlwaysKeepsTheNewImage(t *testing.T) {
	f := newFamily()
	f.images["new"].CreatedAt = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	got, _ := retire(t, f, Retention{Family: "golden", Keep: 1, Action: RetireHide}, "new")
	if !slices.Equal(got.Kept, []string{"new"}) || f.images["new"].Hidden || !f.images["a"].Hidden {
		t.Errorf("retired %+v", got)
	}

	f = newFamily()
	delete(f.images, "new")
	got, _ = retire(t, f, Retention{Family: "golden", Keep: 2, Action: RetireHide}, "unlisted")
	if !slices.Equal(got.Kept, []string{"unlisted", "a"}) || !slices.Equal(got.Hidden, []string{"b", "c"}) {
		t.Errorf("with the new image not listed yet: %+v", got)
	}
}

// Images of one second are ordered by ID, so every run agrees on which go.
func TestRetireOrdersTiesByID(t *testing.T) {
	f := &familyImages{images: map[string]*Image{}}
	for _, id := range []string{"m", "z", "k"} {
		f.add(id, "demo", "golden", time.Hour, nil)
	}
	f.add("new", "demo", "golden", 0, nil)
	got, _ := retire(t, f, Retention{Family: "golden", Keep: 3, Action: RetireHide}, "new")
	if !slices.Equal(got.Kept, []string{"new", "z", "m"}) || !slices.Equal(got.Hidden, []string{"k"}) {
		t.Errorf("retired %+v", got)
	}
}

func TestRetireNothingToDo(t *testing.T) {
	f := newFamily()
	got, said := retire(t, f, Retention{Family: "golden", Keep: 10, Action: RetireDelete}, "new")
	if len(got.Hidden)+len(got.Deleted) != 0 || said != "" || len(got.Kept) != 5 {
		t.Errorf("retired %+v\n%s", got, said)
	}
	f = newFamily()
	if got, _ := retire(t, f, Retention{Family: "golden"}, "new"); len(f.calls) != 0 || len(got.Kept) != 0 {
		t.Errorf("keep 0 listed images: %v", f.calls)
	}
}

func TestRetireListingFails(t *testing.T) {
	f := newFamily()
	f.listErr = errors.New("glance down")
	_, err := Retire(context.Background(), f, Retention{Family: "golden", Keep: 1, Action: RetireHide}, "new", nil, func(string) {})
	if err == nil || !strings.Contains(err.Error(), `family "golden"`) {
		t.Errorf("err = %v", err)
	}
}

func TestRetentionPrepare(t *testing.T) {
	o := LifecycleOptions{Family: "image_family", Keep: "keep_latest", Action: "retire_action", Properties: "image_properties"}
	for _, tc := range []struct {
		r     Retention
		props map[string]string
		want  string // "" = valid
	}{
		{Retention{}, nil, ""},
		{Retention{Family: "golden"}, nil, ""},
		{Retention{Family: "golden", Keep: 3}, map[string]string{FamilyProperty: "golden"}, ""},
		{Retention{Family: "golden", Keep: 3, Action: "delete"}, nil, ""},
		{Retention{Keep: 3}, nil, "keep_latest needs image_family"},
		{Retention{Family: "golden", Keep: -1}, nil, "keep_latest must be 1 or more"},
		{Retention{Family: "golden", Action: "hide"}, nil, "retire_action is set without keep_latest"},
		{Retention{Family: "golden", Keep: 1, Action: "archive"}, nil, `retire_action "archive" is not one of hide, delete`},
		{Retention{Family: "  "}, nil, "image_family is blank"},
		{Retention{Family: strings.Repeat("f", 256)}, nil, "longer than Glance's 255"},
		{Retention{Family: "golden"}, map[string]string{FamilyProperty: "silver"}, `image_properties["image_family"] = "silver" disagree`},
		{Retention{}, map[string]string{RetiredAtProperty: "x"}, "set by retention"},
	} {
		t.Run(fmt.Sprintf("%+v %v", tc.r, tc.props), func(t *testing.T) {
			r := tc.r
			errs := r.Prepare(o, tc.props)
			if tc.want == "" {
				if len(errs) != 0 {
					t.Fatalf("errors: %v", errs)
				}
				if r.Action == "" {
					t.Error("no default action")
				}
				return
			}
			if len(errs) == 0 || !strings.Contains(errors.Join(errs...).Error(), tc.want) {
				t.Errorf("errors %v, want %q", errs, tc.want)
			}
		})
	}
}

// markedGlance answers ImagesMarked and records the query.
type markedGlance struct {
	Glance
	key, value, owner string
}

func (g *markedGlance) ImagesMarked(ctx context.Context, key, value, owner string) ([]images.Image, error) {
	g.key, g.value, g.owner = key, value, owner
	return []images.Image{{ID: "i1", Status: "active", Owner: owner, Hidden: true, Properties: map[string]any{key: value}}}, nil
}

func TestOwnedImagesInFamilyAsksForTheProjectsOwn(t *testing.T) {
	g := &markedGlance{}
	got, err := On(g, "p-demo").OwnedImagesInFamily(context.Background(), "golden")
	if err != nil || len(got) != 1 || !got[0].Hidden || got[0].Properties[FamilyProperty] != "golden" {
		t.Fatalf("got %+v, %v", got, err)
	}
	if g.key != FamilyProperty || g.value != "golden" || g.owner != "p-demo" {
		t.Errorf("asked for %s=%s of %q", g.key, g.value, g.owner)
	}
	if _, err := On(g, "").OwnedImagesInFamily(context.Background(), "golden"); !errors.Is(err, ErrProjectUnknown) {
		t.Errorf("without a project: %v", err)
	}
}

// A copy_to block may put a copy in the same project under another name: it
// joins the family there, and retention must not retire it (nor, retiring the
// copy's own region afterwards, the image it was copied from).
func TestRetireNeverRetiresTheRunsOwnCopies(t *testing.T) {
	f := newFamily()
	f.add("copy", "demo", "golden", 0, nil)
	var said []string
	say := func(s string) { said = append(said, s) }
	r := Retention{Family: "golden", Keep: 1, Action: RetireDelete}
	if _, err := Retire(context.Background(), f, r, "new", []string{"copy"}, say); err != nil {
		t.Fatal(err)
	}
	// The copy's region (the same Glance here) is retired next, with the image as the spare.
	got, err := Retire(context.Background(), f, r, "copy", []string{"new"}, say)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"new", "copy"} {
		if _, ok := f.images[id]; !ok {
			t.Errorf("the run's own image %s was retired:\n%s", id, strings.Join(said, "\n"))
		}
	}
	if _, ok := f.images["a"]; ok {
		t.Errorf("image a, older than the run's two, was kept: %+v", got)
	}
}
