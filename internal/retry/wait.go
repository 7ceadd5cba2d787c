package retry

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Backoff is how a wait polls: quickly at first, then less often up to a cap, so a
// fast transition is seen at once and a slow one does not flood the API.
type Backoff struct {
	Initial time.Duration // first delay; default 250ms
	Max     time.Duration // cap on the delay; default 5s
	Factor  float64       // growth per poll; default 1.5
	// Young keeps the delay at Initial while the wait is younger than this: most
	// transitions a build waits for (a stop, a snapshot of a small disk) end within
	// seconds, and each poll's delay is how late the end is seen.
	Young time.Duration
}

// DefaultBackoff suits Nova, Cinder and Glance status polls.
var DefaultBackoff = Backoff{Initial: 250 * time.Millisecond, Max: 5 * time.Second, Factor: 1.5}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = DefaultBackoff.Initial
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoff.Max
	}
	if b.Factor < 1 {
		b.Factor = DefaultBackoff.Factor
	}
	return b
}

// ErrWaitTimeout is wrapped by the error WaitFor returns when its timeout passes.
var ErrWaitTimeout = errors.New("timed out")

// WaitFor calls check until it reports done or fails, sleeping with backoff between
// calls. It stops with an error naming what it waited for when timeout passes
// (timeout <= 0 means only ctx bounds it) or when ctx is cancelled. check should
// return an error at once for a failed state (ERROR, killed, ...), so a failure is
// reported without waiting out the timeout.
func WaitFor(ctx context.Context, what string, timeout time.Duration, b Backoff, check func(context.Context) (done bool, err error)) error {
	b = b.withDefaults()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%w after %s waiting for %s", ErrWaitTimeout, timeout, what))
		defer cancel()
	}
	start := time.Now()
	delay := b.Initial
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		done, err := check(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return waitStopped(ctx, what)
			}
			return err
		}
		if done {
			return nil
		}
		timer.Reset(delay)
		select {
		case <-ctx.Done():
			return waitStopped(ctx, what)
		case <-timer.C:
		}
		if time.Since(start) >= b.Young {
			delay = b.next(delay)
		}
	}
}

// next is the delay after d: d grown by Factor, capped at Max.
func (b Backoff) next(d time.Duration) time.Duration {
	d = time.Duration(float64(d) * b.Factor)
	if d > b.Max {
		d = b.Max
	}
	return d
}

func waitStopped(ctx context.Context, what string) error {
	if cause := context.Cause(ctx); cause != nil && errors.Is(cause, ErrWaitTimeout) {
		return cause
	}
	return fmt.Errorf("stopped waiting for %s: %w", what, ctx.Err())
}
