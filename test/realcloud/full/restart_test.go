package full

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
)

// The restarts of issue 13 (item 5): nova-api once while a build waits for its server, and
// glance-api once while a local file uploads and once while a web-download is waited on. Each is
// a real restart: `test/realcloud/realcloud.sh restart SERVICE` sends TERM to the daemon's process
// group (as `systemctl restart` does), starts it again and waits until it answers.
//
// The imports go to the second Glance (region kz-ala-1, port 9293): the RegionOne Glance also
// serves Nova (the guest image, snapshots) and whoever else uses this cloud, while nothing but the
// region tests touches kz-ala-1. Its glance-api is the same program with the same configuration.

// restartTimeout bounds one `realcloud.sh restart`: up to 2 minutes for the run lock, 30 s to stop
// and up to 2 minutes for the service to answer again.
const restartTimeout = 5 * time.Minute

// Where the second Glance keeps image data (test/realcloud/stages/glancekz.sh), and its region.
const (
	kzRegion     = "kz-ala-1"
	kzImageStore = "/var/lib/glance-kz-ala-1/images"
)

// restarter restarts one service of the real cloud once, when a condition first holds.
type restarter struct {
	svc  string
	stop chan struct{}
	done chan struct{}
	once sync.Once
	// Set by the goroutine, read after done is closed.
	fired bool
	note  string // what the condition reported when it held
	seen  string // what after reported once the service answered again
	began time.Time
	took  time.Duration
	out   []byte
	err   error
}

// restartWhen polls cond every 100 ms for at most within, and the first time it holds restarts
// svc. cond's string is kept as a note for the test (what it saw at that moment); after, if not
// nil, is called as soon as the service answers again, and its result is logged. Both run in
// another goroutine: they must not call t's methods.
func restartWhen(t *testing.T, svc string, within time.Duration, cond func() (bool, string), after func() string) *restarter {
	t.Helper()
	script := filepath.Join(acctest.RepoRoot(t), "test", "realcloud", "realcloud.sh")
	r := &restarter{svc: svc, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		deadline := time.NewTimer(within)
		defer deadline.Stop()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if ok, note := cond(); ok {
				r.fired, r.note = true, note
				break
			}
			select {
			case <-r.stop:
				return
			case <-deadline.C:
				return
			case <-tick.C:
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), restartTimeout)
		defer cancel()
		r.began = time.Now()
		// The profile is named: the one recorded as brought up last may be a smaller one that
		// another checkout started over this full cloud.
		r.out, r.err = exec.CommandContext(ctx, script, "restart", svc, "full").CombinedOutput()
		r.took = time.Since(r.began)
		if r.err == nil && after != nil {
			r.seen = after()
		}
	}()
	// Whatever happens to the test, it does not end with a restart half done.
	t.Cleanup(r.finish)
	return r
}

// finish stops waiting for the condition and waits for a restart under way (bounded by
// restartTimeout).
func (r *restarter) finish() {
	r.once.Do(func() { close(r.stop) })
	<-r.done
}

// require waits for the restart and fails the test unless it happened and succeeded.
func (r *restarter) require(t *testing.T) {
	t.Helper()
	r.finish()
	if !r.fired {
		t.Fatalf("the moment to restart %s never came: nothing was restarted", r.svc)
	}
	t.Logf("%s restarted at %s in %s:\n%s", r.svc, r.began.Format("15:04:05.000"), r.took.Round(100*time.Millisecond),
		strings.TrimSpace(string(r.out)))
	if r.err != nil {
		t.Fatalf("restarting %s: %v", r.svc, r.err)
	}
	if r.seen != "" {
		t.Logf("right after the restart: %s", r.seen)
	}
}

// outputWatch hands the running packer's output to a restart condition.
type outputWatch struct {
	out atomic.Pointer[acctest.SyncBuffer]
}

func (w *outputWatch) hook(_ *exec.Cmd, out *acctest.SyncBuffer) { w.out.Store(out) }

func (w *outputWatch) String() string {
	if b := w.out.Load(); b != nil {
		return b.String()
	}
	return ""
}

var failedRequest = regexp.MustCompile(`\[DEBUG\] openstack: (GET|POST|PUT|PATCH|DELETE|HEAD) (\S+) -> error after [^:]+: (.*)`)

// failedRequests are the plugin's logged requests to port that failed on the wire.
func failedRequests(log, port string) []string {
	var out []string
	for _, m := range failedRequest.FindAllStringSubmatch(log, -1) {
		if strings.Contains(m[2], "127.0.0.1:"+port+"/") {
			out = append(out, m[1]+" "+m[2]+": "+m[3])
		}
	}
	return out
}

// TestAccFullRestartNovaAPI restarts nova-api while the build waits for its server to become
// ACTIVE: the build's polls are refused until nova-api is back, and the build goes on.
func TestAccFullRestartNovaAPI(t *testing.T) {
	p := newIsolated(t)
	c := p.cloud
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	// The project's default group admits SSH: no temporary group, a shorter build.
	allowSSHAndPing(t, ctx, c)
	before := takeInventory(t, ctx, c)
	name := uniqueName("rcfull-restart-nova")
	var w outputWatch
	r := restartWhen(t, "nova-api", 8*time.Minute, func() (bool, string) {
		s := w.String()
		return strings.Contains(s, "Waiting for server"), s
	}, nil)
	dir := t.TempDir()
	acctest.WriteFile(t, dir, "t.pkr.hcl", buildTemplate(fmt.Sprintf(`
  source_image = data.glance-image.guest.id
  networks     = ["private"]
  image_name   = %q`, name), shell("echo built-through-a-nova-api-restart", "sync")))
	res := acctest.Packer(t, acctest.Run{
		Dir: dir, Args: []string{"build", "-color=false", "."},
		Env:     []string{"OS_CLIENT_CONFIG_FILE=" + p.cloudsYAML, "OS_CLOUD=" + isolatedCloudName},
		Timeout: 12 * time.Minute, Interrupt: w.hook,
	})
	r.require(t)
	if strings.Contains(r.note, "is ACTIVE") {
		t.Errorf("nova-api went down only after the server was ACTIVE: the restart missed the wait")
	}
	requireSuccess(t, res)
	failed := failedRequests(res.Log, "8774")
	t.Logf("compute requests that failed during the restart: %d\n%s", len(failed), strings.Join(failed, "\n"))
	if len(failed) == 0 {
		t.Errorf("no compute request of the build failed: the restart of nova-api did not reach the build")
	}
	img := imageByName(t, ctx, c, name)
	deleteImageAtEnd(t, c, img.ID)
	if img.Status != images.ImageStatusActive {
		t.Errorf("image %s is %s", img.ID, img.Status)
	}
	assertNoLeaks(t, ctx, c, before, func(kind, entry string) bool {
		return kind == "image" && strings.Contains(entry, " "+name+" ")
	}, "the build")
}

// importTemplate is a build whose only post-processor is glance-import into region kz-ala-1.
func importTemplate(body string) string {
	return fmt.Sprintf(`
packer {
  required_plugins {
    glance = {
      version = ">= 0.1.0"
      source  = %q
    }
  }
}

source "null" "src" {
  communicator = "none"
}

build {
  sources = ["source.null.src"]
  post-processor "glance-import" {
    region = %q
%s
  }
}
`, acctest.SourceAddress, kzRegion, body)
}

// kzImages is the project's image client in region kz-ala-1.
func kzImages(t *testing.T, c *cloud) *gophercloud.ServiceClient {
	t.Helper()
	ic, err := openstack.NewImageV2(c.provider, gophercloud.EndpointOpts{Region: kzRegion})
	must(t, "image client of region "+kzRegion, err)
	return ic
}

// imagesNamed lists the images of that name (any status) without failing: restart conditions
// call it from their own goroutine, while Glance may be down.
func imagesNamed(ctx context.Context, ic *gophercloud.ServiceClient, name string) ([]images.Image, error) {
	pages, err := images.List(ic, images.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	return images.ExtractImages(pages)
}

// statusOf is a restart condition's look at the images of a name: true when one of them is in
// status want, with "<id> <status>" of that image as the note.
func statusOf(ic *gophercloud.ServiceClient, name string, want images.ImageStatus, also func() bool) func() (bool, string) {
	return func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		imgs, err := imagesNamed(ctx, ic, name)
		if err != nil {
			return false, ""
		}
		for _, img := range imgs {
			if img.Status == want && (also == nil || also()) {
				return true, img.ID + " " + string(img.Status)
			}
		}
		return false, ""
	}
}

// theOnlyImage returns the one image of that name in region kz-ala-1, read again by ID.
func theOnlyImage(t *testing.T, ctx context.Context, ic *gophercloud.ServiceClient, name string) *images.Image {
	t.Helper()
	imgs, err := imagesNamed(ctx, ic, name)
	must(t, "listing images named "+name, err)
	if len(imgs) != 1 {
		var ss []string
		for _, img := range imgs {
			ss = append(ss, img.ID+" "+string(img.Status))
		}
		t.Fatalf("%d images named %q, want 1: %v", len(imgs), name, ss)
	}
	img, err := images.Get(ctx, ic, imgs[0].ID).Extract()
	must(t, "reading image "+imgs[0].ID, err)
	t.Cleanup(func() { _ = images.Delete(cleanupCtx(), ic, img.ID).ExtractErr() })
	return img
}

// TestAccFullRestartGlanceUpload restarts glance-api while the plugin uploads a local file (the
// image is saving): the upload breaks, the plugin deletes the half-made image and uploads the file
// again into a new one, and the import succeeds with the file's bytes.
func TestAccFullRestartGlanceUpload(t *testing.T) {
	p := newIsolated(t)
	ic := kzImages(t, p.cloud)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	// 1 GiB of qcow2 whose clusters are all allocated (preallocation=falloc): Glance receives
	// 1 GiB, which takes seconds even on loopback, while the file takes no time to make or read.
	file := filepath.Join(t.TempDir(), "disk.qcow2")
	if out, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2", "-o", "preallocation=falloc",
		file, "1G").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img (qemu-utils, installed by make realcloud): %v\n%s", err, out)
	}
	size, sum := fileSHA512(t, file)
	name := uniqueName("rcfull-restart-upload")
	var cutID atomic.Value
	r := restartWhen(t, "glance-api-kz", 8*time.Minute, func() (bool, string) {
		ok, note := statusOf(ic, name, images.ImageStatusSaving, nil)()
		if ok {
			cutID.Store(strings.Fields(note)[0])
		}
		return ok, note
	}, func() string { return describeImage(ic, cutID.Load().(string)) })
	dir := t.TempDir()
	acctest.WriteFile(t, dir, "t.pkr.hcl", importTemplate(fmt.Sprintf(`    image_name      = %q
    local_file_path = %q
    import_method   = "upload"`, name, file)))
	res := acctest.Packer(t, acctest.Run{
		Dir: dir, Args: []string{"build", "-color=false", "."},
		Env:     []string{"OS_CLIENT_CONFIG_FILE=" + p.cloudsYAML, "OS_CLOUD=" + isolatedCloudName},
		Timeout: 12 * time.Minute,
	})
	r.require(t)
	cut := strings.Fields(r.note)[0]
	t.Cleanup(func() { removeOrphanedData(t, cut) })
	t.Logf("packer output:\n%s", res.Output)
	failed := failedRequests(res.Log, "9293")
	t.Logf("image requests that failed during the restart: %d\n%s", len(failed), strings.Join(failed, "\n"))
	requireSuccess(t, res)
	if !strings.Contains(res.Output, "The upload broke") || !strings.Contains(res.Output, "starting again from") {
		t.Errorf("the output does not say the upload broke and started again: the restart missed the upload")
	}
	img := theOnlyImage(t, ctx, ic, name)
	if img.ID == cut {
		t.Errorf("the image whose upload was cut (%s) is the final one", cut)
	}
	if img.Status != images.ImageStatusActive || img.SizeBytes != size || img.Properties["os_hash_value"] != sum {
		t.Errorf("image %s: status %s, size %d, sha512 %v; want active, %d, %s", img.ID, img.Status, img.SizeBytes,
			img.Properties["os_hash_value"], size, sum)
	}
	if _, err := images.Get(ctx, ic, cut).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("the image whose upload was cut (%s) is still there (err %v)", cut, err)
	}
}

// describeImage is what Glance shows of an image and its import tasks, for the test's log.
func describeImage(ic *gophercloud.ServiceClient, id string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	img, err := images.Get(ctx, ic, id).Extract()
	if err != nil {
		return fmt.Sprintf("image %s: %v", id, err)
	}
	s := fmt.Sprintf("image %s is %s (size %d, os_glance_import_task %v)", id, img.Status, img.SizeBytes,
		img.Properties["os_glance_import_task"])
	var body struct {
		Tasks []struct {
			ID        string `json:"id"`
			Status    string `json:"status"`
			Message   string `json:"message"`
			UpdatedAt string `json:"updated_at"`
		} `json:"tasks"`
	}
	if _, err := ic.Get(ctx, ic.ServiceURL("images", id, "tasks"), &body, nil); err == nil {
		for _, tk := range body.Tasks {
			s += fmt.Sprintf("; task %s %s, updated %s, message %q", tk.ID, tk.Status, tk.UpdatedAt, tk.Message)
		}
	}
	return s
}

// fileSHA512 returns a file's size and sha512 (hex).
func fileSHA512(t *testing.T, path string) (int64, string) {
	t.Helper()
	f, err := os.Open(path)
	must(t, "opening "+path, err)
	defer f.Close()
	h := sha512.New()
	n, err := io.Copy(h, f)
	must(t, "reading "+path, err)
	return n, hex.EncodeToString(h.Sum(nil))
}

// removeOrphanedData removes what real Glance leaves of an upload cut by a restart: deleting the
// image (which stayed saving) removes no data, because Glance recorded no location for it, so the
// part written before the restart stays in the store's folder (see FACTS.md). The tests run as
// root on the cloud's machine.
func removeOrphanedData(t *testing.T, id string) {
	p := filepath.Join(kzImageStore, id)
	st, err := os.Stat(p)
	if err != nil {
		return
	}
	t.Logf("Glance left %d bytes of the cut upload in %s: removed", st.Size(), p)
	if err := os.Remove(p); err != nil {
		t.Logf("removing %s: %v", p, err)
	}
}

// TestAccFullRestartGlanceWebDownload restarts glance-api while Glance downloads the image itself
// (web-download) and the plugin waits for it.
//
// The restart kills Glance's import task with the process, and Glance leaves the image importing,
// locked by that task, for the lock's 60 minutes (FACTS.md). The plugin's polls are refused for a
// few seconds and retried; it then sees the task stay processing with no update for 90 s, deletes
// the image and imports again into a new one, which becomes active.
func TestAccFullRestartGlanceWebDownload(t *testing.T) {
	p := newIsolated(t)
	ic := kzImages(t, p.cloud)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	// 48 MiB at 2 MiB/s: Glance is still downloading when it is stopped.
	data := make([]byte, 48<<20)
	src := serveSlowly(t, data, 2<<20)
	name := uniqueName("rcfull-restart-web")
	var id atomic.Value
	r := restartWhen(t, "glance-api-kz", 8*time.Minute, func() (bool, string) {
		ok, note := statusOf(ic, name, images.ImageStatusImporting, func() bool { return src.sent.Load() >= 4<<20 })()
		if ok {
			id.Store(strings.Fields(note)[0])
		}
		return ok, note
	}, func() string { return describeImage(ic, id.Load().(string)) })
	dir := t.TempDir()
	acctest.WriteFile(t, dir, "t.pkr.hcl", importTemplate(fmt.Sprintf(`    image_name       = %q
    image_source_url = %q
    import_method    = "web-download"
    disk_format      = "raw"
    import_timeout   = "8m"`, name, src.url)))
	start := time.Now()
	res := acctest.Packer(t, acctest.Run{
		Dir: dir, Args: []string{"build", "-color=false", "."},
		Env:     []string{"OS_CLIENT_CONFIG_FILE=" + p.cloudsYAML, "OS_CLOUD=" + isolatedCloudName},
		Timeout: 12 * time.Minute,
	})
	r.require(t)
	t.Logf("packer ran %s; the source sent %d bytes in %d GET(s)", time.Since(start).Round(time.Second),
		src.sent.Load(), src.gets.Load())
	failed := failedRequests(res.Log, "9293")
	t.Logf("image requests that failed during the restart: %d\n%s", len(failed), strings.Join(failed, "\n"))
	requireSuccess(t, res)
	if !strings.Contains(res.Output, "importing again into a new image") {
		t.Errorf("the build did not say it imported again after the task died:\n%s", res.Output)
	}
	img := theOnlyImage(t, ctx, ic, name)
	if img.Status != images.ImageStatusActive || img.SizeBytes != int64(len(data)) {
		t.Errorf("image %s: status %s, size %d; want active and %d", img.ID, img.Status, img.SizeBytes, len(data))
	}
}

// slowSource serves one document on 127.0.0.1 at a fixed rate, with a Content-Length (real
// Glance's web-download needs one), on a port Glance's web-download filter allows.
type slowSource struct {
	url  string
	sent atomic.Int64 // bytes written to clients, all GETs together
	gets atomic.Int32
}

func serveSlowly(t *testing.T, data []byte, rate int) *slowSource {
	t.Helper()
	var ln net.Listener
	var errs []error
	for _, port := range []int{8080, 8000, 80} {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			ln = l
			break
		}
		errs = append(errs, err)
	}
	if ln == nil {
		t.Fatalf("no port Glance's web-download filter allows is free: %v", errors.Join(errs...))
	}
	s := &slowSource{url: "http://" + ln.Addr().String() + "/image.raw"}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/image.raw" {
			http.NotFound(w, r)
			return
		}
		s.gets.Add(1)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		if r.Method == http.MethodHead {
			return
		}
		step := rate / 10
		begin := time.Now()
		for off := 0; off < len(data); off += step {
			if wait := time.Until(begin.Add(time.Duration(off) * time.Second / time.Duration(rate))); wait > 0 {
				select {
				case <-r.Context().Done():
					return
				case <-time.After(wait):
				}
			}
			n, err := w.Write(data[off:min(off+step, len(data))])
			s.sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	})}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return s
}
