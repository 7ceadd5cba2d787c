package testcloud

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Request is one entry of the request log. Control API calls are not logged.
type Request struct {
	Time      time.Time `json:"time"`
	Service   string    `json:"service"` // identity, image, compute, network, volume, root
	Op        string    `json:"op"`      // operation name, as used by faults
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Query     string    `json:"query,omitempty"`
	Status    int       `json:"status"`
	Region    string    `json:"region,omitempty"`    // empty for identity
	Interface string    `json:"interface,omitempty"` // public, internal or admin; empty for identity

	// ContentLength is the request's declared body length: -1 for a chunked body, 0 for none.
	ContentLength int64 `json:"content_length,omitempty"`
	// Headers holds the request's OpenStack headers (names starting with OpenStack- or X-OpenStack-,
	// such as X-Openstack-Image-Size or OpenStack-API-Version), in Go's canonical form. Tokens and
	// other headers are left out.
	Headers map[string]string `json:"headers,omitempty"`
	// ImportTask is the ID of the import task that held the image the call named when it was
	// served (its os_glance_import_task). On Glance, a change made then races the task's own updates.
	ImportTask string `json:"import_task,omitempty"`
}

// openstackHeaders picks the OpenStack headers of a request for the log.
func openstackHeaders(h http.Header) map[string]string {
	var out map[string]string
	for k, v := range h {
		if strings.HasPrefix(k, "Openstack-") || strings.HasPrefix(k, "X-Openstack-") {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = strings.Join(v, ", ")
		}
	}
	return out
}

// maxLoggedRequests bounds the log so that a long standalone run cannot grow without limit.
const maxLoggedRequests = 100000

type requestLog struct {
	mu   sync.Mutex
	reqs []Request
}

func (l *requestLog) add(r Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.reqs) >= maxLoggedRequests {
		l.reqs = append(l.reqs[:0], l.reqs[len(l.reqs)/2:]...)
	}
	l.reqs = append(l.reqs, r)
}

// Requests returns a copy of the request log, oldest first.
func (c *Cloud) Requests() []Request {
	c.reqlog.mu.Lock()
	defer c.reqlog.mu.Unlock()
	return append([]Request(nil), c.reqlog.reqs...)
}

// ResetRequests empties the request log.
func (c *Cloud) ResetRequests() {
	c.reqlog.mu.Lock()
	defer c.reqlog.mu.Unlock()
	c.reqlog.reqs = nil
}

// CountRequests counts logged requests of one operation (e.g. "image.get").
func (c *Cloud) CountRequests(op string) int {
	n := 0
	for _, r := range c.Requests() {
		if r.Op == op {
			n++
		}
	}
	return n
}

func readAllLimited(r io.Reader, n int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, n))
}
