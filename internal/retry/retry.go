// Package retry holds how the plugin repeats and waits: the one retry policy of
// every OpenStack call (Policy), polling with backoff (WaitFor), and the rules
// for a create call whose reply was lost (CreateMayHaveHappened, LookTwice).
package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// Schedule is how work outside the OpenStack clients (downloads of image
// sources) backs off between attempts: five retries over about 15 seconds.
var Schedule = []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

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
	if Permanent(err) {
		return false
	}
	if connectionLost(err) {
		return true
	}
	// Every *url.Error is a net.Error; what it wraps decides.
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

// Permanent reports network errors that another attempt cannot fix: a
// certificate that is not trusted or does not match, a TLS handshake with a
// server that does not speak TLS, a host name that does not exist.
func Permanent(err error) bool {
	var unknownCA x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	if errors.As(err, &unknownCA) || errors.As(err, &invalid) || errors.As(err, &hostname) ||
		errors.As(err, &verify) || errors.As(err, &record) {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.IsNotFound
}

// Refused reports a connection nobody accepted: a service restarting, or an
// endpoint that is wrong.
func Refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
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
	if errors.Is(err, ErrEarlierCreateLost) {
		return true
	}
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		return code.Actual >= 500
	}
	return IsTransient(err)
}

// ErrEarlierCreateLost marks the error of a create call that was sent again
// after an earlier attempt lost its reply: whatever the last attempt answered
// (a 409 because the first one's resource now exists, say), the earlier one
// may have made something, so the caller's clean-up must look for it.
var ErrEarlierCreateLost = errors.New("an earlier attempt's reply was lost, so it may have made it")

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

// CleanupTimeout bounds each cleanup call. Cleanup runs after a cancelled build
// too, so it must not use the build's context, yet it must not hang forever.
const CleanupTimeout = 5 * time.Minute

// CleanupContext returns a fresh context for cleanup work, bounded by
// CleanupTimeout.
func CleanupContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), CleanupTimeout)
}

// connectionLostText are the texts of net/http's own errors for a connection
// that went away under a request; their types are unexported, so the text is
// all there is. HTTP/2 (negotiated on TLS endpoints) reports a server that
// restarts or a proxy that drops its connections this way.
var connectionLostText = []string{
	"http2: server sent GOAWAY",
	"http2: client connection lost",
	"http2: client connection force closed",
	"stream error: stream ID",
	"http: server closed idle connection",
}

func connectionLost(err error) bool {
	text := err.Error()
	for _, t := range connectionLostText {
		if strings.Contains(text, t) {
			return true
		}
	}
	return false
}
