package glance

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// State the verify steps share.
const (
	stateVerifyFlavorID = "verify_flavor_id" // string: the test server's flavor
	stateVerifyServerID = "verify_server_id" // string
	stateVerifyServer   = "verify_server"    // *Server, as last seen
)

// stepVerifyFlavor resolves verify.flavor before anything is created, so a
// misspelt flavor fails the build at once rather than after the image is made.
// Without verify.flavor the test server gets the build's flavor.
//
// Uses: config, cloud, flavor_id. Produces: verify_flavor_id.
type stepVerifyFlavor struct{}

func (s *stepVerifyFlavor) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	if cfg.Verify.Flavor == "" || cfg.Verify.Flavor == cfg.Flavor {
		state.Put(stateVerifyFlavorID, stringOf(state, stateFlavorID))
		return multistep.ActionContinue
	}
	id, err := cloud.Compute.FlavorID(ctx, cfg.Verify.Flavor)
	if err != nil {
		return halt(state, fmt.Errorf("finding verify.flavor %q: %w", cfg.Verify.Flavor, err))
	}
	ui.Sayf("The test server's flavor %q has ID %s", cfg.Verify.Flavor, id)
	state.Put(stateVerifyFlavorID, id)
	return multistep.ActionContinue
}

func (s *stepVerifyFlavor) Cleanup(multistep.StateBag) {}
