package access

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A service that takes the request and never answers ends the call with a
// timeout (which the retry policy treats as transient) instead of hanging it.
func TestTransportBoundsTheWaitForAnAnswer(t *testing.T) {
	saved := responseTimeout
	responseTimeout = 100 * time.Millisecond
	t.Cleanup(func() { responseTimeout = saved })
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	client := &http.Client{Transport: newTransport(nil)}
	_, err := client.Get(srv.URL)
	var nerr net.Error
	if !errors.As(err, &nerr) || !nerr.Timeout() {
		t.Fatalf("a silent service gave %v, want a timeout", err)
	}
}
