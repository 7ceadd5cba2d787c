package glance

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// stepWaitImage waits, up to image_timeout, for the new image to be active. It
// fails at once when the image is killed, deleted or deactivated.
//
// Uses: config, cloud, image_id. Produces: image.
type stepWaitImage struct{}

func (s *stepWaitImage) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	id := stringOf(state, stateImageID)
	ui.Sayf("Waiting for image %s to become active...", id)
	img, err := waitImageActive(ctx, cloud.Images, id, fmt.Sprintf("image %q (%s)", cfg.ImageName, id), cfg.ImageTimeout, firstPoll(state), false, ui)
	if err != nil {
		return halt(state, fmt.Errorf("the new image %q did not become active: %w", cfg.ImageName, err))
	}
	state.Put(stateImage, img)
	return multistep.ActionContinue
}

func (s *stepWaitImage) Cleanup(multistep.StateBag) {}
