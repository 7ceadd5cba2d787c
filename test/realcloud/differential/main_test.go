package differential

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Configuration, all from the environment so the same suite runs against any cloud:
//
//	DIFF_CLOUDS_YAML    path of the clouds.yaml (unset: the whole suite is skipped)
//	DIFF_CLOUD          cloud of a non-admin user with role member in its project (default realcloud)
//	DIFF_ADMIN_CLOUD    cloud of an admin (default DIFF_CLOUD + "-admin")
//	DIFF_APPCRED_CLOUD  cloud using a v3applicationcredential of the member (default DIFF_CLOUD +
//	                    "-appcred"; its tests are skipped when the entry does not exist)
//	DIFF_ALT_CLOUD      cloud of a second non-admin user in another project, the image-member side
//	                    (default DIFF_CLOUD + "-alt"; member listing checks are skipped without it)
//	DIFF_WEB_PORT       port on 127.0.0.1 for the web-download source (default: 8080, or 8000 when
//	                    8080 is taken; Glance's filter on the real cloud allows 80, 443, 8000, 8080)
type suiteConfig struct {
	demo, admin, appcred, alt *cloudConfig
	webPort                   string
	runID                     string
}

var (
	cfg      *suiteConfig
	cfgErr   error
	cfgOnce  sync.Once
	sessOnce sync.Once
	demoS    *session
	adminS   *session
)

func loadConfig() {
	path := os.Getenv("DIFF_CLOUDS_YAML")
	if path == "" {
		return
	}
	clouds, err := loadClouds(path)
	if err != nil {
		cfgErr = err
		return
	}
	name := env("DIFF_CLOUD", "realcloud")
	c := &suiteConfig{
		demo:    clouds[name],
		admin:   clouds[env("DIFF_ADMIN_CLOUD", name+"-admin")],
		appcred: clouds[env("DIFF_APPCRED_CLOUD", name+"-appcred")],
		alt:     clouds[env("DIFF_ALT_CLOUD", name+"-alt")],
		webPort: os.Getenv("DIFF_WEB_PORT"),
		runID:   fmt.Sprintf("diff-%d", time.Now().UnixNano()%1_000_000_000),
	}
	if c.demo == nil || c.admin == nil {
		cfgErr = fmt.Errorf("%s: need clouds %q and its admin cloud (DIFF_ADMIN_CLOUD)", path, name)
		return
	}
	cfg = c
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// setup skips the test when no cloud is configured and returns the member and admin sessions.
func setup(t *testing.T) (demo, admin *session) {
	t.Helper()
	cfgOnce.Do(loadConfig)
	if cfgErr != nil {
		t.Fatal(cfgErr)
	}
	if cfg == nil {
		t.Skip("DIFF_CLOUDS_YAML not set: no cloud to check (see test/realcloud/README.md)")
	}
	sessOnce.Do(func() {
		demoS = newSession(t, cfg.demo)
		adminS = newSession(t, cfg.admin)
	})
	if demoS == nil || adminS == nil {
		t.Fatal("authentication failed earlier")
	}
	return demoS, adminS
}

// name gives a unique image name for this run, so concurrent runs and leftovers never collide.
func name(parts ...string) string {
	return cfg.runID + "-" + strings.Join(parts, "-")
}

// createImage creates an image as s and deletes it (as admin, unprotecting first) when the test
// ends.
func createImage(t *testing.T, s *session, body map[string]any) map[string]any {
	t.Helper()
	r := s.Do(t, "POST", "/v2/images", body, nil)
	expectStatus(t, r, 201)
	img := r.JSON()
	id := str(img, "id")
	t.Cleanup(func() { deleteImage(t, id) })
	return img
}

func deleteImage(t *testing.T, id string) {
	r := adminS.Do(t, "GET", "/v2/images/"+id, nil, nil)
	if r.Status == 404 {
		return
	}
	if r.JSON()["protected"] == true {
		adminS.Patch(t, "/v2/images/"+id, map[string]any{"op": "replace", "path": "/protected", "value": false})
	}
	// Glance answers a delete racing its own bookkeeping (an import task finishing) with a 500.
	for wait := 250 * time.Millisecond; ; wait *= 2 {
		r = adminS.Do(t, "DELETE", "/v2/images/"+id, nil, nil)
		if r.Status < 500 || wait > 4*time.Second {
			break
		}
		time.Sleep(wait)
	}
	if r.Status != 204 && r.Status != 404 {
		t.Logf("cleanup of image %s: %s", id, r)
	}
}

// getImage fetches an image as s and expects 200.
func getImage(t *testing.T, s *session, id string) map[string]any {
	t.Helper()
	r := s.Do(t, "GET", "/v2/images/"+id, nil, nil)
	expectStatus(t, r, 200)
	return r.JSON()
}

// waitImage polls (every 250 ms, at most timeout) until cond holds for the image.
func waitImage(t *testing.T, s *session, id string, timeout time.Duration, what string, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		img := getImage(t, s, id)
		if cond(img) {
			return img
		}
		if time.Now().After(deadline) {
			t.Fatalf("image %s: not %s after %s (status %v, properties %v)", id, what, timeout, img["status"], importProps(img))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// importProps picks the os_glance_* bookkeeping fields Glance shows during and after imports.
func importProps(img map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range img {
		if strings.HasPrefix(k, "os_glance_") {
			out[k] = v
		}
	}
	return out
}
