package glance

import (
	"fmt"

	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// Artifact is the image a build made.
type Artifact struct {
	ImageID   string
	ImageName string
	Region    string
	// SourceImageID is the image the server booted from ("" when it was a
	// temporary import, which no longer exists).
	SourceImageID  string
	SourceImageURL string
	Visibility     string
	Properties     map[string]string
	// StateData holds generated_data for later post-processors.
	StateData map[string]interface{}

	images Images
}

// BuilderId names this builder.
func (a *Artifact) BuilderId() string { return BuilderID }

// Files is empty: the image lives in Glance.
func (a *Artifact) Files() []string { return nil }

// Id is the Glance image ID.
func (a *Artifact) Id() string { return a.ImageID }

// String names the image and where it is.
func (a *Artifact) String() string {
	region := a.Region
	if region == "" {
		region = "the default region"
	}
	return fmt.Sprintf("An image was created: %s (%s) in %s", a.ImageName, a.ImageID, region)
}

// State returns generated data, or the HCP Packer registry metadata.
func (a *Artifact) State(name string) interface{} {
	if name == registryimage.ArtifactStateURI {
		return a.registryImage()
	}
	return a.StateData[name]
}

func (a *Artifact) registryImage() *registryimage.Image {
	labels := map[string]string{"image_name": a.ImageName, "visibility": a.Visibility}
	for k, v := range a.Properties {
		labels[k] = v
	}
	if a.SourceImageURL != "" {
		labels["source_image_url"] = a.SourceImageURL
	}
	return &registryimage.Image{
		ImageID:        a.ImageID,
		ProviderName:   "openstack",
		ProviderRegion: a.Region,
		SourceImageID:  a.SourceImageID,
		Labels:         labels,
	}
}

// Destroy deletes the image.
func (a *Artifact) Destroy() error {
	if a.images == nil {
		return fmt.Errorf("cannot delete image %s: the artifact has no connection to the cloud", a.ImageID)
	}
	// Packer gives Destroy no context; bound it like a cleanup so it cannot hang.
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	if err := a.images.DeleteImage(ctx, a.ImageID); err != nil {
		return fmt.Errorf("deleting image %s: %w", a.ImageID, err)
	}
	return nil
}
