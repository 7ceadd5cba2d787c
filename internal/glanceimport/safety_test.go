package glanceimport

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// credentialRecorder serves data and records every credential-like header it
// is sent.
type credentialRecorder struct {
	data []byte
	mu   sync.Mutex
	got  []string
}

func (m *credentialRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	for _, k := range []string{"Authorization", "X-Mirror-Token", "Referer", "Cookie"} {
		if v := r.Header.Get(k); v != "" {
			m.got = append(m.got, k+": "+v)
		}
	}
	m.mu.Unlock()
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	w.Write(m.data)
}

func (m *credentialRecorder) leaked() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.got...)
}

// The source needs Basic credentials and a header, and redirects to a mirror
// on another host: the mirror gets the request, and none of them.
func TestImportRedirectToAnotherHostCarriesNoCredentials(t *testing.T) {
	data := fakeQcow2(256 << 10)
	cloud, g := startCloud(t, testcloud.Options{})
	download, err := access.NewDownloadClient(access.DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The components hand the engine the download client; without one it must
	// be as careful.
	for name, client := range map[string]*http.Client{"download client": download, "no client": nil} {
		t.Run(name, func(t *testing.T) {
			mirror := &credentialRecorder{data: data}
			mirrorSrv := httptest.NewServer(mirror)
			defer mirrorSrv.Close()
			elsewhere := strings.Replace(mirrorSrv.URL, "127.0.0.1", "localhost", 1)
			origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if u, p, ok := r.BasicAuth(); !ok || u != "mirror-user" || p != "mirror-pw" || r.Header.Get("X-Mirror-Token") != "tok-1" {
					http.Error(w, "denied", http.StatusUnauthorized)
					return
				}
				http.Redirect(w, r, elsewhere+"/disk.qcow2", http.StatusFound)
			}))
			defer origin.Close()

			res, err := Import(context.Background(), g, cloud.request(Request{
				Source: Source{URL: origin.URL + "/disk.qcow2?X-Amz-Signature=sig-9", Username: "mirror-user", Password: "mirror-pw",
					Headers: map[string]string{"X-Mirror-Token": "tok-1"}, HTTPClient: client},
				Image: ImageSpec{Name: "redirected " + name},
			}))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(cloud.data(t, res.Image.ID), data) {
				t.Error("the image holds other data than the mirror's")
			}
			if leaked := mirror.leaked(); len(leaked) > 0 {
				t.Errorf("the mirror on another host was sent %v", leaked)
			}
		})
	}
}

func TestImportRefusesARedirectFromHTTPSToHTTP(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{})
	plain := &credentialRecorder{data: fakeQcow2(64 << 10)}
	plainSrv := httptest.NewServer(plain)
	defer plainSrv.Close()
	src := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plainSrv.URL+"/disk.qcow2", http.StatusFound)
	}))
	defer src.Close()
	client, err := access.NewDownloadClient(access.DownloadOptions{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Method{MethodAuto, MethodUpload} {
		_, err = Import(context.Background(), g, cloud.request(Request{Method: m,
			Source: Source{URL: src.URL + "/disk.qcow2", Headers: map[string]string{"X-Mirror-Token": "tok-1"}, HTTPClient: client}}))
		if err == nil || !strings.Contains(err.Error(), "redirected an https download to plain http") {
			t.Fatalf("%s: err = %v", m, err)
		}
	}
	if leaked := plain.leaked(); len(leaked) > 0 {
		t.Errorf("the plain http server was sent %v", leaked)
	}
	requireNoImages(t, cloud)
}

func TestImportMaxImageSize(t *testing.T) {
	cloud, g := startCloud(t, testcloud.Options{})
	data := fakeQcow2(1 << 20)
	file := filepath.Join(t.TempDir(), "d.qcow2")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// A small download that inflates: 64 MiB of zeros behind a qcow2 header.
	bomb := compress(t, Gzip, append(fakeQcow2(4096), make([]byte, 64<<20)...))
	bombURL := newSourceServer(t, bomb).url()

	for _, tc := range []struct {
		name string
		src  Source
		max  int64
	}{
		{"file", Source{File: file}, 256 << 10},
		{"one byte over", Source{File: file}, 1<<20 - 1},
		// A limit rules out web-download, which the plugin could not bound.
		{"plain URL, auto", Source{URL: newSourceServer(t, data).url()}, 256 << 10},
		{"decompression bomb, auto", Source{URL: bombURL}, 8 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Import(context.Background(), g, cloud.request(Request{Source: tc.src, MaxImageSize: tc.max, Image: ImageSpec{Name: "max " + tc.name}}))
			if want := fmt.Sprintf("grew past max_image_size (%s)", formatSize(tc.max)); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v; want %q", err, want)
			}
			requireNoImages(t, cloud)
		})
	}

	res, err := Import(context.Background(), g, cloud.request(Request{Source: Source{File: file}, MaxImageSize: 1 << 20, Image: ImageSpec{Name: "at the limit"}}))
	if err != nil || res.UploadedBytes != 1<<20 {
		t.Fatalf("an image of exactly max_image_size: %v", err)
	}
}
