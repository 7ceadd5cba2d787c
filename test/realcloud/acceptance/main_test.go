package acceptance

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
)

// namePrefix starts the name of every image the tests create, so that leftovers of any run
// can be recognised.
const namePrefix = "racc-"

// staleAfter is how old another run's leftovers must be before a run deletes them: a run of
// this tier in another checkout may be going on at the same time.
const staleAfter = 2 * time.Hour

// realEnv is what every test shares: the clouds and logged-in identities.
type realEnv struct {
	cloudsYAML string
	clouds     map[string]*cloudEntry
	appCred    map[string]string // appcred.env
	demo       *identity
	admin      *identity
	alt        *identity
	runID      string // namePrefix + time + random, unique per run
}

var (
	env      realEnv
	envOnce  sync.Once
	envError error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if env.admin != nil {
		if err := sweep(env.runID); err != nil {
			fmt.Fprintln(os.Stderr, "acceptance: final sweep:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	stopSource()
	acctest.Cleanup()
	os.Exit(code)
}

// setup skips the test unless the tier was asked for, and returns the shared environment. Every
// top-level test calls it first, and runs in parallel with the others: most of the tier's time
// is spent waiting on Glance (one test waits out a token), not computing.
func setup(t *testing.T) *realEnv {
	t.Helper()
	acctest.Skip(t)
	path := os.Getenv("REALCLOUD_CLOUDS_YAML")
	if path == "" {
		t.Skip("real-cloud acceptance test: set REALCLOUD_CLOUDS_YAML (make realcloud-acceptance does)")
	}
	t.Parallel()
	envOnce.Do(func() { envError = loadEnv(path) })
	if envError != nil {
		t.Fatal(envError)
	}
	return &env
}

func loadEnv(path string) error {
	clouds, err := loadClouds(path)
	if err != nil {
		return err
	}
	credFile := os.Getenv("REALCLOUD_APPCRED_ENV")
	if credFile == "" {
		credFile = filepath.Join(filepath.Dir(path), "appcred.env")
	}
	cred, err := loadEnvFile(credFile)
	if err != nil {
		return fmt.Errorf("application credential file: %w", err)
	}
	e := realEnv{cloudsYAML: path, clouds: clouds, appCred: cred}
	for _, who := range []struct {
		cloud string
		into  **identity
	}{{cloudDemo, &e.demo}, {cloudAdmin, &e.admin}, {cloudAlt, &e.alt}} {
		if *who.into, err = newIdentity(who.cloud, clouds[who.cloud]); err != nil {
			return err
		}
	}
	rnd := make([]byte, 3)
	if _, err := rand.Read(rnd); err != nil {
		return err
	}
	e.runID = namePrefix + strconv.FormatInt(time.Now().Unix(), 36) + hex.EncodeToString(rnd) + "-"
	env = e
	sweepStale()
	return nil
}

// runStamp reads the creation time encoded in a run prefix ("racc-<base36 unix time><6 hex>-").
var runStamp = regexp.MustCompile(`^` + namePrefix + `([0-9a-z]+)[0-9a-f]{6}-`)

// sweepStale deletes what runs that ended badly (killed, timed out) left behind, once it is old
// enough not to belong to a run still going on elsewhere.
func sweepStale() {
	imgs, err := env.admin.imagesWithPrefix(namePrefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, "acceptance: listing stale images:", err)
		return
	}
	for _, img := range imgs {
		m := runStamp.FindStringSubmatch(img.Name)
		if m == nil {
			continue
		}
		// The random part is hex, which base 36 also reads: take the time without it.
		sec, err := strconv.ParseInt(m[1], 36, 64)
		if err != nil || time.Since(time.Unix(sec, 0)) < staleAfter {
			continue
		}
		if err := env.admin.deleteImage(img.ID); err != nil {
			fmt.Fprintln(os.Stderr, "acceptance: deleting stale image:", err)
		}
	}
}

// prefixFor is a name prefix for one test's images, swept (as admin) when the test ends.
func (e *realEnv) prefixFor(t *testing.T, tag string) string {
	t.Helper()
	p := e.runID + tag + "-"
	t.Cleanup(func() {
		if err := sweep(p); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return p
}

// secrets are the values no packer output or log may contain.
func (e *realEnv) secrets() []string {
	var s []string
	for _, c := range e.clouds {
		s = append(s, c.Auth.Password, c.Auth.ApplicationCredentialSecret)
	}
	s = append(s, e.appCred["OS_APPLICATION_CREDENTIAL_SECRET"])
	var out []string
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}
