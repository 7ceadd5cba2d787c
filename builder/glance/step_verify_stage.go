package glance

import (
	"context"
	"fmt"
	"maps"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
)

// stepStageImage prepares, with verify, the image for its boot test: it gets
// now what decides how it boots (properties such as hw_disk_bus, min_disk,
// min_ram), so the test boots it the way its users will, but stays private and
// untagged, outside its family and unprotected, so nobody picks it up and a
// failed test can delete it. stepUpdateImage promotes it once the test has
// passed: visibility, tags, image_family, protected and hidden, then members.
// Without verify the builder applies everything in one PATCH instead.
//
// Uses: config, cloud, image, source_image, source_import_url. Produces: image
// (updated view).
type stepStageImage struct{}

// stagedUpdate is the part of the image's update applied before the boot test
// (the snapshot's bookkeeping removed and the provenance recorded included).
func stagedUpdate(cfg *Config, img *Image, prov provenance) ImageUpdate {
	u := imageUpdate(cfg, img, prov)
	u.Visibility, u.Tags, u.Protected, u.Hidden = nil, nil, nil, nil
	if img.Visibility != "private" {
		v := "private"
		u.Visibility = &v
	}
	if cfg.ImageTags != nil && len(img.Tags) > 0 {
		u.Tags = &[]string{} // image_tags replaces them once verified
	}
	if _, ok := u.Properties[imagepolicy.FamilyProperty]; ok {
		u.Properties = maps.Clone(u.Properties)
		delete(u.Properties, imagepolicy.FamilyProperty)
	}
	return u
}

func (s *stepStageImage) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	img := state.Get(stateImage).(*Image)
	u := stagedUpdate(cfg, img, provenanceOf(state))
	if u.Empty() {
		return multistep.ActionContinue
	}
	ui.Sayf("Setting the properties of image %s that its boot test needs (it stays private and untagged until verified)...", img.ID)
	if err := cloud.Images.UpdateImage(ctx, img.ID, u); err != nil {
		return halt(state, fmt.Errorf("updating image %s before its boot test: %w", img.ID, err))
	}
	state.Put(stateImage, u.Apply(*img))
	return multistep.ActionContinue
}

func (s *stepStageImage) Cleanup(multistep.StateBag) {}
