package importpp

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// ImageDeleter deletes an image; Artifact.Destroy uses it.
type ImageDeleter func(ctx context.Context, id string) error

// Artifact is the imported Glance image.
type Artifact struct {
	ImageID   string
	ImageName string
	Region    string
	// Checksum is Glance's hash of the stored data, "<os_hash_algo>:<os_hash_value>".
	Checksum string
	// SourceChecksum is the verified checksum of the source, when one was given.
	SourceChecksum string
	// SourceID names what was imported: the input artifact's ID, or the URL or file.
	SourceID string

	deleteImage ImageDeleter
	stateData   map[string]interface{}
}

// BuilderId implements packersdk.Artifact.
func (a *Artifact) BuilderId() string { return BuilderID }

// Files implements packersdk.Artifact: an image in Glance has no local files.
func (a *Artifact) Files() []string { return nil }

// Id implements packersdk.Artifact.
func (a *Artifact) Id() string { return a.ImageID }

func (a *Artifact) String() string {
	region := a.Region
	if region == "" {
		region = "the default region"
	}
	return fmt.Sprintf("Glance image %q (ID %s) in %s", a.ImageName, a.ImageID, region)
}

// State implements packersdk.Artifact: HCP Packer registry metadata and the
// generated data.
func (a *Artifact) State(name string) interface{} {
	if name == registryimage.ArtifactStateURI {
		img, err := registryimage.FromArtifact(a,
			registryimage.WithProvider("openstack"),
			registryimage.WithRegion(a.Region),
			registryimage.WithSourceID(a.SourceID),
			registryimage.SetLabels(map[string]interface{}{"image_name": a.ImageName, "checksum": a.Checksum}),
		)
		if err != nil {
			return nil
		}
		return img
	}
	return a.stateData[name]
}

// Destroy deletes the image.
func (a *Artifact) Destroy() error {
	if a.deleteImage == nil {
		return fmt.Errorf("cannot delete image %s: no connection to the cloud", a.ImageID)
	}
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	if err := a.deleteImage(ctx, a.ImageID); err != nil && !osapi.IsNotFound(err) {
		return fmt.Errorf("deleting image %s: %w", a.ImageID, err)
	}
	return nil
}

// glanceChecksum renders Glance's multihash of an image.
func glanceChecksum(img *images.Image) string {
	algo, _ := img.Properties["os_hash_algo"].(string)
	value, _ := img.Properties["os_hash_value"].(string)
	if algo == "" || value == "" {
		if img.Checksum != "" {
			return "md5:" + img.Checksum
		}
		return ""
	}
	return algo + ":" + value
}
