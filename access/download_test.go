package access

import (
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// headerRecorder is a source server that keeps the headers of every request it
// gets, for checking what reached it.
type headerRecorder struct {
	mu   sync.Mutex
	seen []http.Header
}

func (h *headerRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.seen = append(h.seen, r.Header.Clone())
	h.mu.Unlock()
	_, _ = io.WriteString(w, "image bytes")
}

func (h *headerRecorder) requests() []http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]http.Header(nil), h.seen...)
}

// credentialHeaders are what a download of image_source_url may carry that no
// other host may see: Basic credentials, custom headers, cookies, and a Referer
// that would repeat a signed URL.
var credentialHeaders = []string{"Authorization", "X-Mirror-Token", "Cookie", "Referer"}

func download(t *testing.T, c *http.Client, url string) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("mirror-user", "mirror-password")
	req.Header.Set("X-Mirror-Token", "tok-123")
	req.Header.Set("Cookie", "session=abc")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestDownloadRedirectToAnotherHostCarriesNoCredentials(t *testing.T) {
	// Two other origins: the same address on another port (which Go itself
	// treats as the same host for Authorization), and another host name.
	portRec := &headerRecorder{}
	otherPort := httptest.NewServer(portRec)
	defer otherPort.Close()
	otherName := &headerRecorder{}
	otherHost := httptest.NewServer(otherName)
	defer otherHost.Close()
	byName := strings.Replace(otherHost.URL, "127.0.0.1", "localhost", 1)

	origin := &headerRecorder{}
	mux := http.NewServeMux()
	mux.Handle("/file", origin)
	mux.HandleFunc("/to-port", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherPort.URL+"/file", http.StatusFound)
	})
	mux.HandleFunc("/to-name", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, byName+"/file", http.StatusTemporaryRedirect)
	})
	// A hop on the origin first, then away: the second host still gets nothing.
	mux.HandleFunc("/hop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/to-port", http.StatusMovedPermanently)
	})
	src := httptest.NewServer(mux)
	defer src.Close()

	c, err := NewDownloadClient(DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/to-port?X-Amz-Signature=sig-1", "/to-name?temp_url_sig=sig-2", "/hop"} {
		body, err := download(t, c, src.URL+path)
		if err != nil || body != "image bytes" {
			t.Fatalf("GET %s: %q, %v", path, body, err)
		}
	}
	got := append(portRec.requests(), otherName.requests()...)
	if len(got) != 3 {
		t.Fatalf("the other hosts got %d requests, want 3", len(got))
	}
	for i, h := range got {
		for _, k := range credentialHeaders {
			if v := h.Get(k); v != "" {
				t.Errorf("request %d to another host carried %s: %q", i, k, v)
			}
		}
	}

	// Redirects within the origin keep what the user gave for it.
	mux.HandleFunc("/local", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/file", http.StatusFound)
	})
	if _, err := download(t, c, src.URL+"/local"); err != nil {
		t.Fatal(err)
	}
	reqs := origin.requests()
	if len(reqs) != 1 {
		t.Fatalf("the origin's /file got %d requests, want 1", len(reqs))
	}
	if u, p, ok := (&http.Request{Header: reqs[0]}).BasicAuth(); !ok || u != "mirror-user" || p != "mirror-password" || reqs[0].Get("X-Mirror-Token") != "tok-123" {
		t.Errorf("a redirect within the origin lost the credentials: %v", reqs[0])
	}
}

func TestDownloadRefusesHTTPSToHTTP(t *testing.T) {
	plain := &headerRecorder{}
	plainSrv := httptest.NewServer(plain)
	defer plainSrv.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plainSrv.URL+"/file", http.StatusFound)
	}))
	defer tlsSrv.Close()

	c, err := NewDownloadClient(DownloadOptions{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = download(t, c, tlsSrv.URL+"/file")
	if err == nil || !strings.Contains(err.Error(), "redirected an https download to plain http") {
		t.Fatalf("https to http: err = %v", err)
	}
	if n := len(plain.requests()); n != 0 {
		t.Errorf("the plain http server got %d requests", n)
	}
}

// writeCertPEM writes the test server's certificate as a CA file.
func writeCertPEM(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDownloadTLSTrust(t *testing.T) {
	src := httptest.NewTLSServer(&headerRecorder{})
	defer src.Close()
	caFile := writeCertPEM(t, src)

	get := func(o DownloadOptions, extra ...string) error {
		c, err := NewDownloadClient(o, extra...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = download(t, c, src.URL)
		return err
	}
	if err := get(DownloadOptions{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a self-signed source was trusted by default: %v", err)
	}
	if err := get(DownloadOptions{Insecure: true}); err != nil {
		t.Errorf("source_insecure: %v", err)
	}
	if err := get(DownloadOptions{CACert: caFile}); err != nil {
		t.Errorf("source_cacert: %v", err)
	}
	if err := get(DownloadOptions{}, caFile); err != nil {
		t.Errorf("the API's cacert: %v", err)
	}

	garbage := filepath.Join(t.TempDir(), "not-a-ca.pem")
	if err := os.WriteFile(garbage, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDownloadClient(DownloadOptions{CACert: garbage}); err == nil || !strings.Contains(err.Error(), garbage) {
		t.Errorf("a CA file without a certificate: err = %v, want one naming the file", err)
	}
	if _, err := NewDownloadClient(DownloadOptions{CACert: garbage + ".missing"}); err == nil {
		t.Error("a missing CA file was accepted")
	}
}

// The API's insecure is about the cloud: a session that skips the cloud's
// certificate checks still checks the source's.
func TestDownloadIgnoresTheAPIsInsecure(t *testing.T) {
	_, keystone := startKeystone(t, true)
	sess, err := (&AccessConfig{IdentityEndpoint: keystone.URL + "/v3", Username: "demo", Password: "right-password", Insecure: true}).Authenticate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	src := httptest.NewTLSServer(&headerRecorder{})
	defer src.Close()

	c, err := sess.DownloadClient(DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := download(t, c, src.URL); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("insecure = true let the download trust a self-signed source: %v", err)
	}
	c, err = sess.DownloadClient(DownloadOptions{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := download(t, c, src.URL); err != nil {
		t.Fatalf("source_insecure = true: %v", err)
	}
}

func TestURLCarriesSecrets(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://mirror.example.com/f.qcow2":                                         false,
		"https://mirror.example.com/f.qcow2?version=3&arch=x86_64":                   false,
		"https://user:pw@mirror.example.com/f.qcow2":                                 true,
		"https://user@mirror.example.com/f.qcow2":                                    true,
		"https://s3.example.com/b/f.qcow2?X-Amz-Algorithm=AWS4&X-Amz-Signature=ab":   true,
		"https://swift.example.com/v1/AUTH_x/c/f?temp_url_sig=ab&temp_url_expires=1": true,
		"https://blob.example.com/c/f.qcow2?sv=2020&sig=abc":                         true,
		"https://h/f.qcow2?token=abc":                                                true,
		"https://h/f.qcow2?Access_Token=abc":                                         true,
		"https://h/f.qcow2?apikey=abc":                                               true,
		"https://h/f.qcow2?GoogleAccessId=x&Signature=abc":                           true,
		"https://h/f.qcow2?password=abc":                                             true,
		"https://cdn.example.com/f.qcow2?auth=1700000000-0-0-abc":                    true,
		"https://h/f.qcow2?Authorization=Bearer%20abc":                               true,
		"https://h/token/f.qcow2":                                                    false, // a path is not a credential
		"https://h/f.qcow2#token=abc":                                                false, // a fragment is never sent
		"%zz":                                                                        false,
	} {
		if got := URLCarriesSecrets(raw); got != want {
			t.Errorf("URLCarriesSecrets(%q) = %v, want %v", raw, got, want)
		}
	}
}
