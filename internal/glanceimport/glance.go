package glanceimport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imageimport"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/members"

	glancecommon "github.com/packer-glance/packer-plugin-glance/common"
)

// Glance is every Glance call the import makes. The engine owns this interface;
// NewGlance adapts a gophercloud client and tests give a fake.
type Glance interface {
	// ImportMethods lists the import methods the cloud offers (GET /v2/info/import).
	ImportMethods(ctx context.Context) ([]string, error)
	// ImagesByName lists the images with exactly this name that the user can see.
	ImagesByName(ctx context.Context, name string) ([]images.Image, error)
	CreateImage(ctx context.Context, opts images.CreateOptsBuilder) (*images.Image, error)
	// Upload sends the data with PUT /file; size < 0 means unknown (chunked).
	Upload(ctx context.Context, id string, data io.Reader, size int64) error
	// Stage sends the data with PUT /stage for glance-direct.
	Stage(ctx context.Context, id string, data io.Reader, size int64) error
	// StartImport posts an import request; Glance answers 202 and works on.
	StartImport(ctx context.Context, id string, req ImportCall) error
	GetImage(ctx context.Context, id string) (*images.Image, error)
	DeleteImage(ctx context.Context, id string) error
	UpdateImage(ctx context.Context, id string, opts images.UpdateOptsBuilder) error
	// ImageTasks lists the tasks of one image (GET /v2/images/{id}/tasks), newest last.
	ImageTasks(ctx context.Context, id string) ([]Task, error)
	AddMember(ctx context.Context, id, member string) error
	AcceptMember(ctx context.Context, id, member string) error
}

// Task is what the import reads of a Glance task: its outcome and message.
type Task struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Message   string `json:"message"`
	CreatedAt string `json:"created_at"`
}

// ImportCall is the body of POST /v2/images/{id}/import. gophercloud's options
// cannot carry stores, so this type builds the whole body itself.
type ImportCall struct {
	Method               string
	URI                  string
	Stores               []string
	AllStores            bool
	AllStoresMustSucceed *bool
}

// ToImportCreateMap implements imageimport.CreateOptsBuilder. Fields are sent only
// when set: single-store Glance refuses all_stores_must_succeed.
func (c ImportCall) ToImportCreateMap() (map[string]any, error) {
	method := map[string]any{"name": c.Method}
	if c.URI != "" {
		method["uri"] = c.URI
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

// NewGlance adapts a Glance v2 service client. Idempotent calls are retried on
// 5xx, 429 and broken connections; data transfers and creations never are.
func NewGlance(client *gophercloud.ServiceClient) Glance {
	return &gophercloudGlance{c: client}
}

type gophercloudGlance struct {
	c *gophercloud.ServiceClient
}

func (g *gophercloudGlance) ImportMethods(ctx context.Context) ([]string, error) {
	var methods []string
	err := retryIdempotent(ctx, func() error {
		info, err := imageimport.Get(ctx, g.c).Extract()
		if err != nil {
			return err
		}
		methods = info.ImportMethods.Value
		return nil
	})
	return methods, err
}

func (g *gophercloudGlance) ImagesByName(ctx context.Context, name string) ([]images.Image, error) {
	var all []images.Image
	err := retryIdempotent(ctx, func() error {
		pages, err := images.List(g.c, images.ListOpts{Name: name}).AllPages(ctx)
		if err != nil {
			return err
		}
		all, err = images.ExtractImages(pages)
		return err
	})
	return all, err
}

func (g *gophercloudGlance) CreateImage(ctx context.Context, opts images.CreateOptsBuilder) (*images.Image, error) {
	return images.Create(ctx, g.c, opts).Extract()
}

// withSize returns a shallow copy of the client whose requests carry the upload
// size, which our transport turns into a Content-Length (gophercloud streams
// bodies chunked otherwise).
func (g *gophercloudGlance) withSize(size int64) *gophercloud.ServiceClient {
	if size < 0 {
		return g.c
	}
	c := *g.c
	c.MoreHeaders = map[string]string{}
	for k, v := range g.c.MoreHeaders {
		c.MoreHeaders[k] = v
	}
	c.MoreHeaders[glancecommon.ImageSizeHeader] = strconv.FormatInt(size, 10)
	return &c
}

func (g *gophercloudGlance) Upload(ctx context.Context, id string, data io.Reader, size int64) error {
	return imagedata.Upload(ctx, g.withSize(size), id, data).ExtractErr()
}

func (g *gophercloudGlance) Stage(ctx context.Context, id string, data io.Reader, size int64) error {
	return imagedata.Stage(ctx, g.withSize(size), id, data).ExtractErr()
}

func (g *gophercloudGlance) StartImport(ctx context.Context, id string, req ImportCall) error {
	return imageimport.Create(ctx, g.c, id, req).ExtractErr()
}

func (g *gophercloudGlance) GetImage(ctx context.Context, id string) (*images.Image, error) {
	var img *images.Image
	err := retryIdempotent(ctx, func() error {
		var err error
		img, err = images.Get(ctx, g.c, id).Extract()
		return err
	})
	return img, err
}

func (g *gophercloudGlance) DeleteImage(ctx context.Context, id string) error {
	return retryIdempotent(ctx, func() error { return images.Delete(ctx, g.c, id).ExtractErr() })
}

func (g *gophercloudGlance) UpdateImage(ctx context.Context, id string, opts images.UpdateOptsBuilder) error {
	return retryIdempotent(ctx, func() error { return images.Update(ctx, g.c, id, opts).Err })
}

func (g *gophercloudGlance) ImageTasks(ctx context.Context, id string) ([]Task, error) {
	var body struct {
		Tasks []Task `json:"tasks"`
	}
	err := retryIdempotent(ctx, func() error {
		_, err := g.c.Get(ctx, g.c.ServiceURL("images", id, "tasks"), &body, &gophercloud.RequestOpts{OkCodes: []int{200}})
		return err
	})
	sort.SliceStable(body.Tasks, func(i, j int) bool { return body.Tasks[i].CreatedAt < body.Tasks[j].CreatedAt })
	return body.Tasks, err
}

func (g *gophercloudGlance) AddMember(ctx context.Context, id, member string) error {
	_, err := members.Create(ctx, g.c, id, member).Extract()
	if glancecommon.IsConflict(err) {
		return nil // already a member
	}
	return err
}

func (g *gophercloudGlance) AcceptMember(ctx context.Context, id, member string) error {
	return retryIdempotent(ctx, func() error {
		_, err := members.Update(ctx, g.c, id, member, members.UpdateOpts{Status: "accepted"}).Extract()
		return err
	})
}

// retrySchedule is how idempotent calls and downloads back off between attempts;
// tests shorten it.
var retrySchedule = glancecommon.RetrySchedule

// retryIdempotent runs call until it succeeds, fails for good, or the schedule ends.
func retryIdempotent(ctx context.Context, call func() error) error {
	return glancecommon.Retry(ctx, retrySchedule, transient, call)
}

// transient reports whether an error is worth a retry: what common.IsTransient
// accepts, plus a 5xx or 429 from the image source.
func transient(err error) bool {
	var status *httpStatusError
	if errors.As(err, &status) {
		return status.Code >= 500 || status.Code == http.StatusTooManyRequests
	}
	return glancecommon.IsTransient(err)
}
