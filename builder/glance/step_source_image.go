package glance

import (
	"context"
	"fmt"
	"io"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/glanceimport"
	"github.com/packer-glance/packer-plugin-glance/internal/imagefind"
	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// stepSourceImage finds the image the server boots from: by ID, by name, by
// filter, or by importing external_source_image_url into a temporary image.
//
// Uses: config, cloud. Produces: source_image, source_import_url, and the
// generated variables SourceImage and SourceImageName.
type stepSourceImage struct {
	importedID string // the temporary image made from external_source_image_url
}

func (s *stepSourceImage) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	var (
		img *Image
		err error
	)
	switch {
	case cfg.SourceImage != "":
		img, err = cloud.Images.GetImage(ctx, cfg.SourceImage)
		if err != nil {
			if osapi.IsNotFound(err) {
				return halt(state, fmt.Errorf("source_image %q: no image with this ID is visible to the project (source_image takes an ID; use source_image_name for a name)", cfg.SourceImage))
			}
			return halt(state, fmt.Errorf("reading source_image %q: %w", cfg.SourceImage, err))
		}
		if img.Status != "active" {
			return halt(state, fmt.Errorf("source_image %q is %s, not active", cfg.SourceImage, img.Status))
		}
	case cfg.SourceImageName != "":
		img, err = findImage(ctx, cloud.Finder, imagefind.Query{Filter: imagefind.Filter{Name: cfg.SourceImageName}}, "source_image_name")
	case !filterEmpty(cfg.SourceImageFilter.Filters):
		img, err = findImage(ctx, cloud.Finder, imagefind.Query{
			Filter: cfg.SourceImageFilter.Filters, MostRecent: cfg.SourceImageFilter.MostRecent,
		}, "source_image_filter")
	case cfg.ExternalSourceImageURL != "":
		img, err = s.importExternal(ctx, state)
		state.Put(stateSourceImportURL, cfg.ExternalSourceImageURL)
	}
	if err != nil {
		return halt(state, err)
	}
	ui.Sayf("Source image: %s (%s)", img.Name, img.ID)
	state.Put(stateSourceImage, img)
	putGenerated(state, "SourceImage", img.ID)
	putGenerated(state, "SourceImageName", img.Name)
	return multistep.ActionContinue
}

// findImage looks the image up with the data source's finder, which insists on
// one match unless most_recent is set and explains what it filtered on when
// nothing matches.
func findImage(ctx context.Context, finder ImageFinder, q imagefind.Query, option string) (*Image, error) {
	found, err := finder.Find(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", option, err)
	}
	return imagepolicy.FromGlance(found), nil
}

// importExternal fills a temporary image from the URL with the glance-import
// post-processor's engine: web-download when Glance can fetch the URL, else the
// plugin streams it; a failed import fails at once with Glance's reason, and the
// engine deletes the half-made image itself.
func (s *stepSourceImage) importExternal(ctx context.Context, state multistep.StateBag) (*Image, error) {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	name := tempName(state, "source")
	url := access.RedactURLString(cfg.ExternalSourceImageURL)
	ui.Sayf("Importing %s into the temporary image %s...", url, name)
	res, err := cloud.Import(ctx, glanceimport.Request{
		Source: glanceimport.Source{URL: cfg.ExternalSourceImageURL},
		Image: glanceimport.ImageSpec{
			Name: name, DiskFormat: cfg.ExternalSourceImageFormat, ContainerFormat: "bare",
			Properties: cfg.ExternalSourceImageProperties,
		},
		Marker:  stringOf(state, stateBuildUUID),
		Timeout: cfg.ImageTimeout,
		Say:     func(line string) { ui.Say(line) },
		Track: func(name string, total int64, r io.ReadCloser) io.ReadCloser {
			return ui.TrackProgress(name, 0, total, r)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("importing external_source_image_url %s: %w", url, err)
	}
	s.importedID = res.Image.ID
	return imagepolicy.FromGlance(res.Image), nil
}

func (s *stepSourceImage) Cleanup(state multistep.StateBag) {
	if s.importedID == "" {
		return
	}
	ui := uiOf(state)
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	ui.Sayf("Deleting the temporary source image %s...", s.importedID)
	if err := cloudOf(state).Images.DeleteImage(ctx, s.importedID); err != nil && !osapi.IsNotFound(err) {
		ui.Error(fmt.Sprintf("Error deleting the temporary source image %s: %s (delete it by hand)", s.importedID, err))
		return
	}
	s.importedID = ""
}
