package image

import (
	"context"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/imagefind"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
)

// lookup finds the image the query describes with the session's shared
// clients (Glance for the images, Keystone for owner names) and returns it with
// the region of the Glance endpoint that listed it.
func lookup(ctx context.Context, sess *access.Session, q imagefind.Query) (*images.Image, string, error) {
	svc := osapi.New(sess)
	glance := svc.Glance()
	img, err := imagefind.Finder{Images: glance, Projects: svc.Keystone()}.Find(ctx, q)
	if err != nil {
		return nil, "", err
	}
	region := sess.Region
	if endpoint, err := glance.Endpoint(); err == nil {
		region = sess.CatalogRegion(endpoint)
	}
	return img, region, nil
}
