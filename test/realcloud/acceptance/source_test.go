package acceptance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// sourcePorts are the ports the real Glance's web-download filter allows on 127.0.0.1, in the
// order tried: 8000 first, since the differential suite prefers 8080.
var sourcePorts = []int{8000, 8080, 80}

// sourceServer publishes image data on 127.0.0.1 for web-download and for the plugin's own
// downloads. Its answers carry a Content-Length (real Glance's web-download needs one) and honour
// Range requests, except for documents published chunked on purpose; unknown paths are 404. It
// records every request.
type sourceServer struct {
	base string
	srv  *http.Server
	mu   sync.Mutex
	docs map[string]*document
	seen map[string][]seenRequest
}

type document struct {
	data    []byte
	rate    int  // bytes per second; 0 = as fast as possible
	chunked bool // no Content-Length and no ranges: chunked transfer encoding
	// With user set: HTTP basic authentication with user and pass is required (else 401);
	// with header set: that header must carry headerValue (else 403).
	user, pass, header, headerValue string
}

type seenRequest struct {
	Method, Range, UserAgent string
	At                       time.Time
}

var (
	source     *sourceServer
	sourceOnce sync.Once
	sourceErr  error
)

// sourceFor returns the package's source server, starting it on first use.
func sourceFor(t *testing.T) *sourceServer {
	t.Helper()
	sourceOnce.Do(func() { source, sourceErr = startSource() })
	if sourceErr != nil {
		t.Fatal(sourceErr)
	}
	return source
}

func startSource() (*sourceServer, error) {
	var ln net.Listener
	var errs []string
	for _, p := range sourcePorts {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			ln = l
			break
		}
		errs = append(errs, err.Error())
	}
	if ln == nil {
		return nil, fmt.Errorf("no port for the web-download source (Glance allows only %v): %s", sourcePorts, strings.Join(errs, "; "))
	}
	s := &sourceServer{base: "http://" + ln.Addr().String(), docs: map[string]*document{}, seen: map[string][]seenRequest{}}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	go s.srv.Serve(ln) //nolint:errcheck // ends with Close
	return s, nil
}

func stopSource() {
	if source != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := source.srv.Shutdown(ctx); err != nil {
			source.srv.Close()
		}
	}
}

// add publishes data at path (which should be unique to the test) and returns its URL.
func (s *sourceServer) add(path string, data []byte) string {
	return s.addDoc(path, &document{data: data})
}

// addThrottled publishes data sent at rate bytes per second.
func (s *sourceServer) addThrottled(path string, data []byte, rate int) string {
	return s.addDoc(path, &document{data: data, rate: rate})
}

func (s *sourceServer) addDoc(path string, d *document) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[path] = d
	return s.base + path
}

// addChunked publishes data without a length (chunked transfer encoding, ranges ignored), as
// some servers stream generated files: real Glance's web-download cannot take it.
func (s *sourceServer) addChunked(path string, data []byte) string {
	return s.addDoc(path, &document{data: data, chunked: true})
}

// addProtected publishes data behind HTTP basic authentication and a required header.
func (s *sourceServer) addProtected(path string, data []byte, user, pass, header, value string) string {
	return s.addDoc(path, &document{data: data, user: user, pass: pass, header: header, headerValue: value})
}

// url is the address of path whether or not anything is published there.
func (s *sourceServer) url(path string) string { return s.base + path }

// requests returns what was asked for at path.
func (s *sourceServer) requests(path string) []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seenRequest(nil), s.seen[path]...)
}

func (s *sourceServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.seen[r.URL.Path] = append(s.seen[r.URL.Path], seenRequest{
		Method: r.Method, Range: r.Header.Get("Range"), UserAgent: r.UserAgent(), At: time.Now()})
	d := s.docs[r.URL.Path]
	s.mu.Unlock()
	if d == nil {
		http.NotFound(w, r)
		return
	}
	if d.user != "" {
		if u, pw, ok := r.BasicAuth(); !ok || u != d.user || pw != d.pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="images"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	if d.header != "" && r.Header.Get(d.header) != d.headerValue {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if d.chunked {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		for rest := d.data; len(rest) > 0; {
			n := min(len(rest), 64<<10)
			if _, err := w.Write(rest[:n]); err != nil {
				return
			}
			// Flushing before the end is what makes net/http send it chunked.
			w.(http.Flusher).Flush()
			rest = rest[n:]
		}
		return
	}
	var content io.ReadSeeker = bytes.NewReader(d.data)
	if d.rate > 0 {
		content = &slowReader{ctx: r.Context(), r: bytes.NewReader(d.data), rate: d.rate}
	}
	// A neutral type: the plugin must judge the data by its bytes, not by headers.
	w.Header().Set("Content-Type", "application/octet-stream")
	// ServeContent sets Content-Length and answers Range requests.
	http.ServeContent(w, r, "", time.Time{}, content)
}

// slowReader sends its data at a steady rate (bytes per second), whatever the size of the
// reads asking for it, and stops when the client goes away.
type slowReader struct {
	ctx   context.Context
	r     *bytes.Reader
	rate  int
	start time.Time
	sent  int64
}

func (s *slowReader) Read(p []byte) (int, error) {
	if s.start.IsZero() {
		s.start = time.Now()
	}
	// At most a tenth of a second's worth at a time, each part sent when it is due.
	if max := s.rate / 10; len(p) > max {
		p = p[:max]
	}
	due := s.start.Add(time.Duration(s.sent) * time.Second / time.Duration(s.rate))
	if wait := time.Until(due); wait > 0 {
		select {
		case <-s.ctx.Done():
			return 0, errors.New("client went away")
		case <-time.After(wait):
		}
	}
	n, err := s.r.Read(p)
	s.sent += int64(n)
	return n, err
}

func (s *slowReader) Seek(off int64, whence int) (int64, error) { return s.r.Seek(off, whence) }
