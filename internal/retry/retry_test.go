package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

func TestIsTransient(t *testing.T) {
	for _, err := range []error{
		gophercloud.ErrUnexpectedResponseCode{Actual: 500},
		gophercloud.ErrUnexpectedResponseCode{Actual: 503},
		gophercloud.ErrUnexpectedResponseCode{Actual: 429},
		fmt.Errorf("deleting image: %w", gophercloud.ErrUnexpectedResponseCode{Actual: 502}),
		fmt.Errorf("put: %w", syscall.ECONNRESET),
		io.ErrUnexpectedEOF,
		&url.Error{Op: "Get", URL: "https://glance:9292/v2/images", Err: errors.New(`http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=NO_ERROR, debug=""`)},
		&url.Error{Op: "Patch", URL: "https://glance:9292/v2/images/x", Err: errors.New("stream error: stream ID 3; INTERNAL_ERROR; received from peer")},
	} {
		if !IsTransient(err) {
			t.Errorf("%v is not retried", err)
		}
	}
	for _, err := range []error{
		nil,
		gophercloud.ErrUnexpectedResponseCode{Actual: 400},
		gophercloud.ErrUnexpectedResponseCode{Actual: 403},
		gophercloud.ErrUnexpectedResponseCode{Actual: 404},
		gophercloud.ErrUnexpectedResponseCode{Actual: 409},
		context.Canceled,
		fmt.Errorf("waiting: %w", context.DeadlineExceeded),
		errors.New("checksum mismatch"),
	} {
		if IsTransient(err) {
			t.Errorf("%v is retried", err)
		}
	}
}

// counted returns a call that answers with errs in turn, then nil, and counts calls.
func counted(errs ...error) (func() error, *int) {
	n := 0
	return func() error {
		n++
		if n <= len(errs) {
			return errs[n-1]
		}
		return nil
	}, &n
}

func TestRetry(t *testing.T) {
	zero := []time.Duration{0, 0, 0}
	e500 := gophercloud.ErrUnexpectedResponseCode{Actual: 500}
	e404 := gophercloud.ErrUnexpectedResponseCode{Actual: 404}

	call, n := counted(e500, e500)
	if err := Retry(context.Background(), zero, IsTransient, call); err != nil || *n != 3 {
		t.Errorf("two 500s then success: %d calls, %v", *n, err)
	}
	call, n = counted(e404)
	if err := Retry(context.Background(), zero, IsTransient, call); !gophercloud.ResponseCodeIs(err, 404) || *n != 1 {
		t.Errorf("a 404 must not be retried: %d calls, %v", *n, err)
	}
	call, n = counted(e500, e500, e500, e500, e500)
	if err := Retry(context.Background(), zero, IsTransient, call); !IsTransient(err) || *n != 4 {
		t.Errorf("endless 500s: %d calls (want 1 + 3 retries), %v", *n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	call, n = counted(e500, e500)
	if err := Retry(ctx, []time.Duration{time.Hour}, IsTransient, call); err == nil || *n != 1 {
		t.Errorf("a cancelled context must stop the retries: %d calls, %v", *n, err)
	}
}

func TestCreateMayHaveHappened(t *testing.T) {
	live := context.Background()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		ctx  context.Context
		err  error
		want bool
	}{
		{live, nil, false},
		{live, gophercloud.ErrUnexpectedResponseCode{Actual: 500}, true},
		{live, gophercloud.ErrUnexpectedResponseCode{Actual: 504}, true},
		{live, fmt.Errorf("POST: %w", syscall.ECONNRESET), true},
		{live, fmt.Errorf("POST: %w", context.DeadlineExceeded), true},
		{cancelled, errors.New("whatever the client says"), true},
		{live, gophercloud.ErrUnexpectedResponseCode{Actual: 429}, false},
		{live, gophercloud.ErrUnexpectedResponseCode{Actual: 409}, false},
		{live, gophercloud.ErrUnexpectedResponseCode{Actual: 403}, false},
		{live, errors.New("invalid option"), false},
	} {
		if got := CreateMayHaveHappened(tc.ctx, tc.err); got != tc.want {
			t.Errorf("CreateMayHaveHappened(ctx err %v, %v) = %v, want %v", tc.ctx.Err(), tc.err, got, tc.want)
		}
	}
}

func TestLookTwice(t *testing.T) {
	looks := 0
	finder := func(results ...[]string) func(context.Context) ([]string, error) {
		looks = 0
		return func(context.Context) ([]string, error) {
			looks++
			return results[min(looks, len(results))-1], nil
		}
	}
	if got, err := LookTwice(context.Background(), 0, finder([]string{"a"})); err != nil || len(got) != 1 || looks != 1 {
		t.Errorf("found at once: %v, %v after %d looks; want one look", got, err, looks)
	}
	if got, err := LookTwice(context.Background(), 0, finder(nil, []string{"late"})); err != nil || len(got) != 1 || looks != 2 {
		t.Errorf("found on the second look: %v, %v after %d looks", got, err, looks)
	}
	if got, err := LookTwice(context.Background(), 0, finder(nil, nil, []string{"never asked"})); err != nil || len(got) != 0 || looks != 2 {
		t.Errorf("nothing there: %v, %v after %d looks; want two looks", got, err, looks)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := LookTwice(ctx, time.Hour, finder(nil, []string{"x"})); err == nil || looks != 1 {
		t.Errorf("a cancelled pause: %v after %d looks; want the context's error after one", err, looks)
	}
}
