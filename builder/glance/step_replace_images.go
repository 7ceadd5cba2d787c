package glance

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// stepReplaceImages deletes, with image_force or -force, the images that had the
// name before this build, now that the new one is active. A failure here does not
// undo the new image: it is reported and the old image is left for the operator.
//
// Uses: config, cloud, old_images, image_id.
type stepReplaceImages struct{}

func (s *stepReplaceImages) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	old, _ := state.Get(stateOldImages).([]Image)
	if len(old) == 0 {
		return multistep.ActionContinue
	}
	cloud, ui := cloudOf(state), uiOf(state)
	newID := stringOf(state, stateImageID)
	for _, img := range old {
		if img.ID == newID {
			continue
		}
		if img.Protected {
			ui.Sayf("Warning: not deleting the old image %s: it is protected", img.ID)
			continue
		}
		ui.Sayf("Deleting the old image %s named %q...", img.ID, img.Name)
		if err := cloud.Images.DeleteImage(ctx, img.ID); err != nil {
			ui.Sayf("Warning: %s", fmt.Errorf("deleting the old image %s: %w (delete it by hand)", img.ID, err))
		}
	}
	return multistep.ActionContinue
}

func (s *stepReplaceImages) Cleanup(multistep.StateBag) {}
