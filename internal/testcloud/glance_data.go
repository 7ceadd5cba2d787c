package testcloud

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// hashedData is what Glance records of image data: its size, md5 checksum and sha512 multihash; plus
// its first bytes, which the format inspector reads.
type hashedData struct {
	size           int64
	md5sum, sha512 string
	head           []byte
	// unpacked describes the gzip-decompressed data, for the image_decompression import plugin when the
	// cloud keeps no file to decompress later (Options.DiscardImageData); nil when not computed.
	unpacked  *hashedData
	unpackErr error
}

// hasher computes a hashedData as the data streams through it.
type hasher struct {
	md5, sha512 hash.Hash
	size        int64
	head        []byte
}

func newHasher() *hasher { return &hasher{md5: md5.New(), sha512: sha512.New()} }

func (h *hasher) Write(p []byte) (int, error) {
	if room := qcow2HeaderLen - len(h.head); room > 0 {
		h.head = append(h.head, p[:min(room, len(p))]...)
	}
	h.md5.Write(p)
	h.sha512.Write(p)
	h.size += int64(len(p))
	return len(p), nil
}

func (h *hasher) sum() hashedData {
	return hashedData{size: h.size, md5sum: sumHex(h.md5), sha512: sumHex(h.sha512), head: h.head}
}

// streamToFile copies r into path through a fixed-size buffer (bounded memory for any size).
func streamToFile(path string, r io.Reader) (hashedData, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return hashedData{}, fmt.Errorf("create %s: %w", path, err)
	}
	h := newHasher()
	_, err = io.CopyBuffer(io.MultiWriter(f, h), r, make([]byte, 256<<10))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return hashedData{}, err
	}
	return h.sum(), nil
}

// receiveData takes image data from a client or a web-download source: into path, or, when the cloud
// discards image data, only through the hashes (path is then not created, and "" is returned).
// unpack asks, in that discarding mode, for the hashes of the gzip-decompressed data too, since the
// import plugin that needs them will have no file to read.
func (c *Cloud) receiveData(path string, r io.Reader, unpack bool) (string, hashedData, error) {
	if !c.opts.DiscardImageData {
		h, err := streamToFile(path, r)
		if err != nil {
			return "", h, err
		}
		return path, h, nil
	}
	h := newHasher()
	var w io.Writer = h
	var u *unpackHasher
	if unpack {
		u = &unpackHasher{}
		w = io.MultiWriter(h, u)
	}
	_, err := io.CopyBuffer(w, r, make([]byte, 256<<10))
	sum := h.sum()
	if u != nil {
		sum.unpacked, sum.unpackErr = u.finish(err)
	}
	return "", sum, err
}

// unpackHasher hashes the gzip-decompressed form of a stream written to it. It decompresses only a
// stream that starts with the gzip magic; others cost nothing.
type unpackHasher struct {
	seen    []byte // the first bytes, until the magic can be checked
	decided bool
	pw      *io.PipeWriter
	done    chan struct{}
	out     hashedData
	err     error
}

func (u *unpackHasher) Write(p []byte) (int, error) {
	if !u.decided {
		take := min(len(gzipMagic)-len(u.seen), len(p))
		earlier := len(u.seen)
		u.seen = append(u.seen, p[:take]...)
		if len(u.seen) < len(gzipMagic) {
			return len(p), nil
		}
		u.decided = true
		if !bytes.Equal(u.seen, gzipMagic) {
			return len(p), nil
		}
		u.start()
		// The bytes of earlier writes were only remembered: the decompressor needs them first.
		if earlier > 0 {
			if _, err := u.pw.Write(u.seen[:earlier]); err != nil {
				return 0, err
			}
		}
	}
	if u.pw == nil {
		return len(p), nil
	}
	return u.pw.Write(p)
}

// start runs the decompressor. After a decompression error it keeps draining the pipe, so that the
// upload itself goes on: Glance reads the whole body before its import plugin runs.
func (u *unpackHasher) start() {
	pr, pw := io.Pipe()
	u.pw, u.done = pw, make(chan struct{})
	go func() {
		defer close(u.done)
		h := newHasher()
		zr, err := gzip.NewReader(pr)
		if err == nil {
			_, err = io.CopyBuffer(h, zr, make([]byte, 256<<10))
		}
		if err != nil {
			u.err = fmt.Errorf("decompress imported data: %w", err)
		}
		u.out = h.sum()
		_, _ = io.Copy(io.Discard, pr)
	}()
}

// finish ends the decompressor once the stream ended (with streamErr when it broke) and returns the
// decompressed data's hashes, or nil when the stream was not gzip.
func (u *unpackHasher) finish(streamErr error) (*hashedData, error) {
	if u.pw == nil {
		return nil, nil
	}
	_ = u.pw.CloseWithError(streamErr) // nil closes it cleanly
	<-u.done
	return &u.out, u.err
}

func sumHex(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// hashFile computes the hashes of an existing file.
func hashFile(path string) (hashedData, error) {
	f, err := os.Open(path)
	if err != nil {
		return hashedData{}, err
	}
	defer f.Close()
	h := newHasher()
	if _, err := io.CopyBuffer(h, f, make([]byte, 256<<10)); err != nil {
		return hashedData{}, fmt.Errorf("hash %s: %w", path, err)
	}
	return h.sum(), nil
}

// expectedSize is the declared size of an upload: Content-Length (-1 = chunked). Glance ignores an
// X-OpenStack-Image-Size header, and so does the test cloud.
func expectedSize(r *http.Request) int64 { return r.ContentLength }

func (reg *region) imagePath(id string) string { return filepath.Join(reg.dir, "images", id) }
func (reg *region) stagePath(id string) string { return filepath.Join(reg.dir, "staging", id) }

// markActive stores hashes and marks the image active. An empty dataPath means the data went only
// through the hashes (Options.DiscardImageData). Callers hold c.mu.
func markActive(img *image, dataPath string, h hashedData, stores []string) {
	img.dataPath = dataPath
	img.discarded = dataPath == ""
	img.Size = h.size
	img.Checksum, img.OSHashAlgo, img.OSHashValue = h.md5sum, "sha512", h.sha512
	img.Status = "active"
	img.Stores = stores
	if img.VirtualSize == 0 {
		img.VirtualSize = inspectVirtualSize(h.head, img.DiskFormat, img.ContainerFormat, h.size)
	}
	img.touch()
}

func (c *Cloud) glanceUpload(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/octet-stream") {
		rc.fail(w, http.StatusUnsupportedMediaType, "Content-Type must be application/octet-stream")
		return
	}
	c.mu.Lock()
	img := c.lookupModifiableImage(w, r, rc, "upload data for")
	if img == nil {
		c.mu.Unlock()
		return
	}
	if img.Status != "queued" {
		c.mu.Unlock()
		rc.fail(w, http.StatusConflict, "Image status transition from %s to saving is not allowed", img.Status)
		return
	}
	if img.ContainerFormat == "" || img.DiskFormat == "" {
		c.mu.Unlock()
		rc.fail(w, http.StatusBadRequest, "Properties disk_format, container_format must be set prior to saving data.")
		return
	}
	action, msg := c.stateFault("image.upload", rc.region)
	img.Status = "saving"
	img.uploadGen++
	gen := img.uploadGen
	img.touch()
	reg := rc.reg
	tmp := reg.imagePath(img.ID) + ".upload"
	c.mu.Unlock()

	var body io.Reader = r.Body
	if action == ActionCut {
		body = &cutReader{r: r.Body, left: cutPoint(expectedSize(r))}
	}
	stored, h, err := c.receiveData(tmp, body, false)
	if err == nil {
		if want := expectedSize(r); want >= 0 && want != h.size {
			err = fmt.Errorf("size of uploaded data (%d) does not match the declared size (%d)", h.size, want)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if img.uploadGen != gen || reg.images[img.ID] != img {
		removeData(stored)
		rc.fail(w, http.StatusGone, "Image %s could not be found after upload. The image may have been deleted during the upload.", img.ID)
		return
	}
	switch {
	case action == ActionCut:
		// The connection breaks mid-stream: Glance sees a client disconnect and returns to queued.
		removeData(stored)
		img.Status = "queued"
		img.touch()
		panic(http.ErrAbortHandler) // the deferred unlock runs on the way out
	case err != nil:
		removeData(stored)
		img.Status = "queued" // Glance v2 returns a failed upload to queued
		img.touch()
		rc.fail(w, http.StatusBadRequest, "Failed to upload image data: %v", err)
	case action == ActionKill:
		removeData(stored)
		img.Status = "killed"
		img.touch()
		rc.fail(w, http.StatusInternalServerError, "%s", msg)
	case action == ActionFail:
		removeData(stored)
		img.Status = "queued"
		img.touch()
		rc.fail(w, http.StatusServiceUnavailable, "%s", msg)
	case action == ActionHold:
		// Keep the data but never finish: the image stays in saving.
		removeData(stored)
		w.WriteHeader(http.StatusNoContent)
	default:
		final := ""
		if stored != "" {
			final = reg.imagePath(img.ID)
			if rerr := os.Rename(stored, final); rerr != nil {
				removeData(stored)
				img.Status = "queued"
				rc.fail(w, http.StatusInternalServerError, "store image data: %v", rerr)
				return
			}
		}
		markActive(img, final, h, []string{glanceStores[0]})
		w.WriteHeader(http.StatusNoContent)
	}
}

// removeData deletes a data file, if there is one ("" when the data was discarded).
func removeData(path string) {
	if path != "" {
		_ = os.Remove(path)
	}
}

func (c *Cloud) glanceDownload(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	img := c.lookupImage(w, r, rc)
	if img == nil {
		c.mu.Unlock()
		return
	}
	if img.Status == "deactivated" && !rc.isAdmin() {
		c.mu.Unlock()
		rc.fail(w, http.StatusForbidden, "The requested image has been deactivated. Image data download is forbidden.")
		return
	}
	path, checksum, discarded := img.dataPath, img.Checksum, img.discarded
	c.mu.Unlock()
	if discarded {
		// Glance answers 404 when its store lost the data; this says why it is gone.
		rc.fail(w, http.StatusNotFound, "Image data for %s was not kept: the test cloud discards image data (DiscardImageData)", img.ID)
		return
	}
	if path == "" {
		w.WriteHeader(http.StatusNoContent) // Glance: an image without data has an empty body
		return
	}
	f, err := os.Open(path)
	if err != nil {
		rc.fail(w, http.StatusNotFound, "Image data for %s is gone: %v", img.ID, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		rc.fail(w, http.StatusInternalServerError, "stat image data: %v", err)
		return
	}
	// Content-MD5 is the whole image's md5 hex, also on a partial answer.
	if checksum != "" {
		w.Header().Set("Content-MD5", checksum)
	}
	status, start, length := http.StatusOK, int64(0), st.Size()
	if spec := r.Header.Get("Range"); spec != "" {
		from, n, ok, valid := parseByteRange(spec, st.Size())
		if valid && !ok {
			rc.fail(w, http.StatusRequestedRangeNotSatisfiable, "Requested range not satisfiable")
			return
		}
		if valid {
			status, start, length = http.StatusPartialContent, from, n
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, from+n-1, st.Size()))
		}
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		rc.fail(w, http.StatusInternalServerError, "seek image data: %v", err)
		return
	}
	action, _ := c.stateFault("image.download", rc.region)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(length, 10))
	w.WriteHeader(status)
	if action == ActionCut {
		_, _ = io.CopyBuffer(w, io.LimitReader(f, cutPoint(length)), make([]byte, 256<<10))
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler) // the connection breaks mid-stream
	}
	_, _ = io.CopyBuffer(w, io.LimitReader(f, length), make([]byte, 256<<10))
}

// cutPoint is where a "cut" fault breaks a transfer of size bytes: half way, or after 1 MiB when the
// size is unknown.
func cutPoint(size int64) int64 {
	if size < 0 {
		return 1 << 20
	}
	return size / 2
}

// cutReader ends a request body after left bytes with an error, as a connection that broke would.
type cutReader struct {
	r    io.Reader
	left int64
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errors.New("connection broken by a cut fault")
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// parseByteRange reads one "bytes=a-b", "bytes=a-" or "bytes=-n" range against size. valid is false for
// a header Glance ignores (another unit, several ranges, bad syntax); ok is false for a valid range that
// does not fit (416).
func parseByteRange(spec string, size int64) (start, length int64, ok, valid bool) {
	v, found := strings.CutPrefix(strings.TrimSpace(spec), "bytes=")
	if !found || strings.Contains(v, ",") {
		return 0, 0, false, false
	}
	a, b, found := strings.Cut(v, "-")
	if !found {
		return 0, 0, false, false
	}
	if a == "" { // the last n bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false, false
		}
		n = min(n, size)
		return size - n, n, n > 0, true
	}
	from, err := strconv.ParseInt(a, 10, 64)
	if err != nil || from < 0 {
		return 0, 0, false, false
	}
	to := size - 1
	if b != "" {
		if to, err = strconv.ParseInt(b, 10, 64); err != nil || to < from {
			return 0, 0, false, false
		}
		to = min(to, size-1)
	}
	if from >= size {
		return 0, 0, false, true
	}
	return from, to - from + 1, true, true
}

func (c *Cloud) glanceStage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	// Glance checks this before anything else, the image included.
	if !contains(c.opts.ImportMethods, "glance-direct") {
		rc.fail(w, http.StatusNotFound, "'glance-direct' method is not available at this site.")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/octet-stream") {
		rc.fail(w, http.StatusUnsupportedMediaType, "Content-Type must be application/octet-stream")
		return
	}
	c.mu.Lock()
	img := c.lookupModifiableImage(w, r, rc, "stage data for")
	if img == nil {
		c.mu.Unlock()
		return
	}
	if img.Status != "queued" {
		c.mu.Unlock()
		rc.fail(w, http.StatusConflict, "Image status transition from %s to uploading is not allowed", img.Status)
		return
	}
	action, msg := c.stateFault("image.stage", rc.region)
	img.Status = "uploading"
	img.uploadGen++
	gen := img.uploadGen
	img.touch()
	reg := rc.reg
	path := reg.stagePath(img.ID)
	c.mu.Unlock()

	stored, h, err := c.receiveData(path, r.Body, true)
	if err == nil && action != "" {
		err = errors.New(msg)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if img.uploadGen != gen || reg.images[img.ID] != img {
		removeData(stored)
		rc.fail(w, http.StatusGone, "Image %s was deleted during staging.", img.ID)
		return
	}
	if err != nil {
		removeData(stored)
		img.Status = "queued" // a failed stage returns to queued
		img.touch()
		rc.fail(w, http.StatusInternalServerError, "Failed to stage image data: %v", err)
		return
	}
	img.stagePath, img.staged = stored, &h
	img.Size = h.size // Zed records the staged size right away
	img.touch()
	w.WriteHeader(http.StatusNoContent)
}

// ImageData opens an image's stored data.
func (c *Cloud) ImageData(id string) (io.ReadCloser, error) {
	c.mu.Lock()
	_, img := c.findImage(id)
	var path, status string
	var discarded bool
	if img != nil {
		path, status, discarded = img.dataPath, img.Status, img.discarded
	}
	c.mu.Unlock()
	switch {
	case img == nil:
		return nil, fmt.Errorf("testcloud: no image %s", id)
	case discarded:
		return nil, fmt.Errorf("testcloud: the data of image %s was not kept (DiscardImageData)", id)
	case path == "":
		return nil, fmt.Errorf("testcloud: image %s has no data (status %s)", id, status)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("testcloud: open data of image %s: %w", id, err)
	}
	return f, nil
}

// ImageFileContent reads one file from an image whose data is a disk archive (see docs/testcloud.md).
func (c *Cloud) ImageFileContent(id, pathInDisk string) ([]byte, error) {
	rc, err := c.ImageData(id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readFileFromArchive(rc, pathInDisk)
}
