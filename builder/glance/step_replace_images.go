package glance

import (
	"context"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
)

// stepReplaceImages deletes, with image_force or -force, the images that had the
// name before this build. Builder.Run runs it once the build has succeeded, its
// clean-up included: a build that fails late must not leave the project with
// neither the old image nor the new one. A failure here does not undo the new
// image: it is reported and the old image is left for the operator.
//
// Uses: config, cloud, old_images, image_id.
type stepReplaceImages struct{}

func (s *stepReplaceImages) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	old, _ := state.Get(stateOldImages).([]Image)
	if len(old) == 0 {
		return multistep.ActionContinue
	}
	cloud, ui := cloudOf(state), uiOf(state)
	imagepolicy.ReplaceOlder(ctx, cloud.Images, old, stringOf(state, stateImageID), ui.Say)
	return multistep.ActionContinue
}

func (s *stepReplaceImages) Cleanup(multistep.StateBag) {}
