package glance

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// stepRemoveDebugKey deletes, at clean-up, the private key file that
// communicator.StepDumpSSHKey writes with -debug: the key of a server that no
// longer exists is of no use, and a private key must not linger in the working
// folder.
type stepRemoveDebugKey struct {
	Path string
}

func (s *stepRemoveDebugKey) Run(context.Context, multistep.StateBag) multistep.StepAction {
	return multistep.ActionContinue
}

func (s *stepRemoveDebugKey) Cleanup(state multistep.StateBag) {
	if err := os.Remove(s.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		uiOf(state).Error("Error removing the debug key file " + s.Path + ": " + err.Error())
	}
}
