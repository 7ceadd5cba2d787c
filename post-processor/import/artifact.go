package importpp

import (
	"context"
	"fmt"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/packer-glance/packer-plugin-glance/internal/imagecopy"
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

	// Placements lists the image and its copy_to copies, the image first.
	Placements []imagecopy.Placement

	deleteImage ImageDeleter
	stateData   map[string]interface{}
	copies      *imagecopy.Result
}

// addCopies records the copies (none without copy_to): Id, String, State and
// Destroy then cover every image, and generated_data gains ImageIDs.
func (a *Artifact) addCopies(region string, copies *imagecopy.Result) {
	a.Placements = imagecopy.Placements(region, a.ImageID, a.ImageName, copies)
	a.copies = copies
	if gen, ok := a.stateData["generated_data"].(map[string]interface{}); ok {
		gen["ImageIDs"] = imagecopy.ImageIDsJSON(a.Placements)
	}
}

func (a *Artifact) copied() bool { return len(a.Placements) > 1 }

// BuilderId implements packersdk.Artifact.
func (a *Artifact) BuilderId() string { return BuilderID }

// Files implements packersdk.Artifact: an image in Glance has no local files.
func (a *Artifact) Files() []string { return nil }

// Id implements packersdk.Artifact: the image's ID; with copies, every image
// as "region:id" joined by commas, the image first.
func (a *Artifact) Id() string {
	if a.copied() {
		return imagecopy.ArtifactID(a.Placements)
	}
	return a.ImageID
}

func (a *Artifact) String() string {
	region := a.Region
	if region == "" {
		region = "the default region"
	}
	out := fmt.Sprintf("Glance image %q (ID %s) in %s", a.ImageName, a.ImageID, region)
	if a.copied() {
		var copies []string
		for _, p := range a.Placements[1:] {
			copies = append(copies, fmt.Sprintf("%q (ID %s) in %s", p.Name, p.ImageID, p.Where()))
		}
		out += "; copies: " + strings.Join(copies, ", ")
	}
	return out
}

// State implements packersdk.Artifact: HCP Packer registry metadata and the
// generated data.
func (a *Artifact) State(name string) interface{} {
	if name == registryimage.ArtifactStateURI {
		if a.copied() {
			var out []*registryimage.Image
			for _, p := range a.Placements {
				out = append(out, &registryimage.Image{ImageID: p.ImageID, ProviderName: "openstack", ProviderRegion: p.Key,
					SourceImageID: a.SourceID, Labels: map[string]string{"image_name": p.Name, "checksum": a.Checksum}})
			}
			return out
		}
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

// Destroy deletes the image and its copies.
func (a *Artifact) Destroy() error {
	if a.deleteImage == nil {
		return fmt.Errorf("cannot delete image %s: no connection to the cloud", a.ImageID)
	}
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	if err := a.copies.Delete(ctx, func(string) {}); err != nil {
		return err
	}
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
