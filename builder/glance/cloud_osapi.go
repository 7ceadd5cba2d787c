package glance

import (
	"context"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/glanceimport"
	"github.com/packer-glance/packer-plugin-glance/internal/imagefind"
	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
)

// newOSAPICloud puts the shared service clients of a session behind the
// builder's interfaces. Nova, Neutron and Cinder clients fit them as they are;
// Glance gets a small adapter to the builder's view of an image.
func newOSAPICloud(sess *access.Session, downloads access.DownloadOptions) (*Cloud, error) {
	svc := osapi.New(sess)
	glance := svc.Glance()
	// Keystone is only asked when a filter names an owner, which may be a name.
	finder := imagefind.Finder{Images: glance, Projects: svc.Keystone()}
	client, err := sess.DownloadClient(downloads)
	if err != nil {
		return nil, err
	}
	return &Cloud{
		Finder: finder,
		Import: func(ctx context.Context, req glanceimport.Request) (*glanceimport.Result, error) {
			req.Source.HTTPClient = client
			req.OwnerID = glance.Project()
			return glanceimport.Import(ctx, glance, req)
		},
		Compute: svc.Nova(),
		Network: svc.Neutron(),
		Images:  imagepolicy.On(glance, glance.Project()),
		Volumes: svc.Cinder(),
		Region:  sess.Region,
	}, nil
}
