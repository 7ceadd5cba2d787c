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
			return glancecommon.Halt(state, fmt.Errorf("uploading volume %s to image %q: %w", volumeID, cfg.ImageName, err))
		}
	} else {
		serverID := stringOf(state, stateServerID)
		ui.Sayf("Creating the image %q from server %s...", cfg.ImageName, serverID)
		id, err = cloud.Compute.CreateServerImage(ctx, serverID, cfg.ImageName, nil)
		if err != nil {
			return glancecommon.Halt(state, fmt.Errorf("creating image %q from server %s: %w", cfg.ImageName, serverID, err))
		}
	}
	s.created = id
	state.Put(stateImageID, id)
	ui.Sayf("Image %s is being made", id)
	return multistep.ActionContinue
}

func (s *stepCreateImage) Cleanup(state multistep.StateBag) {
	if s.created == "" || !glancecommon.BuildFailed(state) {
		return
	}
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
