package glance

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// connectFunc makes the step that connects a communicator to a server found by
// host; tests give one that needs no guest.
type connectFunc func(comm *communicator.Config, host func(multistep.StateBag) (string, error)) multistep.Step

// sdkConnect is the SDK's connection step.
func sdkConnect(comm *communicator.Config, host func(multistep.StateBag) (string, error)) multistep.Step {
	return &communicator.StepConnect{Config: comm, Host: host, SSHConfig: comm.SSHConfigFunc()}
}

// stepVerify is the boot test, run once the image is active and before it is
// promoted: a server booted from the image (stepVerifyServer), reached with the
// build's communicator settings, runs verify.inline (stepVerifyCommands). The
// steps run as one unit bounded by verify.timeout, and their clean-up (the
// test server's deletion) runs as soon as they end, before the image is
// promoted or, when the test fails, deleted.
//
// Uses: config, cloud and what its steps use.
type stepVerify struct {
	connect connectFunc
}

func (s *stepVerify) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, ui := configOf(state), uiOf(state)
	id := stringOf(state, stateImageID)
	ui.Sayf("Boot-testing image %s (verify, up to %s)...", id, cfg.Verify.Timeout)

	comm := cfg.verifyComm()
	host := serverHost(cfg, &comm, stateVerifyServer)
	connect := s.connect
	if connect == nil {
		connect = sdkConnect
	}
	// The build's connection is put back afterwards, for whatever reads it later.
	buildComm, hadComm := state.GetOk(stateCommunicatorKey)
	buildCommConfig, hadCommConfig := state.GetOk("communicator_config")

	vctx, cancel := context.WithTimeout(ctx, cfg.Verify.Timeout)
	defer cancel()
	sub := &verifyState{StateBag: state}
	runner := &multistep.BasicRunner{Steps: []multistep.Step{
		&stepVerifyServer{},
		&stepWaitReachable{comm: &comm, host: host},
		connect(&comm, host),
		&stepVerifyCommands{},
	}}
	runner.Run(vctx, sub)

	restore := func(key string, v interface{}, had bool) {
		if had {
			state.Put(key, v)
		} else {
			state.Remove(key)
		}
	}
	restore(stateCommunicatorKey, buildComm, hadComm)
	restore("communicator_config", buildCommConfig, hadCommConfig)

	switch {
	case ctx.Err() != nil:
		// Ctrl-C: the runner sees it and the build ends cancelled.
		return multistep.ActionHalt
	case !sub.failed():
		return multistep.ActionContinue
	case errors.Is(vctx.Err(), context.DeadlineExceeded):
		err := fmt.Errorf("verify: image %s did not pass its boot test within verify.timeout (%s)", id, cfg.Verify.Timeout)
		if prev, ok := state.Get(stateError).(error); ok && prev != nil {
			err = fmt.Errorf("%w: %v", err, prev)
		}
		return halt(state, err)
	}
	if _, ok := state.Get(stateError).(error); !ok {
		return halt(state, fmt.Errorf("verify: the boot test of image %s stopped without saying why", id))
	}
	return multistep.ActionHalt
}

func (s *stepVerify) Cleanup(multistep.StateBag) {}

// verifyState is the build's state bag as the boot test's steps see it: they
// share everything, except that their runner's halt and cancel marks stay
// theirs. The timeout of the test must not look like a Ctrl-C to the build,
// and the build decides for itself what a failed test means.
type verifyState struct {
	multistep.StateBag
	mu                sync.Mutex
	halted, cancelled bool
}

func (v *verifyState) Put(key string, value interface{}) {
	switch key {
	case multistep.StateHalted, multistep.StateCancelled:
		v.mu.Lock()
		defer v.mu.Unlock()
		if key == multistep.StateHalted {
			v.halted = true
		} else {
			v.cancelled = true
		}
		return
	}
	v.StateBag.Put(key, value)
}

func (v *verifyState) GetOk(key string) (interface{}, bool) {
	switch key {
	case multistep.StateHalted, multistep.StateCancelled:
		v.mu.Lock()
		defer v.mu.Unlock()
		if (key == multistep.StateHalted && v.halted) || (key == multistep.StateCancelled && v.cancelled) {
			return true, true
		}
		return nil, false
	}
	return v.StateBag.GetOk(key)
}

func (v *verifyState) Get(key string) interface{} {
	value, _ := v.GetOk(key)
	return value
}

// failed reports whether the test's runner stopped on a halt or a cancel.
func (v *verifyState) failed() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.halted || v.cancelled
}
