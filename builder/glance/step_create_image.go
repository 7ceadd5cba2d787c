package glance

import (
	"context"
	"fmt"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
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
	// started is when the create call began: an image made by it is not older.
	started time.Time
}

func (s *stepCreateImage) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	var (
		id  string
		err error
	)
	// The image carries this build's marker from its creation: only an image with
	// it is ever taken for one this build made.
	marker := map[string]string{imagepolicy.MarkerProperty: stringOf(state, stateBuildUUID)}
	for k, v := range notInherited(state) {
		marker[k] = v
	}
	s.started = time.Now()
	if cfg.UseBlockStorageVolume {
		volumeID := stringOf(state, stateVolumeID)
		ui.Sayf("Uploading volume %s to the image %q...", volumeID, cfg.ImageName)
		id, err = cloud.Volumes.UploadToImage(ctx, volumeID, cfg.ImageName, cfg.ImageDiskFormat, marker)
		if err != nil {
			s.lost = retry.CreateMayHaveHappened(ctx, err)
			return halt(state, fmt.Errorf("uploading volume %s to image %q: %w", volumeID, cfg.ImageName, err))
		}
	} else {
		serverID := stringOf(state, stateServerID)
		ui.Sayf("Creating the image %q from server %s...", cfg.ImageName, serverID)
		id, err = cloud.Compute.CreateServerImage(ctx, serverID, cfg.ImageName, marker)
		if err != nil {
			s.lost = retry.CreateMayHaveHappened(ctx, err)
			return halt(state, fmt.Errorf("creating image %q from server %s: %w", cfg.ImageName, serverID, err))
		}
	}
	s.created = id
	state.Put(stateImageID, id)
	ui.Sayf("Image %s is being made", id)
	return multistep.ActionContinue
}

// notInherited blanks the lifecycle properties (image_family, retired_at) the
// source image carries, from the image's creation on: a build from the newest
// image of a family must not be found as the newest of that family while it
// is unfinished or unverified, nor join it unasked. image_family gets its
// value, if any, with the image's final properties.
func notInherited(state multistep.StateBag) map[string]string {
	src, ok := state.Get(stateSourceImage).(*Image)
	if !ok || src == nil {
		return nil
	}
	blank := map[string]string{}
	for _, k := range imagepolicy.LifecycleProperties {
		if _, has := src.Properties[k]; has {
			blank[k] = ""
		}
	}
	return blank
}

func (s *stepCreateImage) Cleanup(state multistep.StateBag) {
	if !buildFailed(state) {
		return
	}
	s.undo(state)
}

// undo deletes the image this step made (or, after a lost reply, found by the
// build's marker). Builder.Run calls it again when the build turns out to have
// failed after this step's clean-up ran; a second call does nothing.
func (s *stepCreateImage) undo(state multistep.StateBag) {
	if s.created == "" && s.lost {
		s.lost = false
		for _, id := range findLost(state, fmt.Sprintf("image %q", configOf(state).ImageName), func(ctx context.Context) ([]string, error) {
			found, err := imagepolicy.FindLost(ctx, cloudOf(state).Images, stringOf(state, stateBuildUUID), s.started)
			return imagepolicy.IDs(found), err
		}) {
			s.created = id
			s.deleteImage(state, false)
		}
		return
	}
	if s.created != "" {
		s.deleteImage(state, true)
	}
}

// deleteImage deletes s.created. Its protection is lifted only when the image
// came back from this build's own create call (not a lookup) and the build set
// image_protected itself.
func (s *stepCreateImage) deleteImage(state multistep.StateBag, fromReply bool) {
	ui := uiOf(state)
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	ui.Sayf("Deleting the unfinished image %s, as the build did not succeed...", s.created)
	unprotect := fromReply && configOf(state).ImageProtected
	if err := imagepolicy.DeleteUnfinished(ctx, cloudOf(state).Images, s.created, unprotect); err != nil {
		ui.Error(fmt.Sprintf("Error deleting image %s: %s (delete it by hand)", s.created, err))
		return
	}
	s.created = ""
}
