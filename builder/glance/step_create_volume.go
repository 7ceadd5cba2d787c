package glance

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// stepCreateVolume makes, with use_blockstorage_volume, the bootable volume from
// the source image and waits until it is available.
//
// Uses: config, cloud, source_image. Produces: volume_id.
type stepCreateVolume struct {
	created string
	// lost names a volume whose create call ended without a usable reply.
	lost string
}

const gib = 1 << 30

// volumeSize is volume_size, else the image's min_disk, else its size rounded up.
func volumeSize(cfg *Config, img *Image) int {
	switch {
	case cfg.VolumeSize > 0:
		return cfg.VolumeSize
	case img.MinDisk > 0:
		return img.MinDisk
	case img.SizeBytes > 0:
		return int((img.SizeBytes + gib - 1) / gib)
	}
	return 1
}

func (s *stepCreateVolume) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	if !cfg.UseBlockStorageVolume {
		return multistep.ActionContinue
	}
	img := state.Get(stateSourceImage).(*Image)
	name := cfg.VolumeName
	if name == "" {
		name = tempName(state, "volume")
	}
	size := volumeSize(cfg, img)
	ui.Sayf("Creating volume %s (%d GiB) from image %s...", name, size, img.ID)
	id, err := cloud.Volumes.CreateVolume(ctx, VolumeSpec{
		Name: name, SizeGiB: size, ImageID: img.ID, VolumeType: cfg.VolumeType,
		AvailabilityZone: cfg.VolumeAvailabilityZone,
		Metadata:         map[string]string{"packer_build_uuid": stringOf(state, stateBuildUUID)},
	})
	if err != nil {
		if retry.CreateMayHaveHappened(ctx, err) {
			s.lost = name
		}
		return halt(state, fmt.Errorf("creating volume %q: %w", name, err))
	}
	// Recorded before the wait, so a volume that ends in error is deleted too.
	s.created = id
	state.Put(stateVolumeID, id)
	settle(ctx, firstPoll(state))
	err = retry.WaitFor(ctx, "volume "+id+" to become available", cfg.StateTimeout, transitionBackoff, func(ctx context.Context) (bool, error) {
		v, err := cloud.Volumes.GetVolume(ctx, id)
		if err != nil {
			return false, fmt.Errorf("reading volume %s: %w", id, err)
		}
		switch v.Status {
		case "available":
			return true, nil
		case "error", "error_restoring", "error_extending":
			return false, fmt.Errorf("volume %s is %s: Cinder could not make it from image %s", id, v.Status, img.ID)
		}
		return false, nil
	})
	if err != nil {
		return halt(state, err)
	}
	ui.Sayf("Volume %s is available", id)
	return multistep.ActionContinue
}

func (s *stepCreateVolume) Cleanup(state multistep.StateBag) {
	if s.created == "" && s.lost != "" {
		name, build := s.lost, stringOf(state, stateBuildUUID)
		s.lost = ""
		for _, id := range findLost(state, "volume "+name, func(ctx context.Context) ([]string, error) {
			return cloudOf(state).Volumes.VolumesOfBuild(ctx, name, build)
		}) {
			s.created = id
			s.deleteVolume(state)
		}
		return
	}
	if s.created == "" {
		return
	}
	s.deleteVolume(state)
}

// deleteVolume deletes s.created and waits until it is gone, then clears it.
func (s *stepCreateVolume) deleteVolume(state multistep.StateBag) {
	ui, cloud := uiOf(state), cloudOf(state)
	// A fresh context (this runs after Ctrl-C too), long enough for the wait
	// below: a volume Cinder is still uploading can stay busy for minutes.
	ctx, cancel := context.WithTimeout(context.Background(), max(retry.CleanupTimeout, configOf(state).StateTimeout+time.Minute))
	defer cancel()
	ui.Sayf("Deleting volume %s...", s.created)
	// A volume still detaching or uploading refuses deletion with 400 or 409:
	// retry until Cinder lets go, then wait until it is gone.
	requested := false
	err := retry.WaitFor(ctx, "volume "+s.created+" to be deleted", configOf(state).StateTimeout, transitionBackoff, func(ctx context.Context) (bool, error) {
		if !requested {
			err := cloud.Volumes.DeleteVolume(ctx, s.created)
			switch {
			case err == nil:
				requested = true
				return false, nil // read it back after the backoff, not at once
			case osapi.IsNotFound(err):
				return true, nil
			case osapi.IsConflict(err), gophercloud.ResponseCodeIs(err, http.StatusBadRequest):
				return false, nil
			default:
				return false, err
			}
		}
		v, err := cloud.Volumes.GetVolume(ctx, s.created)
		switch {
		case osapi.IsNotFound(err):
			return true, nil
		case err != nil:
			return false, err
		case v.Status == "error_deleting":
			return false, fmt.Errorf("volume %s is error_deleting", s.created)
		}
		return false, nil
	})
	if err != nil {
		ui.Error(fmt.Sprintf("Error deleting volume %s: %s (delete it by hand)", s.created, err))
		return
	}
	s.created = ""
}
