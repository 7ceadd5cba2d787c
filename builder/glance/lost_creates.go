package glance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/hashicorp/packer-plugin-sdk/multistep"

	glancecommon "github.com/packer-glance/packer-plugin-glance/common"
)

// createMayHaveHappened reports whether a create call that failed may still have
// made its resource: the call was cut off (Ctrl-C, a timeout, a broken
// connection) or the service failed with a 5xx after perhaps acting. A 4xx,
// including 429, means the request was refused and nothing was made.
func createMayHaveHappened(ctx context.Context, err error) bool {
	if err == nil {
		return false
	}
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		return code.Actual >= 500
	}
	return glancecommon.IsTransient(err)
}

// lostLookupPause separates the two lookups of findLost: a request cut off by
// Ctrl-C may still be running inside the service when cleanup first looks.
var lostLookupPause = 3 * time.Second

// findLost looks for what a create call without a usable reply made, so that
// cleanup can delete it. It looks twice, a moment apart, and reports when it
// cannot look, since the user then has to check by hand.
func findLost(state multistep.StateBag, what string, find func(ctx context.Context) ([]string, error)) []string {
	ui := uiOf(state)
	ctx, cancel := glancecommon.CleanupContext()
	defer cancel()
	ui.Sayf("Looking for %s, whose creation was cut off...", what)
	for attempt := 0; ; attempt++ {
		ids, err := find(ctx)
		if err != nil {
			ui.Error(fmt.Sprintf("Error looking for %s: %s (check for it by hand)", what, err))
			return nil
		}
		if len(ids) > 0 || attempt == 1 {
			return ids
		}
		if glancecommon.SleepContext(ctx, lostLookupPause) != nil {
			return nil
		}
	}
}
