// Package imagecopy publishes a finished Glance image to other regions and
// clouds (the `copy_to` blocks of the glance builder and the glance-import
// post-processor): each target gets the image's data, formats, properties,
// tags, sizes, visibility, members and protection, with the block's overrides,
// and is verified against the source's hash.
//
// The source is read once and fanned out to every streaming target at once,
// through a fixed ring of buffers (fanout.go); a target whose Glance offers
// glance-download and shares the source's Keystone and project pulls the image
// itself instead, so its data never passes through the runner. Every copy
// carries the run's marker; any failure or cancellation deletes what the copy
// made.
package imagecopy

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
)

// Glance is every call a copy makes on a target's image service; the shared
// client (osapi.Glance) has them.
type Glance interface {
	ImportMethods(ctx context.Context) ([]string, error)
	ImagesNamed(ctx context.Context, name, owner string) ([]images.Image, error)
	ImagesMarked(ctx context.Context, key, value, owner string) ([]images.Image, error)
	CreateImage(ctx context.Context, opts images.CreateOptsBuilder) (*images.Image, error)
	// Upload sends the data with PUT /file; size becomes the Content-Length.
	Upload(ctx context.Context, id string, data io.Reader, size int64) error
	StartImport(ctx context.Context, id string, call osapi.ImportCall) error
	GetImage(ctx context.Context, id string) (*images.Image, error)
	UpdateImage(ctx context.Context, id string, opts images.UpdateOptsBuilder) error
	DeleteImage(ctx context.Context, id string) error
	ImageTasks(ctx context.Context, id string) ([]osapi.Task, error)
	AddMember(ctx context.Context, id, member string) error
	AcceptMember(ctx context.Context, id, member string) error
	// Endpoint is the service's URL.
	Endpoint() (string, error)
}

// Source is what a copy reads of the source's image service.
type Source interface {
	GetImage(ctx context.Context, id string) (*images.Image, error)
	// Download opens the image's data (GET /file).
	Download(ctx context.Context, id string) (io.ReadCloser, error)
	Endpoint() (string, error)
}

// Dest is a target resolved to an image service.
type Dest struct {
	Glance Glance
	// Project is the project the target's credentials work in: name checks
	// and marker lookups are scoped to it.
	Project string
	// Region is the target's catalog region ("" when unknown).
	Region string
	// Cloud is the clouds.yaml entry of another cloud ("" for the source's).
	Cloud string
	// SameKeystone says the target's Glance can read the source image with
	// the target's own token (same Keystone and project), which glance-download
	// needs.
	SameKeystone bool
}

// Origin is the cloud the source image lives in, and how its copies' targets
// are reached.
type Origin struct {
	Glance Source
	// Region is the source's catalog region, which glance-download names.
	Region string
	// Interface is the catalog interface in use (public, internal, admin).
	Interface string
	// Project is the ID of the source's project.
	Project string
	// Connect resolves a copy_to block.
	Connect func(ctx context.Context, t Target) (*Dest, error)
}

// FromSession is the origin of a session's images: a `region` block uses the
// same session in another region; a `cloud` block logs in to that clouds.yaml
// entry (once per entry) with the same API retry budget.
func FromSession(sess *access.Session, apiRetryTimeout time.Duration) *Origin {
	src := osapi.New(sess).Glance()
	o := &Origin{Glance: src, Region: sess.Region, Interface: sess.Interface, Project: sess.Project.ID}
	if ep, err := src.Endpoint(); err == nil {
		o.Region = sess.CatalogRegion(ep)
	}
	var mu sync.Mutex
	others := map[string]*access.Session{}
	o.Connect = func(ctx context.Context, t Target) (*Dest, error) {
		if t.Cloud == "" {
			g := osapi.InRegion(sess, t.Region).Glance()
			if _, err := g.Endpoint(); err != nil {
				return nil, err
			}
			return &Dest{Glance: g, Project: sess.Project.ID, Region: t.Region, SameKeystone: true}, nil
		}
		mu.Lock()
		other := others[t.Cloud+"\x00"+t.Region]
		mu.Unlock()
		if other == nil {
			ac := access.AccessConfig{Cloud: t.Cloud, Region: t.Region, APIRetryTimeout: apiRetryTimeout}
			if _, errs := ac.Prepare(); len(errs) > 0 {
				return nil, errs[0]
			}
			var err error
			if other, err = ac.Authenticate(ctx); err != nil {
				return nil, fmt.Errorf("logging in to cloud %s: %w", t.Cloud, err)
			}
			mu.Lock()
			others[t.Cloud+"\x00"+t.Region] = other
			mu.Unlock()
		}
		g := osapi.New(other).Glance()
		ep, err := g.Endpoint()
		if err != nil {
			return nil, err
		}
		same := other.Project.ID != "" && other.Project.ID == sess.Project.ID &&
			other.Provider.IdentityBase == sess.Provider.IdentityBase
		return &Dest{Glance: g, Project: other.Project.ID, Region: other.CatalogRegion(ep), Cloud: t.Cloud, SameKeystone: same}, nil
	}
	return o
}
