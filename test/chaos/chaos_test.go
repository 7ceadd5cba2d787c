package chaos

import (
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

func TestMain(m *testing.M) {
	code := m.Run()
	acctest.Cleanup()
	os.Exit(code)
}

// TestChaos runs one plan per seed, several at a time (go test -parallel).
func TestChaos(t *testing.T) {
	acctest.Skip(t)
	seeds, err := SeedsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case seeds.One:
		fmt.Printf("chaos: seed %d, %d run(s)\n", seeds.Base, len(seeds.List))
	case seeds.Fresh:
		fmt.Printf("chaos: %d runs from the fresh seed base %d; replay them with: make chaos SEED_BASE=%d SEEDS=%d\n",
			len(seeds.List), seeds.Base, seeds.Base, len(seeds.List))
	default:
		fmt.Printf("chaos: %d runs from the seed base %d\n", len(seeds.List), seeds.Base)
	}
	acctest.PluginPath(t) // build and install the plugin once, before the parallel runs

	var mu sync.Mutex
	var records []Record
	began := time.Now()
	t.Run("seeds", func(t *testing.T) {
		only := os.Getenv("CHAOS_KIND")
		for _, seed := range seeds.List {
			p := NewPlan(seed)
			if only != "" && string(p.Kind) != only {
				continue
			}
			t.Run(p.Name(), func(t *testing.T) {
				t.Parallel()
				rec := runPlan(t, p)
				mu.Lock()
				records = append(records, rec)
				mu.Unlock()
			})
		}
	})
	fmt.Print(Tally(records, time.Since(began)))
}

// run is one seed's world: a test cloud, a source of image data, a template.
type run struct {
	plan   Plan
	cloud  *testcloud.Cloud
	data   []byte            // what an import sends (uncompressed)
	faults []testcloud.Fault // the plan's faults with their counters, once packer has ended
	env    []string
	dir    string
}

func startRun(t *testing.T, p Plan) *run {
	t.Helper()
	r := &run{plan: p, dir: t.TempDir()}
	opts := testcloud.Options{
		ServerBootDelay: 100 * time.Millisecond, ServerStopDelay: 100 * time.Millisecond,
		ServerDeleteDelay: 100 * time.Millisecond, VolumeDelay: 100 * time.Millisecond,
		ImageDelay: 100 * time.Millisecond, ImportLockLinger: 100 * time.Millisecond,
	}
	var source string
	if !p.Scenario.IsBuild() {
		r.data = p.ImageData()
		body := r.data
		if p.Scenario == ImportGzip {
			body = gzipped(r.data)
		}
		if p.FromFile {
			source = acctest.WriteFile(t, r.dir, "disk.raw", string(body))
		} else {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				if p.Kind != CtrlC {
					_, _ = w.Write(body)
					return
				}
				// Slowly, so that a Ctrl-C may come while the data flows.
				for rest := body; len(rest) > 0; rest = rest[min(len(rest), 64<<10):] {
					if _, err := w.Write(rest[:min(len(rest), 64<<10)]); err != nil {
						return
					}
					w.(http.Flusher).Flush()
					time.Sleep(40 * time.Millisecond)
				}
			})}
			go srv.Serve(ln) //nolint:errcheck // ends with Close
			t.Cleanup(func() { srv.Close() })
			opts.WebDownloadAllowedPorts = []int{80, 443, ln.Addr().(*net.TCPAddr).Port}
			source = "http://" + ln.Addr().String() + "/disk.raw"
		}
	}
	c, err := testcloud.Start(opts)
	if err != nil {
		t.Fatalf("starting the test cloud: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	r.cloud = c
	clouds := filepath.Join(r.dir, "clouds.yaml")
	if err := c.WriteCloudsYAML(clouds); err != nil {
		t.Fatal(err)
	}
	r.env = []string{"OS_CLIENT_CONFIG_FILE=" + clouds, "OS_CLOUD=testcloud"}
	acctest.WriteFile(t, r.dir, "chaos.pkr.hcl", p.Template(c.SSHPort(), source))
	return r
}

func runPlan(t *testing.T, p Plan) (rec Record) {
	began := time.Now()
	r := startRun(t, p)
	for _, f := range p.Faults {
		r.cloud.AddFault(f)
	}
	pr := acctest.Run{Dir: r.dir, Args: []string{"build", "-color=false", "."}, Env: r.env, Timeout: 5 * time.Minute}
	if p.Kind == CtrlC {
		pr.Interrupt = acctest.InterruptAfter(p.CtrlCAfter, time.Duration(p.CtrlCDelay), 4*time.Minute)
	}
	defer func() {
		if t.Failed() {
			t.Logf("chaos: seed %d FAILED; replay: make chaos SEED=%d\nplan: %s", p.Seed, p.Seed, p)
		}
	}()
	res := acctest.Packer(t, pr)
	r.faults = r.cloud.Faults()
	r.cloud.ClearFaults()
	fired := 0
	for _, f := range r.faults {
		fired += f.Fired
	}
	rec = Record{Plan: p, Fired: fired}
	defer func() {
		rec.Duration = time.Since(began)
		rec.Failed = t.Failed()
		if rec.Duration > time.Minute && !t.Failed() {
			fmt.Printf("chaos: seed %d was slow; its output and log are kept in %s\n", p.Seed, r.keep(t, res))
		}
		if t.Failed() {
			keep := r.keep(t, res)
			t.Logf("exit %d; output and log kept in %s; the output's end:\n%s", res.ExitCode, keep, lastLines(res.Output, 40))
		}
		line := fmt.Sprintf("chaos: seed %d %s %s: %s in %s (%d faults fired)", p.Seed, p.Kind, p.Scenario, rec.Outcome,
			rec.Duration.Round(100*time.Millisecond), fired)
		if res.ExitCode != 0 {
			line += "\n    error: " + firstError(res.Output)
		}
		fmt.Println(line)
	}()

	r.noCrash(t, res)
	switch p.Kind {
	case Transient:
		rec.Outcome = "succeeded"
		r.mustSucceed(t, res)
	case Fatal:
		rec.Outcome = "failed as planned"
		r.mustFailNaming(t, res)
	case CtrlC:
		switch {
		case !res.Interrupted:
			rec.Outcome = "ended before Ctrl-C"
			r.mustSucceed(t, res)
		case res.ExitCode == 0:
			rec.Outcome = "interrupted, succeeded"
			r.mustSucceed(t, res)
		default:
			rec.Outcome = "interrupted, failed"
			r.nothingLeft(t, "")
		}
	}
	if t.Failed() {
		rec.Outcome = "CHECK FAILED"
	}
	return rec
}

// keep copies a failed run's output and log where they outlive the test.
func (r *run) keep(t *testing.T, res acctest.Result) string {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("chaos-seed-%d", r.plan.Seed))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "(nowhere: " + err.Error() + ")"
	}
	_ = os.WriteFile(filepath.Join(dir, "output.txt"), []byte(res.Output), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "packer.log"), []byte(res.Log), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "plan.json"), []byte(r.plan.String()+"\n"), 0o644)
	return dir
}

var bugWord = regexp.MustCompile(`(?i)\bbug\b`)

// noCrash fails on a panic anywhere, or an error that calls itself a bug.
func (r *run) noCrash(t *testing.T, res acctest.Result) {
	t.Helper()
	for _, s := range []string{res.Output, res.Log} {
		if strings.Contains(s, "panic:") || strings.Contains(s, "goroutine ") && strings.Contains(s, "[running]") {
			t.Errorf("packer or the plugin panicked")
			return
		}
	}
	if m := bugWord.FindString(errorText(res.Output)); m != "" {
		t.Errorf("the error calls itself a %q", m)
	}
}

// mustSucceed checks a successful run: exit 0, the image (only it) active and
// holding what was built or sent, the artifact naming it, nothing else left.
func (r *run) mustSucceed(t *testing.T, res acctest.Result) {
	t.Helper()
	if res.ExitCode != 0 {
		t.Errorf("packer exited %d; the run should have succeeded; error:\n%s", res.ExitCode, errorText(res.Output))
		r.nothingLeft(t, "") // still report what it left
		return
	}
	imgs := r.cloud.ImagesByName(r.plan.ImageName())
	if len(imgs) != 1 {
		t.Errorf("%d images named %s, want 1: %+v", len(imgs), r.plan.ImageName(), imgs)
		return
	}
	img := imgs[0]
	if img.Status != "active" {
		t.Errorf("image %s is %s", img.ID, img.Status)
	}
	if !strings.Contains(res.Output, img.ID) {
		t.Errorf("the output never names the image %s", img.ID)
	}
	if r.plan.Scenario.IsBuild() {
		got, err := r.cloud.ImageFileContent(img.ID, "/etc/chaos-marker")
		if err != nil || strings.TrimSpace(string(got)) != r.plan.Token {
			t.Errorf("/etc/chaos-marker in image %s = %q (%v), want %q", img.ID, got, err, r.plan.Token)
		}
	} else {
		sum := sha512.Sum512(r.data)
		if img.OSHashAlgo != "sha512" || img.OSHashValue != hex.EncodeToString(sum[:]) || img.Size != int64(len(r.data)) {
			t.Errorf("image %s holds %d bytes with %s %s, want %d bytes with sha512 %x", img.ID, img.Size, img.OSHashAlgo, img.OSHashValue, len(r.data), sum)
		}
	}
	r.nothingLeft(t, img.ID)
}

// mustFailNaming checks a fatal plan's run: it failed, its error says what
// failed, and it left nothing.
func (r *run) mustFailNaming(t *testing.T, res acctest.Result) {
	t.Helper()
	fatal := r.plan.Faults[0]
	fired := false
	for _, f := range r.faults {
		fired = fired || f.Op == fatal.Op && f.Action == fatal.Action && f.Status == fatal.Status && f.Fired > 0
	}
	if !fired {
		t.Errorf("the fatal fault on %s never fired: the scenario does not call it, a mistake of the plan", fatal.Op)
	}
	if res.ExitCode == 0 {
		t.Errorf("packer succeeded although %s %s%d was broken", fatal.Op, fatal.Action, fatal.Status)
	}
	msg := errorText(res.Output)
	low := strings.ToLower(msg)
	for _, group := range r.plan.Expect {
		found := false
		for _, phrase := range group {
			found = found || strings.Contains(low, strings.ToLower(phrase))
		}
		if !found {
			t.Errorf("the error says none of %q:\n%s", group, msg)
		}
	}
	r.nothingLeft(t, "")
}

// nothingLeft waits a little for deletions in progress, then fails when the
// cloud holds anything a run made except the image keep.
func (r *run) nothingLeft(t *testing.T, keep string) {
	t.Helper()
	var leaks testcloud.Leaks
	var extra []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		leaks, extra = r.cloud.Leaks(), nil
		for _, region := range []string{"", "kz-ala-1"} {
			for _, img := range r.cloud.Images(region) {
				if !img.Seeded && img.ID != keep {
					extra = append(extra, fmt.Sprintf("%s %q (%s, %s)", img.ID, img.Name, img.Status, img.Region))
				}
			}
		}
		if leaks.Empty() && len(extra) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !leaks.Empty() {
		t.Errorf("left behind: %v", leaks)
	}
	if len(extra) > 0 {
		t.Errorf("images left behind: %s", strings.Join(dedupe(extra), "; "))
	}
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// errorText is the end of packer's output from its first error report on (the
// last lines when there is none).
func errorText(out string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.Contains(l, "errored after") || strings.Contains(l, "didn't complete successfully") {
			return strings.Join(lines[i:], "\n")
		}
	}
	return lastLines(out, 15)
}

// firstError is the build's error as packer sums it up, on one line.
func firstError(out string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if _, msg, ok := strings.Cut(l, " errored after "); ok {
			// A post-processor's error comes as a list on the following lines.
			for _, next := range lines[i+1:] {
				if !strings.HasSuffix(msg, "occurred:") {
					break
				}
				if next = strings.TrimSpace(next); next != "" {
					msg += " " + next
				}
			}
			return msg
		}
	}
	return strings.TrimSpace(lastLines(out, 1))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Tally is the table of a run of the tier: kind × outcome, and times.
func Tally(records []Record, wall time.Duration) string {
	type key struct {
		kind    Kind
		outcome string
	}
	counts := map[key]int{}
	byKind := map[Kind][]time.Duration{}
	var failed []uint64
	var total time.Duration
	for _, r := range records {
		counts[key{r.Plan.Kind, r.Outcome}]++
		byKind[r.Plan.Kind] = append(byKind[r.Plan.Kind], r.Duration)
		total += r.Duration
		if r.Failed {
			failed = append(failed, r.Plan.Seed)
		}
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].kind != keys[j].kind {
			return keys[i].kind > keys[j].kind
		}
		return keys[i].outcome < keys[j].outcome
	})
	var b strings.Builder
	fmt.Fprintf(&b, "chaos tally: %d seeds in %s wall time", len(records), wall.Round(time.Second))
	if len(records) > 0 {
		fmt.Fprintf(&b, ", %s per seed on average (one at a time)", (total / time.Duration(len(records))).Round(100*time.Millisecond))
	}
	b.WriteString("\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-10s %-22s %4d\n", k.kind, k.outcome, counts[k])
	}
	for _, kind := range []Kind{Transient, Fatal, CtrlC} {
		d := byKind[kind]
		if len(d) == 0 {
			continue
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		var sum time.Duration
		for _, v := range d {
			sum += v
		}
		fmt.Fprintf(&b, "  %-10s time per seed: mean %s, median %s, max %s\n", kind,
			(sum / time.Duration(len(d))).Round(100*time.Millisecond), d[len(d)/2].Round(100*time.Millisecond), d[len(d)-1].Round(100*time.Millisecond))
	}
	if len(failed) > 0 {
		sort.Slice(failed, func(i, j int) bool { return failed[i] < failed[j] })
		fmt.Fprintf(&b, "  FAILED seeds (make chaos SEED=n): %v\n", failed)
	}
	return b.String()
}
