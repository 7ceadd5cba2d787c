package imagecopy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// MethodGlanceDownload and MethodStream are how a copy gets its data.
const (
	MethodGlanceDownload = "glance-download"
	MethodStream         = "stream"
)

// Options are what the component knows of the image beyond the source itself.
type Options struct {
	// Name is the finished image's name, the copies' default name.
	Name string
	// Members and AutoAcceptMembers are the image's sharing, copied to every
	// target whose visibility is shared and which names no members of its own.
	Members           []string
	AutoAcceptMembers bool
	// Force replaces a target's images of the same name (image_force).
	Force bool
	// Marker is the run's marker, set on every copy (packer_build_uuid).
	Marker string
	// Say reports progress to the user.
	Say func(string)
	// Track, if set, wraps each streamed target's data for a progress bar.
	Track func(name string, total int64, r io.ReadCloser) io.ReadCloser
	// LogEvery is how often each copy's progress is reported (default 30s).
	LogEvery time.Duration
	// Stall is how long a streamed target may take no data while the others
	// wait for it before it is given up (default DefaultStall).
	Stall time.Duration
}

// Copier copies one finished image to the targets of a Config.
type Copier struct {
	origin *Origin
	cfg    Config
	opts   Options
	dests  []*dest
	// checked: the targets were resolved and their names checked.
	checked bool
}

// dest is one target during a run.
type dest struct {
	*Dest
	block    int // index in copy_to
	t        Target
	label    string
	name     string
	imgs     imagepolicy.Images
	existing []imagepolicy.Image
	pull     bool

	ctx    context.Context
	cancel context.CancelCauseFunc
	tap    *tap

	image         *images.Image
	createStarted time.Time
	createLost    bool
	protected     bool // this run protected the copy
}

// New prepares a copier; nothing is contacted until Check or Copy.
func New(origin *Origin, cfg Config, opts Options) *Copier {
	if opts.Say == nil {
		opts.Say = func(line string) { log.Printf("[INFO] copy: %s", line) }
	}
	if opts.LogEvery <= 0 {
		opts.LogEvery = 30 * time.Second
	}
	if opts.Stall <= 0 {
		opts.Stall = DefaultStall
	}
	if cfg.CopyTimeout <= 0 {
		cfg.CopyTimeout = DefaultTimeout
	}
	if cfg.CopyFailure == "" {
		cfg.CopyFailure = FailBuild
	}
	return &Copier{origin: origin, cfg: cfg, opts: opts}
}

// Enabled reports whether there is anything to copy.
func (c *Copier) Enabled() bool { return c != nil && len(c.cfg.CopyTo) > 0 }

// Check reaches every target before anything is made, so a build fails early
// on what it could not do at its end: it logs in to other clouds, finds each
// target's image service, applies the name rules (image_force) in the
// target's project, and asks which targets can pull with glance-download. A
// second call does nothing.
func (c *Copier) Check(ctx context.Context) error {
	if c.checked || !c.Enabled() {
		return nil
	}
	srcEndpoint, _ := c.origin.Glance.Endpoint()
	var dests []*dest
	for i, t := range c.cfg.CopyTo {
		d := &dest{block: i, t: t, label: t.label(i), name: t.Name}
		if d.name == "" {
			d.name = c.opts.Name
		}
		var err error
		if d.Dest, err = c.origin.Connect(ctx, t); err != nil {
			return fmt.Errorf("%s: %w", d.label, err)
		}
		if ep, _ := d.Glance.Endpoint(); ep != "" && ep == srcEndpoint && d.Project == c.origin.Project && d.name == c.opts.Name {
			return fmt.Errorf("%s is the image's own region and project: give the copy another name, or remove the block", d.label)
		}
		d.imgs = imagepolicy.On(d.Glance, d.Project)
		d.existing, err = imagepolicy.CheckName(ctx, d.imgs, d.name, c.opts.Force,
			imagepolicy.Naming{NameOption: "name for the copy", ForceOption: "image_force", ForceHint: "(or run packer build -force)"})
		if err != nil {
			return fmt.Errorf("%s: %w", d.label, err)
		}
		if d.SameKeystone && c.origin.Region != "" {
			methods, err := d.Glance.ImportMethods(ctx)
			if err != nil {
				log.Printf("[DEBUG] copy: %s: cannot read the import methods (%v); streaming", d.label, err)
			}
			d.pull = slices.Contains(methods, MethodGlanceDownload)
		}
		dests = append(dests, d)
	}
	c.dests, c.checked = dests, true
	return nil
}

// source is the image being copied, as read before the copies start.
type source struct {
	img        *images.Image
	size       int64
	algo, hash string // os_hash_algo, os_hash_value
	md5        string
	region     string
}

func (c *Copier) readSource(ctx context.Context, id string) (*source, error) {
	img, err := c.origin.Glance.GetImage(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reading the image %s to copy: %w", id, err)
	}
	if img.Status != images.ImageStatusActive {
		return nil, fmt.Errorf("the image %s to copy is %s, not active", id, img.Status)
	}
	if img.SizeBytes <= 0 {
		return nil, fmt.Errorf("the image %s to copy has no data", id)
	}
	s := &source{img: img, size: img.SizeBytes, md5: img.Checksum, region: c.origin.Region}
	s.algo, _ = img.Properties["os_hash_algo"].(string)
	s.hash, _ = img.Properties["os_hash_value"].(string)
	return s, nil
}

// sizeCheck is the source-side check of a fan-out: the source gave as many
// bytes as Glance says it holds. (Its content is checked on each copy once
// active: Glance's hash of the copy must equal the source's. Hashing the
// stream here as well would cost a core's worth of time per GiB, as the
// targets hash it anyway; the import engine compares its uploads the same
// way.)
func (s *source) sizeCheck(n int64) error {
	if n != s.size {
		return fmt.Errorf("the source image's data is %d bytes, Glance says %d", n, s.size)
	}
	return nil
}

// Copy copies the image sourceID to every target (checking them first, if
// Check was not called) and returns the copies. With copy_failure "fail" any
// failure, a timeout or a cancelled ctx deletes every copy, finished ones
// included, and returns the error naming the target. With "warn" a failed
// copy is deleted and reported in Result.Warnings, and the others are kept;
// a cancelled ctx still deletes them all.
func (c *Copier) Copy(ctx context.Context, sourceID string) (*Result, error) {
	if !c.Enabled() {
		return &Result{}, nil
	}
	parent := ctx
	ctx, cancel := context.WithTimeoutCause(ctx, c.cfg.CopyTimeout, fmt.Errorf("the copies took longer than copy_timeout (%s)", c.cfg.CopyTimeout))
	defer cancel()
	if err := c.Check(ctx); err != nil {
		return nil, err
	}
	src, err := c.readSource(ctx, sourceID)
	if err != nil {
		return nil, err
	}
	res, errs := c.run(ctx, src)
	var root error
	for _, e := range errs {
		if e != nil && (root == nil || isCancelled(root) && !isCancelled(e)) {
			root = e
		}
	}
	interrupted := parent.Err() != nil
	if root == nil && !interrupted {
		return res, nil
	}
	if c.cfg.CopyFailure == WarnOnly && !interrupted {
		for _, e := range errs {
			if e != nil {
				res.Warnings = append(res.Warnings, e.Error())
			}
		}
		return res, nil
	}
	dctx, dcancel := retry.CleanupContext()
	defer dcancel()
	if derr := res.Delete(dctx, c.opts.Say); derr != nil {
		root = fmt.Errorf("%w; %v", root, derr)
	}
	if interrupted && root == nil {
		root = errors.New("interrupted")
	}
	if interrupted {
		return nil, fmt.Errorf("copies interrupted: %w (no copy was kept)", root)
	}
	return nil, fmt.Errorf("%w (the other copies were stopped and no copy was kept)", root)
}

// cancelledError marks a copy stopped because another one failed.
type cancelledError struct{ cause error }

func (e *cancelledError) Error() string { return "stopped: " + e.cause.Error() }
func (e *cancelledError) Unwrap() error { return e.cause }

func isCancelled(err error) bool {
	var c *cancelledError
	return errors.As(err, &c)
}

// run makes every copy at once: all images are created first, then the source
// is downloaded once for the streamed targets while the others pull; errs holds
// each target's outcome (nil for a copy in the result).
func (c *Copier) run(ctx context.Context, src *source) (*Result, []error) {
	runCtx, stopAll := context.WithCancelCause(ctx)
	defer stopAll(nil)
	var f *fanout
	for _, d := range c.dests {
		d.ctx, d.cancel = context.WithCancelCause(runCtx)
		if d.pull {
			continue
		}
		if f == nil {
			f = newFanout(nil, c.opts.Stall, src.sizeCheck)
		}
		d.tap = f.newTap(d.ctx, d.cancel)
	}
	errs := make([]error, len(c.dests))
	var created, done sync.WaitGroup
	start := make(chan struct{})
	created.Add(len(c.dests))
	done.Add(len(c.dests))
	for i, d := range c.dests {
		go func() {
			defer done.Done()
			err := c.create(d.ctx, d, src)
			if err != nil && d.tap != nil {
				d.tap.Close(err)
			}
			created.Done()
			if err == nil {
				select {
				case <-start:
					err = c.fill(d.ctx, d, src)
				case <-d.ctx.Done():
					err = context.Cause(d.ctx)
				}
			}
			if err == nil {
				err = c.finish(d.ctx, d, src)
			}
			if err == nil {
				d.cancel(nil)
				return
			}
			if d.tap != nil {
				d.tap.Close(err)
			}
			if runCtx.Err() != nil && ctx.Err() == nil && isOtherFailure(context.Cause(runCtx), d) {
				err = &cancelledError{context.Cause(runCtx)}
			} else {
				err = fmt.Errorf("%s: %w", d.label, err)
			}
			if c.cfg.CopyFailure == FailBuild && !isCancelled(err) {
				stopAll(&otherFailed{block: d.block, err: err})
			}
			errs[i] = c.cleanup(d, err)
			d.cancel(err)
		}()
	}
	created.Wait()
	fanDone := make(chan struct{})
	var body io.ReadCloser
	if f != nil && f.live() > 0 {
		var err error
		body, err = c.origin.Glance.Download(runCtx, src.img.ID)
		if err != nil {
			f.finish(&sourceError{fmt.Errorf("downloading image %s from %s: %w", src.img.ID, orDefault(src.region), err)})
			close(fanDone)
		} else {
			f.src = body
			go func() {
				defer close(fanDone)
				f.run(runCtx)
			}()
		}
	} else {
		close(fanDone)
	}
	close(start)
	stopProgress := c.progress(runCtx, src)
	done.Wait()
	stopProgress()
	stopAll(nil)
	if body != nil {
		body.Close()
	}
	<-fanDone

	res := &Result{}
	for i, d := range c.dests {
		if errs[i] == nil && d.image != nil {
			method := MethodStream
			if d.pull {
				method = MethodGlanceDownload
			}
			res.Copies = append(res.Copies, &Copy{
				Block: d.block, Target: d.label, Region: d.Region, Cloud: d.Cloud, ImageID: d.image.ID, Name: d.name,
				Method: method, existing: d.existing, imgs: d.imgs, protected: d.protected,
			})
		}
	}
	return res, errs
}

// otherFailed is the cause with which a failed copy stops the others.
type otherFailed struct {
	block int
	err   error
}

func (e *otherFailed) Error() string {
	return fmt.Sprintf("copy_to block %d failed", e.block+1)
}

// isOtherFailure reports whether cause stopped d because another copy failed.
func isOtherFailure(cause error, d *dest) bool {
	var o *otherFailed
	return errors.As(cause, &o) && o.block != d.block
}

func orDefault(region string) string {
	if region == "" {
		return "the default region"
	}
	return "region " + region
}

// create makes the target's image, queued, with the source's formats and
// metadata (the block's overrides applied) and the run's marker. It is never
// protected here: a failed copy must be deletable.
func (c *Copier) create(ctx context.Context, d *dest, src *source) error {
	s := c.spec(d, src)
	vis := images.ImageVisibility(s.Visibility)
	opts := images.CreateOpts{
		Name: d.name, ContainerFormat: src.img.ContainerFormat, DiskFormat: src.img.DiskFormat, Visibility: &vis,
		Tags: s.Tags, MinDisk: s.MinDisk, MinRAM: s.MinRAM, Properties: s.Properties,
	}
	if s.Hidden {
		opts.Hidden = &s.Hidden
	}
	d.createStarted = time.Now()
	img, err := d.Glance.CreateImage(ctx, opts)
	if err != nil {
		d.createLost = retry.CreateMayHaveHappened(ctx, err)
		return fmt.Errorf("creating image %q: %w", d.name, imagepolicy.ExplainVisibilityRefusal(err, s.Visibility))
	}
	d.image = img
	how := "streaming the source's data"
	if d.pull {
		how = "its Glance pulls it (glance-download)"
	}
	c.opts.Say(fmt.Sprintf("Copy to %s: created image %q (ID %s), %s", d.label, d.name, img.ID, how))
	return nil
}

// spec is the copy: the source's metadata with the block's overrides.
func (c *Copier) spec(d *dest, src *source) imagepolicy.Spec {
	img := src.img
	s := imagepolicy.Spec{
		Name: d.name, Visibility: string(img.Visibility), Tags: slices.Clone(img.Tags),
		MinDisk: img.MinDiskGigabytes, MinRAM: img.MinRAMMegabytes, Protected: img.Protected, Hidden: img.Hidden,
		Properties: map[string]string{},
	}
	for k, v := range img.Properties {
		if str, ok := v.(string); ok && !imagepolicy.Reserved(k) && k != "stores" {
			s.Properties[k] = str
		}
	}
	maps.Copy(s.Properties, d.t.Properties)
	s.Properties[imagepolicy.MarkerProperty] = c.opts.Marker
	if d.t.Visibility != "" {
		s.Visibility = d.t.Visibility
	}
	if d.t.Tags != nil {
		s.Tags = slices.Clone(d.t.Tags)
	}
	if d.t.Protected != nil {
		s.Protected = *d.t.Protected
	}
	switch {
	case d.t.Members != nil:
		s.Members = d.t.Members
		s.AutoAcceptMembers = c.opts.AutoAcceptMembers
	case s.Visibility == "shared":
		s.Members = c.opts.Members
		s.AutoAcceptMembers = c.opts.AutoAcceptMembers
	}
	return s
}

// fill gets the data into the target's image and waits until it is active.
func (c *Copier) fill(ctx context.Context, d *dest, src *source) error {
	id := d.image.ID
	if d.pull {
		call := osapi.ImportCall{Method: MethodGlanceDownload, GlanceImageID: src.img.ID, GlanceRegion: src.region,
			GlanceServiceInterface: c.origin.Interface}
		if err := d.Glance.StartImport(ctx, id, call); err != nil {
			return fmt.Errorf("starting the glance-download import into image %s: %w", id, err)
		}
		return c.waitActive(ctx, d, true)
	}
	var data io.Reader = d.tap
	if c.opts.Track != nil {
		data = c.opts.Track(d.label, src.size, io.NopCloser(d.tap))
	}
	if err := d.Glance.Upload(ctx, id, data, src.size); err != nil {
		if se := d.tap.sourceErr(); se != nil {
			return se
		}
		if cause := context.Cause(ctx); ctx.Err() != nil && cause != nil {
			return fmt.Errorf("uploading to image %s after %s: %w", id, sizeText(d.tap.n.Load()), cause)
		}
		return fmt.Errorf("uploading to image %s after %s: %w", id, sizeText(d.tap.n.Load()), err)
	}
	return c.waitActive(ctx, d, false)
}

// waitActive polls the copy until it is active (and, after an import, let go by
// the import task); a failed import is reported with the task's message.
func (c *Copier) waitActive(ctx context.Context, d *dest, imported bool) error {
	img, err := osapi.WaitForImage(ctx, d.Glance.GetImage, d.image.ID, osapi.ImageWait{
		What:          fmt.Sprintf("image %q (%s)", d.name, d.image.ID),
		ImportStarted: imported,
		Backoff:       waitBackoff,
		OnStatus: func(img *images.Image) {
			log.Printf("[INFO] copy: %s: image %s is %s", d.label, img.ID, img.Status)
		},
	})
	if img != nil {
		d.image = img
	}
	var failed *osapi.ImageFailedError
	if err != nil && imported && errors.As(err, &failed) {
		if msg := taskMessage(d); msg != "" {
			return fmt.Errorf("%w; Glance's task says: %s", err, msg)
		}
	}
	return err
}

// waitBackoff polls a copy often while it is young: most copies of a golden
// image take seconds to minutes. Tests shorten it.
var waitBackoff = retry.Backoff{Initial: 500 * time.Millisecond, Young: 10 * time.Second, Max: 5 * time.Second, Factor: 1.5}

// taskMessage returns the message of the copy's latest failed import task, or
// "" when Glance does not say.
func taskMessage(d *dest) string {
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	tasks, err := d.Glance.ImageTasks(ctx, d.image.ID)
	if err != nil {
		log.Printf("[DEBUG] copy: cannot read the tasks of image %s: %v", d.image.ID, err)
		return ""
	}
	for i := len(tasks) - 1; i >= 0; i-- {
		if tasks[i].Status == "failure" && tasks[i].Message != "" {
			return tasks[i].Message
		}
	}
	return ""
}

// finish verifies the copy against the source, then shares and protects it
// (protection last, so a failure before it can still delete the copy).
func (c *Copier) finish(ctx context.Context, d *dest, src *source) error {
	if err := verify(d.image, src); err != nil {
		return err
	}
	s := c.spec(d, src)
	if err := imagepolicy.Share(ctx, d.imgs, d.image.ID, s.Members, s.AutoAcceptMembers, func(string) {}); err != nil {
		return err
	}
	if s.Protected {
		// Marked before the call: a PATCH cut off by Ctrl-C or copy_timeout may
		// still have been applied, and the clean-up must then unprotect the copy.
		d.protected = true
		if err := imagepolicy.Protect(ctx, d.imgs, d.image.ID); err != nil {
			return err
		}
	}
	c.opts.Say(fmt.Sprintf("Copy to %s: image %s is active and its data matches the source's (%s)", d.label, d.image.ID, hashText(d.image)))
	return nil
}

// verify compares the copy with the source: Glance's own hash of each when
// they use the same algorithm, else their md5 checksums; the sizes always.
func verify(img *images.Image, src *source) error {
	algo, _ := img.Properties["os_hash_algo"].(string)
	value, _ := img.Properties["os_hash_value"].(string)
	switch {
	case img.SizeBytes != src.size:
		return fmt.Errorf("image %s holds %d bytes, the source %d", img.ID, img.SizeBytes, src.size)
	case algo != "" && strings.EqualFold(algo, src.algo) && src.hash != "":
		if !strings.EqualFold(value, src.hash) {
			return fmt.Errorf("image %s's %s (%s) differs from the source's (%s)", img.ID, algo, value, src.hash)
		}
	case img.Checksum != "" && src.md5 != "":
		if !strings.EqualFold(img.Checksum, src.md5) {
			return fmt.Errorf("image %s's md5 (%s) differs from the source's (%s)", img.ID, img.Checksum, src.md5)
		}
	default:
		return fmt.Errorf("image %s cannot be verified: Glance reports no hash comparable with the source's (%s)", img.ID, src.algo)
	}
	return nil
}

func hashText(img *images.Image) string {
	algo, _ := img.Properties["os_hash_algo"].(string)
	value, _ := img.Properties["os_hash_value"].(string)
	if len(value) > 16 {
		value = value[:16] + "…"
	}
	return algo + " " + value
}

// cleanup deletes what a failed copy made, with a fresh context so it runs
// after Ctrl-C too, and returns the error to report.
func (c *Copier) cleanup(d *dest, err error) error {
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	if d.image == nil && d.createLost {
		// Looked for twice, a moment apart: a create cut off by another target's
		// failure or by Ctrl-C may still be running inside Glance.
		lost, ferr := retry.LookTwice(ctx, osapi.LostLookupPause, func(ctx context.Context) ([]imagepolicy.Image, error) {
			found, err := imagepolicy.FindLost(ctx, d.imgs, c.opts.Marker, d.createStarted)
			return slices.DeleteFunc(found, func(img imagepolicy.Image) bool { return img.Name != d.name }), err
		})
		if ferr != nil {
			return fmt.Errorf("%w; looking for the image the lost create may have made also failed: %v", err, ferr)
		}
		for _, img := range lost {
			if derr := imagepolicy.DeleteUnfinished(ctx, d.imgs, img.ID, false); derr != nil {
				return fmt.Errorf("%w; deleting image %s also failed: %v", err, img.ID, derr)
			}
			log.Printf("[INFO] copy: deleted image %s, made by a create whose reply was lost", img.ID)
		}
		return err
	}
	if d.image == nil {
		return err
	}
	id := d.image.ID
	if derr := imagepolicy.DeleteUnfinished(ctx, d.imgs, id, d.protected); derr != nil {
		return fmt.Errorf("%w; deleting its image %s also failed: %v (delete it by hand)", err, id, derr)
	}
	d.image = nil
	return fmt.Errorf("%w (its image %s was deleted)", err, id)
}

// progress reports, every LogEvery, how far each streamed copy is.
func (c *Copier) progress(ctx context.Context, src *source) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	started := time.Now()
	go func() {
		t := time.NewTicker(c.opts.LogEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for _, d := range c.dests {
					if d.tap == nil || d.tap.isClosed() || d.ctx.Err() != nil {
						continue
					}
					n := d.tap.n.Load()
					if n >= src.size {
						continue
					}
					rate := float64(n) / time.Since(started).Seconds()
					c.opts.Say(fmt.Sprintf("Copy to %s: %s of %s sent (%s/s)", d.label, sizeText(n), sizeText(src.size), sizeText(int64(rate))))
				}
			}
		}
	}()
	return cancel
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
