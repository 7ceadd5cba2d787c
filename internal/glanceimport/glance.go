package glanceimport

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// Glance is every Glance call the import makes. The engine owns this interface;
// the shared client (osapi.Glance) implements it and tests may give a fake.
type Glance interface {
	// ImportMethods lists the import methods the cloud offers (GET /v2/info/import).
	ImportMethods(ctx context.Context) ([]string, error)
	// ImagesNamed lists the images with exactly this name, of owner when it is not "".
	ImagesNamed(ctx context.Context, name, owner string) ([]images.Image, error)
	// ImagesMarked lists owner's images whose property key is value.
	ImagesMarked(ctx context.Context, key, value, owner string) ([]images.Image, error)
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

// Task and ImportCall are the shared Glance client's.
type (
	Task       = osapi.Task
	ImportCall = osapi.ImportCall
)

// retrySchedule is how source downloads back off between attempts;
// tests shorten it.
var retrySchedule = retry.Schedule

// retryDownload runs a step of a source download until it succeeds, fails for
// good, or the schedule ends. (OpenStack calls retry in the session instead.)
func retryDownload(ctx context.Context, call func() error) error {
	return retry.Retry(ctx, retrySchedule, transient, call)
}

// transient reports whether an error is worth a retry: what retry.IsTransient
// accepts, plus a 5xx or 429 from the image source.
func transient(err error) bool {
	var status *httpStatusError
	if errors.As(err, &status) {
		return status.Code >= 500 || status.Code == http.StatusTooManyRequests
	}
	return retry.IsTransient(err)
}
