package acceptance

import (
	"regexp"
	"testing"
	"time"
)

// maxTokenWait is the longest token lifetime the expiry test waits out.
const maxTokenWait = 5 * time.Minute

// tokenLifetime asks Keystone how long a new token lives (120 s on the real cloud).
func tokenLifetime(t *testing.T, e *realEnv) time.Duration {
	t.Helper()
	before := time.Now()
	_, tb, err := issueToken(e.clouds[cloudDemo])
	if err != nil {
		t.Fatal(err)
	}
	return tb.Token.ExpiresAt.Sub(before).Round(time.Second)
}

// TestAccImportOutlivesToken runs imports that take longer than a Keystone token lives: the
// plugin streaming a throttled compressed source into a plain upload, staging a throttled
// source for glance-direct, and waiting while Glance itself downloads a throttled source. Each
// must re-authenticate on the way and end with the right image.
func TestAccImportOutlivesToken(t *testing.T) {
	e := setup(t)
	life := tokenLifetime(t, e)
	if life > maxTokenWait {
		t.Skipf("tokens live %s here; this test waits out one only up to %s", life, maxTokenWait)
	}
	p := e.prefixFor(t, "expiry")
	// Each source sends for the token's lifetime plus 40 s. The rate is well above the plugin's
	// read-ahead buffers (1 MiB per stage), so its upload starts within seconds and the data
	// request itself outlives the token.
	const rate = 256 << 10
	seconds := int((life + 40*time.Second) / time.Second)
	t.Logf("tokens live %s; each source sends %d MiB for about %ds", life, seconds*rate>>20, seconds)

	cases := []struct {
		name, method string
		compressed   bool
		uploads      bool // the plugin sends the bytes (and logs their hash)
	}{
		{"stream_gzip_upload", "upload", true, true},
		{"glance_direct_stage", "glance-direct", false, true},
		{"web_download_wait", "web-download", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			data := randomBytes(t, seconds*rate)
			served := data
			if c.compressed {
				served = compress(t, "gzip", data)
			}
			name := p + c.name
			url := sourceFor(t).addThrottled("/"+p+c.name+".raw", served, rate)
			run := e.build(t, importer(`
    image_name       = `+hclString(name)+`
    image_source_url = `+hclString(url)+`
    import_method    = "`+c.method+`"
    disk_format      = "raw"
    import_timeout   = "20m"`), runOpts{Cloud: cloudDemo, Timeout: 15 * time.Minute})
			requireSuccess(t, run)
			if run.Took < life {
				t.Fatalf("precondition: the import was to outlive a %s token, but the build took %s", life, run.Took)
			}
			img := theImage(t, e, name)
			requireStored(t, img, data)
			if c.uploads {
				requirePluginHashMatches(t, run, img)
				// What makes the case: one data request began with a token that had expired
				// by the time it ended.
				took, ok := dataRequestTime(run.Log)
				if !ok {
					t.Fatalf("PACKER_LOG has no PUT .../file or .../stage record")
				}
				t.Logf("the data request took %s", took)
				if took < life {
					t.Fatalf("precondition: the data request took %s, less than a token's %s", took, life)
				}
			}
			logins := len(tokenIssued.FindAllString(run.Log, -1))
			rejected := len(glanceRejected.FindAllString(run.Log, -1))
			t.Logf("%d logins, %d Glance requests refused with 401", logins, rejected)
			if logins < 2 {
				t.Errorf("PACKER_LOG shows %d successful login(s): the plugin never re-authenticated during a %s import", logins, run.Took.Round(time.Second))
			}
		})
	}
}

// dataRequestTime is how long the plugin's PUT of the image data (upload or stage) took, from
// its transport's log line.
func dataRequestTime(log string) (time.Duration, bool) {
	m := dataRequest.FindStringSubmatch(log)
	if m == nil {
		return 0, false
	}
	d, err := time.ParseDuration(m[1])
	return d, err == nil
}

// The request log lines of the plugin's HTTP transport (common/transport.go).
var (
	tokenIssued    = regexp.MustCompile(`openstack: POST \S+/v3/auth/tokens -> 201`)
	glanceRejected = regexp.MustCompile(`openstack: [A-Z]+ \S+:9292/\S* -> 401`)
	dataRequest    = regexp.MustCompile(`openstack: PUT \S+/v2/images/\S+/(?:file|stage) -> 20\d \(([^)]+)\)`)
)
