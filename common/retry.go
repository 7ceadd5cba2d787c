package common

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// RetrySchedule is how calls that are safe to repeat back off between attempts:
// five retries over about 15 seconds, enough to ride out a service restart or a
// database hiccup (real Glance answers some concurrent updates with a 500).
var RetrySchedule = []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

// Retry runs call until it succeeds, fails in a way transient does not accept, the
// schedule ends or ctx is done. It returns the last error.
func Retry(ctx context.Context, schedule []time.Duration, transient func(error) bool, call func() error) error {
	for attempt := 0; ; attempt++ {
		err := call()
		if err == nil || !transient(err) || attempt >= len(schedule) || ctx.Err() != nil {
			return err
		}
		if SleepContext(ctx, schedule[attempt]) != nil {
			return err
		}
	}
}

// DeleteWithRetry runs a DELETE with Retry. A 404 after a failed attempt counts as
// success: the earlier attempt went through even though its answer was an error.
// A 404 on the first attempt is returned, so callers still see "it was never there".
func DeleteWithRetry(ctx context.Context, call func() error) error {
	attempts := 0
	return Retry(ctx, RetrySchedule, IsTransient, func() error {
		attempts++
		err := call()
		if attempts > 1 && IsNotFound(err) {
			return nil
		}
		return err
	})
}

// IsTransient reports whether an OpenStack call's error is worth another try: a
// 5xx or 429 answer, or a connection that broke. No other 4xx ever is, and neither
// is a cancelled or expired context.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		return code.Actual >= 500 || code.Actual == http.StatusTooManyRequests
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

// SleepContext waits for d or until ctx is done, whichever comes first.
func SleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// CreateMayHaveHappened reports whether a create call that failed may still have
// made its resource: the call was cut off (Ctrl-C, a timeout, a broken
// connection) or the service failed with a 5xx after perhaps acting. A 4xx,
// including 429, means the request was refused and nothing was made.
func CreateMayHaveHappened(ctx context.Context, err error) bool {
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
	return IsTransient(err)
}

// LookTwice runs find, and once more after pause when the first look found
// nothing: a create call cut off by Ctrl-C may still be running inside the
// service when cleanup first looks for what it made.
func LookTwice[T any](ctx context.Context, pause time.Duration, find func(context.Context) ([]T, error)) ([]T, error) {
	found, err := find(ctx)
	if err != nil || len(found) > 0 {
		return found, err
	}
	if err := SleepContext(ctx, pause); err != nil {
		return nil, err
	}
	return find(ctx)
}
