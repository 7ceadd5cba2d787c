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

// CreateAttempts bounds how often createRecovering sends a create call whose
// reply was lost and which, as the looks found, made nothing: a service that
// fails one call in five still gets the resource made, while one that fails
// every call fails the build within seconds.
const CreateAttempts = 5

// createRecovering runs a create call that carries a marker (find looks for what
// a call with that marker made). When the reply is lost — the call may have
// happened: a 5xx, a broken connection, a timeout, but never a 4xx — it looks
// twice for what the call made: one found is the result, as if the reply had
// arrived; none found means the call did not happen, and it is sent again (up to
// CreateAttempts calls in all). With a cancelled context nothing is recovered:
// the caller's clean-up looks.
func createRecovering[T any](ctx context.Context, what string, create func(context.Context) (T, error), find func(context.Context) ([]T, error)) (T, error) {
	var zero T
	for attempt := 1; ; attempt++ {
		v, err := create(ctx)
		if err == nil || ctx.Err() != nil || !retry.CreateMayHaveHappened(ctx, err) || find == nil {
			if err != nil && attempt > 1 {
				return v, fmt.Errorf("%d attempts failed, the last: %w (%w)", attempt, err, retry.ErrEarlierCreateLost)
			}
			return v, err
		}
		log.Printf("[WARN] openstack: the reply to creating %s was lost (%v); looking for what the call made", what, err)
		found, ferr := retry.LookTwice(ctx, LostLookupPause, find)
		switch {
		case ferr != nil:
			return zero, fmt.Errorf("%w; looking for what the call may have made also failed: %v", err, ferr)
		case len(found) == 1:
			log.Printf("[INFO] openstack: found the %s the call made despite the lost reply; going on with it", what)
			return found[0], nil
		case len(found) > 1:
			return zero, fmt.Errorf("%w; and %d of them with this run's marker exist (clean-up deletes them)", err, len(found))
		case attempt == CreateAttempts:
			return zero, fmt.Errorf("%d attempts failed, making nothing; the last: %w", attempt, err)
		}
		log.Printf("[INFO] openstack: the lost call made no %s; sending it again (%d of %d)", what, attempt+1, CreateAttempts)
	}
}
