package retry

import (
	"context"
	"errors"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// DefaultBudget is how long one OpenStack call may keep retrying: long enough
// to ride out a service that restarts (a real glance-api or nova-api takes
// 20–60 s on a loaded machine), short enough that a cloud that is really down
// fails the build within minutes.
const DefaultBudget = 2 * time.Minute

// Policy is the one retry policy of every OpenStack call the plugin makes. It is
// installed on the session's provider client, so every service client (and
// Keystone's token and discovery requests) follows it; no caller retries on its
// own.
//
// A request is retried only when repeating it cannot do harm: GET, HEAD, PUT,
// PATCH and DELETE, token creation, Nova's os-stop and os-start actions,
// Cinder's os-set_image_metadata and Glance's member creation (a repeat answers
// 409, which the client accepts); and any request answered 429, which the
// service refused without acting on it. A body that cannot be rewound (a
// streamed upload) is never sent twice. The errors retried are 5xx answers, 429
// (after its Retry-After, capped), 409 on a DELETE (the resource is busy, e.g. a
// port still being released), broken connections, timeouts and truncated
// replies. No other 4xx is ever retried.
type Policy struct {
	// Budget bounds the time one call spends retrying; <= 0 means DefaultBudget.
	Budget time.Duration
	// First and Max shape the exponential backoff (defaults 500 ms and 15 s);
	// each delay is jittered down by up to half so that parallel builds do not
	// retry in step.
	First, Max time.Duration
	// MaxRetryAfter caps a server's Retry-After (default 30 s).
	MaxRetryAfter time.Duration

	mu       sync.Mutex
	started  map[*gophercloud.RequestOpts]time.Time
	loggedIn atomic.Bool
}

// FirstContactBudget bounds the retries of a refused connection until the
// session has logged in once: a wrong endpoint fails within seconds, while a
// service that restarts later in the build is ridden out with the full budget.
const FirstContactBudget = 5 * time.Second

// LoggedIn tells the policy the cloud has answered once.
func (p *Policy) LoggedIn() { p.loggedIn.Store(true) }

// Install makes the provider retry by this policy.
func (p *Policy) Install(provider *gophercloud.ProviderClient) {
	provider.RetryFunc = p.retry
	// 429 goes through RetryFunc too when no backoff function is set; gophercloud
	// would otherwise retry it up to 60 times on its own schedule.
	provider.RetryBackoffFunc = nil
}

func (p *Policy) budget() time.Duration {
	if p.Budget <= 0 {
		return DefaultBudget
	}
	return p.Budget
}

// retry is gophercloud's RetryFunc: nil means "send the request again".
func (p *Policy) retry(ctx context.Context, method, rawURL string, opts *gophercloud.RequestOpts, err error, failCount uint) error {
	if ctx.Err() != nil || !(Idempotent(method, rawURL, opts) || RateLimited(err)) || !Retryable(method, err) {
		p.forget(opts)
		return err
	}
	if opts != nil && opts.RawBody != nil {
		seeker, ok := opts.RawBody.(io.Seeker)
		if !ok {
			p.forget(opts)
			return err
		}
		if _, serr := seeker.Seek(0, io.SeekStart); serr != nil {
			p.forget(opts)
			return err
		}
	}
	elapsed := p.elapsed(opts)
	delay := p.delay(failCount, err)
	budget := p.budget()
	if !p.loggedIn.Load() && Refused(err) {
		budget = min(budget, FirstContactBudget)
	}
	if elapsed+delay > budget {
		p.forget(opts)
		log.Printf("[WARN] openstack: %s %s failed (%s); giving up after %d attempts in %s (api_retry_timeout %s)",
			method, redact(rawURL), short(err), failCount, elapsed.Round(time.Millisecond), budget)
		return err
	}
	log.Printf("[WARN] openstack: %s %s failed (%s); retry %d in %s", method, redact(rawURL), short(err), failCount, delay.Round(time.Millisecond))
	if SleepContext(ctx, delay) != nil {
		p.forget(opts)
		return err
	}
	countAttempt(ctx, err)
	return nil
}

// elapsed is the time since this call first failed. gophercloud passes the same
// options value through every attempt of one call, so it identifies the call.
func (p *Policy) elapsed(opts *gophercloud.RequestOpts) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.started == nil {
		p.started = map[*gophercloud.RequestOpts]time.Time{}
	}
	// Calls that ended with a success are never told to forget: drop old entries.
	for k, t := range p.started {
		if now.Sub(t) > 2*p.budget() {
			delete(p.started, k)
		}
	}
	t, ok := p.started[opts]
	if !ok {
		p.started[opts] = now
		return 0
	}
	return now.Sub(t)
}

func (p *Policy) forget(opts *gophercloud.RequestOpts) {
	p.mu.Lock()
	delete(p.started, opts)
	p.mu.Unlock()
}

// delay is the pause before attempt failCount+1: the server's Retry-After for a
// 429 or 503 when it gives one (capped), else exponential backoff with jitter.
func (p *Policy) delay(failCount uint, err error) time.Duration {
	first, maxDelay, maxAfter := p.First, p.Max, p.MaxRetryAfter
	if first <= 0 {
		first = 500 * time.Millisecond
	}
	if maxDelay <= 0 {
		maxDelay = 15 * time.Second
	}
	if maxAfter <= 0 {
		maxAfter = 30 * time.Second
	}
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) && code.ResponseHeader != nil {
		if d, ok := RetryAfter(code.ResponseHeader.Get("Retry-After"), time.Now()); ok {
			return min(d, maxAfter)
		}
	}
	d := first
	for i := uint(1); i < failCount && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	return d/2 + rand.N(d/2+1) //nolint:gosec // jitter, not security
}

// RetryAfter parses a Retry-After header: seconds, or an HTTP date.
func RetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// RateLimited reports a 429: the service refused the request before acting on
// it, so even a create may be sent again.
func RateLimited(err error) bool {
	return gophercloud.ResponseCodeIs(err, http.StatusTooManyRequests)
}

// Idempotent reports whether sending the request twice does no harm.
func Idempotent(method, rawURL string, opts *gophercloud.RequestOpts) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	case http.MethodPost:
	default:
		return false
	}
	path := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		path = u.Path
	}
	path = strings.TrimSuffix(path, "/")
	switch {
	case strings.HasSuffix(path, "/auth/tokens"):
		return true // a second token is as good as the first
	case strings.HasSuffix(path, "/members") && strings.Contains(path, "/images/"):
		return true // a repeated member creation answers 409, taken as done
	case strings.HasSuffix(path, "/action") && opts != nil:
		if body, ok := opts.JSONBody.(map[string]any); ok && len(body) == 1 {
			_, stop := body["os-stop"]
			_, start := body["os-start"]
			_, metadata := body["os-set_image_metadata"]
			_, forceDelete := body["forceDelete"]
			// A repeated stop or start answers 409 (already stopping), taken as
			// done; setting the same image metadata again changes nothing; a
			// repeated force delete finds the server deleting or gone (404).
			return stop || start || metadata || forceDelete
		}
	}
	return false
}

// Retryable reports whether the error of an idempotent request is worth another
// attempt.
func Retryable(method string, err error) bool {
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		switch {
		case code.Actual >= 500, code.Actual == http.StatusTooManyRequests:
			return true
		case code.Actual == http.StatusConflict:
			return method == http.MethodDelete
		}
		return false
	}
	return IsTransient(err)
}

func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<url>"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}

// short renders an error for a one-line log: the status of an HTTP answer, or
// the error text.
func short(err error) string {
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		return "HTTP " + strconv.Itoa(code.Actual)
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// attemptsKey carries an *Attempts through a request's context.
type attemptsKey struct{}

// Attempts counts the retries the policy made for the calls of one context.
type Attempts struct {
	mu     sync.Mutex
	n      int
	broken bool
}

// Broken reports whether a retried call had lost its connection (refused,
// reset, cut short) or got a 502 or 503, which a load balancer answers while
// no server is behind it: the service itself went away, as a restarting API
// server does.
func (a *Attempts) Broken() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.broken
}

// Retried reports whether any call made with the context was repeated.
func (a *Attempts) Retried() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n > 0
}

// Track returns a context whose calls count their retries in the returned
// Attempts. A DELETE answered 404 after a retry went through the first time:
// the client uses this to tell "gone" from "never there".
func Track(ctx context.Context) (context.Context, *Attempts) {
	a := &Attempts{}
	return context.WithValue(ctx, attemptsKey{}, a), a
}

func countAttempt(ctx context.Context, err error) {
	if a, ok := ctx.Value(attemptsKey{}).(*Attempts); ok {
		var code gophercloud.ErrUnexpectedResponseCode
		a.mu.Lock()
		a.n++
		if !errors.As(err, &code) || code.Actual == http.StatusBadGateway || code.Actual == http.StatusServiceUnavailable {
			a.broken = true
		}
		a.mu.Unlock()
	}
}
