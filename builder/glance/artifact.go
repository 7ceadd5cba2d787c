package glance

import (
	"fmt"
	"maps"
	"strings"

	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/packer-glance/packer-plugin-glance/internal/imagecopy"
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
	// Placements lists the image and its copy_to copies, the image first
	// (just the image without copy_to).
	Placements []imagecopy.Placement

	images Images
	copies *imagecopy.Result
}

// addCopies records the copies: Id, String, State and Destroy then cover every
// image, and generated_data gains ImageIDs (the key of each image's region, or
// "cloud/region", to its ID).
func (a *Artifact) addCopies(cloud *Cloud, copies *imagecopy.Result) {
	region := a.Region
	if cloud.Copies != nil && cloud.Copies.Region != "" {
		region = cloud.Copies.Region // the catalog's name when the session named none
	}
	a.Placements = imagecopy.Placements(region, a.ImageID, a.ImageName, copies)
	a.copies = copies
	gen, _ := a.StateData["generated_data"].(map[string]interface{})
	if gen == nil {
		gen = map[string]interface{}{}
		if a.StateData == nil {
			a.StateData = map[string]interface{}{}
		}
		a.StateData["generated_data"] = gen
	}
	gen["ImageIDs"] = imagecopy.ImageIDsJSON(a.Placements)
}

// copied reports whether the artifact has copies.
func (a *Artifact) copied() bool { return len(a.Placements) > 1 }

// BuilderId names this builder.
func (a *Artifact) BuilderId() string { return BuilderID }

// Files is empty: the image lives in Glance.
func (a *Artifact) Files() []string { return nil }

// Id is the Glance image ID; with copies, every image as "region:id" joined by
// commas, the image first.
func (a *Artifact) Id() string {
	if a.copied() {
		return imagecopy.ArtifactID(a.Placements)
	}
	return a.ImageID
}

// String names the image and where it is.
func (a *Artifact) String() string {
	region := a.Region
	if region == "" {
		region = "the default region"
	}
	out := fmt.Sprintf("An image was created: %s (%s) in %s", a.ImageName, a.ImageID, region)
	if a.copied() {
		var copies []string
		for _, p := range a.Placements[1:] {
			copies = append(copies, fmt.Sprintf("%s (%s) in %s", p.Name, p.ImageID, p.Where()))
		}
		out += "; copies: " + strings.Join(copies, ", ")
	}
	return out
}

// State returns generated data, or the HCP Packer registry metadata.
func (a *Artifact) State(name string) interface{} {
	if name == registryimage.ArtifactStateURI {
		return a.registryImage()
	}
	return a.StateData[name]
}

// registryImage is the HCP Packer metadata: one image, or one per region with
// copies.
func (a *Artifact) registryImage() interface{} {
	labels := map[string]string{"image_name": a.ImageName, "visibility": a.Visibility}
	for k, v := range a.Properties {
		labels[k] = v
	}
	if a.SourceImageURL != "" {
		labels["source_image_url"] = a.SourceImageURL
	}
	if !a.copied() {
		return &registryimage.Image{
			ImageID:        a.ImageID,
			ProviderName:   "openstack",
			ProviderRegion: a.Region,
			SourceImageID:  a.SourceImageID,
			Labels:         labels,
		}
	}
	var out []*registryimage.Image
	for _, p := range a.Placements {
		l := maps.Clone(labels)
		l["image_name"] = p.Name
		out = append(out, &registryimage.Image{
			ImageID: p.ImageID, ProviderName: "openstack", ProviderRegion: p.Key, SourceImageID: a.SourceImageID, Labels: l,
		})
	}
	return out
}

// Destroy deletes the image and its copies.
func (a *Artifact) Destroy() error {
	if a.images == nil {
		return fmt.Errorf("cannot delete image %s: the artifact has no connection to the cloud", a.ImageID)
	}
	// Packer gives Destroy no context; bound it like a cleanup so it cannot hang.
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	if err := a.copies.Delete(ctx, func(string) {}); err != nil {
		return err
	}
	if err := a.images.DeleteImage(ctx, a.ImageID); err != nil {
		return fmt.Errorf("deleting image %s: %w", a.ImageID, err)
	}
	return nil
}
