package testcloud

import (
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

// hashedFile streams data into a file while computing Glance's md5 checksum and sha512 multihash.
type hashedFile struct {
	size           int64
	md5sum, sha512 string
}

// streamToFile copies r into path through a fixed-size buffer (bounded memory for any size).
func streamToFile(path string, r io.Reader) (hashedFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return hashedFile{}, fmt.Errorf("create %s: %w", path, err)
	}
	m, s := md5.New(), sha512.New()
	n, err := io.CopyBuffer(io.MultiWriter(f, m, s), r, make([]byte, 256<<10))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return hashedFile{}, err
	}
	return hashedFile{size: n, md5sum: sumHex(m), sha512: sumHex(s)}, nil
}

func sumHex(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// hashFile computes the hashes of an existing file.
func hashFile(path string) (hashedFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return hashedFile{}, err
	}
	defer f.Close()
	m, s := md5.New(), sha512.New()
	n, err := io.CopyBuffer(io.MultiWriter(m, s), f, make([]byte, 256<<10))
	if err != nil {
		return hashedFile{}, fmt.Errorf("hash %s: %w", path, err)
	}
	return hashedFile{size: n, md5sum: sumHex(m), sha512: sumHex(s)}, nil
}

// expectedSize is the declared size of an upload: Content-Length (-1 = chunked). Glance ignores an
// X-OpenStack-Image-Size header, and so does the test cloud.
func expectedSize(r *http.Request) int64 { return r.ContentLength }

func (reg *region) imagePath(id string) string { return filepath.Join(reg.dir, "images", id) }
func (reg *region) stagePath(id string) string { return filepath.Join(reg.dir, "staging", id) }

// markActive stores hashes and marks the image active. Callers hold c.mu.
func markActive(img *image, dataPath string, h hashedFile, stores []string) {
	img.dataPath = dataPath
	img.Size = h.size
	img.Checksum, img.OSHashAlgo, img.OSHashValue = h.md5sum, "sha512", h.sha512
	img.Status = "active"
	img.Stores = stores
	if img.VirtualSize == 0 {
		img.VirtualSize = inspectVirtualSize(dataPath, img.DiskFormat, img.ContainerFormat, h.size)
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
	h, err := streamToFile(tmp, body)
	if err == nil {
		if want := expectedSize(r); want >= 0 && want != h.size {
			err = fmt.Errorf("size of uploaded data (%d) does not match the declared size (%d)", h.size, want)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if img.uploadGen != gen || reg.images[img.ID] != img {
		_ = os.Remove(tmp)
		rc.fail(w, http.StatusGone, "Image %s could not be found after upload. The image may have been deleted during the upload.", img.ID)
		return
	}
	switch {
	case action == ActionCut:
		// The connection breaks mid-stream: Glance sees a client disconnect and returns to queued.
		_ = os.Remove(tmp)
		img.Status = "queued"
		img.touch()
		panic(http.ErrAbortHandler) // the deferred unlock runs on the way out
	case err != nil:
		_ = os.Remove(tmp)
		img.Status = "queued" // Glance v2 returns a failed upload to queued
		img.touch()
		rc.fail(w, http.StatusBadRequest, "Failed to upload image data: %v", err)
	case action == ActionKill:
		_ = os.Remove(tmp)
		img.Status = "killed"
		img.touch()
		rc.fail(w, http.StatusInternalServerError, "%s", msg)
	case action == ActionFail:
		_ = os.Remove(tmp)
		img.Status = "queued"
		img.touch()
		rc.fail(w, http.StatusServiceUnavailable, "%s", msg)
	case action == ActionHold:
		// Keep the data but never finish: the image stays in saving.
		_ = os.Remove(tmp)
		w.WriteHeader(http.StatusNoContent)
	default:
		final := reg.imagePath(img.ID)
		if rerr := os.Rename(tmp, final); rerr != nil {
			_ = os.Remove(tmp)
			img.Status = "queued"
			rc.fail(w, http.StatusInternalServerError, "store image data: %v", rerr)
			return
		}
		markActive(img, final, h, []string{glanceStores[0]})
		w.WriteHeader(http.StatusNoContent)
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
	path, checksum := img.dataPath, img.Checksum
	c.mu.Unlock()
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

	h, err := streamToFile(path, r.Body)
	if err == nil && action != "" {
		err = errors.New(msg)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if img.uploadGen != gen || reg.images[img.ID] != img {
		_ = os.Remove(path)
		rc.fail(w, http.StatusGone, "Image %s was deleted during staging.", img.ID)
		return
	}
	if err != nil {
		_ = os.Remove(path)
		img.Status = "queued" // a failed stage returns to queued
		img.touch()
		rc.fail(w, http.StatusInternalServerError, "Failed to stage image data: %v", err)
		return
	}
	img.stagePath = path
	img.Size = h.size // Zed records the staged size right away
	img.touch()
	w.WriteHeader(http.StatusNoContent)
}

// ImageData opens an image's stored data.
func (c *Cloud) ImageData(id string) (io.ReadCloser, error) {
	c.mu.Lock()
	_, img := c.findImage(id)
	var path string
	if img != nil {
		path = img.dataPath
	}
	c.mu.Unlock()
	if img == nil {
		return nil, fmt.Errorf("testcloud: no image %s", id)
	}
	if path == "" {
		return nil, fmt.Errorf("testcloud: image %s has no data (status %s)", id, img.Status)
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
