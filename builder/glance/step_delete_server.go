package glance

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// stepDeleteServer deletes the server in the volume flow, so Cinder really
// detaches the root volume before uploading it, then waits until Cinder reports
// the volume available (uploading a volume still detaching fails, the race the
// openstack builder's users hit). The server step's cleanup then knows the
// server is gone and does not delete it a second time.
//
// Uses: config, cloud, server_id, volume_id. Produces: server_deleted.
type stepDeleteServer struct{}

func (s *stepDeleteServer) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	id := stringOf(state, stateServerID)
	uiOf(state).Sayf("Deleting server %s to release its volume...", id)
	if err := deleteServer(ctx, state, id); err != nil {
		return halt(state, fmt.Errorf("deleting server %s before uploading its volume: %w", id, err))
	}
	state.Put(stateServerDeleted, true)

	volumeID := stringOf(state, stateVolumeID)
	if volumeID == "" {
		return multistep.ActionContinue
	}
	cloud := cloudOf(state)
	err := retry.WaitFor(ctx, "volume "+volumeID+" to be released by the deleted server", configOf(state).StateTimeout, transitionBackoff, func(ctx context.Context) (bool, error) {
		v, err := cloud.Volumes.GetVolume(ctx, volumeID)
		if err != nil {
			return false, fmt.Errorf("reading volume %s: %w", volumeID, err)
		}
		switch v.Status {
		case "available":
			return true, nil
		case "error", "error_deleting":
			return false, fmt.Errorf("volume %s is %s after its server was deleted", volumeID, v.Status)
		}
		return false, nil
	})
	if err != nil {
		return halt(state, err)
	}
	return multistep.ActionContinue
}

func (s *stepDeleteServer) Cleanup(multistep.StateBag) {}
