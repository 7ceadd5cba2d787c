package common

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

func TestHaltStoresAnErrorValueAndShowsIt(t *testing.T) {
	var out bytes.Buffer
	state := new(multistep.BasicStateBag)
	state.Put("ui", &packersdk.BasicUi{Writer: &out, ErrorWriter: &out})

	action := Halt(state, errors.New(`creating keypair "k": boom`))
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
	Halt(state, nil)
	if _, ok := state.Get("error").(error); !ok {
		t.Error("Halt(nil) left no error")
	}
}

func TestBuildFailed(t *testing.T) {
	state := new(multistep.BasicStateBag)
	if BuildFailed(state) {
		t.Error("fresh state reported as failed")
	}
	state.Put(multistep.StateHalted, true)
	if !BuildFailed(state) {
		t.Error("halted not seen")
	}
	state = new(multistep.BasicStateBag)
	state.Put(multistep.StateCancelled, true)
	if !BuildFailed(state) {
		t.Error("cancelled not seen")
	}
}

func TestExplainVisibilityRefusal(t *testing.T) {
	forbidden := gophercloud.ErrUnexpectedResponseCode{Actual: 403, Body: []byte(`{"message": "You are not authorized to complete publicize_image action."}`)}
	err := ExplainVisibilityRefusal(forbidden, "public")
	if !strings.Contains(err.Error(), "publicize_image") || !strings.Contains(err.Error(), `"community"`) || !gophercloud.ResponseCodeIs(err, 403) {
		t.Errorf("public refused: %v", err)
	}
	for _, tc := range []struct {
		err error
		vis string
	}{
		{forbidden, "private"},
		{gophercloud.ErrUnexpectedResponseCode{Actual: 409}, "public"},
		{nil, "public"},
	} {
		if got := ExplainVisibilityRefusal(tc.err, tc.vis); fmt.Sprint(got) != fmt.Sprint(tc.err) {
			t.Errorf("%v with %s changed to %v", tc.err, tc.vis, got)
		}
	}
}
