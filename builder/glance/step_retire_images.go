package glance

import (
	"context"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/imagecopy"
	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
)

// stepRetireImages keeps, with keep_latest, the newest images of image_family
// in the project and retires the older ones (imagepolicy.Retire). Like
// stepReplaceImages, Builder.Run runs it only once the build has succeeded,
// its clean-up included, and nothing it meets fails the build: the new image
// stands, and what could not be retired is reported.
//
// Uses: config, cloud, image_id, copies.
type stepRetireImages struct{}

func (s *stepRetireImages) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	r := cfg.retention()
	if !r.Enabled() {
		return multistep.ActionContinue
	}
	ui.Sayf("Keeping the %d newest images of family %q (retire_action = %s)...", r.Keep, r.Family, r.Action)
	copies, _ := state.Get(stateCopies).(*imagecopy.Result)
	if _, err := imagepolicy.Retire(ctx, cloud.Images, r, stringOf(state, stateImageID), copies.ImageIDs(), ui.Say); err != nil {
		ui.Error("Warning: " + err.Error() + " (nothing was retired)")
	}
	return multistep.ActionContinue
}

func (s *stepRetireImages) Cleanup(multistep.StateBag) {}
