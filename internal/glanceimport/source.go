package glanceimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// Source is where the image data comes from: exactly one of URL, File or Reader.
type Source struct {
	// URL is an http(s) URL the plugin downloads, or Glance downloads with web-download.
	URL string
	// File is a local file.
	File string
	// Reader is an already open stream (the builder's pipe, a test's generator);
	// Name names it in messages and Size is its length, or -1.
	Reader io.Reader
	Name   string
	Size   int64

	// Username and Password give HTTP basic auth for the plugin's downloads.
	Username, Password string
	// Headers are added to the plugin's downloads.
	Headers map[string]string
	// HTTPClient makes the downloads; nil means access.NewDownloadClient with
	// default options.
	HTTPClient *http.Client
}

// describe names the source in messages, without credentials.
func (s *Source) describe() string {
	switch {
	case s.URL != "":
		return access.RedactURLString(s.URL)
	case s.File != "":
		return s.File
	case s.Name != "":
		return s.Name
	}
	return "the input stream"
}

// name is the source's file name, for checksum files and format guesses.
func (s *Source) name() string {
	switch {
	case s.URL != "":
		if u, err := url.Parse(s.URL); err == nil {
			return path.Base(u.Path)
		}
	case s.File != "":
		return path.Base(s.File)
	}
	return s.Name
}

func (s *Source) client() *http.Client {
	if s.HTTPClient != nil {
		return s.HTTPClient
	}
	return defaultClient()
}

// defaultClient downloads when the request names no client. It is the
// plugin's download client, not http.DefaultClient, which would send
// Headers and a signed URL (as Referer) on to whatever host a source
// redirects to, and follow https to http.
var defaultClient = sync.OnceValue(func() *http.Client {
	c, _ := access.NewDownloadClient(access.DownloadOptions{}) // without CA files it cannot fail
	return c
})

// open starts reading the source. size is -1 when unknown.
func (s *Source) open(ctx context.Context) (body io.ReadCloser, size int64, err error) {
	switch {
	case s.URL != "":
		d := &download{ctx: ctx, src: s, url: s.URL, size: -1}
		if err := d.connect(0); err != nil {
			return nil, 0, err
		}
		return d, d.size, nil
	case s.File != "":
		f, err := os.Open(s.File)
		if err != nil {
			return nil, 0, fmt.Errorf("opening %s: %w", s.File, err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, fmt.Errorf("reading %s: %w", s.File, err)
		}
		if st.IsDir() {
			f.Close()
			return nil, 0, fmt.Errorf("%s is a folder, not an image file", s.File)
		}
		return f, st.Size(), nil
	case s.Reader != nil:
		size := s.Size
		if size == 0 {
			size = -1
		}
		if rc, ok := s.Reader.(io.ReadCloser); ok {
			return rc, size, nil
		}
		return io.NopCloser(s.Reader), size, nil
	}
	return nil, 0, errors.New("no image source: give a URL, a file or a reader")
}

// httpStatusError is a download answered with an unexpected status.
type httpStatusError struct {
	URL  string
	Code int
}

func (e *httpStatusError) Error() string {
	return fmt.Sprintf("GET %s: HTTP %d %s", e.URL, e.Code, http.StatusText(e.Code))
}

// download reads an HTTP resource, retrying the request on 5xx, 429 and broken
// connections, and resuming with a Range request after a break in the middle when
// the server supports ranges (otherwise the already streamed bytes cannot be
// taken back, and the error stands).
type download struct {
	ctx       context.Context
	src       *Source
	url       string
	body      io.ReadCloser
	offset    int64
	size      int64
	rangeable bool
	validator string // ETag or Last-Modified, so a resume never splices two versions
	resumes   int
	// headOnly asks for the first bytes only (Range: bytes=0-headOnly-1), for a probe.
	headOnly int64
	// unsized is set when the server answered the whole file without a length
	// (chunked), which Glance's web-download (Zed) cannot take.
	unsized bool
}

func (d *download) request(offset int64) (*http.Request, error) {
	req, err := http.NewRequestWithContext(d.ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return nil, fmt.Errorf("image source URL %s: %w", access.RedactURLString(d.url), err)
	}
	for k, v := range d.src.Headers {
		req.Header.Set(k, v)
	}
	if d.src.Username != "" || d.src.Password != "" {
		req.SetBasicAuth(d.src.Username, d.src.Password)
	}
	// Ask for the bytes as stored: a transparently decoded body would not match the
	// user's checksum, and detection works on the real bytes anyway.
	req.Header.Set("Accept-Encoding", "identity")
	if offset == 0 && d.headOnly > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=0-%d", d.headOnly-1))
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		if d.validator != "" {
			req.Header.Set("If-Range", d.validator)
		}
	}
	return req, nil
}

// connect sends the GET (from offset), retrying transient failures.
func (d *download) connect(offset int64) error {
	shown := access.RedactURLString(d.url)
	return retryDownload(d.ctx, func() error {
		req, err := d.request(offset)
		if err != nil {
			return err
		}
		resp, err := d.src.client().Do(req)
		if err != nil {
			if d.ctx.Err() != nil {
				return d.ctx.Err()
			}
			return fmt.Errorf("downloading %s: %w", shown, redactErr(err, d.url))
		}
		want := http.StatusOK
		if offset > 0 {
			want = http.StatusPartialContent
		}
		if d.headOnly > 0 && resp.StatusCode == http.StatusPartialContent {
			want = http.StatusPartialContent // a probe may get its range, or the whole file
		}
		if resp.StatusCode != want {
			resp.Body.Close()
			if offset > 0 && resp.StatusCode == http.StatusOK {
				return fmt.Errorf("resuming %s at byte %d: the server sent the whole file again (the file may have changed)", shown, offset)
			}
			return &httpStatusError{URL: shown, Code: resp.StatusCode}
		}
		if offset > 0 {
			if !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", offset)) {
				resp.Body.Close()
				return fmt.Errorf("resuming %s at byte %d: the server answered range %q", shown, offset, resp.Header.Get("Content-Range"))
			}
		} else {
			d.unsized = resp.StatusCode == http.StatusOK && resp.ContentLength < 0
			d.size = resp.ContentLength
			d.rangeable = resp.Header.Get("Accept-Ranges") == "bytes" && d.size > 0
			d.validator = resp.Header.Get("ETag")
			if d.validator == "" || strings.HasPrefix(d.validator, "W/") {
				d.validator = resp.Header.Get("Last-Modified")
			}
		}
		d.body = resp.Body
		d.offset = offset
		return nil
	})
}

// maxResumes bounds how often one download picks up after a break.
const maxResumes = 10

func (d *download) Read(p []byte) (int, error) {
	for {
		n, err := d.body.Read(p)
		d.offset += int64(n)
		if err == io.EOF && d.size >= 0 && d.offset < d.size {
			err = io.ErrUnexpectedEOF
		}
		if err == nil || err == io.EOF {
			return n, err
		}
		if d.ctx.Err() != nil {
			return n, d.ctx.Err()
		}
		if !d.rangeable || d.resumes >= maxResumes || !transient(err) {
			return n, fmt.Errorf("downloading %s: %w after %d bytes", access.RedactURLString(d.url), redactErr(err, d.url), d.offset)
		}
		d.resumes++
		d.body.Close()
		log.Printf("[WARN] glance-import: download of %s broke after %d bytes (%v); resuming", access.RedactURLString(d.url), d.offset, err)
		if retry.SleepContext(d.ctx, retrySchedule[min(d.resumes, len(retrySchedule))-1]) != nil {
			return n, d.ctx.Err()
		}
		if cerr := d.connect(d.offset); cerr != nil {
			return n, cerr
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (d *download) Close() error {
	if d.body != nil {
		return d.body.Close()
	}
	return nil
}

// redactErr hides the URL's credentials in errors from net/http, which quote the URL.
// The cause stays reachable (errors.As, errors.Is) without the URL, so a refused
// or reset connection is still known as one and retried.
func redactErr(err error, raw string) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return &redactedError{msg: strings.ReplaceAll(uerr.Err.Error(), raw, access.RedactURLString(raw)), cause: uerr.Err}
	}
	return err
}

// redactedError is a download error whose text no longer holds the URL.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }

// fetchSmall reads a small file (a checksum list) from a URL or a local path.
func (s *Source) fetchSmall(ctx context.Context, where string) ([]byte, error) {
	const limit = 16 << 20
	if strings.HasPrefix(where, "http://") || strings.HasPrefix(where, "https://") {
		sub := &Source{Username: s.Username, Password: s.Password, Headers: s.Headers, HTTPClient: s.HTTPClient}
		// Credentials go only to the image's own host, by the image's own scheme
		// (never in clear over http when the image came over https).
		if su, err := url.Parse(s.URL); err != nil || s.URL == "" || !sameHost(su, where) {
			sub.Username, sub.Password, sub.Headers = "", "", nil
		}
		d := &download{ctx: ctx, src: sub, url: where, size: -1}
		if err := d.connect(0); err != nil {
			return nil, err
		}
		defer d.Close()
		return io.ReadAll(io.LimitReader(d, limit))
	}
	p := strings.TrimPrefix(where, "file://")
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

func sameHost(u *url.URL, other string) bool {
	o, err := url.Parse(other)
	return err == nil && strings.EqualFold(o.Host, u.Host) && strings.EqualFold(o.Scheme, u.Scheme)
}

// formatSize renders a byte count for humans.
func formatSize(n int64) string {
	if n < 0 {
		return "unknown size"
	}
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
