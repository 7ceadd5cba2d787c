package osapi

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// MarkerProperty is the metadata key (servers, volumes) and image property that
// carries the marker of the run that made a resource: the builder's build UUID,
// or one made per import. A resource is only ever taken for one a run made when
// it carries that run's marker.
const MarkerProperty = "packer_build_uuid"

// LostLookupPause separates the two looks for what a create call without a
// reply made: a request cut off on the way may still be running inside the
// service when the first look happens. Tests shorten it.
var LostLookupPause = 2 * time.Second

// ClockSkew is how far a cloud's clock may lag the runner's when an image's
// creation time is compared with the start of the call that made it.
const ClockSkew = 10 * time.Minute

// createRecovering runs a create call that carries a marker (find looks for what
// a call with that marker made). When the reply is lost — the call may have
// happened: a 5xx, a broken connection, a timeout, but never a 4xx — it looks
// twice for what the call made: one found is the result, as if the reply had
// arrived; none found means the call did not happen, and it is sent once more.
// With a cancelled context nothing is recovered: the caller's clean-up looks.
func createRecovering[T any](ctx context.Context, what string, create func(context.Context) (T, error), find func(context.Context) ([]T, error)) (T, error) {
	v, err := create(ctx)
	if err == nil || ctx.Err() != nil || !retry.CreateMayHaveHappened(ctx, err) || find == nil {
		return v, err
	}
	log.Printf("[WARN] openstack: the reply to creating %s was lost (%v); looking for what the call made", what, err)
	found, ferr := retry.LookTwice(ctx, LostLookupPause, find)
	var zero T
	switch {
	case ferr != nil:
		return zero, fmt.Errorf("%w; looking for the %s the call may have made also failed: %v", err, what, ferr)
	case len(found) == 1:
		log.Printf("[INFO] openstack: found the %s the call made despite the lost reply; going on with it", what)
		return found[0], nil
	case len(found) > 1:
		return zero, fmt.Errorf("%w; and %d %ss with this run's marker exist (clean-up deletes them)", err, len(found), what)
	}
	log.Printf("[INFO] openstack: the lost call made no %s; sending it once more", what)
	v, err2 := create(ctx)
	if err2 != nil {
		return zero, fmt.Errorf("creating %s failed twice (%v, then %w)", what, err, err2)
	}
	return v, nil
}
