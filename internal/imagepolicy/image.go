package imagepolicy

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// Image is the policy's view of a Glance image: the fields its rules read, with
// properties as strings (non-string values rendered).
type Image struct {
	ID         string
	Name       string
	Status     string
	Visibility string
	Owner      string
	Tags       []string
	MinDisk    int
	MinRAM     int
	Protected  bool
	Hidden     bool
	SizeBytes  int64
	CreatedAt  time.Time
	Properties map[string]string
}

// Update holds every change made to the new image; nil fields are left alone.
type Update struct {
	Visibility *string
	Tags       *[]string
	MinDisk    *int
	MinRAM     *int
	Protected  *bool
	Hidden     *bool
	// Properties are added, replacing inherited values of the same name.
	Properties map[string]string
	// Remove names properties to delete. Glance refuses to remove a property
	// the image does not have (409), so only keys the image carries belong here.
	Remove []string
}

// Empty reports whether the update changes nothing.
func (u Update) Empty() bool {
	return u.Visibility == nil && u.Tags == nil && u.MinDisk == nil && u.MinRAM == nil &&
		u.Protected == nil && u.Hidden == nil && len(u.Properties) == 0 && len(u.Remove) == 0
}

// Apply returns the image as it is after the update, without reading it again.
func (u Update) Apply(img Image) *Image {
	if u.Visibility != nil {
		img.Visibility = *u.Visibility
	}
	if u.Tags != nil {
		img.Tags = *u.Tags
	}
	if u.MinDisk != nil {
		img.MinDisk = *u.MinDisk
	}
	if u.MinRAM != nil {
		img.MinRAM = *u.MinRAM
	}
	if u.Protected != nil {
		img.Protected = *u.Protected
	}
	if u.Hidden != nil {
		img.Hidden = *u.Hidden
	}
	props := make(map[string]string, len(img.Properties)+len(u.Properties))
	for k, v := range img.Properties {
		props[k] = v
	}
	for k, v := range u.Properties {
		props[k] = v
	}
	for _, k := range u.Remove {
		delete(props, k)
	}
	img.Properties = props
	return &img
}

// Images is the part of Glance the policy works with, in its own view of an
// image. On adapts the shared client (or any client with its signatures); the
// builder's step tests give a recording fake.
type Images interface {
	GetImage(ctx context.Context, id string) (*Image, error)
	// OwnedImagesNamed lists the session project's images with exactly this name.
	OwnedImagesNamed(ctx context.Context, name string) ([]Image, error)
	// OwnedImagesMarked lists the session project's images that carry this
	// run's marker (MarkerProperty), hidden ones included.
	OwnedImagesMarked(ctx context.Context, marker string) ([]Image, error)
	// OwnedImagesInFamily lists the session project's images whose
	// FamilyProperty is family, hidden ones included.
	OwnedImagesInFamily(ctx context.Context, family string) ([]Image, error)
	// UpdateImage applies all changes in one PATCH.
	UpdateImage(ctx context.Context, id string, u Update) error
	DeleteImage(ctx context.Context, id string) error
	AddMember(ctx context.Context, imageID, project string) error
	AcceptMember(ctx context.Context, imageID, project string) error
}

// Glance is what On needs of an image client: osapi.Glance has it.
type Glance interface {
	GetImage(ctx context.Context, id string) (*images.Image, error)
	ImagesNamed(ctx context.Context, name, owner string) ([]images.Image, error)
	ImagesMarked(ctx context.Context, key, value, owner string) ([]images.Image, error)
	UpdateImage(ctx context.Context, id string, opts images.UpdateOptsBuilder) error
	DeleteImage(ctx context.Context, id string) error
	AddMember(ctx context.Context, id, member string) error
	AcceptMember(ctx context.Context, id, member string) error
}

// On puts an image client behind the policy's Images; project is the ID of the
// project the credentials are scoped to ("" when unknown: by-name lookups then
// refuse with ErrProjectUnknown).
func On(g Glance, project string) Images { return &glanceImages{g: g, project: project} }

type glanceImages struct {
	g       Glance
	project string
}

// FromGlance is the policy's view of an image as Glance returns it.
func FromGlance(img *images.Image) *Image {
	out := &Image{
		ID: img.ID, Name: img.Name, Status: string(img.Status), Visibility: string(img.Visibility),
		Owner: img.Owner, Tags: img.Tags, MinDisk: img.MinDiskGigabytes, MinRAM: img.MinRAMMegabytes,
		Protected: img.Protected, Hidden: img.Hidden, SizeBytes: img.SizeBytes, CreatedAt: img.CreatedAt,
		Properties: map[string]string{},
	}
	for k, v := range img.Properties {
		switch x := v.(type) {
		case string:
			out.Properties[k] = x
		case nil:
		default:
			out.Properties[k] = fmt.Sprint(x)
		}
	}
	return out
}

func (a *glanceImages) GetImage(ctx context.Context, id string) (*Image, error) {
	img, err := a.g.GetImage(ctx, id)
	if err != nil {
		return nil, err
	}
	return FromGlance(img), nil
}

// owned runs a list scoped to the build's project (refused when the project is
// unknown: an unscoped list could reach other projects' images).
func (a *glanceImages) owned(list func() ([]images.Image, error)) ([]Image, error) {
	if a.project == "" {
		return nil, ErrProjectUnknown
	}
	found, err := list()
	if err != nil {
		return nil, err
	}
	out := make([]Image, 0, len(found))
	for i := range found {
		out = append(out, *FromGlance(&found[i]))
	}
	return out, nil
}

func (a *glanceImages) OwnedImagesNamed(ctx context.Context, name string) ([]Image, error) {
	return a.owned(func() ([]images.Image, error) { return a.g.ImagesNamed(ctx, name, a.project) })
}

func (a *glanceImages) OwnedImagesMarked(ctx context.Context, marker string) ([]Image, error) {
	return a.owned(func() ([]images.Image, error) { return a.g.ImagesMarked(ctx, MarkerProperty, marker, a.project) })
}

func (a *glanceImages) OwnedImagesInFamily(ctx context.Context, family string) ([]Image, error) {
	return a.owned(func() ([]images.Image, error) { return a.g.ImagesMarked(ctx, FamilyProperty, family, a.project) })
}

func (a *glanceImages) UpdateImage(ctx context.Context, id string, u Update) error {
	patch := u.Patch()
	if len(patch) == 0 {
		return nil
	}
	return a.g.UpdateImage(ctx, id, patch)
}

// Patch turns the update into JSON-patch operations, properties in name order,
// additions before removals. With Glance's v2.1 patch media type an "add" also
// replaces an inherited value.
func (u Update) Patch() images.UpdateOpts {
	var patch images.UpdateOpts
	if u.Visibility != nil {
		patch = append(patch, images.UpdateVisibility{Visibility: images.ImageVisibility(*u.Visibility)})
	}
	if u.Tags != nil {
		patch = append(patch, images.ReplaceImageTags{NewTags: *u.Tags})
	}
	if u.MinDisk != nil {
		patch = append(patch, images.ReplaceImageMinDisk{NewMinDisk: *u.MinDisk})
	}
	if u.MinRAM != nil {
		patch = append(patch, images.ReplaceImageMinRam{NewMinRam: *u.MinRAM})
	}
	if u.Protected != nil {
		patch = append(patch, images.ReplaceImageProtected{NewProtected: *u.Protected})
	}
	if u.Hidden != nil {
		patch = append(patch, images.ReplaceImageHidden{NewHidden: *u.Hidden})
	}
	keys := make([]string, 0, len(u.Properties))
	for k := range u.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		patch = append(patch, images.UpdateImageProperty{Op: images.AddOp, Name: k, Value: u.Properties[k]})
	}
	remove := append([]string(nil), u.Remove...)
	sort.Strings(remove)
	for _, k := range remove {
		patch = append(patch, images.UpdateImageProperty{Op: images.RemoveOp, Name: k})
	}
	return patch
}

func (a *glanceImages) DeleteImage(ctx context.Context, id string) error {
	return a.g.DeleteImage(ctx, id)
}

func (a *glanceImages) AddMember(ctx context.Context, imageID, project string) error {
	return a.g.AddMember(ctx, imageID, project)
}

func (a *glanceImages) AcceptMember(ctx context.Context, imageID, project string) error {
	return a.g.AcceptMember(ctx, imageID, project)
}
