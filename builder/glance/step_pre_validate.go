package glance

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
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
		existing, err := imagepolicy.CheckName(ctx, cloud.Images, cfg.ImageName, cfg.ImageForce, imagepolicy.Naming{
			NameOption: "image_name", ForceOption: "image_force", ForceHint: "(or run packer build -force)",
		})
		if err != nil {
			return halt(state, err)
		}
		if len(existing) > 0 {
			ui.Sayf("Image %q exists (%s); it will be replaced once the new image is active", cfg.ImageName, strings.Join(imagepolicy.IDs(existing), ", "))
			state.Put(stateOldImages, existing)
		}
	}

	flavorID, err := cloud.Compute.FlavorID(ctx, cfg.Flavor)
	if err != nil {
		return halt(state, fmt.Errorf("finding flavor %q: %w", cfg.Flavor, err))
	}
	ui.Sayf("Flavor %q has ID %s", cfg.Flavor, flavorID)
	state.Put(stateFlavorID, flavorID)
	return multistep.ActionContinue
}

func (s *stepPreValidate) Cleanup(multistep.StateBag) {}
