package glance

import (
	"context"
	"fmt"
	"log"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
)

// stepStopServer stops the server before the snapshot: with shutdown_command the
// guest shuts itself down and the step waits for SHUTOFF, falling back to Nova's
// stop after shutdown_timeout; otherwise Nova's stop. A 409 from the stop call
// means the server is already stopping or stopped and is not an error. With
// stop_before_snapshot = false the step does nothing.
//
// Uses: config, cloud, server_id, communicator. Produces: server.
type stepStopServer struct{}

func (s *stepStopServer) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	if !cfg.StopFirst() {
		ui.Say("Not stopping the server: stop_before_snapshot is false")
		return multistep.ActionContinue
	}
	id := stringOf(state, stateServerID)

	if cfg.ShutdownCommand != "" {
		if comm, ok := state.Get(stateCommunicatorKey).(packersdk.Communicator); ok && comm != nil {
			ui.Sayf("Shutting the guest down with %q...", cfg.ShutdownCommand)
			cmd := &packersdk.RemoteCmd{Command: cfg.ShutdownCommand}
			// The connection usually drops as the guest goes down, so an error
			// here says little: the SHUTOFF wait below decides.
			if err := comm.Start(ctx, cmd); err != nil {
				log.Printf("[DEBUG] shutdown_command: %v", err)
			}
			srv, err := waitServerStatus(ctx, state, id, "SHUTOFF", cfg.ShutdownTimeout)
			if err == nil {
				state.Put(stateServer, srv)
				ui.Sayf("Server %s is SHUTOFF", id)
				return multistep.ActionContinue
			}
			if ctx.Err() != nil || !isTimeout(err) {
				return halt(state, err)
			}
			ui.Sayf("Server %s did not shut down within shutdown_timeout (%s); asking Nova to stop it", id, cfg.ShutdownTimeout)
		}
	}

	ui.Sayf("Stopping server %s...", id)
	if err := cloud.Compute.StopServer(ctx, id); err != nil {
		if !osapi.IsConflict(err) {
			return halt(state, fmt.Errorf("stopping server %s: %w", id, err))
		}
		log.Printf("[DEBUG] stop of server %s answered 409 (already stopping or stopped): %v", id, err)
	}
	srv, err := waitServerStatus(ctx, state, id, "SHUTOFF", cfg.StateTimeout)
	if err != nil {
		return halt(state, err)
	}
	state.Put(stateServer, srv)
	ui.Sayf("Server %s is SHUTOFF", id)
	return multistep.ActionContinue
}

func (s *stepStopServer) Cleanup(multistep.StateBag) {}
