package testcloud

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path"
	"strconv"
	"sync"
	"time"
)

// Fault makes one operation misbehave. Operations are named service-style, e.g. image.create,
// server.stop or floatingip.create (see docs/testcloud.md); Op may be a glob such as "server.*".
//
// When a matching call "fires" (every call; or only the Nth; or Percent of calls; at most Times times):
//   - Latency delays the call first;
//   - Status (with Action empty) answers that HTTP status in the service's error shape, with
//     Retry-After for 429 and 503 when RetryAfter is set;
//   - Action "expire_token" expires the caller's token and answers 401;
//   - Action "lose_reply" lets the operation happen, then answers Status (default 504) instead of
//     its reply, as a proxy that timed out would: the client cannot know the operation took place;
//   - the state actions change what the operation does instead of answering an error:
//     "error" (server/volume ends in ERROR/error), "fail" (an upload, import, snapshot or volume upload
//     fails asynchronously), "kill" (the image ends killed), "hold" (the resource stays in its
//     transitional state forever), "drop" (SSH connections are cut: ops ssh.connect, ssh.exec) and
//     "cut" (image.upload, image.download: the connection breaks half way through the data).
type Fault struct {
	ID         string   `json:"id,omitempty"`
	Op         string   `json:"op"`
	Region     string   `json:"region,omitempty"`
	Status     int      `json:"status,omitempty"`
	Message    string   `json:"message,omitempty"`
	RetryAfter int      `json:"retry_after,omitempty"`
	Latency    Duration `json:"latency,omitempty"`
	Nth        int      `json:"nth,omitempty"`
	Percent    float64  `json:"percent,omitempty"`
	Times      int      `json:"times,omitempty"`
	Action     string   `json:"action,omitempty"`

	// Read-only counters: calls that matched, and how often the fault fired.
	Calls int `json:"calls"`
	Fired int `json:"fired"`
}

// Fault actions.
const (
	ActionExpireToken = "expire_token"
	ActionError       = "error"
	ActionFail        = "fail"
	ActionKill        = "kill"
	ActionHold        = "hold"
	ActionDrop        = "drop"
	ActionLoseReply   = "lose_reply"
	ActionCut         = "cut"
)

func (f *Fault) httpKind() bool {
	return f.Action == "" || f.Action == ActionExpireToken || f.Action == ActionLoseReply
}

func (f *Fault) validate() error {
	if f.Op == "" {
		return fmt.Errorf("fault: op is required")
	}
	if _, err := path.Match(f.Op, "x"); err != nil {
		return fmt.Errorf("fault: bad op pattern %q: %w", f.Op, err)
	}
	switch f.Action {
	case "", ActionExpireToken, ActionError, ActionFail, ActionKill, ActionHold, ActionDrop, ActionLoseReply, ActionCut:
	default:
		return fmt.Errorf("fault: unknown action %q", f.Action)
	}
	if f.Action == "" && f.Status == 0 && f.Latency == 0 {
		return fmt.Errorf("fault: set status, latency or action")
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return fmt.Errorf("fault: status %d is not an error status", f.Status)
	}
	if f.Percent < 0 || f.Percent > 100 {
		return fmt.Errorf("fault: percent must be within 0..100")
	}
	return nil
}

// Duration is a time.Duration that reads "250ms"-style strings or a number of milliseconds from JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("duration must be a string like \"250ms\" or milliseconds")
	}
	*d = Duration(time.Duration(ms * float64(time.Millisecond)))
	return nil
}

type faultSet struct {
	mu     sync.Mutex
	faults []*Fault
	next   int
}

func newFaultSet() *faultSet { return &faultSet{} }

// AddFault installs a fault and returns its ID. It panics on an invalid fault, since that is a test bug;
// the HTTP API answers 400 instead.
func (c *Cloud) AddFault(f Fault) string {
	id, err := c.faults.add(f)
	if err != nil {
		panic(err)
	}
	return id
}

// RemoveFault removes one fault; it reports whether it existed.
func (c *Cloud) RemoveFault(id string) bool { return c.faults.remove(id) }

// ClearFaults removes every fault.
func (c *Cloud) ClearFaults() { c.faults.clear() }

// Faults lists the installed faults with their counters.
func (c *Cloud) Faults() []Fault { return c.faults.list() }

func (fs *faultSet) add(f Fault) (string, error) {
	if err := f.validate(); err != nil {
		return "", err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.next++
	f.ID = "fault-" + strconv.Itoa(fs.next)
	f.Calls, f.Fired = 0, 0
	fs.faults = append(fs.faults, &f)
	return f.ID, nil
}

func (fs *faultSet) remove(id string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.faults {
		if f.ID == id {
			fs.faults = append(fs.faults[:i], fs.faults[i+1:]...)
			return true
		}
	}
	return false
}

func (fs *faultSet) clear() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = nil
}

func (fs *faultSet) list() []Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]Fault, 0, len(fs.faults))
	for _, f := range fs.faults {
		out = append(out, *f)
	}
	return out
}

// fire counts a call of op in region against the faults of the wanted kind and returns copies of
// those that fire.
func (fs *faultSet) fire(op, region string, httpKind bool) []Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var out []Fault
	for _, f := range fs.faults {
		if f.httpKind() != httpKind {
			continue
		}
		if ok, _ := path.Match(f.Op, op); !ok {
			continue
		}
		if f.Region != "" && region != "" && f.Region != region {
			continue
		}
		f.Calls++
		if f.Times > 0 && f.Fired >= f.Times {
			continue
		}
		fires := true
		switch {
		case f.Nth > 0:
			fires = f.Calls == f.Nth
		case f.Percent > 0:
			fires = rand.Float64()*100 < f.Percent
		}
		if fires {
			f.Fired++
			out = append(out, *f)
		}
	}
	return out
}

// stateFault returns the state action that fires for op in region ("" when none).
func (c *Cloud) stateFault(op, region string) (action, message string) {
	fired := c.faults.fire(op, region, false)
	if len(fired) == 0 {
		return "", ""
	}
	f := fired[0]
	if f.Message == "" {
		f.Message = "injected fault: " + f.Action + " on " + op
	}
	return f.Action, f.Message
}

// applyHTTPFaults applies latency, error statuses and token expiry. It reports whether it answered
// the call, or returns a lose_reply fault, whose answer replaces the handler's once the handler ran.
func (c *Cloud) applyHTTPFaults(w http.ResponseWriter, r *http.Request, rc *reqCtx) (answered bool, lose *Fault) {
	for _, f := range c.faults.fire(rc.op, rc.region, true) {
		if f.Latency > 0 {
			select {
			case <-time.After(time.Duration(f.Latency)):
			case <-r.Context().Done():
				return true, nil
			}
		}
		if f.Action == ActionLoseReply {
			lose = &f
			continue
		}
		if f.Action == ActionExpireToken {
			c.mu.Lock()
			if t := c.ident.tokens[r.Header.Get("X-Auth-Token")]; t != nil {
				t.expired = true
			}
			c.mu.Unlock()
			rc.fail(w, http.StatusUnauthorized, unauthorizedMsg)
			return true, nil
		}
		if f.Status != 0 {
			if f.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
			}
			msg := f.Message
			if msg == "" {
				msg = fmt.Sprintf("injected fault on %s: %s", rc.op, http.StatusText(f.Status))
			}
			// Drain a small body so that the client sees the answer instead of a reset connection.
			if r.ContentLength >= 0 && r.ContentLength < 1<<20 && r.Body != nil {
				_, _ = readAllLimited(r.Body, 1<<20)
			}
			rc.fail(w, f.Status, "%s", msg)
			return true, nil
		}
	}
	return false, lose
}

// serveWithFaults applies the call's HTTP faults (rc.op names it), then serves it with serve. A
// lose_reply fault lets serve act but drops its reply for the fault's answer.
func (c *Cloud) serveWithFaults(w http.ResponseWriter, r *http.Request, rc *reqCtx, serve func(http.ResponseWriter)) {
	answered, lose := c.applyHTTPFaults(w, r, rc)
	switch {
	case answered:
	case lose != nil:
		serve(&discardWriter{})
		loseReply(w, rc, lose)
	default:
		serve(w)
	}
}

// loseReply answers a call whose handler already ran as a proxy that lost the reply would.
func loseReply(w http.ResponseWriter, rc *reqCtx, f *Fault) {
	status := f.Status
	if status == 0 {
		status = http.StatusGatewayTimeout
	}
	msg := f.Message
	if msg == "" {
		msg = fmt.Sprintf("injected fault on %s: the reply was lost after the operation", rc.op)
	}
	rc.fail(w, status, "%s", msg)
}

// discardWriter takes a handler's reply and drops it.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
