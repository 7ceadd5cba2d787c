package glance

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// stepReleaseBuildServer deletes, with verify, the build's server as soon as the
// image is active, before the test server boots: it is of no more use, and its
// going frees its quota, its ports (given ones can then be bound to the test
// server) and its floating IP (which the test server gets next). The server
// step's clean-up then knows it is gone. In the volume flow the server is
// already gone.
//
// Uses: config, cloud, server_id, server_deleted. Produces: server_deleted.
type stepReleaseBuildServer struct{}

func (s *stepReleaseBuildServer) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	if deleted, _ := state.Get(stateServerDeleted).(bool); deleted {
		return multistep.ActionContinue
	}
	id := stringOf(state, stateServerID)
	if id == "" {
		return multistep.ActionContinue
	}
	if err := awaitSnapshotFinished(ctx, state, id); err != nil {
		return halt(state, fmt.Errorf("before deleting the build's server: %w", err))
	}
	uiOf(state).Sayf("Deleting the build's server %s: the image is made, and its boot test gets a server of its own...", id)
	if err := deleteServer(ctx, state, id); err != nil {
		return halt(state, fmt.Errorf("deleting the build's server %s before the boot test: %w", id, err))
	}
	state.Put(stateServerDeleted, true)
	return multistep.ActionContinue
}

func (s *stepReleaseBuildServer) Cleanup(multistep.StateBag) {}
