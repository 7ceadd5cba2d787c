package osapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imageimport"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/members"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// Image is a Glance image as the image API returns it.
type Image = images.Image

// Glance is the image service client.
type Glance struct {
	client  func() (*gophercloud.ServiceClient, error)
	project string
}

// NewGlance wraps an image service client made elsewhere (tests point one at a
// test server); project is the session's project ID.
func NewGlance(c *gophercloud.ServiceClient, project string) *Glance {
	return &Glance{client: func() (*gophercloud.ServiceClient, error) { return c, nil }, project: project}
}

// Project is the ID of the project the session is scoped to ("" if unknown).
func (g *Glance) Project() string { return g.project }

// Endpoint is the image service's URL (for finding its catalog region).
func (g *Glance) Endpoint() (string, error) {
	c, err := g.client()
	if err != nil {
		return "", err
	}
	return c.Endpoint, nil
}

// ImportMethods lists the import methods the cloud offers (GET /v2/info/import).
func (g *Glance) ImportMethods(ctx context.Context) ([]string, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	info, err := imageimport.Get(ctx, c).Extract()
	if err != nil {
		return nil, err
	}
	return info.ImportMethods.Value, nil
}

// ListImages walks the pages of an image list, following Glance's next links,
// until page returns false.
func (g *Glance) ListImages(ctx context.Context, opts images.ListOptsBuilder, page func([]Image) bool) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	err = images.List(c, opts).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		imgs, err := images.ExtractImages(p)
		if err != nil {
			return false, err
		}
		return page(imgs), nil
	})
	if err == nil {
		return nil
	}
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		return &apiError{msg: "listing Glance images: " + DescribeAPIError(err), err: err}
	}
	return fmt.Errorf("listing Glance images at %s: %w", access.RedactURLString(c.ResourceBaseURL()+"images"), err)
}

// ImagesNamed lists the images with exactly this name, owned by owner when it is
// not "". Both are sent to Glance (a name with a colon quoted, as Glance would
// otherwise read it as an operator) and checked again on the client. Images
// being deleted are left out.
func (g *Glance) ImagesNamed(ctx context.Context, name, owner string) ([]Image, error) {
	q := ImageQuery{Owner: owner}
	if _, ok := EqFilterValue(name); ok {
		q.Name = name
	}
	return g.listMatching(ctx, q, func(img *Image) bool { return img.Name == name && (owner == "" || img.Owner == owner) })
}

// ImagesMarked lists owner's images whose property key is value (a build's
// marker), hidden ones included. owner must be set: a marker alone must never
// reach another project's image.
func (g *Glance) ImagesMarked(ctx context.Context, key, value, owner string) ([]Image, error) {
	if owner == "" {
		return nil, errors.New("looking images up by marker needs the project they belong to")
	}
	var out []Image
	for _, hidden := range []bool{false, true} {
		found, err := g.listMatching(ctx, ImageQuery{Owner: owner, Properties: map[string]string{key: value}, Hidden: hidden},
			func(img *Image) bool {
				return img.Owner == owner && fmt.Sprint(img.Properties[key]) == value && img.Hidden == hidden
			})
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

func (g *Glance) listMatching(ctx context.Context, q ImageQuery, keep func(*Image) bool) ([]Image, error) {
	var out []Image
	err := g.ListImages(ctx, q, func(list []Image) bool {
		for i := range list {
			img := &list[i]
			if !keep(img) || img.Status == images.ImageStatusDeleted || img.Status == images.ImageStatusPendingDelete {
				continue
			}
			out = append(out, *img)
		}
		return true
	})
	return out, err
}

// imagesMadeBy lists the IDs of the session project's images named name that
// carry marker and were created since started (allowing for clock skew): what
// a create call with that marker made.
func (g *Glance) imagesMadeBy(ctx context.Context, marker, name string, started time.Time) ([]string, error) {
	found, err := g.ImagesMarked(ctx, MarkerProperty, marker, g.project)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, img := range found {
		if img.Name == name && !img.CreatedAt.Before(started.Add(-ClockSkew)) {
			ids = append(ids, img.ID)
		}
	}
	return ids, nil
}

// GetImage reads one image; a missing image is a 404 error.
func (g *Glance) GetImage(ctx context.Context, id string) (*Image, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	return images.Get(ctx, c, id).Extract()
}

// CreateImage creates an image record.
func (g *Glance) CreateImage(ctx context.Context, opts images.CreateOptsBuilder) (*Image, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	started := time.Now()
	var find func(context.Context) ([]*Image, error)
	if o, ok := opts.(images.CreateOpts); ok && o.Properties[MarkerProperty] != "" && g.project != "" {
		find = func(ctx context.Context) ([]*Image, error) {
			ids, err := g.imagesMadeBy(ctx, o.Properties[MarkerProperty], o.Name, started)
			if err != nil {
				return nil, err
			}
			var out []*Image
			for _, id := range ids {
				img, err := g.GetImage(ctx, id)
				if err != nil {
					return nil, err
				}
				out = append(out, img)
			}
			return out, nil
		}
	}
	name := "an image"
	if o, ok := opts.(images.CreateOpts); ok {
		name = fmt.Sprintf("image %q", o.Name)
	}
	return createRecovering(ctx, name, func(ctx context.Context) (*Image, error) {
		img, err := images.Create(ctx, c, opts).Extract()
		return img, described(err)
	}, find)
}

// UpdateImage applies a JSON patch. With Glance's v2.1 patch media type an "add"
// also replaces an inherited value.
// UpdateImage applies a JSON patch. The policy sends a PATCH again when its
// reply was lost; if the first one was applied, its "remove" operations now
// name properties that are gone and Glance answers 409. The patch is then sent
// once more without them, which finishes what the first one did.
func (g *Glance) UpdateImage(ctx context.Context, id string, opts images.UpdateOptsBuilder) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	tracked, attempts := retry.Track(ctx)
	err = images.Update(tracked, c, id, opts).Err
	patch, ok := opts.(images.UpdateOpts)
	if !ok || !attempts.Retried() || !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		return err
	}
	img, gerr := images.Get(ctx, c, id).Extract()
	if gerr != nil {
		return err
	}
	var again images.UpdateOpts
	for _, p := range patch {
		if r, ok := p.(images.UpdateImageProperty); ok && r.Op == images.RemoveOp {
			if _, present := img.Properties[r.Name]; !present {
				continue
			}
		}
		again = append(again, p)
	}
	if len(again) == len(patch) {
		return err // not what a repeated removal answers
	}
	return images.Update(ctx, c, id, again).Err
}

// DeleteImage deletes an image. A 404 after a retried attempt counts as done:
// the earlier attempt went through although its answer was lost or an error.
// A 404 at the first attempt is returned, so callers see "it was never there".
func (g *Glance) DeleteImage(ctx context.Context, id string) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	return deleteOnce(ctx, func(ctx context.Context) error { return images.Delete(ctx, c, id).ExtractErr() })
}

// withSize returns a shallow copy of the client whose requests carry the upload
// size, which the session's transport turns into a Content-Length (gophercloud
// streams bodies chunked otherwise).
func withSize(c *gophercloud.ServiceClient, size int64) *gophercloud.ServiceClient {
	if size < 0 {
		return c
	}
	sized := *c
	sized.MoreHeaders = map[string]string{}
	for k, v := range c.MoreHeaders {
		sized.MoreHeaders[k] = v
	}
	sized.MoreHeaders[access.ImageSizeHeader] = strconv.FormatInt(size, 10)
	return &sized
}

// Upload sends the data with PUT /file; size < 0 means unknown (chunked). A
// streamed body is never sent twice.
func (g *Glance) Upload(ctx context.Context, id string, data io.Reader, size int64) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	return described(imagedata.Upload(ctx, withSize(c, size), id, data).ExtractErr())
}

// Download opens the image's data (GET /file). The caller reads the stream and
// closes it; a stream that breaks is not started again.
func (g *Glance) Download(ctx context.Context, id string) (io.ReadCloser, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	return imagedata.Download(ctx, c, id).Extract()
}

// Stage sends the data with PUT /stage, for glance-direct.
func (g *Glance) Stage(ctx context.Context, id string, data io.Reader, size int64) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	return described(imagedata.Stage(ctx, withSize(c, size), id, data).ExtractErr())
}

// StartImport posts an import request; Glance answers 202 and works on. When
// the reply is lost (a 5xx, a broken connection) the call is sent again, up to
// CreateAttempts calls; Glance answers a repeat of a call that went through
// with 409 (the image is locked by the import, or has moved on from queued),
// which is taken as done: the wait for the image that follows tells how the
// import ends.
func (g *Glance) StartImport(ctx context.Context, id string, call ImportCall) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	err = imageimport.Create(ctx, c, id, call).ExtractErr()
	for attempt := 2; err != nil && attempt <= CreateAttempts && ctx.Err() == nil && retry.CreateMayHaveHappened(ctx, err); attempt++ {
		log.Printf("[WARN] openstack: the reply to the import call of image %s was lost (%v); sending it again (%d of %d)", id, err, attempt, CreateAttempts)
		if retry.SleepContext(ctx, LostLookupPause) != nil {
			return err
		}
		err = imageimport.Create(ctx, c, id, call).ExtractErr()
		if IsConflict(err) {
			log.Printf("[INFO] openstack: Glance refuses the repeated import call of image %s (%v): the lost one went through", id, err)
			return nil
		}
	}
	return described(err)
}

// ImageTasks lists the tasks of one image (GET /v2/images/{id}/tasks), oldest first.
func (g *Glance) ImageTasks(ctx context.Context, id string) ([]Task, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	var body struct {
		Tasks []Task `json:"tasks"`
	}
	_, err = c.Get(ctx, c.ServiceURL("images", id, "tasks"), &body, &gophercloud.RequestOpts{OkCodes: []int{200}})
	sort.SliceStable(body.Tasks, func(i, j int) bool { return body.Tasks[i].CreatedAt < body.Tasks[j].CreatedAt })
	return body.Tasks, err
}

// AddMember shares the image with a project; an existing membership is fine.
func (g *Glance) AddMember(ctx context.Context, id, member string) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	_, err = members.Create(ctx, c, id, member).Extract()
	if IsConflict(err) {
		return nil // already a member (or a repeated request that went through)
	}
	return err
}

// AcceptMember accepts the image on behalf of the member project (which needs
// rights in that project).
func (g *Glance) AcceptMember(ctx context.Context, id, member string) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	_, err = members.Update(ctx, c, id, member, members.UpdateOpts{Status: "accepted"}).Extract()
	return err
}

// WaitActive polls the image until it is active (and, after an import, released
// by the import task), failing at once on a state it will not leave.
func (g *Glance) WaitActive(ctx context.Context, id string, w ImageWait) (*Image, error) {
	return WaitForImage(ctx, g.GetImage, id, w)
}

// Task is what the plugin reads of a Glance task: its outcome and message.
type Task struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Message   string `json:"message"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// ImportCall is the body of POST /v2/images/{id}/import. gophercloud's options
// cannot carry stores, so this type builds the whole body itself.
type ImportCall struct {
	Method string
	URI    string
	// GlanceImageID, GlanceRegion and GlanceServiceInterface name the image
	// glance-download pulls from another region of the same Keystone.
	GlanceImageID          string
	GlanceRegion           string
	GlanceServiceInterface string
	Stores                 []string
	AllStores              bool
	AllStoresMustSucceed   *bool
}

// ToImportCreateMap implements imageimport.CreateOptsBuilder. Fields are sent only
// when set: single-store Glance refuses all_stores_must_succeed.
func (c ImportCall) ToImportCreateMap() (map[string]any, error) {
	if c.Method == "" {
		return nil, fmt.Errorf("an import call needs a method")
	}
	method := map[string]any{"name": c.Method}
	if c.URI != "" {
		method["uri"] = c.URI
	}
	for k, v := range map[string]string{"glance_image_id": c.GlanceImageID, "glance_region": c.GlanceRegion,
		"glance_service_interface": c.GlanceServiceInterface} {
		if v != "" {
			method[k] = v
		}
	}
	body := map[string]any{"method": method}
	if len(c.Stores) > 0 {
		body["stores"] = c.Stores
	}
	if c.AllStores {
		body["all_stores"] = true
	}
	if c.AllStoresMustSucceed != nil {
		body["all_stores_must_succeed"] = *c.AllStoresMustSucceed
	}
	return body, nil
}
