package glanceimport

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A download that finds the source refusing connections (its host restarts)
// is retried like any transient failure, and its error still hides the URL's
// secrets.
func TestRedactedDownloadErrorStaysTransient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	raw := "http://user:s3cret-pass@" + addr + "/disk.img?temp_url_sig=abcdef0123"
	_, gerr := http.Get(raw)
	if gerr == nil {
		t.Skip("a closed port answered")
	}
	red := redactErr(gerr, raw)
	if strings.Contains(red.Error(), "s3cret-pass") || strings.Contains(red.Error(), "abcdef0123") {
		t.Errorf("the redacted error shows a secret: %q", red)
	}
	if !transient(red) {
		t.Errorf("a refused connection is not transient once redacted: %q", red)
	}
}

// A checksum file gets the image's credentials only from the image's own host
// and scheme: never in clear over http when the image came over https.
func TestChecksumFileGetsCredentialsOnlyFromTheSameOrigin(t *testing.T) {
	img, _ := url.Parse("https://mirror.example/images/disk.qcow2")
	for other, want := range map[string]bool{
		"https://mirror.example/images/SHA256SUMS": true,
		"http://mirror.example/images/SHA256SUMS":  false,
		"https://other.example/SHA256SUMS":         false,
	} {
		if got := sameHost(img, other); got != want {
			t.Errorf("sameHost(%s, %s) = %t, want %t", img, other, got, want)
		}
	}
}
