package glanceimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

func TestTransientErrors(t *testing.T) {
	retry := []error{
		gophercloud.ErrUnexpectedResponseCode{Actual: 500},
		gophercloud.ErrUnexpectedResponseCode{Actual: 503},
		gophercloud.ErrUnexpectedResponseCode{Actual: 429},
		&httpStatusError{Code: 502},
		fmt.Errorf("put: %w", syscall.ECONNRESET),
		io.ErrUnexpectedEOF,
	}
	for _, err := range retry {
		if !transient(err) {
			t.Errorf("%v is not retried", err)
		}
	}
	never := []error{
		gophercloud.ErrUnexpectedResponseCode{Actual: 400},
		gophercloud.ErrUnexpectedResponseCode{Actual: 401},
		gophercloud.ErrUnexpectedResponseCode{Actual: 404},
		gophercloud.ErrUnexpectedResponseCode{Actual: 409},
		&httpStatusError{Code: 403},
		context.Canceled,
		errors.New("checksum mismatch"),
	}
	for _, err := range never {
		if transient(err) {
			t.Errorf("%v is retried", err)
		}
	}
}

func TestRetryIdempotentStopsOnPermanentErrors(t *testing.T) {
	saved := retrySchedule
	retrySchedule = []time.Duration{0, 0, 0}
	defer func() { retrySchedule = saved }()

	calls := 0
	err := retryDownload(context.Background(), func() error {
		calls++
		if calls < 3 {
			return gophercloud.ErrUnexpectedResponseCode{Actual: 503}
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("two 503s then success: %d calls, %v", calls, err)
	}
	calls = 0
	err = retryDownload(context.Background(), func() error {
		calls++
		return gophercloud.ErrUnexpectedResponseCode{Actual: 404}
	})
	if err == nil || calls != 1 {
		t.Fatalf("a 404 was retried: %d calls", calls)
	}
	calls = 0
	err = retryDownload(context.Background(), func() error {
		calls++
		return gophercloud.ErrUnexpectedResponseCode{Actual: 500}
	})
	if err == nil || calls != 4 {
		t.Fatalf("endless 500s: %d calls (want 1 + 3 retries), %v", calls, err)
	}
}
