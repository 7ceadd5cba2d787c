package glance

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	glancecommon "github.com/packer-glance/packer-plugin-glance/common"
)

// stepPreValidate checks, before anything is created, that the image name is free
// (or that replacing is allowed) and that the flavor exists.
//
// Uses: config, cloud. Produces: flavor_id, old_images.
type stepPreValidate struct{}

func (s *stepPreValidate) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	ui.Say("Checking the image name and the flavor...")

	if !cfg.SkipCreateImage {
		existing, err := cloud.Images.OwnedImagesNamed(ctx, cfg.ImageName)
		if err != nil {
			return glancecommon.Halt(state, fmt.Errorf("looking for existing images named %q: %w", cfg.ImageName, err))
		}
		if len(existing) > 0 {
			ids := make([]string, 0, len(existing))
			for _, img := range existing {
				ids = append(ids, img.ID)
			}
			if !cfg.ImageForce {
				return glancecommon.Halt(state, fmt.Errorf("the project already has an image named %q (%s): choose another image_name, or set image_force = true (or run packer build -force) to replace it once the new image is active", cfg.ImageName, strings.Join(ids, ", ")))
			}
			ui.Sayf("Image %q exists (%s); it will be replaced once the new image is active", cfg.ImageName, strings.Join(ids, ", "))
			state.Put(stateOldImages, existing)
		}
	}

	flavorID, err := cloud.Compute.FlavorID(ctx, cfg.Flavor)
	if err != nil {
		return glancecommon.Halt(state, fmt.Errorf("finding flavor %q: %w", cfg.Flavor, err))
	}
	ui.Sayf("Flavor %q has ID %s", cfg.Flavor, flavorID)
	state.Put(stateFlavorID, flavorID)
	return multistep.ActionContinue
}

func (s *stepPreValidate) Cleanup(multistep.StateBag) {}
