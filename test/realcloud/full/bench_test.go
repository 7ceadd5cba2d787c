package full

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
)

// TestAccFullBench is the benchmark of issue 8 (not a timed test: it asserts nothing about speed).
// It runs our builder on a template comparable to the one the official openstack builder was
// measured with on this profile (98-115 s, 48-52 API requests): the tiny guest by name, a fixed IP
// on "private", a temporary keypair, one shell provisioner, stop, snapshot. For each run it prints
// the wall time, the phases (boot, SSH ready, provision, stop, snapshot, cleanup) and the API
// requests per service. Runs only with REALCLOUD_FULL_BENCH=1 (test/realcloud/full/bench.sh).
func TestAccFullBench(t *testing.T) {
	if os.Getenv("REALCLOUD_FULL_BENCH") != "1" {
		t.Skip("REALCLOUD_FULL_BENCH=1 runs the benchmark (test/realcloud/full/bench.sh)")
	}
	runs := 3
	if n, err := strconv.Atoi(os.Getenv("REALCLOUD_FULL_BENCH_RUNS")); err == nil && n > 0 {
		runs = n
	}
	p := newIsolated(t)
	// Like the project the official builder was measured in: its default group admits SSH, so no
	// temporary security group is made (and none is counted).
	ctx0, cancel0 := context.WithTimeout(context.Background(), time.Minute)
	allowSSHAndPing(t, ctx0, p.cloud)
	cancel0()
	var lines []string
	for i := 1; i <= runs; i++ {
		name := uniqueName("rcfull-bench")
		template := fmt.Sprintf(`
packer {
  required_plugins {
    glance = {
      version = ">= 0.1.0"
      source  = %q
    }
  }
}

source "glance" "t" {
  source_image_name = %q
  flavor            = %q
  networks          = ["private"]
  ssh_username      = "root"
  ssh_timeout       = "5m"
  image_name        = %q
}

build {
  sources = ["source.glance.t"]
  provisioner "shell" {
    inline = ["echo benchmarked > /etc/golden-marker", "sync"]
  }
}
`, acctest.SourceAddress, guestImage, guestFlavor, name)
		dir := t.TempDir()
		acctest.WriteFile(t, dir, "t.pkr.hcl", template)
		w := &lineWatch{}
		start := time.Now()
		res := acctest.Packer(t, acctest.Run{
			Dir: dir, Args: []string{"build", "-color=false", "."},
			Env:       []string{"OS_CLIENT_CONFIG_FILE=" + p.cloudsYAML, "OS_CLOUD=" + isolatedCloudName},
			Timeout:   10 * time.Minute,
			Interrupt: w.watch, // never interrupts: only stamps each output line as it appears
		})
		wall := time.Since(start)
		w.stop()
		if res.ExitCode != 0 {
			t.Fatalf("run %d failed:\n%s", i, res.Output)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		img := imageByName(t, ctx, p.cloud, name)
		_ = images.Delete(ctx, p.image, img.ID).ExtractErr()
		cancel()
		phases := w.phases(start)
		counts, total := requestCounts(res.Log)
		line := fmt.Sprintf("run %d: wall %.1fs | %s | requests %d (%s)", i, wall.Seconds(), phases, total, counts)
		t.Log(line)
		lines = append(lines, line)
		if i == 1 {
			t.Logf("output of run 1:\n%s", res.Output)
			t.Logf("requests of run 1:\n%s", strings.Join(requestList(res.Log), "\n"))
		}
	}
	fmt.Println("BENCH (official openstack builder on this profile: 98-115 s, 48-52 requests)")
	for _, l := range lines {
		fmt.Println("BENCH " + l)
	}
}

// lineWatch stamps each line of packer's output with the time it first appeared.
type lineWatch struct {
	mu    sync.Mutex
	lines []stampedLine
	done  chan struct{}
}

type stampedLine struct {
	at   time.Time
	text string
}

func (w *lineWatch) watch(_ *exec.Cmd, out *acctest.SyncBuffer) {
	w.mu.Lock()
	w.done = make(chan struct{})
	done := w.done
	w.mu.Unlock()
	seen := 0
	for {
		s := out.String()
		if len(s) > seen {
			chunk := s[seen:]
			if i := strings.LastIndexByte(chunk, '\n'); i >= 0 {
				now := time.Now()
				w.mu.Lock()
				for _, l := range strings.Split(chunk[:i], "\n") {
					w.lines = append(w.lines, stampedLine{now, l})
				}
				w.mu.Unlock()
				seen += i + 1
			}
		}
		select {
		case <-done:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (w *lineWatch) stop() {
	time.Sleep(50 * time.Millisecond) // one last poll of the output
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done != nil {
		close(w.done)
	}
}

// first returns when a line matching re first appeared (zero if never).
func (w *lineWatch) first(re string) time.Time {
	r := regexp.MustCompile(re)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.lines {
		if r.MatchString(l.text) {
			return l.at
		}
	}
	return time.Time{}
}

func (w *lineWatch) last() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.lines) == 0 {
		return time.Time{}
	}
	return w.lines[len(w.lines)-1].at
}

// phases cuts the run at the builder's and Packer's own progress lines.
func (w *lineWatch) phases(start time.Time) string {
	create := w.first(`Creating server `)
	waitSSH := w.first(`Waiting for SSH to become available`)
	connected := w.first(`Connected to SSH!`)
	stopping := w.first(`Stopping server |Shutting the guest down`)
	shutoff := w.first(`is SHUTOFF`)
	snapshot := w.first(`Creating the image `)
	cleanup := w.first(`Deleting server |Deleting the temporary keypair`)
	end := w.last()
	d := func(a, b time.Time) string {
		if a.IsZero() || b.IsZero() {
			return "?"
		}
		return fmt.Sprintf("%.1fs", b.Sub(a).Seconds())
	}
	return strings.Join([]string{
		"start " + d(start, create),
		"boot " + d(create, waitSSH),
		"ssh " + d(waitSSH, connected),
		"provision " + d(connected, stopping),
		"stop " + d(stopping, shutoff),
		"snapshot " + d(snapshot, cleanup),
		"cleanup " + d(cleanup, end),
	}, ", ")
}

var requestLine = regexp.MustCompile(`\[DEBUG\] openstack: (GET|POST|PUT|PATCH|DELETE|HEAD) (\S+) -> `)

// requestCounts counts the plugin's logged API requests by service (told apart by port).
func requestCounts(log string) (string, int) {
	services := map[string]string{"5000": "identity", "8774": "compute", "9696": "network", "9292": "image",
		"8776": "volume", "8778": "placement"}
	counts := map[string]int{}
	total := 0
	for _, m := range requestLine.FindAllStringSubmatch(log, -1) {
		u, err := url.Parse(m[2])
		svc := "other"
		if err == nil {
			if s, ok := services[u.Port()]; ok {
				svc = s
			}
		}
		counts[svc]++
		total++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return strings.Join(parts, ", "), total
}

var uuidish = regexp.MustCompile(`[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|packer_[0-9a-f-]+_[a-z]+`)

// requestList is the plugin's logged requests as "METHOD path -> status", IDs shortened to "{id}".
func requestList(log string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		i := strings.Index(line, "[DEBUG] openstack: ")
		if i < 0 {
			continue
		}
		rest := line[i+len("[DEBUG] openstack: "):]
		if j := strings.Index(rest, " ("); j > 0 {
			rest = rest[:j]
		}
		out = append(out, uuidish.ReplaceAllString(strings.Replace(rest, "http://127.0.0.1", "", 1), "{id}"))
	}
	return out
}
