package imagecopy

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// world is a test cloud with a source image in RegionOne and a session of the
// demo user there.
type world struct {
	cloud  *testcloud.Cloud
	sess   *access.Session
	origin *Origin
	src    *images.Image
	data   []byte
	lines  *lines
}

// lines collects what a copier says.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) say(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, s)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

func randomData(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 3))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func newWorld(t *testing.T, opts testcloud.Options, size int) *world {
	t.Helper()
	opts.ImageDelay = 50 * time.Millisecond
	opts.ImportLockLinger = 50 * time.Millisecond
	c, err := testcloud.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	yaml := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := c.WriteCloudsYAML(yaml); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OS_CLIENT_CONFIG_FILE", yaml)
	ac := access.AccessConfig{Cloud: "testcloud"}
	sess, err := ac.Authenticate(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{cloud: c, sess: sess, origin: FromSession(sess, time.Minute), data: randomData(size), lines: &lines{}}
	g := osapi.New(sess).Glance()
	vis := images.ImageVisibilityPrivate
	w.src, err = g.CreateImage(ctxFor(t), images.CreateOpts{
		Name: "golden", DiskFormat: "qcow2", ContainerFormat: "bare", Visibility: &vis, Tags: []string{"golden", "fedora"},
		MinDisk: 3, MinRAM: 512, Properties: map[string]string{"os_distro": "fedora", "hw_disk_bus": "scsi", "packer_build_uuid": "run-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Upload(ctxFor(t), w.src.ID, bytes.NewReader(w.data), int64(len(w.data))); err != nil {
		t.Fatal(err)
	}
	return w
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func (w *world) copier(cfg Config, opts Options) *Copier {
	if opts.Name == "" {
		opts.Name = "golden"
	}
	if opts.Marker == "" {
		opts.Marker = "run-1"
	}
	opts.Say = w.lines.say
	if errs := cfg.Prepare(Base{Name: opts.Name, Visibility: "private"}); len(errs) > 0 {
		panic(errs[0])
	}
	return New(w.origin, cfg, opts)
}

// only returns the one image named name in region.
func (w *world) only(t *testing.T, region, name string) testcloud.Image {
	t.Helper()
	var found []testcloud.Image
	for _, img := range w.cloud.Images(region) {
		if img.Name == name {
			found = append(found, img)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d images named %q in %s, want 1: %+v", len(found), name, region, found)
	}
	return found[0]
}

// nothingLeft fails when any image but the source exists, or anything leaked.
func (w *world) nothingLeft(t *testing.T) {
	t.Helper()
	for _, region := range []string{"RegionOne", "kz-ala-1"} {
		for _, img := range w.cloud.Images(region) {
			if !img.Seeded && img.ID != w.src.ID {
				t.Errorf("image %s %q (%s) left in %s", img.ID, img.Name, img.Status, region)
			}
		}
	}
	if l := w.cloud.Leaks(); !l.Empty() {
		t.Errorf("leaks: %v", l)
	}
}

func (w *world) requests(op, region string) int {
	n := 0
	for _, r := range w.cloud.Requests() {
		if r.Op == op && r.Region == region {
			n++
		}
	}
	return n
}

func sha512Hex(b []byte) string {
	s := sha512.Sum512(b)
	return hex.EncodeToString(s[:])
}

func TestCopyStreamsOneReadToTwoTargetsWithOverrides(t *testing.T) {
	w := newWorld(t, testcloud.Options{}, 9<<20+123)
	yes := true
	cp := w.copier(Config{CopyTo: []Target{
		{Region: "kz-ala-1"},
		{Region: "kz-ala-1", Name: "golden-kz", Visibility: "community", Tags: []string{"kz"}, Protected: &yes,
			Properties: map[string]string{"os_distro": "fedora-kz", "site": "ala"}},
	}}, Options{})
	w.cloud.ResetRequests()
	res, err := cp.Copy(ctxFor(t), w.src.ID)
	if err != nil {
		t.Fatalf("copy: %v\n%s", err, w.lines)
	}
	if n := w.requests("image.download", "RegionOne"); n != 1 {
		t.Errorf("the source was downloaded %d times, want once", n)
	}
	if len(res.Copies) != 2 || res.Copies[0].Method != MethodStream || res.Copies[1].Region != "kz-ala-1" {
		t.Fatalf("copies %+v", res.Copies)
	}
	plain, over := w.only(t, "kz-ala-1", "golden"), w.only(t, "kz-ala-1", "golden-kz")
	for _, img := range []testcloud.Image{plain, over} {
		if img.Status != "active" || img.OSHashValue != sha512Hex(w.data) || img.DiskFormat != "qcow2" || img.ContainerFormat != "bare" ||
			img.MinDisk != 3 || img.MinRAM != 512 || img.Properties["hw_disk_bus"] != "scsi" || img.Properties["packer_build_uuid"] != "run-1" {
			t.Errorf("copy %s: %+v", img.Name, img)
		}
	}
	if plain.Visibility != "private" || plain.Protected || strings.Join(plain.Tags, ",") != "fedora,golden" && strings.Join(plain.Tags, ",") != "golden,fedora" ||
		plain.Properties["os_distro"] != "fedora" {
		t.Errorf("the plain copy differs from the source: %+v", plain)
	}
	if over.Visibility != "community" || !over.Protected || strings.Join(over.Tags, ",") != "kz" ||
		over.Properties["os_distro"] != "fedora-kz" || over.Properties["site"] != "ala" {
		t.Errorf("the overrides were not applied: %+v", over)
	}
	ps := Placements("RegionOne", w.src.ID, "golden", res)
	if got, want := ArtifactID(ps), "RegionOne:"+w.src.ID+",kz-ala-1:"+plain.ID+",kz-ala-1/golden-kz:"+over.ID; got != want {
		t.Errorf("artifact ID %s, want %s", got, want)
	}
	// Delete (a build failing later) removes both, the protected one included.
	if err := res.Delete(ctxFor(t), w.lines.say); err != nil {
		t.Fatal(err)
	}
	w.nothingLeft(t)
}

func TestCopyPullsWithGlanceDownloadWhereOffered(t *testing.T) {
	w := newWorld(t, testcloud.Options{GlanceDownload: true}, 3<<20)
	cp := w.copier(Config{CopyTo: []Target{{Region: "kz-ala-1"}, {Cloud: "testcloud-alt", Region: "kz-ala-1"}}}, Options{})
	w.cloud.ResetRequests()
	res, err := cp.Copy(ctxFor(t), w.src.ID)
	if err != nil {
		t.Fatalf("copy: %v\n%s", err, w.lines)
	}
	// Same Keystone and project: Glance pulls. Another project (alt): the plugin streams.
	if res.Copies[0].Method != MethodGlanceDownload || res.Copies[1].Method != MethodStream {
		t.Errorf("methods %s, %s; want glance-download, then stream", res.Copies[0].Method, res.Copies[1].Method)
	}
	if n := w.requests("image.import", "kz-ala-1"); n != 1 {
		t.Errorf("%d import calls in kz-ala-1, want 1", n)
	}
	if n := w.requests("image.upload", "kz-ala-1"); n != 1 {
		t.Errorf("%d uploads to kz-ala-1, want 1 (the alt project's copy)", n)
	}
	for _, img := range w.cloud.ImagesByName("golden") {
		if img.ID != w.src.ID && (img.Status != "active" || img.OSHashValue != sha512Hex(w.data) || img.Properties["os_distro"] != "fedora") {
			t.Errorf("copy %+v", img)
		}
	}
	if err := res.Delete(ctxFor(t), w.lines.say); err != nil {
		t.Fatal(err)
	}
	w.nothingLeft(t)
}

func TestCopyFailureDeletesEveryCopy(t *testing.T) {
	w := newWorld(t, testcloud.Options{}, 6<<20)
	w.cloud.AddFault(testcloud.Fault{Op: "image.upload", Region: "kz-ala-1", Action: testcloud.ActionCut})
	cp := w.copier(Config{CopyTo: []Target{{Region: "kz-ala-1"}, {Region: "RegionOne", Name: "golden-2"}}}, Options{})
	res, err := cp.Copy(ctxFor(t), w.src.ID)
	if err == nil {
		t.Fatalf("a broken upload succeeded: %+v", res)
	}
	for _, want := range []string{"copy_to block 1 (region kz-ala-1)", "uploading", "was deleted", "no copy was kept"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	w.nothingLeft(t)
}

func TestCopyFailureWarnKeepsTheOthers(t *testing.T) {
	w := newWorld(t, testcloud.Options{}, 6<<20)
	w.cloud.AddFault(testcloud.Fault{Op: "image.upload", Region: "kz-ala-1", Action: testcloud.ActionCut})
	cp := w.copier(Config{CopyFailure: WarnOnly, CopyTo: []Target{{Region: "kz-ala-1"}, {Region: "RegionOne", Name: "golden-2"}}}, Options{})
	res, err := cp.Copy(ctxFor(t), w.src.ID)
	if err != nil {
		t.Fatalf("copy_failure warn failed the copy: %v", err)
	}
	if len(res.Copies) != 1 || res.Copies[0].Name != "golden-2" || len(res.Warnings) != 1 ||
		!strings.Contains(res.Warnings[0], "copy_to block 1 (region kz-ala-1)") {
		t.Fatalf("copies %+v, warnings %q", res.Copies, res.Warnings)
	}
	if img := w.only(t, "RegionOne", "golden-2"); img.OSHashValue != sha512Hex(w.data) {
		t.Errorf("the kept copy differs: %+v", img)
	}
	if imgs := w.cloud.Images("kz-ala-1"); len(imgs) != 1 || !imgs[0].Seeded {
		t.Errorf("the failed copy was left: %+v", imgs)
	}
}

func TestCopyGlanceDownloadFailureNamesTheTask(t *testing.T) {
	w := newWorld(t, testcloud.Options{GlanceDownload: true}, 1<<20)
	w.cloud.AddFault(testcloud.Fault{Op: "image.import", Region: "kz-ala-1", Action: testcloud.ActionFail, Message: "remote store offline"})
	cp := w.copier(Config{CopyTo: []Target{{Region: "kz-ala-1"}}}, Options{})
	_, err := cp.Copy(ctxFor(t), w.src.ID)
	if err == nil || !strings.Contains(err.Error(), "queued") || !strings.Contains(err.Error(), "Glance's task says: remote store offline") {
		t.Fatalf("want the task's message, got %v", err)
	}
	w.nothingLeft(t)
}

func TestCopyNameRulesPerTarget(t *testing.T) {
	w := newWorld(t, testcloud.Options{}, 1<<20)
	old := w.copier(Config{CopyTo: []Target{{Region: "kz-ala-1"}}}, Options{Marker: "run-0"})
	first, err := old.Copy(ctxFor(t), w.src.ID)
	if err != nil {
		t.Fatal(err)
	}
	cp := w.copier(Config{CopyTo: []Target{{Region: "kz-ala-1"}}}, Options{})
	err = cp.Check(ctxFor(t))
	if err == nil || !strings.Contains(err.Error(), "copy_to block 1 (region kz-ala-1)") || !strings.Contains(err.Error(), "image_force") {
		t.Fatalf("a taken name in the target was accepted: %v", err)
	}
	forced := w.copier(Config{CopyTo: []Target{{Region: "kz-ala-1"}}}, Options{Force: true})
	res, err := forced.Copy(ctxFor(t), w.src.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The older copy is replaced only when the component says the build succeeded.
	if imgs := w.cloud.ImagesByName("golden"); len(imgs) != 3 {
		t.Fatalf("%d images named golden before the replacement, want 3", len(imgs))
	}
	res.ReplaceOlder(ctxFor(t), w.lines.say)
	if got := w.only(t, "kz-ala-1", "golden"); got.ID != res.Copies[0].ImageID || got.ID == first.Copies[0].ImageID {
		t.Errorf("image_force kept %s", got.ID)
	}
}

func TestCopyInterruptedLeavesNothing(t *testing.T) {
	w := newWorld(t, testcloud.Options{}, 24<<20)
	// A slow target: the copies are under way when the interrupt comes.
	w.cloud.AddFault(testcloud.Fault{Op: "image.upload", Region: "kz-ala-1", Latency: testcloud.Duration(time.Second)})
	ctx, cancel := context.WithCancel(ctxFor(t))
	// Ctrl-C once a copy has sent its first mebibyte.
	track := func(_ string, _ int64, r io.ReadCloser) io.ReadCloser {
		return &cancelAfter{r: r, left: 1 << 20, cancel: cancel}
	}
	cp := w.copier(Config{CopyTo: []Target{{Region: "kz-ala-1"}, {Region: "RegionOne", Name: "golden-2"}}}, Options{Track: track})
	_, err := cp.Copy(ctx, w.src.ID)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("want an interrupted copy, got %v", err)
	}
	w.nothingLeft(t)
}

// cancelAfter calls cancel once left bytes were read through it.
type cancelAfter struct {
	r      io.ReadCloser
	mu     sync.Mutex
	left   int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left -= n; c.left <= 0 {
		c.cancel()
	}
	return n, err
}

func (c *cancelAfter) Close() error { return c.r.Close() }

// A target that takes no data holds the others back only for the stall time;
// then it is given up and the others finish.
func TestCopySlowTargetIsGivenUp(t *testing.T) {
	w := newWorld(t, testcloud.Options{}, 3*ringBuffers*bufferSize)
	w.cloud.AddFault(testcloud.Fault{Op: "image.upload", Region: "kz-ala-1", Latency: testcloud.Duration(3 * time.Second)})
	cp := w.copier(Config{CopyFailure: WarnOnly, CopyTo: []Target{{Region: "kz-ala-1"}, {Region: "RegionOne", Name: "golden-2"}}},
		Options{Stall: 500 * time.Millisecond})
	start := time.Now()
	res, err := cp.Copy(ctxFor(t), w.src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Copies) != 1 || res.Copies[0].Name != "golden-2" || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "took no data") {
		t.Fatalf("copies %+v, warnings %q", res.Copies, res.Warnings)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the slow target held the others for %s", took)
	}
	w.only(t, "RegionOne", "golden-2")
}

// corruptSource hands out the source's data with one byte changed, or one
// byte short.
type corruptSource struct {
	Source
	short bool
}

func (c corruptSource) Download(ctx context.Context, id string) (io.ReadCloser, error) {
	rc, err := c.Source.Download(ctx, id)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	if c.short {
		b = b[:len(b)-1]
	} else {
		b[len(b)/2] ^= 1
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// Data that is not the source's fails the copy: a wrong size before Glance may
// activate it, a changed byte by Glance's hash of the copy.
func TestCopyOfDataThatIsNotTheSourceFails(t *testing.T) {
	for _, short := range []bool{true, false} {
		w := newWorld(t, testcloud.Options{}, 2<<20)
		w.origin.Glance = corruptSource{Source: w.origin.Glance, short: short}
		cp := w.copier(Config{CopyTo: []Target{{Region: "kz-ala-1"}}}, Options{})
		_, err := cp.Copy(ctxFor(t), w.src.ID)
		want := map[bool]string{true: "the source image's data is 2097151 bytes, Glance says 2097152", false: "sha512"}[short]
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "differs from the source's") && !short {
			t.Fatalf("short %v: want an error with %q, got %v", short, want, err)
		}
		if short {
			for _, r := range w.cloud.Requests() {
				if r.Op == "image.upload" && r.Region == "kz-ala-1" && r.Status == 204 {
					t.Error("Glance took a copy of the wrong size")
				}
			}
		}
		w.nothingLeft(t)
	}
}

func TestCopyGoesOnAfterALostCreateReply(t *testing.T) {
	w := newWorld(t, testcloud.Options{}, 1<<20)
	osapi.LostLookupPause = 10 * time.Millisecond
	w.cloud.AddFault(testcloud.Fault{Op: "image.create", Region: "kz-ala-1", Action: testcloud.ActionLoseReply, Times: 1})
	cp := w.copier(Config{CopyTo: []Target{{Region: "kz-ala-1"}}}, Options{})
	res, err := cp.Copy(ctxFor(t), w.src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.only(t, "kz-ala-1", "golden"); got.ID != res.Copies[0].ImageID || got.Status != "active" {
		t.Errorf("copy %+v", got)
	}
}

func TestCopyTargetsAreCheckedBeforeAnything(t *testing.T) {
	w := newWorld(t, testcloud.Options{}, 1<<20)
	for _, tc := range []struct {
		target Target
		want   string
	}{
		{Target{Region: "nowhere"}, "copy_to block 1 (region nowhere)"},
		{Target{Cloud: "no-such-cloud"}, "copy_to block 1 (cloud no-such-cloud)"},
		{Target{Region: "RegionOne"}, "own region"},
	} {
		cp := New(w.origin, Config{CopyTo: []Target{tc.target}}, Options{Name: "golden", Marker: "m"})
		if err := cp.Check(ctxFor(t)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: want an error with %q, got %v", tc.target, tc.want, err)
		}
	}
	if n := w.cloud.CountRequests("image.create"); n != 1 {
		t.Errorf("%d images created by failed checks", n-1)
	}
}

// Each streamed copy reports its progress while it runs.
func TestCopyReportsProgressPerTarget(t *testing.T) {
	// More than the ring and the sockets' buffers hold, and both targets take their time before
	// reading: the copies are still under way at the first reports.
	w := newWorld(t, testcloud.Options{}, 48<<20)
	w.cloud.AddFault(testcloud.Fault{Op: "image.upload", Region: "kz-ala-1", Latency: testcloud.Duration(600 * time.Millisecond)})
	cp := w.copier(Config{CopyTo: []Target{{Region: "kz-ala-1"}, {Region: "kz-ala-1", Name: "golden-2"}}}, Options{LogEvery: 100 * time.Millisecond})
	if _, err := cp.Copy(ctxFor(t), w.src.ID); err != nil {
		t.Fatal(err)
	}
	out := w.lines.String()
	for _, block := range []string{"copy_to block 1 (region kz-ala-1)", "copy_to block 2 (region kz-ala-1)"} {
		if !strings.Contains(out, "Copy to "+block+": ") || !strings.Contains(out, "of 48.0 MiB sent") {
			t.Errorf("no progress line for %s:\n%s", block, out)
		}
	}
}
