package glance

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	glancecommon "github.com/packer-glance/packer-plugin-glance/common"
)

// stepCreateImage makes the new image: a Nova snapshot of the server, or, in the
// volume flow, a Cinder upload of the volume. Its cleanup deletes the new image
// when the build fails or is cancelled after this step, so a broken build never
// leaves a half-made image behind.
//
// Uses: config, cloud, server_id, volume_id. Produces: image_id.
type stepCreateImage struct {
	created string
	// lost says the create call failed in a way that may still have made the image.
	lost bool
}

func (s *stepCreateImage) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	var (
		id  string
		err error
	)
	if cfg.UseBlockStorageVolume {
		volumeID := stringOf(state, stateVolumeID)
		ui.Sayf("Uploading volume %s to the image %q...", volumeID, cfg.ImageName)
		id, err = cloud.Volumes.UploadToImage(ctx, volumeID, cfg.ImageName, cfg.ImageDiskFormat)
		if err != nil {
			s.lost = glancecommon.CreateMayHaveHappened(ctx, err)
			return glancecommon.Halt(state, fmt.Errorf("uploading volume %s to image %q: %w", volumeID, cfg.ImageName, err))
		}
	} else {
		serverID := stringOf(state, stateServerID)
		ui.Sayf("Creating the image %q from server %s...", cfg.ImageName, serverID)
		id, err = cloud.Compute.CreateServerImage(ctx, serverID, cfg.ImageName, nil)
		if err != nil {
			s.lost = glancecommon.CreateMayHaveHappened(ctx, err)
			return glancecommon.Halt(state, fmt.Errorf("creating image %q from server %s: %w", cfg.ImageName, serverID, err))
		}
	}
	s.created = id
	state.Put(stateImageID, id)
	ui.Sayf("Image %s is being made", id)
	return multistep.ActionContinue
}

func (s *stepCreateImage) Cleanup(state multistep.StateBag) {
	if !glancecommon.BuildFailed(state) {
		return
	}
	if s.created == "" && s.lost {
		s.lost = false
		for _, id := range findLost(state, fmt.Sprintf("image %q", configOf(state).ImageName), func(ctx context.Context) ([]string, error) {
			return newImagesNamed(ctx, state)
		}) {
			s.created = id
			s.deleteImage(state)
		}
		return
	}
	if s.created != "" {
		s.deleteImage(state)
	}
}

// newImagesNamed lists the project's images of the output name that were not
// there when the build began (pre-validation made sure of that, or recorded them
// for image_force): what a snapshot or upload call without a reply made. A Nova
// snapshot names its server in instance_uuid, which must then be this build's.
func newImagesNamed(ctx context.Context, state multistep.StateBag) ([]string, error) {
	imgs, err := cloudOf(state).Images.OwnedImagesNamed(ctx, configOf(state).ImageName)
	if err != nil {
		return nil, err
	}
	before := map[string]bool{}
	old, _ := state.Get(stateOldImages).([]Image)
	for _, img := range old {
		before[img.ID] = true
	}
	server := stringOf(state, stateServerID)
	var ids []string
	for _, img := range imgs {
		if before[img.ID] {
			continue
		}
		if from, ok := img.Properties["instance_uuid"]; ok && from != server {
			continue
		}
		ids = append(ids, img.ID)
	}
	return ids, nil
}

// deleteImage deletes s.created, lifting its protection if a later step set it.
func (s *stepCreateImage) deleteImage(state multistep.StateBag) {
	ui := uiOf(state)
	ctx, cancel := glancecommon.CleanupContext()
	defer cancel()
	ui.Sayf("Deleting the unfinished image %s, as the build did not succeed...", s.created)
	imgs := cloudOf(state).Images
	err := imgs.DeleteImage(ctx, s.created)
	if gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		// image_protected was applied before a later step failed: lift it first.
		unprotected := false
		if uerr := imgs.UpdateImage(ctx, s.created, ImageUpdate{Protected: &unprotected}); uerr == nil {
			err = imgs.DeleteImage(ctx, s.created)
		}
	}
	if err != nil && !glancecommon.IsNotFound(err) {
		ui.Error(fmt.Sprintf("Error deleting image %s: %s (delete it by hand)", s.created, err))
		return
	}
	s.created = ""
}
