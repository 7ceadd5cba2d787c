package glance

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	glancecommon "github.com/packer-glance/packer-plugin-glance/common"
	"github.com/packer-glance/packer-plugin-glance/datasource/image"
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
			if glancecommon.IsNotFound(err) {
				return glancecommon.Halt(state, fmt.Errorf("source_image %q: no image with this ID is visible to the project (source_image takes an ID; use source_image_name for a name)", cfg.SourceImage))
			}
			return glancecommon.Halt(state, fmt.Errorf("reading source_image %q: %w", cfg.SourceImage, err))
		}
		if img.Status != "active" {
			return glancecommon.Halt(state, fmt.Errorf("source_image %q is %s, not active", cfg.SourceImage, img.Status))
		}
	case cfg.SourceImageName != "":
		img, err = findImage(ctx, cloud.Finder, image.Query{Filter: image.Filter{Name: cfg.SourceImageName}}, "source_image_name")
	case !filterEmpty(cfg.SourceImageFilter.Filters):
		img, err = findImage(ctx, cloud.Finder, image.Query{
			Filter: cfg.SourceImageFilter.Filters, MostRecent: cfg.SourceImageFilter.MostRecent,
		}, "source_image_filter")
	case cfg.ExternalSourceImageURL != "":
		img, err = s.importExternal(ctx, state)
		state.Put(stateSourceImportURL, cfg.ExternalSourceImageURL)
	}
	if err != nil {
		return glancecommon.Halt(state, err)
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
func findImage(ctx context.Context, finder ImageFinder, q image.Query, option string) (*Image, error) {
	found, err := finder.Find(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", option, err)
	}
	return toImage(found), nil
}

// importExternal makes a temporary image and has Glance fetch the URL into it with
// web-download, failing at once when the import fails.
func (s *stepSourceImage) importExternal(ctx context.Context, state multistep.StateBag) (*Image, error) {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	name := tempName(state, "source")
	url := glancecommon.RedactURLString(cfg.ExternalSourceImageURL)
	ui.Sayf("Importing %s into the temporary image %s...", url, name)
	id, err := cloud.Images.CreateImage(ctx, NewImage{
		Name: name, DiskFormat: cfg.ExternalSourceImageFormat, ContainerFormat: "bare", Properties: cfg.ExternalSourceImageProperties,
	})
	if err != nil {
		return nil, fmt.Errorf("creating the temporary image %q for external_source_image_url: %w", name, err)
	}
	s.importedID = id
	if err := cloud.Images.ImportFromURL(ctx, id, cfg.ExternalSourceImageURL); err != nil {
		return nil, fmt.Errorf("starting the web-download import of %s into image %s: %w", url, id, err)
	}
	img, err := waitImageActive(ctx, cloud.Images, id, fmt.Sprintf("imported source image %s", id), cfg.ImageTimeout, true, ui)
	if err != nil {
		return nil, fmt.Errorf("importing %s: %w", url, err)
	}
	return img, nil
}

func (s *stepSourceImage) Cleanup(state multistep.StateBag) {
	if s.importedID == "" {
		return
	}
	ui := uiOf(state)
	ctx, cancel := glancecommon.CleanupContext()
	defer cancel()
	ui.Sayf("Deleting the temporary source image %s...", s.importedID)
	if err := cloudOf(state).Images.DeleteImage(ctx, s.importedID); err != nil && !glancecommon.IsNotFound(err) {
		ui.Error(fmt.Sprintf("Error deleting the temporary source image %s: %s (delete it by hand)", s.importedID, err))
		return
	}
	s.importedID = ""
}
