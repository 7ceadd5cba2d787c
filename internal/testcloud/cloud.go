package testcloud

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Cloud is one running emulator. All methods are safe for concurrent use.
type Cloud struct {
	opts    Options
	ln      net.Listener
	srv     *http.Server
	baseURL string

	// mu guards every piece of mutable state below and inside the regions. Handlers hold it only for
	// short bookkeeping; data streaming and archive work happen outside it.
	mu      sync.Mutex
	closed  bool
	ident   *identity
	regions map[string]*region
	faults  *faultSet
	reqlog  *requestLog

	dataDir    string
	ownDataDir bool

	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup
	timers   map[*time.Timer]struct{}

	ssh *sshFabric

	services map[string]http.Handler
	identity *router
}

// Start creates, seeds and starts a Cloud listening on 127.0.0.1.
func Start(opts Options) (*Cloud, error) {
	opts.applyDefaults()
	for _, m := range opts.ImportMethods {
		if !contains(importMethods, m) {
			return nil, fmt.Errorf("testcloud: import method %q is not one of %s", m, strings.Join(importMethods, ", "))
		}
	}
	c := &Cloud{
		opts:    opts,
		regions: map[string]*region{},
		faults:  newFaultSet(),
		reqlog:  &requestLog{},
		timers:  map[*time.Timer]struct{}{},
	}
	c.bgCtx, c.bgCancel = context.WithCancel(context.Background())
	if opts.DataDir == "" {
		dir, err := os.MkdirTemp("", "testcloud-")
		if err != nil {
			return nil, fmt.Errorf("testcloud: create data dir: %w", err)
		}
		c.dataDir, c.ownDataDir = dir, true
	} else {
		if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("testcloud: create data dir: %w", err)
		}
		c.dataDir = opts.DataDir
	}
	ln, err := net.Listen("tcp", opts.ListenAddr)
	if err != nil {
		c.cleanupDataDir()
		return nil, fmt.Errorf("testcloud: listen on %s: %w", opts.ListenAddr, err)
	}
	c.ln = ln
	c.baseURL = "http://" + ln.Addr().String()
	c.ident = newIdentity()
	for _, name := range opts.Regions {
		reg, err := c.newRegion(name)
		if err != nil {
			ln.Close()
			c.cleanupDataDir()
			return nil, err
		}
		c.regions[name] = reg
	}
	c.ssh, err = newSSHFabric(c)
	if err != nil {
		ln.Close()
		c.cleanupDataDir()
		return nil, err
	}
	c.identity = c.identityRouter()
	c.services = map[string]http.Handler{
		"image":   c.glanceRoutes(),
		"compute": c.novaRoutes(),
		"network": c.neutronRoutes(),
		"volume":  c.cinderRoutes(),
	}
	if !opts.NoSeed {
		if err := c.seed(); err != nil {
			ln.Close()
			c.ssh.close()
			c.cleanupDataDir()
			return nil, fmt.Errorf("testcloud: seed: %w", err)
		}
	}
	for _, f := range opts.Faults {
		if _, err := c.faults.add(f); err != nil {
			ln.Close()
			c.ssh.close()
			c.cleanupDataDir()
			return nil, fmt.Errorf("testcloud: %w", err)
		}
	}
	c.srv = &http.Server{Handler: c, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = c.srv.Serve(ln) }()
	return c, nil
}

// Close stops the HTTP and SSH servers, waits for background work and removes the data folder when
// the Cloud created it.
func (c *Cloud) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	for t := range c.timers {
		t.Stop()
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.srv.Shutdown(ctx)
	if err != nil {
		_ = c.srv.Close()
	}
	c.bgCancel()
	c.ssh.close()
	c.bg.Wait()
	c.cleanupDataDir()
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil // long-lived client connections were cut; that is fine for a test cloud
	}
	return err
}

func (c *Cloud) cleanupDataDir() {
	if c.ownDataDir {
		_ = os.RemoveAll(c.dataDir)
	}
}

// URL returns the base URL of the single HTTP listener, e.g. http://127.0.0.1:PORT.
func (c *Cloud) URL() string { return c.baseURL }

// AuthURL returns the Keystone v3 URL.
func (c *Cloud) AuthURL() string { return c.baseURL + "/identity/v3" }

// ControlURL returns the base of the control API (faults, leaks, requests).
func (c *Cloud) ControlURL() string { return c.baseURL + "/_testcloud" }

// DefaultRegion is the first configured region.
func (c *Cloud) DefaultRegion() string { return c.opts.Regions[0] }

// after runs fn under the cloud lock once d has passed, unless the cloud was closed meanwhile.
// Callers hold c.mu.
func (c *Cloud) after(d time.Duration, fn func()) {
	if c.closed {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.timers, t)
		if c.closed {
			return
		}
		fn()
	})
	c.timers[t] = struct{}{}
}

// goBackground runs fn in a goroutine that Close waits for. fn gets a context cancelled by Close.
func (c *Cloud) goBackground(fn func(ctx context.Context)) {
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		fn(c.bgCtx)
	}()
}

var serviceInterfaces = []string{"public", "internal", "admin"}

// serviceURL is the catalog URL of one service in one region and interface.
func (c *Cloud) serviceURL(region, iface, service string) string {
	return fmt.Sprintf("%s/%s/%s/%s", c.baseURL, region, iface, service)
}

// ServeHTTP routes /identity, /_testcloud and /{region}/{interface}/{service}/... requests.
func (c *Cloud) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	// Every OpenStack API stamps a request ID; clients log it.
	w.Header().Set("X-Openstack-Request-Id", "req-"+newUUID())
	rc := &reqCtx{cloud: c, started: time.Now(), acceptJSON: acceptsJSON(r.Header.Get("Accept"))}
	path := r.URL.Path
	// Logged on the way out, also when a handler aborts the connection (panic with ErrAbortHandler).
	defer func() {
		if rc.service == "control" {
			return
		}
		status := rec.code()
		if p := recover(); p != nil {
			status = 0 // no answer: the connection was broken
			defer panic(p)
		}
		c.reqlog.add(Request{
			Time:      rc.started,
			Service:   rc.service,
			Op:        rc.op,
			Method:    r.Method,
			Path:      path,
			Query:     r.URL.RawQuery,
			Status:    status,
			Region:    rc.region,
			Interface: rc.iface,

			ContentLength: r.ContentLength,
			Headers:       openstackHeaders(r.Header),
			ImportTask:    rc.importTask,
		})
	}()
	switch {
	case path == "/" || path == "":
		rc.service = "root"
		c.serveRoot(rec, r)
	case path == "/identity" || strings.HasPrefix(path, "/identity/"):
		rc.service = "identity"
		c.serveIdentity(rec, r, rc, strings.TrimPrefix(path, "/identity"))
	case strings.HasPrefix(path, "/_testcloud/") || path == "/_testcloud":
		rc.service = "control"
		c.serveControl(rec, r, strings.TrimPrefix(path, "/_testcloud"))
	default:
		c.serveService(rec, r, rc)
	}
}

// serveService splits /{region}/{interface}/{service}/rest and dispatches rest to the service's router.
func (c *Cloud) serveService(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 4)
	if len(parts) < 3 {
		http.NotFound(w, r)
		return
	}
	region, iface, service := parts[0], parts[1], parts[2]
	rest := "/"
	if len(parts) == 4 {
		rest = "/" + parts[3]
	}
	c.mu.Lock()
	reg := c.regions[region]
	c.mu.Unlock()
	h, ok := c.services[service]
	if reg == nil || !ok || !validInterface(iface) {
		http.NotFound(w, r)
		return
	}
	rc.service, rc.region, rc.iface, rc.reg = service, region, iface, reg
	rc.prefix = fmt.Sprintf("%s/%s/%s/%s", c.baseURL, region, iface, service)
	r2 := r.Clone(withReqCtx(r.Context(), rc))
	r2.URL.Path = rest
	r2.URL.RawPath = ""
	h.ServeHTTP(w, r2)
}

func validInterface(s string) bool {
	for _, i := range serviceInterfaces {
		if i == s {
			return true
		}
	}
	return false
}

func (c *Cloud) serveRoot(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"testcloud": map[string]any{
			"auth_url": c.AuthURL(),
			"control":  c.ControlURL(),
			"regions":  c.opts.Regions,
		},
	})
}
