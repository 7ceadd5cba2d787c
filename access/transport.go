package access

import (
	"bytes"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"time"
)

// ImageSizeHeader carries the size of an image upload. Glance uses it as a size
// hint; our transport also turns it into a Content-Length so a streamed body is not
// sent chunked (some stores and proxies need the length up front).
const ImageSizeHeader = "X-Openstack-Image-Size"

// maxLoggedBody bounds how much of an error response is copied into the log.
const maxLoggedBody = 4096

// newTransport returns the round tripper every OpenStack call goes through: TLS
// settings, bounded connection set-up and answer wait, one log line per request
// and upload lengths.
func newTransport(tlsConfig *tls.Config) http.RoundTripper {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = tlsConfig
	base.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	base.TLSHandshakeTimeout = dialTimeout
	base.ResponseHeaderTimeout = responseTimeout
	return &loggingTransport{next: base}
}

// loggingTransport logs method, URL, status and duration of each request to the
// Packer log (visible with PACKER_LOG=1), with the body of error responses.
// Headers and request bodies are never logged: they carry tokens and passwords.
type loggingTransport struct {
	next http.RoundTripper
}

func (t *loggingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if size := req.Header.Get(ImageSizeHeader); size != "" && req.Body != nil && req.ContentLength <= 0 {
		if n, err := strconv.ParseInt(size, 10, 64); err == nil && n >= 0 {
			req = req.Clone(req.Context())
			req.ContentLength = n
		}
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		log.Printf("[DEBUG] openstack: %s %s -> error after %s: %v", req.Method, RedactURL(req.URL), took, err)
		return nil, err
	}
	if resp.StatusCode < 400 {
		log.Printf("[DEBUG] openstack: %s %s -> %d (%s)", req.Method, RedactURL(req.URL), resp.StatusCode, took)
		return resp, nil
	}
	// Read a bounded prefix of the error body for the log, then hand the caller a
	// body that still yields every byte.
	prefix, _ := io.ReadAll(io.LimitReader(resp.Body, maxLoggedBody))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(prefix), resp.Body), resp.Body}
	log.Printf("[DEBUG] openstack: %s %s -> %d (%s): %s", req.Method, RedactURL(req.URL), resp.StatusCode, took, redactBody(string(prefix)))
	return resp, nil
}
