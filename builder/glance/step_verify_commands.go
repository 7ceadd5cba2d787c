package glance

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// stepVerifyCommands runs verify.inline on the test server, one command after
// the other, showing their output; the first that does not exit 0 fails the
// build.
//
// Uses: config, communicator (the test server's), image_id.
type stepVerifyCommands struct{}

func (s *stepVerifyCommands) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, ui := configOf(state), uiOf(state)
	comm, ok := state.Get(stateCommunicatorKey).(packersdk.Communicator)
	if !ok || comm == nil {
		return halt(state, fmt.Errorf("verify: no connection to the test server (this is a bug in the plugin)"))
	}
	id := stringOf(state, stateImageID)
	for i, command := range cfg.Verify.Inline {
		ui.Sayf("Verify %d/%d: %s", i+1, len(cfg.Verify.Inline), command)
		cmd := &packersdk.RemoteCmd{Command: command}
		if err := cmd.RunWithUi(ctx, comm, ui); err != nil {
			return halt(state, fmt.Errorf("verify: running %q on the test server: %w", command, err))
		}
		if status := cmd.ExitStatus(); status != 0 {
			return halt(state, fmt.Errorf("verify: %q exited with status %d: image %s failed its boot test", command, status, id))
		}
	}
	ui.Sayf("Image %s passed its boot test", id)
	return multistep.ActionContinue
}

func (s *stepVerifyCommands) Cleanup(multistep.StateBag) {}
