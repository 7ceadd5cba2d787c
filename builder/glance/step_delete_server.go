package glance

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	glancecommon "github.com/packer-glance/packer-plugin-glance/common"
)

// stepDeleteServer deletes the server in the volume flow, so Cinder really
// detaches the root volume before uploading it. The server step's cleanup then
// knows the server is gone and does not delete it a second time.
//
// Uses: config, cloud, server_id. Produces: server_deleted.
type stepDeleteServer struct{}

func (s *stepDeleteServer) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	id := stringOf(state, stateServerID)
	uiOf(state).Sayf("Deleting server %s to release its volume...", id)
	if err := deleteServer(ctx, state, id); err != nil {
		return glancecommon.Halt(state, fmt.Errorf("deleting server %s before uploading its volume: %w", id, err))
	}
	state.Put(stateServerDeleted, true)
	return multistep.ActionContinue
}

func (s *stepDeleteServer) Cleanup(multistep.StateBag) {}
