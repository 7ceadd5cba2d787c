package glance

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

func TestHaltStoresAnErrorValueAndShowsIt(t *testing.T) {
	var out bytes.Buffer
	state := new(multistep.BasicStateBag)
	state.Put("ui", &packersdk.BasicUi{Writer: &out, ErrorWriter: &out})

	action := halt(state, errors.New(`creating keypair "k": boom`))
	if action != multistep.ActionHalt {
		t.Fatalf("action = %v", action)
	}
	err, ok := state.Get("error").(error)
	if !ok || err.Error() != `creating keypair "k": boom` {
		t.Fatalf("state error = %#v", state.Get("error"))
	}
	if !strings.Contains(out.String(), `creating keypair "k": boom`) {
		t.Errorf("ui output = %q", out.String())
	}

	// A nil error still leaves an error behind, so Run never returns nil, nil.
	state = new(multistep.BasicStateBag)
	halt(state, nil)
	if _, ok := state.Get("error").(error); !ok {
		t.Error("halt(nil) left no error")
	}
}

func TestBuildFailed(t *testing.T) {
	state := new(multistep.BasicStateBag)
	if buildFailed(state) {
		t.Error("fresh state reported as failed")
	}
	state.Put(multistep.StateHalted, true)
	if !buildFailed(state) {
		t.Error("halted not seen")
	}
	state = new(multistep.BasicStateBag)
	state.Put(multistep.StateCancelled, true)
	if !buildFailed(state) {
		t.Error("cancelled not seen")
	}
}
