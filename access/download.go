package access

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// DownloadOptions is how the plugin's own downloads of image sources (and of
// checksum files) trust TLS servers. The API's own `insecure` never applies to
// them: a source is usually on another host than the cloud.
type DownloadOptions struct {
	// Insecure skips certificate checks of sources (source_insecure).
	Insecure bool
	// CACert is a PEM file of extra CAs for sources (source_cacert).
	CACert string
}

// DownloadClient returns the HTTP client for image sources: proxies from the
// environment, the system's CAs plus the API's cacert and o.CACert, and a
// redirect policy that keeps credentials on the origin they were given for.
func (s *Session) DownloadClient(o DownloadOptions) (*http.Client, error) {
	var cas []string
	if s != nil && s.caCert != "" {
		cas = append(cas, s.caCert)
	}
	return NewDownloadClient(o, cas...)
}

// NewDownloadClient is DownloadClient without a session; extraCAs are more PEM
// files to trust.
func NewDownloadClient(o DownloadOptions, extraCAs ...string) (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.Insecure} //nolint:gosec // the user asked for it
	files := append([]string(nil), extraCAs...)
	if o.CACert != "" {
		files = append(files, o.CACert)
	}
	if len(files) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		for _, f := range files {
			pem, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("reading CA certificates for downloads: %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("CA file %s holds no PEM certificate", f)
			}
		}
		cfg.RootCAs = pool
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	t.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = dialTimeout
	// A source that accepts the connection but never answers must not hang the
	// build: the body may take hours, the headers may not.
	t.ResponseHeaderTimeout = 5 * time.Minute
	// Compressed images must arrive as stored: never let the transport decode them.
	t.DisableCompression = true
	return &http.Client{Transport: t, CheckRedirect: checkRedirect}, nil
}

// keptOnRedirect are the request headers a redirect to another origin keeps:
// none of them can carry a credential.
var keptOnRedirect = map[string]bool{
	"Accept": true, "Accept-Encoding": true, "User-Agent": true, "Range": true, "If-Range": true,
}

// errInsecureRedirect refuses a redirect that would leave TLS.
var errInsecureRedirect = errors.New("the server redirected an https download to plain http: refused, as it would expose the data and any credentials")

// checkRedirect follows at most 10 redirects, refuses https → http, and on a
// redirect to another scheme, host or port drops every header that could carry a
// credential (Authorization from image_source_username/password, and all of
// image_source_headers). Go itself drops Authorization only for another domain.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	first := via[0].URL
	if strings.EqualFold(via[len(via)-1].URL.Scheme, "https") && strings.EqualFold(req.URL.Scheme, "http") {
		return errInsecureRedirect
	}
	if SameOrigin(first.Scheme, first.Host, req.URL.Scheme, req.URL.Host) {
		return nil
	}
	for k := range req.Header {
		if !keptOnRedirect[http.CanonicalHeaderKey(k)] {
			req.Header.Del(k)
		}
	}
	return nil
}

// SameOrigin reports whether two URLs' scheme and host:port are the same origin
// (default ports made explicit).
func SameOrigin(schemeA, hostA, schemeB, hostB string) bool {
	return strings.EqualFold(schemeA, schemeB) && strings.EqualFold(withPort(schemeA, hostA), withPort(schemeB, hostB))
}

func withPort(scheme, host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	if strings.EqualFold(scheme, "https") {
		return net.JoinHostPort(strings.Trim(host, "[]"), "443")
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), "80")
}
