package retry

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// scripted serves the statuses in order (the last one repeats) and records
// each request's method, path and body.
type scripted struct {
	mu       sync.Mutex
	statuses []int
	headers  map[int]http.Header
	seen     []string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.seen)
	s.seen = append(s.seen, r.Method+" "+r.URL.Path+" "+string(body))
	status := s.statuses[min(n, len(s.statuses)-1)]
	for k, v := range s.headers[n] {
		w.Header()[k] = v
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status < 300 && status != http.StatusNoContent {
		io.WriteString(w, `{}`)
	}
}

func (s *scripted) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// client is a service client on a provider that follows p, as a session's is.
func client(t *testing.T, p *Policy, h http.Handler) *gophercloud.ServiceClient {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	provider := &gophercloud.ProviderClient{HTTPClient: http.Client{}}
	p.Install(provider)
	p.LoggedIn()
	return &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: srv.URL + "/"}
}

func quick() *Policy { return &Policy{First: time.Millisecond, Max: 5 * time.Millisecond} }

func TestPolicyRetriesIdempotentCallsOnTransientAnswers(t *testing.T) {
	cases := []struct {
		name     string
		statuses []int
		call     func(c *gophercloud.ServiceClient) error
		want     int // requests sent
		ok       bool
	}{
		{"GET 503, 502, then 200", []int{503, 502, 200}, get("v2/images"), 3, true},
		{"GET 404 is final", []int{404, 200}, get("v2/images/x"), 1, false},
		{"GET 400 is final", []int{400, 200}, get("v2/images"), 1, false},
		{"PATCH 500 then 200", []int{500, 200}, patch("v2/images/x"), 2, true},
		{"PATCH 409 is final", []int{409, 200}, patch("v2/images/x"), 1, false},
		{"DELETE 409 (busy) then 204", []int{409, 204}, del("v2.0/security-groups/x"), 2, true},
		{"DELETE 503 then 204", []int{503, 204}, del("v2/images/x"), 2, true},
		{"POST create 503 is never repeated", []int{503, 201}, post("v2.1/servers", map[string]any{"server": map[string]any{}}), 1, false},
		{"POST create 429 (refused) then 202", []int{429, 202}, post("v2.1/servers", map[string]any{"server": map[string]any{}}), 2, true},
		{"POST create 400 is final", []int{400, 202}, post("v2.0/security-group-rules", map[string]any{"security_group_rule": map[string]any{}}), 1, false},
		{"POST os-set_image_metadata 502 then 200", []int{502, 200}, post("v3/p/volumes/v/action", map[string]any{"os-set_image_metadata": map[string]any{}}), 2, true},
		{"POST forceDelete 503 then 202", []int{503, 202}, post("v2.1/servers/s/action", map[string]any{"forceDelete": ""}), 2, true},
		{"POST os-volume_upload_image 503 is never repeated", []int{503, 202}, post("v3/p/volumes/v/action", map[string]any{"os-volume_upload_image": map[string]any{}}), 1, false},
		{"POST token 503 then 201", []int{503, 201}, post("v3/auth/tokens", map[string]any{"auth": map[string]any{}}), 2, true},
		{"POST os-stop 503 then 202", []int{503, 202}, post("v2.1/servers/s/action", map[string]any{"os-stop": nil}), 2, true},
		{"POST os-start 429 then 202", []int{429, 202}, post("v2.1/servers/s/action", map[string]any{"os-start": nil}), 2, true},
		{"POST createImage 503 is never repeated", []int{503, 202}, post("v2.1/servers/s/action", map[string]any{"createImage": map[string]any{}}), 1, false},
		{"POST member 500 then 200", []int{500, 200}, post("v2/images/x/members", map[string]any{"member": "p"}), 2, true},
		{"PUT seekable body 503 then 204", []int{503, 204}, putBody("v2/images/x/file", bytes.NewReader([]byte("data"))), 2, true},
		{"PUT stream 503 is never repeated", []int{503, 204}, putBody("v2/images/x/file", io.MultiReader(strings.NewReader("data"))), 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &scripted{statuses: tc.statuses}
			err := tc.call(client(t, quick(), s))
			if got := len(s.calls()); got != tc.want {
				t.Errorf("%d requests, want %d: %v", got, tc.want, s.calls())
			}
			if (err == nil) != tc.ok {
				t.Errorf("err = %v, want success %v", err, tc.ok)
			}
		})
	}
}

func TestPolicyResendsTheWholeSeekableBody(t *testing.T) {
	s := &scripted{statuses: []int{503, 204}}
	if err := putBody("v2/images/x/file", bytes.NewReader([]byte("all of it")))(client(t, quick(), s)); err != nil {
		t.Fatal(err)
	}
	if calls := s.calls(); len(calls) != 2 || !strings.HasSuffix(calls[1], " all of it") {
		t.Errorf("second attempt sent %q", calls)
	}
}

func TestPolicyHonoursRetryAfterAndCapsIt(t *testing.T) {
	s := &scripted{statuses: []int{429, 200}, headers: map[int]http.Header{0: {"Retry-After": {"1"}}}}
	start := time.Now()
	if err := get("v2/images")(client(t, quick(), s)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("retried after %s, before the 1 s Retry-After", took)
	}
	capped := &scripted{statuses: []int{503, 200}, headers: map[int]http.Header{0: {"Retry-After": {"3600"}}}}
	p := quick()
	p.MaxRetryAfter = 50 * time.Millisecond
	start = time.Now()
	if err := get("v2/images")(client(t, p, capped)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("an hour's Retry-After was not capped: %s", took)
	}
}

func TestPolicyGivesUpWhenTheBudgetIsSpent(t *testing.T) {
	s := &scripted{statuses: []int{503}}
	p := &Policy{Budget: 200 * time.Millisecond, First: 20 * time.Millisecond, Max: 40 * time.Millisecond}
	start := time.Now()
	err := get("v2/images")(client(t, p, s))
	if !gophercloud.ResponseCodeIs(err, 503) {
		t.Fatalf("err = %v, want the last 503", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("kept retrying for %s with a 200 ms budget", took)
	}
	if n := len(s.calls()); n < 3 {
		t.Errorf("only %d attempts within the budget", n)
	}
}

func TestPolicyStopsWhenTheContextEnds(t *testing.T) {
	s := &scripted{statuses: []int{503}}
	c := client(t, &Policy{First: time.Hour, Max: time.Hour}, s)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Get(ctx, c.ServiceURL("v2/images"), nil, nil)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("err = %v after %s: a cancelled wait must end the call", err, time.Since(start))
	}
}

func TestTrackCountsRetries(t *testing.T) {
	s := &scripted{statuses: []int{500, 404}}
	c := client(t, quick(), s)
	ctx, attempts := Track(context.Background())
	_, err := c.Delete(ctx, c.ServiceURL("v2/images/x"), nil)
	if !gophercloud.ResponseCodeIs(err, 404) || !attempts.Retried() {
		t.Errorf("err = %v, retried = %v; want the 404 of a retried call", err, attempts.Retried())
	}
	ctx, attempts = Track(context.Background())
	s2 := &scripted{statuses: []int{404}}
	c2 := client(t, quick(), s2)
	if _, err := c2.Delete(ctx, c2.ServiceURL("v2/images/x"), nil); !gophercloud.ResponseCodeIs(err, 404) || attempts.Retried() {
		t.Errorf("a first-attempt 404 counted as retried (%v)", err)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"7": 7 * time.Second, "0": 0, "Sat, 05 Dec 2026 12:00:30 GMT": 30 * time.Second, "Sat, 05 Dec 2026 11:00:00 GMT": 0,
	} {
		if got, ok := RetryAfter(in, now); !ok || got != want {
			t.Errorf("RetryAfter(%q) = %s, %v; want %s", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "soon", "-3"} {
		if _, ok := RetryAfter(bad, now); ok {
			t.Errorf("RetryAfter(%q) accepted", bad)
		}
	}
}

func get(path string) func(*gophercloud.ServiceClient) error {
	return func(c *gophercloud.ServiceClient) error {
		_, err := c.Get(context.Background(), c.ServiceURL(path), nil, nil)
		return err
	}
}

func patch(path string) func(*gophercloud.ServiceClient) error {
	return func(c *gophercloud.ServiceClient) error {
		_, err := c.Patch(context.Background(), c.ServiceURL(path), map[string]any{}, nil, &gophercloud.RequestOpts{OkCodes: []int{200}})
		return err
	}
}

func del(path string) func(*gophercloud.ServiceClient) error {
	return func(c *gophercloud.ServiceClient) error {
		_, err := c.Delete(context.Background(), c.ServiceURL(path), nil)
		return err
	}
}

func post(path string, body map[string]any) func(*gophercloud.ServiceClient) error {
	return func(c *gophercloud.ServiceClient) error {
		_, err := c.Post(context.Background(), c.ServiceURL(path), body, nil, &gophercloud.RequestOpts{OkCodes: []int{200, 201, 202}})
		return err
	}
}

func putBody(path string, body io.Reader) func(*gophercloud.ServiceClient) error {
	return func(c *gophercloud.ServiceClient) error {
		_, err := c.Put(context.Background(), c.ServiceURL(path), nil, nil, &gophercloud.RequestOpts{RawBody: body, OkCodes: []int{204}})
		return err
	}
}

// A retried call counts as "the service went away" when its connection broke
// or a load balancer answered 502/503 for it; a 500 or a 429 is an answer of
// the service itself.
func TestAttemptsTellAServiceThatWentAway(t *testing.T) {
	for _, c := range []struct {
		err    error
		broken bool
	}{
		{gophercloud.ErrUnexpectedResponseCode{Actual: 500}, false},
		{gophercloud.ErrUnexpectedResponseCode{Actual: 429}, false},
		{gophercloud.ErrUnexpectedResponseCode{Actual: 503}, true},
		{gophercloud.ErrUnexpectedResponseCode{Actual: 502}, true},
		{syscall.ECONNREFUSED, true},
	} {
		ctx, a := Track(context.Background())
		countAttempt(ctx, c.err)
		if !a.Retried() || a.Broken() != c.broken {
			t.Errorf("after %v: retried %t, broken %t; want broken %t", c.err, a.Retried(), a.Broken(), c.broken)
		}
	}
}
