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

// fakeGlance is a Glance with images of several projects. Like a real cloud
// seen by an admin it returns every project's images unless asked for one
// owner; sloppy makes it ignore property filters, as a cloud that does not
// know them would.
type fakeGlance struct {
	imgs   []images.Image
	sloppy bool
	calls  []string
}

const (
	ourProject   = "p-ours"
	otherProject = "p-other"
)

func (f *fakeGlance) add(id, name, owner string, protected bool, props map[string]any) {
	f.imgs = append(f.imgs, images.Image{ID: id, Name: name, Owner: owner, Protected: protected, Properties: props,
		Status: images.ImageStatusActive, CreatedAt: time.Now()})
}

func (f *fakeGlance) find(id string) *images.Image {
	for i := range f.imgs {
		if f.imgs[i].ID == id {
			return &f.imgs[i]
		}
	}
	return nil
}

func status(code int) error { return gophercloud.ErrUnexpectedResponseCode{Actual: code} }

func (f *fakeGlance) GetImage(_ context.Context, id string) (*images.Image, error) {
	f.calls = append(f.calls, "get "+id)
	if img := f.find(id); img != nil {
		c := *img
		return &c, nil
	}
	return nil, status(404)
}

func (f *fakeGlance) ImagesNamed(_ context.Context, name, owner string) ([]images.Image, error) {
	f.calls = append(f.calls, fmt.Sprintf("list name=%s owner=%s", name, owner))
	var out []images.Image
	for _, img := range f.imgs {
		if img.Name == name && (owner == "" || img.Owner == owner) {
			out = append(out, img)
		}
	}
	return out, nil
}

func (f *fakeGlance) ImagesMarked(_ context.Context, key, value, owner string) ([]images.Image, error) {
	f.calls = append(f.calls, fmt.Sprintf("list %s=%s owner=%s", key, value, owner))
	var out []images.Image
	for _, img := range f.imgs {
		if img.Owner == owner && (f.sloppy || img.Properties[key] == value) {
			out = append(out, img)
		}
	}
	return out, nil
}

func (f *fakeGlance) UpdateImage(_ context.Context, id string, opts images.UpdateOptsBuilder) error {
	f.calls = append(f.calls, "update "+id)
	img := f.find(id)
	if img == nil {
		return status(404)
	}
	if img.Owner != ourProject {
		return status(403)
	}
	for _, op := range opts.(images.UpdateOpts) {
		if p, ok := op.(images.ReplaceImageProtected); ok {
			img.Protected = p.NewProtected
		}
	}
	return nil
}

func (f *fakeGlance) DeleteImage(_ context.Context, id string) error {
	f.calls = append(f.calls, "delete "+id)
	img := f.find(id)
	switch {
	case img == nil:
		return status(404)
	case img.Protected || img.Owner != ourProject:
		return status(403)
	}
	f.imgs = slices.DeleteFunc(f.imgs, func(i images.Image) bool { return i.ID == id })
	return nil
}

func (f *fakeGlance) AddMember(context.Context, string, string) error    { return nil }
func (f *fakeGlance) AcceptMember(context.Context, string, string) error { return nil }

// changed lists the update and delete calls made.
func (f *fakeGlance) changed() []string {
	var out []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, "update ") || strings.HasPrefix(c, "delete ") {
			out = append(out, c)
		}
	}
	return out
}

var naming = Naming{NameOption: "image_name", ForceOption: "image_force", ForceHint: "(or run packer build -force)"}

func TestCheckNameLooksOnlyAtTheProject(t *testing.T) {
	ctx := context.Background()
	f := &fakeGlance{}
	f.add("mine", "debian:12", ourProject, false, nil)
	f.add("theirs", "debian:12", otherProject, false, nil)
	f.add("prefix", "debian", ourProject, false, nil)

	existing, err := CheckName(ctx, On(f, ourProject), "debian:12", false, naming)
	if err == nil || !strings.Contains(err.Error(), `already has an image named "debian:12" (mine)`) ||
		!strings.Contains(err.Error(), "image_force = true (or run packer build -force)") {
		t.Fatalf("a taken name: %v", err)
	}
	if len(existing) != 1 || existing[0].ID != "mine" {
		t.Errorf("existing = %v, want only this project's image", IDs(existing))
	}
	if want := "list name=debian:12 owner=" + ourProject; f.calls[0] != want {
		t.Errorf("lookup %q, want %q", f.calls[0], want)
	}

	existing, err = CheckName(ctx, On(f, ourProject), "debian:12", true, naming)
	if err != nil || len(existing) != 1 || existing[0].ID != "mine" {
		t.Errorf("with force: %v, %v; want [mine] to replace", IDs(existing), err)
	}

	existing, err = CheckName(ctx, On(f, ourProject), "only-theirs", false, naming)
	if err != nil || len(existing) != 0 {
		t.Errorf("a free name: %v, %v", IDs(existing), err)
	}
	if len(f.changed()) != 0 {
		t.Errorf("a name check changed images: %v", f.changed())
	}
}

func TestCheckNameWithoutAProjectRefuses(t *testing.T) {
	f := &fakeGlance{}
	f.add("theirs", "golden", otherProject, false, nil)
	for _, force := range []bool{false, true} {
		existing, err := CheckName(context.Background(), On(f, ""), "golden", force, naming)
		if !errors.Is(err, ErrProjectUnknown) || len(existing) != 0 {
			t.Errorf("force %v without a project: %v, %v; want ErrProjectUnknown", force, IDs(existing), err)
		}
	}
	if _, err := FindLost(context.Background(), On(f, ""), "m-1", time.Now()); !errors.Is(err, ErrProjectUnknown) {
		t.Errorf("FindLost without a project: %v", err)
	}
	if len(f.calls) != 0 {
		t.Errorf("Glance was asked %v without a project", f.calls)
	}
}

func TestReplaceOlderSparesProtectedAndNewImages(t *testing.T) {
	f := &fakeGlance{}
	f.add("old", "golden", ourProject, false, nil)
	f.add("old-protected", "golden", ourProject, true, nil)
	f.add("new", "golden", ourProject, false, nil)
	old := []Image{{ID: "old", Name: "golden"}, {ID: "old-protected", Name: "golden", Protected: true}, {ID: "new", Name: "golden"}, {ID: "gone", Name: "golden"}}
	var said []string
	replaced := ReplaceOlder(context.Background(), On(f, ourProject), old, "new", func(s string) { said = append(said, s) })
	if fmt.Sprint(replaced) != "[old gone]" {
		t.Errorf("replaced %v, want [old gone]", replaced)
	}
	if got := fmt.Sprint(f.changed()); got != "[delete old delete gone]" {
		t.Errorf("changes %s: the protected and the new image must not be touched", got)
	}
	if !strings.Contains(strings.Join(said, "\n"), "not deleting the old image old-protected: it is protected") {
		t.Errorf("the protected image was not reported: %q", said)
	}
}

func TestDeleteUnfinished(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name      string
		protected bool
		owner     string
		unprotect bool
		exists    bool
		wantErr   bool
		wantGone  bool
		want      string // update and delete calls
	}{
		{name: "unprotected", owner: ourProject, exists: true, wantGone: true, want: "[delete x]"},
		{name: "protected, found by a lookup", protected: true, owner: ourProject, exists: true, wantErr: true, want: "[delete x]"},
		{name: "protected by this run", protected: true, owner: ourProject, unprotect: true, exists: true, wantGone: true, want: "[delete x update x delete x]"},
		{name: "already gone", unprotect: true, want: "[delete x]"},
		{name: "another project's", owner: otherProject, unprotect: true, exists: true, wantErr: true, want: "[delete x update x]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeGlance{}
			if tc.exists {
				f.add("x", "golden", tc.owner, tc.protected, nil)
			}
			err := DeleteUnfinished(ctx, On(f, ourProject), "x", tc.unprotect)
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, want an error: %v", err, tc.wantErr)
			}
			if got := fmt.Sprint(f.changed()); got != tc.want {
				t.Errorf("calls %s, want %s", got, tc.want)
			}
			if img := f.find("x"); tc.exists && !tc.wantGone {
				if img == nil || img.Protected != tc.protected {
					t.Errorf("the image was changed: %+v", img)
				}
			} else if img != nil {
				t.Error("the image was not deleted")
			}
		})
	}
}

func TestFindLost(t *testing.T) {
	ctx := context.Background()
	started := time.Now()
	f := &fakeGlance{}
	f.add("made", "golden", ourProject, false, map[string]any{MarkerProperty: "m-1"})
	f.add("other-run", "golden", ourProject, false, map[string]any{MarkerProperty: "m-2"})
	f.add("colleague", "golden", ourProject, true, nil)
	f.add("elsewhere", "golden", otherProject, false, map[string]any{MarkerProperty: "m-1"})
	f.add("old", "golden", ourProject, false, map[string]any{MarkerProperty: "m-1"})
	f.find("old").CreatedAt = started.Add(-time.Hour)
	f.add("skewed", "golden", ourProject, false, map[string]any{MarkerProperty: "m-1"})
	f.find("skewed").CreatedAt = started.Add(-5 * time.Minute) // the cloud's clock is behind
	f.add("undated", "golden", ourProject, false, map[string]any{MarkerProperty: "m-1"})
	f.find("undated").CreatedAt = time.Time{}

	for _, sloppy := range []bool{false, true} {
		f.sloppy = sloppy
		f.calls = nil
		lost, err := FindLost(ctx, On(f, ourProject), "m-1", started)
		if err != nil {
			t.Fatal(err)
		}
		// A cloud that ignores the property filter hands back all the project's
		// images; the marker is checked here too.
		want := "[made skewed undated]"
		if got := fmt.Sprint(IDs(lost)); got != want {
			t.Errorf("sloppy %v: lost = %s, want %s", sloppy, got, want)
		}
		if want := "list " + MarkerProperty + "=m-1 owner=" + ourProject; len(f.calls) != 1 || f.calls[0] != want {
			t.Errorf("calls %v, want one %q", f.calls, want)
		}
	}
	f.calls = nil
	if _, err := FindLost(ctx, On(f, ourProject), "", started); err == nil || len(f.calls) != 0 {
		t.Errorf("FindLost without a marker: %v, calls %v", err, f.calls)
	}
}
