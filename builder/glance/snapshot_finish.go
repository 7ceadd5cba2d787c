package glance

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// snapshotTaskStates are Nova's task states of a server taking a snapshot.
var snapshotTaskStates = map[string]bool{
	"image_snapshot": true, "image_snapshot_pending": true, "image_pending_upload": true, "image_uploading": true,
}

// awaitSnapshotFinished waits, before the build's server is deleted, until Nova
// has finished the snapshot this build keeps. Glance shows the image active a
// moment (about a second on a real cloud) before Nova clears the server's
// task_state; a server deleted in between makes the snapshot's last update fail,
// and Nova then deletes the image it has just uploaded. A failed build deletes
// its image anyway, and the volume flow makes no Nova snapshot: neither waits.
func awaitSnapshotFinished(ctx context.Context, state multistep.StateBag, serverID string) error {
	cfg := configOf(state)
	if cfg.UseBlockStorageVolume || stringOf(state, stateImageID) == "" || buildFailed(state) {
		return nil
	}
	cloud := cloudOf(state)
	return retry.WaitFor(ctx, "Nova to finish the snapshot of server "+serverID, cfg.StateTimeout, transitionBackoff, func(ctx context.Context) (bool, error) {
		srv, err := cloud.Compute.GetServer(ctx, serverID)
		switch {
		case osapi.IsNotFound(err):
			return true, nil
		case err != nil:
			return false, fmt.Errorf("reading server %s: %w", serverID, err)
		}
		return !snapshotTaskStates[srv.TaskState], nil
	})
}
