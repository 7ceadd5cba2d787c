package glance

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// stepWaitServer waits until the server is ACTIVE, failing at once with Nova's
// fault message when it goes to ERROR.
//
// Uses: config, cloud, server_id. Produces: server.
type stepWaitServer struct{}

func (s *stepWaitServer) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, ui := configOf(state), uiOf(state)
	id := stringOf(state, stateServerID)
	ui.Sayf("Waiting for server %s to become ACTIVE...", id)
	started := time.Now()
	srv, err := waitServerStatus(ctx, state, id, "ACTIVE", cfg.StateTimeout)
	if err != nil {
		return halt(state, err)
	}
	notePace(state, time.Since(started))
	state.Put(stateServer, srv)
	ui.Sayf("Server %s is ACTIVE", id)
	// Nova gave the guest its public key when the server was created: the
	// temporary keypair is no longer needed, and deleting it now keeps it off
	// the clean-up's path. With verify, the test server needs it too: it is
	// deleted once that server is ACTIVE.
	if kp, ok := state.Get(stateKeypairStep).(*stepCreateKeypair); ok && !cfg.Verifies() {
		kp.deleteNow(ctx, state)
	}
	return multistep.ActionContinue
}

func (s *stepWaitServer) Cleanup(multistep.StateBag) {}

// waitServerStatus polls with backoff until the server has the wanted status, and
// returns the last read. ERROR fails at once with the fault; so does a server that
// disappears.
func waitServerStatus(ctx context.Context, state multistep.StateBag, id, want string, timeout time.Duration) (*Server, error) {
	cloud := cloudOf(state)
	var last *Server
	settle(ctx, firstPoll(state))
	err := retry.WaitFor(ctx, fmt.Sprintf("server %s to become %s", id, want), timeout, waitBackoff(want), func(ctx context.Context) (bool, error) {
		srv, err := cloud.Compute.GetServer(ctx, id)
		if err != nil {
			if osapi.IsNotFound(err) {
				return false, fmt.Errorf("server %s disappeared while waiting for it to become %s", id, want)
			}
			return false, fmt.Errorf("reading server %s: %w", id, err)
		}
		last = srv
		switch srv.Status {
		case want:
			return true, nil
		case "ERROR":
			fault := srv.Fault
			if fault == "" {
				fault = "Nova gave no fault message"
			}
			return false, fmt.Errorf("server %s went to ERROR while waiting for %s: %s", id, want, fault)
		case "DELETED", "SOFT_DELETED":
			return false, fmt.Errorf("server %s was deleted while waiting for it to become %s", id, want)
		}
		return false, nil
	})
	return last, err
}

// waitBackoff is the polling schedule of a wait for a server status: a boot is
// long and followed by a probe of the communicator port, a stop is short and on
// the critical path.
func waitBackoff(want string) retry.Backoff {
	if want == "ACTIVE" {
		return bootBackoff
	}
	return transitionBackoff
}
