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

// TestAccFullBench is the benchmark of issues 8 and 14 (not a timed test: it asserts nothing about
// speed). It runs our builder on a template comparable to the one the official openstack builder
// was measured with on this profile: the tiny guest by name, a fixed IP on "private", a temporary
// keypair, one shell provisioner, stop, snapshot. For each run it prints the wall time, the cloud's
// critical path for the same build (critical_test.go) and the overhead (wall minus critical path)
// with where it went, how late the builder noticed each step's end, the API requests per service
// and the load average; then the medians. Runs only with REALCLOUD_FULL_BENCH=1
// (test/realcloud/full/bench.sh).
//
// With REALCLOUD_FULL_BENCH_OFFICIAL naming a build of HashiCorp's packer-plugin-openstack
// (test/realcloud/full/official.sh makes one), the official builder runs the same template (source
// "openstack") in the same project, alternating with ours, and the summary compares the two.
func TestAccFullBench(t *testing.T) {
	if os.Getenv("REALCLOUD_FULL_BENCH") != "1" {
		t.Skip("REALCLOUD_FULL_BENCH=1 runs the benchmark (test/realcloud/full/bench.sh)")
	}
	runs := 3
	if n, err := strconv.Atoi(os.Getenv("REALCLOUD_FULL_BENCH_RUNS")); err == nil && n > 0 {
		runs = n
	}
	builders := []benchBuilder{{name: "glance"}}
	if bin := os.Getenv("REALCLOUD_FULL_BENCH_OFFICIAL"); bin != "" {
		builders = append(builders, benchBuilder{name: "official", pluginPath: installOfficial(t, bin)})
	}
	p := newIsolated(t)
	admin := connectAs(t, cloudsYAML(t), adminCloud)
	// Build and install our plugin now: the first run's wall time must not include it.
	acctest.PluginPath(t)
	ctx0, cancel0 := context.WithTimeout(context.Background(), time.Minute)
	// Like the project the official builder was measured in: its default group admits SSH, so no
	// temporary security group is made (and none is counted).
	allowSSHAndPing(t, ctx0, p.cloud)
	s := lookupSeed(t, ctx0, p.cloud)
	cancel0()
	var lines []string
	results := map[string]*benchTotals{}
	for i := 1; i <= runs; i++ {
		// Alternate which builder goes first, so that neither always runs on a cloud the other
		// has just warmed (or loaded).
		order := builders
		if i%2 == 0 && len(builders) == 2 {
			order = []benchBuilder{builders[1], builders[0]}
		}
		for _, b := range order {
			line, r := benchRun(t, p, admin, s, b, i)
			t.Log(line)
			lines = append(lines, line)
			if results[b.name] == nil {
				results[b.name] = &benchTotals{}
			}
			results[b.name].add(r)
		}
	}
	fmt.Println("BENCH (glance: our builder; official: hashicorp/packer-plugin-openstack. ~ marks a step timed by Nova's instance actions, to the second)")
	for _, l := range lines {
		fmt.Println("BENCH " + l)
	}
	for _, b := range builders {
		fmt.Println("BENCH median " + results[b.name].summary(b.name))
	}
	if len(builders) == 2 {
		ours, theirs := median(results["glance"].wall), median(results["official"].wall)
		if theirs > 0 {
			fmt.Printf("BENCH median wall: glance %.1fs, official %.1fs: %.2f× the official builder's\n",
				ours.Seconds(), theirs.Seconds(), ours.Seconds()/theirs.Seconds())
		}
	}
}

// benchBuilder is one builder under test: ours, or the official one from its own plugin folder.
type benchBuilder struct {
	name       string
	pluginPath string // PACKER_PLUGIN_PATH holding the official plugin; "" for ours
}

// benchResult is what one run measured.
type benchResult struct {
	wall, critical, overhead time.Duration
	criticalOK               bool
	requests                 int // -1: not known (the official builder logs none)
}

type benchTotals struct {
	wall, critical, overhead []time.Duration
	requests                 []int
}

func (b *benchTotals) add(r benchResult) {
	b.wall = append(b.wall, r.wall)
	if r.criticalOK {
		b.critical = append(b.critical, r.critical)
		b.overhead = append(b.overhead, r.overhead)
	}
	if r.requests >= 0 {
		b.requests = append(b.requests, r.requests)
	}
}

func (b *benchTotals) summary(name string) string {
	req := "requests ?"
	if len(b.requests) > 0 {
		ds := make([]time.Duration, len(b.requests))
		for i, n := range b.requests {
			ds[i] = time.Duration(n)
		}
		req = fmt.Sprintf("requests %d", int(median(ds)))
	}
	return fmt.Sprintf("%s (%d runs): wall %.1fs, cloud critical path %.1fs, overhead %.1fs, %s", name, len(b.wall),
		median(b.wall).Seconds(), median(b.critical).Seconds(), median(b.overhead).Seconds(), req)
}

// installOfficial installs a packer-plugin-openstack binary into a plugin folder of its own.
func installOfficial(t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(acctest.PackerBinary(t), "plugins", "install", "--path", bin, "github.com/hashicorp/openstack")
	cmd.Env = append(os.Environ(), "PACKER_PLUGIN_PATH="+dir, "CHECKPOINT_DISABLE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installing the official plugin %s: %v\n%s", bin, err, out)
	}
	return dir
}

// benchTemplate is the benchmark's template for one builder: the same server, provisioner and
// image either way. The official builder takes networks by ID only.
func benchTemplate(b benchBuilder, s seed, name string) string {
	prov := `
  provisioner "shell" {
    inline = ["echo benchmarked > /etc/golden-marker", "sync"]
  }`
	if b.pluginPath != "" {
		return fmt.Sprintf(`
packer {
  required_plugins {
    openstack = {
      version = ">= 1.1.0"
      source  = "github.com/hashicorp/openstack"
    }
  }
}

source "openstack" "t" {
  source_image_name = %q
  flavor            = %q
  networks          = [%q]
  ssh_username      = "root"
  ssh_timeout       = "5m"
  image_name        = %q
}

build {
  sources = ["source.openstack.t"]%s
}
`, guestImage, guestFlavor, s.privateID, name, prov)
	}
	return fmt.Sprintf(`
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
  # The bench finds the build's server by the snapshot's instance_uuid.
  drop_image_properties = []
}

build {
  sources = ["source.glance.t"]%s
}
`, acctest.SourceAddress, guestImage, guestFlavor, name, prov)
}

// benchRun runs one build and returns its report line and figures.
func benchRun(t *testing.T, p *isolated, admin *cloud, s seed, b benchBuilder, i int) (string, benchResult) {
	t.Helper()
	name := uniqueName("rcfull-bench")
	dir := t.TempDir()
	acctest.WriteFile(t, dir, "t.pkr.hcl", benchTemplate(b, s, name))
	env := []string{"OS_CLIENT_CONFIG_FILE=" + p.cloudsYAML, "OS_CLOUD=" + isolatedCloudName}
	if b.pluginPath != "" {
		env = append(env, "PACKER_PLUGIN_PATH="+b.pluginPath) // the last value wins
	}
	load := loadAverage()
	logs := markLogs()
	w := &lineWatch{}
	probe := probeSSH(p.network, w)
	start := time.Now()
	res := acctest.Packer(t, acctest.Run{
		Dir: dir, Args: []string{"build", "-color=false", "."}, Env: env,
		Timeout:   10 * time.Minute,
		Interrupt: w.watch, // never interrupts: only stamps each output line as it appears
	})
	wall := time.Since(start)
	w.stop()
	sshUp := probe.finish()
	if res.ExitCode != 0 {
		t.Fatalf("%s run %d failed:\n%s", b.name, i, res.Output)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	img := imageByName(t, ctx, p.cloud, name)
	defer func() { _ = images.Delete(ctx, p.image, img.ID).ExtractErr() }()
	r := benchResult{wall: wall, requests: -1}
	path := cloudPath{}
	serverID, _ := img.Properties["instance_uuid"].(string)
	// Nova may still be finishing the delete (its last log line, its last event) when the build
	// ends: read again for up to 15 s until every step is known.
	for deadline := time.Now().Add(15 * time.Second); ; {
		actions, err := serverActions(ctx, admin.compute, serverID)
		if err != nil {
			t.Logf("instance actions of server %q: %v", serverID, err)
		} else {
			path = buildPath(actions, logs, serverID, img.ID, sshUp)
		}
		if _, ok := path.total(); ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	r.critical, r.criticalOK = path.total()
	r.overhead = wall - r.critical
	reqs := "requests ? (the official builder logs none)"
	if b.pluginPath == "" {
		counts, total := requestCounts(res.Log)
		r.requests = total
		reqs = fmt.Sprintf("requests %d (%s)", total, counts)
	}
	crit, over := "cloud ?", "overhead ?"
	if r.criticalOK {
		crit = fmt.Sprintf("cloud %.1fs = %s", r.critical.Seconds(), path.format())
		over = fmt.Sprintf("overhead %.1fs = %s", r.overhead.Seconds(), path.gaps(start, w.last()))
	}
	line := fmt.Sprintf("run %d %s: wall %.1fs | %s | %s | noticed %s | %s | load %s", i, b.name, wall.Seconds(), crit, over,
		path.noticed(w), reqs, load)
	if i == 1 {
		t.Logf("output of %s run 1, seconds after packer started:\n%s", b.name, w.stamped(start))
		if b.pluginPath == "" {
			t.Logf("requests of run 1:\n%s", strings.Join(requestList(res.Log), "\n"))
			var raw []string
			for _, l := range strings.Split(res.Log, "\n") {
				if strings.Contains(l, "] openstack: ") {
					raw = append(raw, l)
				}
			}
			t.Logf("PACKER_LOG request lines of run 1 (with their durations):\n%s", strings.Join(raw, "\n"))
		}
	}
	return line, r
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

// match returns the submatches of the first line matching re (nil if none yet).
func (w *lineWatch) match(re *regexp.Regexp) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.lines {
		if m := re.FindStringSubmatch(l.text); m != nil {
			return m
		}
	}
	return nil
}

// after returns when the first line stamped after t appeared (zero if none).
func (w *lineWatch) after(t time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.lines {
		if l.at.After(t) {
			return l.at
		}
	}
	return time.Time{}
}

// stamped is the output with each line's time since start.
func (w *lineWatch) stamped(start time.Time) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for _, l := range w.lines {
		fmt.Fprintf(&b, "%6.2f %s\n", l.at.Sub(start).Seconds(), l.text)
	}
	return b.String()
}

func (w *lineWatch) last() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.lines) == 0 {
		return time.Time{}
	}
	return w.lines[len(w.lines)-1].at
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
