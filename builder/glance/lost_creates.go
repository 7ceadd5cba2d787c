package glance

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// lostLookupPause separates the two lookups of findLost: a request cut off by
// Ctrl-C may still be running inside the service when cleanup first looks.
var lostLookupPause = 3 * time.Second

// findLost looks for what a create call without a usable reply made, so that
// cleanup can delete it. It looks twice, a moment apart, and reports when it
// cannot look, since the user then has to check by hand.
func findLost(state multistep.StateBag, what string, find func(ctx context.Context) ([]string, error)) []string {
	ui := uiOf(state)
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	ui.Sayf("Looking for %s, whose creation was cut off...", what)
	ids, err := retry.LookTwice(ctx, lostLookupPause, find)
	if err != nil {
		ui.Error(fmt.Sprintf("Error looking for %s: %s (check for it by hand)", what, err))
		return nil
	}
	return ids
}

// lostServers finds the servers of this build named name (its marker in their
// metadata) that a create call cut off may have made.
func lostServers(state multistep.StateBag, name string) []string {
	build := stringOf(state, stateBuildUUID)
	return findLost(state, "server "+name, func(ctx context.Context) ([]string, error) {
		return cloudOf(state).Compute.ServersOfBuild(ctx, name, build)
	})
}
