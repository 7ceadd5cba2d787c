package glanceimport

import (
	"bufio"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log"
	"slices"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/hashicorp/packer-plugin-sdk/uuid"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// Image is a Glance image as gophercloud reads it.
type Image = images.Image

// importer carries one import's state.
type importer struct {
	g     Glance
	req   Request
	sum   *Checksum
	image *Image // the image this import created, once it exists
	res   Result
	// existing are the images of the requested name found before the import.
	existing []imagepolicy.Image
	// createStarted is when the create call began.
	createStarted time.Time
	// createLost says the create call failed in a way that may still have made
	// the image (cut off, or a 5xx): cleanup then looks for it.
	createLost bool
}

// Import creates the image described by req and fills it with data, then waits
// until Glance reports it active. On any failure, including a cancelled ctx, the
// image it created is deleted (unless req.KeepFailedImage) and the error says
// which source, method and state were involved.
func Import(ctx context.Context, g Glance, req Request) (*Result, error) {
	im := &importer{g: g, req: withDefaults(req)}
	timeout := im.req.Timeout
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("the import took longer than its timeout (%s)", timeout))
	defer cancel()

	res, err := im.run(ctx)
	if err == nil {
		return res, nil
	}
	if ctx.Err() != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			err = fmt.Errorf("%w (%v)", cause, err)
		} else {
			err = fmt.Errorf("interrupted: %w", err)
		}
	}
	return nil, im.cleanup(err)
}

func withDefaults(r Request) Request {
	if r.Method == "" {
		r.Method = MethodAuto
	}
	if r.Decompress == "" {
		r.Decompress = DecompressAuto
	}
	if r.Image.ContainerFormat == "" {
		r.Image.ContainerFormat = "bare"
	}
	if r.Image.DiskFormat == "" {
		r.Image.DiskFormat = "qcow2"
	}
	if r.Image.Visibility == "" {
		r.Image.Visibility = "private"
	}
	if r.Timeout <= 0 {
		r.Timeout = DefaultTimeout
	}
	if r.Marker == "" {
		r.Marker = uuid.TimeOrderedUUID()
	}
	if r.LogEvery <= 0 {
		r.LogEvery = 15 * time.Second
	}
	if r.Say == nil {
		r.Say = func(line string) { log.Printf("[INFO] glance-import: %s", line) }
	}
	return r
}

func (im *importer) run(ctx context.Context) (*Result, error) {
	req := &im.req
	if req.Image.Name == "" {
		return nil, errors.New("the image needs a name")
	}
	var err error
	if im.sum, err = ParseChecksum(req.Checksum); err != nil {
		return nil, fmt.Errorf("checksum: %w", err)
	}
	existing, err := imagepolicy.CheckName(ctx, im.images(), req.Image.Name, req.Force, imagepolicy.Naming{NameOption: "image_name", ForceOption: "image_force"})
	if err != nil {
		return nil, err
	}
	im.existing = existing
	if im.sum != nil && im.sum.File != "" {
		if err := im.resolveChecksumFile(ctx); err != nil {
			return nil, err
		}
	}

	method, probe, err := im.chooseMethod(ctx)
	if err != nil {
		return nil, err
	}
	im.res.Method = method
	if method == MethodWebDownload {
		err = im.webDownload(ctx, probe)
	} else {
		err = im.streamRestarting(ctx, method)
	}
	if err != nil {
		return nil, err
	}
	if err := im.finish(ctx, existing); err != nil {
		return nil, err
	}
	return &im.res, nil
}

// images is the image policy's view of the engine's Glance, scoped to the
// owner the request names.
func (im *importer) images() imagepolicy.Images {
	return imagepolicy.On(im.g, im.req.OwnerID)
}

// resolveChecksumFile reads the SUMS file and finds the source's entry.
func (im *importer) resolveChecksumFile(ctx context.Context) error {
	where := im.sum.File
	data, err := im.req.Source.fetchSmall(ctx, where)
	if err != nil {
		return fmt.Errorf("reading checksum file %s: %w", access.RedactURLString(where), err)
	}
	name := im.req.Source.name()
	c, err := FindInSums(strings.NewReader(string(data)), name, im.sum.Algorithm)
	if err != nil {
		return fmt.Errorf("checksum file %s: %w", access.RedactURLString(where), err)
	}
	im.sum = c
	return nil
}

// needsClient reports whether the request asks for work only the plugin can do on
// the bytes, which rules out web-download. Credentials count however they are
// given, user info inside the URL included: handed to Glance, they would be kept in
// its task records, readable by anyone who can list the image's tasks.
func (im *importer) needsClient() bool {
	r := &im.req
	return r.Decompress == DecompressAlways || im.sum != nil || r.MaxImageSize > 0 || r.Source.Username != "" ||
		r.Source.Password != "" || len(r.Source.Headers) > 0 || URLHasCredentials(r.Source.URL)
}

// URLHasCredentials reports whether a URL carries a credential: user info, or
// a signature or token in its query (see access.URLCarriesSecrets).
func URLHasCredentials(raw string) bool { return access.URLCarriesSecrets(raw) }

// chooseMethod settles the import method, checking what the cloud offers. For a
// URL in auto mode it also reads the first bytes: compressed data must stream
// through the plugin, because Glance would store it compressed.
func (im *importer) chooseMethod(ctx context.Context) (Method, []byte, error) {
	r := &im.req
	streamMethod := MethodUpload
	if len(r.Stores) > 0 || r.AllStores {
		streamMethod = MethodGlanceDirect
	}
	switch r.Method {
	case MethodWebDownload:
		if r.Source.URL == "" {
			return "", nil, errors.New("web-download needs a source URL")
		}
		if URLHasCredentials(r.Source.URL) {
			return "", nil, errors.New("web-download would hand the credentials in the URL (user info, or a signature or token in its query) to Glance, which keeps them in its task records: let the plugin download it (import_method auto or upload)")
		}
		if err := im.requireMethod(ctx, MethodWebDownload); err != nil {
			return "", nil, err
		}
		return MethodWebDownload, nil, nil
	case MethodGlanceDirect:
		return MethodGlanceDirect, nil, im.requireMethod(ctx, MethodGlanceDirect)
	case MethodUpload:
		return MethodUpload, nil, nil
	}
	if r.Source.URL == "" || im.needsClient() {
		if streamMethod == MethodGlanceDirect {
			return streamMethod, nil, im.requireMethod(ctx, MethodGlanceDirect)
		}
		return streamMethod, nil, nil
	}
	methods, err := im.g.ImportMethods(ctx)
	if err != nil {
		log.Printf("[DEBUG] glance-import: cannot read the import methods (%v); streaming through the plugin", err)
		return streamMethod, nil, nil
	}
	if !slices.Contains(methods, string(MethodWebDownload)) {
		return streamMethod, nil, nil
	}
	probe, unsized, err := im.probe(ctx)
	if err != nil {
		return "", nil, err
	}
	if unsized {
		// Glance (Zed) compares the bytes it downloaded with Content-Length and fails
		// the import without one.
		r.Say("The source sends no length (chunked): the plugin streams it, as Glance's web-download would fail")
		return streamMethod, nil, nil
	}
	if c := DetectCompression(probe); c != NoCompression && r.Decompress != DecompressNever {
		r.Say(fmt.Sprintf("The source is %s-compressed: the plugin decompresses it while streaming, instead of Glance's web-download", c))
		return streamMethod, nil, nil
	}
	return MethodWebDownload, probe, nil
}

func (im *importer) requireMethod(ctx context.Context, m Method) error {
	methods, err := im.g.ImportMethods(ctx)
	if err != nil {
		return fmt.Errorf("reading the cloud's import methods for %s: %w", m, err)
	}
	if !slices.Contains(methods, string(m)) {
		return fmt.Errorf("this cloud does not offer the %s import method (it offers: %s)", m, strings.Join(methods, ", "))
	}
	return nil
}

// probe reads the first bytes of the URL (asking for just that range), and tells
// whether the server sent the file without a length.
func (im *importer) probe(ctx context.Context) ([]byte, bool, error) {
	src := im.req.Source
	d := &download{ctx: ctx, src: &src, url: src.URL, size: -1, headOnly: sniffLen}
	if err := d.connect(0); err != nil {
		return nil, false, err
	}
	defer d.Close()
	d.size = -1 // a range answer's length is not the file's
	buf := make([]byte, sniffLen)
	n, err := io.ReadFull(d, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, false, err
	}
	return buf[:n], d.unsized, nil
}

// createImage creates the image record. It is never protected at this point: a
// failed import must be deletable.
func (im *importer) createImage(ctx context.Context, diskFormat string) error {
	s := &im.req.Image
	vis := images.ImageVisibility(s.Visibility)
	opts := images.CreateOpts{
		Name:            s.Name,
		ContainerFormat: s.ContainerFormat,
		DiskFormat:      diskFormat,
		Visibility:      &vis,
		Tags:            s.Tags,
		MinDisk:         s.MinDisk,
		MinRAM:          s.MinRAM,
		Properties:      s.Properties,
	}
	if s.Hidden {
		hidden := true
		opts.Hidden = &hidden
	}
	// The image carries this import's marker from its creation: only an image
	// with it is ever taken for one this import made.
	opts.Properties = map[string]string{imagepolicy.MarkerProperty: im.req.Marker}
	for k, v := range s.Properties {
		opts.Properties[k] = v
	}
	im.createStarted = time.Now()
	img, err := im.g.CreateImage(ctx, opts)
	if err != nil {
		im.createLost = retry.CreateMayHaveHappened(ctx, err)
		return fmt.Errorf("creating image %q: %w", s.Name, imagepolicy.ExplainVisibilityRefusal(err, s.Visibility))
	}
	im.image = img
	im.req.Say(fmt.Sprintf("Created image %q (ID %s, %s/%s)", s.Name, img.ID, diskFormat, s.ContainerFormat))
	return nil
}

// webDownload has Glance fetch the URL.
func (im *importer) webDownload(ctx context.Context, probe []byte) error {
	format := im.req.Image.DiskFormat
	if format == "auto" {
		if probe != nil {
			format = DetectDiskFormat(probe)
		} else if f, ok := FormatFromName(im.req.Source.name()); ok {
			format = f
		} else {
			return fmt.Errorf("disk_format auto: cannot tell the format of %s without reading it; set disk_format", im.req.Source.describe())
		}
	}
	for attempt := 1; ; attempt++ {
		if err := im.createImage(ctx, format); err != nil {
			return err
		}
		im.req.Say(fmt.Sprintf("Asking Glance to download %s (web-download)", im.req.Source.describe()))
		call := im.importCall(MethodWebDownload)
		call.URI = im.req.Source.URL
		if err := im.g.StartImport(ctx, im.image.ID, call); err != nil {
			return fmt.Errorf("starting the web-download import of %s: %w", im.req.Source.describe(), err)
		}
		err := im.waitActive(ctx, true)
		if !errors.Is(err, errTaskDied) || attempt > streamRestarts || ctx.Err() != nil {
			return err
		}
		im.req.Say(fmt.Sprintf("glance-api restarted while it downloaded %s, and its import task died with it: importing again into a new image (%d of %d)",
			im.req.Source.describe(), attempt, streamRestarts))
		if err := im.discardImage(err); err != nil {
			return err
		}
	}
}

// discardImage deletes the half-made image before the import starts again.
func (im *importer) discardImage(cause error) error {
	dctx, cancel := retry.CleanupContext()
	defer cancel()
	if err := imagepolicy.DeleteUnfinished(dctx, im.images(), im.image.ID, false); err != nil {
		return fmt.Errorf("%w; deleting the half-made image %s before starting again also failed: %v", cause, im.image.ID, err)
	}
	im.image = nil
	return nil
}

func (im *importer) importCall(m Method) ImportCall {
	return ImportCall{Method: string(m), Stores: im.req.Stores, AllStores: im.req.AllStores, AllStoresMustSucceed: im.req.AllStoresMustSucceed}
}

// stream sends the data through the plugin: source → hash → read-ahead →
// decompress → hash → read-ahead → Glance, each arrow after a read-ahead in its
// own goroutine, so network, decompression, hashing and upload overlap.
func (im *importer) stream(ctx context.Context, method Method) error {
	r := &im.req
	body, size, err := r.Source.open(ctx)
	if err != nil {
		return err
	}
	// The stages shut down in data order: closing the source and the first
	// read-ahead fails the decompressor's reads in the second read-ahead, whose
	// goroutine is waited for before the decompressor is closed under it.
	var tracked io.ReadCloser = body
	var stage1, stage2 *readAhead
	var dec io.ReadCloser
	defer func() {
		body.Close()
		if tracked != body {
			tracked.Close()
		}
		if stage1 != nil {
			stage1.Close()
		}
		if stage2 != nil {
			stage2.Close()
			stage2.Wait()
		}
		if dec != nil {
			dec.Close()
		}
	}()
	if r.Track != nil {
		tracked = r.Track(r.Source.name(), size, body)
	}
	var srcHashes []hash.Hash
	var srcHash hash.Hash
	if im.sum != nil {
		srcHash = newHash(im.sum.Algorithm)
		srcHashes = append(srcHashes, srcHash)
	}
	srcCount := &counter{r: tracked, hashes: srcHashes}
	stage1 = newReadAhead(ctx, srcCount)
	compressed := bufio.NewReaderSize(stage1, 2*sniffLen)
	head, err := compressed.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading %s: %w", r.Source.describe(), err)
	}
	comp := DetectCompression(head)
	switch {
	case r.Decompress == DecompressNever:
		comp = NoCompression
	case r.Decompress == DecompressAlways && comp == NoCompression:
		return fmt.Errorf("decompress is true, but %s is not gzip, bzip2, xz or zstd data (it starts with % x)", r.Source.describe(), head[:min(8, len(head))])
	}
	im.res.Compression = comp
	var data io.Reader = compressed
	uploadSize := size
	if comp != NoCompression {
		if dec, err = newDecompressor(ctx, comp, compressed); err != nil {
			return fmt.Errorf("decompressing %s: %w", r.Source.describe(), err)
		}
		data = dec
		uploadSize = -1
	}
	plain := bufio.NewReaderSize(data, 2*sniffLen)
	format := r.Image.DiskFormat
	if format == "auto" {
		p, err := plain.Peek(sniffLen)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("decompressing %s: %w", r.Source.describe(), err)
		}
		format = DetectDiskFormat(p)
	}
	// Hashing runs in the second stage's goroutine, so it overlaps with the
	// upload's socket writes instead of adding to them.
	upHash := sha512.New()
	var sent io.Reader = plain
	if r.MaxImageSize > 0 {
		sent = &sizeLimit{r: plain, max: r.MaxImageSize}
	}
	upCount := &counter{r: sent, hashes: []hash.Hash{upHash}}
	stage2 = newReadAhead(ctx, upCount)
	final := &endCheck{r: stage2, check: func() error {
		// The decompressor may stop before the source's end: hash the rest too.
		if _, err := io.Copy(io.Discard, compressed); err != nil {
			return fmt.Errorf("reading the end of %s: %w", r.Source.describe(), err)
		}
		return im.verifySource(srcHash)
	}}

	if err := im.createImage(ctx, format); err != nil {
		return err
	}
	what := "Uploading"
	if comp != NoCompression {
		what = fmt.Sprintf("Decompressing (%s) and uploading", comp)
	}
	r.Say(fmt.Sprintf("%s %s (%s) to image %s with %s", what, r.Source.describe(), formatSize(size), im.image.ID, method))
	stopLog := progressLogger(ctx, "glance-import: "+r.Source.name(), size, srcCount.n.Load, func(f string, a ...any) { log.Printf("[INFO] "+f, a...) }, r.LogEvery)
	if method == MethodGlanceDirect {
		err = im.g.Stage(ctx, im.image.ID, final, uploadSize)
	} else {
		err = im.g.Upload(ctx, im.image.ID, final, uploadSize)
	}
	stopLog()
	im.res.SourceBytes, im.res.UploadedBytes = srcCount.n.Load(), upCount.n.Load()
	if err != nil {
		var v *verifyError
		if errors.As(err, &v) {
			return v
		}
		verb := "uploading"
		if method == MethodGlanceDirect {
			verb = "staging"
		}
		return fmt.Errorf("%s %s to image %s after %s: %w", verb, r.Source.describe(), im.image.ID, formatSize(im.res.UploadedBytes), err)
	}
	if !final.done {
		return fmt.Errorf("Glance accepted the data of %s before the end of the stream", r.Source.describe())
	}
	im.res.UploadedSHA512 = hex.EncodeToString(upHash.Sum(nil))
	log.Printf("[INFO] glance-import: sent %d bytes (%d read from the source), sha512 %s", im.res.UploadedBytes, im.res.SourceBytes, im.res.UploadedSHA512)

	if method == MethodGlanceDirect {
		if err := im.g.StartImport(ctx, im.image.ID, im.importCall(MethodGlanceDirect)); err != nil {
			return fmt.Errorf("starting the glance-direct import of image %s: %w", im.image.ID, err)
		}
	}
	if err := im.waitActive(ctx, method == MethodGlanceDirect); err != nil {
		return err
	}
	return im.verifyUpload(method, format)
}

// streamRestarts is how many times a broken upload starts again from the
// source: enough to ride out a glance-api restart, few enough that a cloud
// which breaks every upload fails the import within minutes.
const streamRestarts = 3

// streamRestarting streams the data, and when the upload fails transiently (a
// connection reset, refused or cut short, a 5xx or a 429: glance-api restarting
// or overloaded), deletes the half-made image and starts again from the source,
// if the source can be read again (a file or a URL, not an open stream), up to
// streamRestarts times. A 4xx refusal (a full store is a 413), a wrong checksum
// or a size limit never restarts: sending the data again would not help.
func (im *importer) streamRestarting(ctx context.Context, method Method) error {
	var broke error // the last broken upload, which a later failure must not hide
	for attempt := 1; ; attempt++ {
		err := im.stream(ctx, method)
		var v *verifyError
		// Only the data's way to Glance restarts: a create that failed (im.image is
		// nil) is the lost-create clean-up's business.
		if err == nil || errors.As(err, &v) || ctx.Err() != nil || im.req.Source.Reader != nil ||
			im.image == nil || attempt > streamRestarts || !(retry.IsTransient(err) || errors.Is(err, errTaskDied)) {
			if err != nil && broke != nil {
				err = fmt.Errorf("%w; before that, the upload broke %d time(s), the last: %v", err, attempt-1, broke)
			}
			return err
		}
		broke = err
		im.req.Say(fmt.Sprintf("The upload broke (%v): starting again from %s (%d of %d)", err, im.req.Source.describe(), attempt, streamRestarts))
		// The image may be stuck in saving (or importing) after a glance-api
		// restart: a new one is made for the new attempt, and this one deleted.
		if derr := im.discardImage(err); derr != nil {
			return derr
		}
		if retry.SleepContext(ctx, time.Duration(attempt)*2*time.Second) != nil {
			return err
		}
	}
}

// verifyError is a checksum mismatch or an image over max_image_size; it passes
// through the HTTP client unchanged.
type verifyError struct{ msg string }

func (e *verifyError) Error() string { return e.msg }

// sizeLimit fails the stream once more than max bytes passed: a decompression
// bomb, or a source far larger than announced, stops the upload instead of
// filling the store.
type sizeLimit struct {
	r   io.Reader
	max int64
	n   int64
}

func (l *sizeLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return 0, &verifyError{fmt.Sprintf("the image data grew past max_image_size (%s): stopped", formatSize(l.max))}
	}
	return n, err
}

func (im *importer) verifySource(h hash.Hash) error {
	if im.sum == nil {
		return nil
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != im.sum.Value {
		return &verifyError{fmt.Sprintf("checksum mismatch for %s: %s is %s, expected %s", im.req.Source.describe(), im.sum.Algorithm, got, im.sum.Value)}
	}
	im.res.SourceChecksum = im.sum.Algorithm + ":" + got
	im.req.Say(fmt.Sprintf("Verified %s checksum of %s", im.sum.Algorithm, im.req.Source.describe()))
	return nil
}

// verifyUpload compares what was sent with what Glance stored. Import plugins may
// convert the data (glance-direct), so then only unchanged data is compared.
func (im *importer) verifyUpload(method Method, format string) error {
	img := im.image
	algo, _ := img.Properties["os_hash_algo"].(string)
	value, _ := img.Properties["os_hash_value"].(string)
	changed := img.SizeBytes != im.res.UploadedBytes || img.DiskFormat != format
	if method == MethodUpload && img.SizeBytes != 0 && img.SizeBytes != im.res.UploadedBytes {
		return fmt.Errorf("Glance stored %d bytes for image %s, but %d were sent", img.SizeBytes, img.ID, im.res.UploadedBytes)
	}
	switch {
	case value == "" || algo != "sha512":
		log.Printf("[INFO] glance-import: Glance reports no sha512 hash (os_hash_algo %q); upload not compared", algo)
	case method == MethodGlanceDirect && changed:
		log.Printf("[INFO] glance-import: Glance's import plugins changed the data (now %d bytes, %s); upload hash not compared", img.SizeBytes, img.DiskFormat)
	case !strings.EqualFold(value, im.res.UploadedSHA512):
		return fmt.Errorf("Glance's sha512 of image %s (%s) differs from the sha512 of the bytes sent (%s)", img.ID, value, im.res.UploadedSHA512)
	default:
		im.req.Say(fmt.Sprintf("Glance's sha512 matches the %s sent", formatSize(im.res.UploadedBytes)))
	}
	return nil
}

// waitActive polls the image until it is active or failed.
func (im *importer) waitActive(ctx context.Context, importStarted bool) error {
	im.req.Say(fmt.Sprintf("Waiting for image %s to become active", im.image.ID))
	get := func(ctx context.Context, id string) (*images.Image, error) { return im.g.GetImage(ctx, id) }
	if importStarted {
		get = (&taskWatch{im: im}).get
	}
	img, err := osapi.WaitForImage(ctx, get, im.image.ID, osapi.ImageWait{
		What:          fmt.Sprintf("image %q (%s)", im.req.Image.Name, im.image.ID),
		ImportStarted: importStarted,
		OnStatus: func(img *images.Image) {
			log.Printf("[INFO] glance-import: image %s is %s", img.ID, img.Status)
		},
	})
	if img != nil {
		im.image = img
	}
	if err != nil {
		var failed *osapi.ImageFailedError
		if errors.As(err, &failed) && importStarted {
			if msg := im.taskMessage(); msg != "" {
				return fmt.Errorf("importing %s with %s: %w; Glance's task says: %s", im.req.Source.describe(), im.res.Method, err, msg)
			}
		}
		return fmt.Errorf("importing %s with %s: %w", im.req.Source.describe(), im.res.Method, err)
	}
	if len(im.req.Stores) > 0 || im.req.AllStores {
		if failed, _ := img.Properties["os_glance_failed_import"].(string); failed != "" {
			return fmt.Errorf("image %s is active, but the import failed for stores %s", img.ID, failed)
		}
	}
	return nil
}

// taskMessage returns the message of the image's latest failed import task, or
// "" when Glance does not say (older API, policy).
func (im *importer) taskMessage() string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tasks, err := im.g.ImageTasks(ctx, im.image.ID)
	if err != nil {
		log.Printf("[DEBUG] glance-import: cannot read the tasks of image %s: %v", im.image.ID, err)
		return ""
	}
	for i := len(tasks) - 1; i >= 0; i-- {
		if tasks[i].Status == "failure" && tasks[i].Message != "" {
			return tasks[i].Message
		}
	}
	return ""
}

// finish applies what needs an active image: members, protection (last, so
// a failure before it can still delete the image), and the replacement of
// older images of the same name.
func (im *importer) finish(ctx context.Context, existing []imagepolicy.Image) error {
	s := &im.req.Image
	id := im.image.ID
	imgs := im.images()
	if err := imagepolicy.Share(ctx, imgs, id, s.Members, s.AutoAcceptMembers, func(string) {}); err != nil {
		return err
	}
	if s.Protected {
		if err := imagepolicy.Protect(ctx, imgs, id); err != nil {
			return err
		}
		im.image.Protected = true
	}
	if im.req.KeepOlder {
		im.res.Older = existing
	} else {
		im.res.Replaced = imagepolicy.ReplaceOlder(ctx, imgs, existing, id, im.req.Say)
	}
	im.res.Image = im.image
	return nil
}

// cleanup deletes the half-made image after a failure, with a fresh context so it
// runs after Ctrl-C too, and returns the error to report.
func (im *importer) cleanup(err error) error {
	if im.image == nil && im.createLost {
		return im.cleanupLost(err)
	}
	if im.image == nil {
		return err
	}
	id := im.image.ID
	if im.req.KeepFailedImage {
		return fmt.Errorf("%w (image %s was kept: keep_failed_image is set)", err, id)
	}
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	// The image's ID came from Glance's reply, so it is this import's own: when
	// protection was asked for, a protect call cut off by Ctrl-C may have been
	// applied, and the delete needs it undone.
	if derr := imagepolicy.DeleteUnfinished(ctx, im.images(), id, im.req.Image.Protected); derr != nil {
		return fmt.Errorf("%w; deleting the failed image %s also failed: %v", err, id, derr)
	}
	log.Printf("[INFO] glance-import: deleted the failed image %s", id)
	return fmt.Errorf("%w (the failed image %s was deleted)", err, id)
}
