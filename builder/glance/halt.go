package glance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// halt records err as the build's error, shows it, and stops the build. Every step
// fails through it, so a halt always leaves an error value (never a string) behind.
func halt(state multistep.StateBag, err error) multistep.StepAction {
	if err == nil {
		err = errors.New("step halted without an error (this is a bug in the plugin)")
	}
	state.Put("error", err)
	if ui, ok := state.Get("ui").(packersdk.Ui); ok && ui != nil {
		ui.Error(err.Error())
	}
	return multistep.ActionHalt
}

// buildFailed reports whether the build is ending because a step halted or the
// user cancelled: cleanups then also remove what would otherwise be the result.
func buildFailed(state multistep.StateBag) bool {
	_, cancelled := state.GetOk(multistep.StateCancelled)
	_, halted := state.GetOk(multistep.StateHalted)
	return cancelled || halted
}

// CleanupTimeout bounds each cleanup call. Cleanup runs after a cancelled build
// too, so it must not use the build's context, yet it must not hang forever.
const CleanupTimeout = 5 * time.Minute

// CleanupContext returns a fresh context for cleanup work, bounded by
// CleanupTimeout.
func CleanupContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), CleanupTimeout)
}

// IsNotFound reports whether err is an OpenStack 404.
func IsNotFound(err error) bool {
	return gophercloud.ResponseCodeIs(err, http.StatusNotFound)
}

// IsConflict reports whether err is an OpenStack 409.
func IsConflict(err error) bool {
	return gophercloud.ResponseCodeIs(err, http.StatusConflict)
}

// ExplainVisibilityRefusal adds advice to a 403 that Glance gave while asked to
// make an image public: by default only cloud administrators may publicize an
// image (policy publicize_image), and Glance's own text does not say what to do.
// Any other error is returned unchanged.
func ExplainVisibilityRefusal(err error, visibility string) error {
	if err == nil || visibility != "public" || !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		return err
	}
	return fmt.Errorf("%w (making an image public usually needs a cloud administrator's role, Glance policy "+
		"publicize_image: use visibility \"community\" or \"shared\", or credentials allowed to publish)", err)
}
