package acceptance

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
)

// interruptDuringTransfer sends SIGINT (Ctrl-C) once the output shows marker and the source at
// path has been sending for a while, so that Glance holds a half-transferred image.
func interruptDuringTransfer(src *sourceServer, marker, path string, after time.Duration) func(*exec.Cmd, *acctest.SyncBuffer) {
	return func(cmd *exec.Cmd, out *acctest.SyncBuffer) {
		deadline := time.Now().Add(5 * time.Minute)
		for time.Now().Before(deadline) {
			if reqs := src.requests(path); strings.Contains(out.String(), marker) && len(reqs) > 0 &&
				time.Since(reqs[len(reqs)-1].At) >= after {
				// To packer's whole process group, as a terminal's Ctrl-C: the first process
				// is packer's panic wrapper, which ignores SIGINT and does not forward it.
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestAccImportInterrupt presses Ctrl-C while the plugin streams a slow source into Glance (a
// plain upload, and a glance-direct stage): the transfer stops and the half-made image is
// deleted from the real Glance.
func TestAccImportInterrupt(t *testing.T) {
	e := setup(t)
	p := e.prefixFor(t, "intr")
	// 90 s of data at 256 KiB/s: far above the plugin's 1 MiB read-ahead buffers, so the
	// upload is under way within seconds.
	const rate, seconds = 256 << 10, 90
	for _, method := range []string{"upload", "glance-direct"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			name := p + method
			path := "/" + p + method + ".raw"
			src := sourceFor(t)
			url := src.addThrottled(path, randomBytes(t, seconds*rate), rate)
			run := e.build(t, importer(`
    image_name       = `+hclString(name)+`
    image_source_url = `+hclString(url)+`
    import_method    = "`+method+`"
    disk_format      = "raw"`), runOpts{Cloud: cloudDemo,
				Interrupt: interruptDuringTransfer(src, "with "+method, path, 3*time.Second)})
			requireFailure(t, run)
			requireOutput(t, run, "was deleted")
			// Ctrl-C ended the transfer: the build did not wait for the source to finish.
			if run.Took >= seconds*time.Second {
				t.Errorf("the build took %s, as long as the whole %ds transfer: Ctrl-C did not stop it", run.Took, seconds)
			}
			requireNoImage(t, e, name)
		})
	}
}

// TestAccImportNameClash: an existing image of the same name fails the build before any data
// moves; with image_force the new image replaces it once active.
func TestAccImportNameClash(t *testing.T) {
	e := setup(t)
	p := e.prefixFor(t, "clash")
	name := p + "golden"
	old := seed(t, e.demo, map[string]any{"name": name, "visibility": "private"}, filler("old", 1000))
	data := filler("new", 2000)
	path := "/" + p + "new.raw"
	url := sourceFor(t).add(path, data)
	pp := func(force bool) string {
		f := ""
		if force {
			f = "\n    image_force      = true"
		}
		return importer(`
    image_name       = ` + hclString(name) + `
    image_source_url = ` + hclString(url) + `
    disk_format      = "raw"` + f)
	}

	run := e.build(t, pp(false), runOpts{Cloud: cloudDemo})
	requireFailure(t, run)
	requireOutput(t, run, "already has an image named", old.img.ID, "image_force")
	if n := len(sourceFor(t).requests(path)); n != 0 {
		t.Errorf("the source was read %d time(s) before the clash was reported", n)
	}
	if imgs := e.demo.imagesNamed(t, name); len(imgs) != 1 || imgs[0].ID != old.img.ID {
		t.Fatalf("after the refused build, images named %q: %d (want only the old one)", name, len(imgs))
	}

	run = e.build(t, pp(true), runOpts{Cloud: cloudDemo})
	requireSuccess(t, run)
	img := theImage(t, e, name)
	if img.ID == old.img.ID {
		t.Fatalf("image_force kept the old image %s", old.img.ID)
	}
	requireStored(t, img, data)
	e.admin.must(t, "GET", "/v2/images/"+old.img.ID, nil, nil, 404)
}

// TestAccImportChecksumMismatch: a source whose sha256 differs from checksum fails the build,
// and the image is deleted.
func TestAccImportChecksumMismatch(t *testing.T) {
	e := setup(t)
	p := e.prefixFor(t, "sum")
	f := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(f, filler("actual", 100<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	other := sha256.Sum256(filler("expected", 100<<10))
	name := p + "img"
	run := e.build(t, importer(`
    image_name      = `+hclString(name)+`
    local_file_path = `+hclString(f)+`
    disk_format     = "raw"
    checksum        = "sha256:`+hex.EncodeToString(other[:])+`"`), runOpts{Cloud: cloudDemo})
	requireFailure(t, run)
	requireOutput(t, run, "checksum mismatch", hex.EncodeToString(other[:]), "was deleted")
	requireNoImage(t, e, name)
}

// TestAccImportProtectedHidden: protected and hidden images, with the disk format told from the
// data (disk_format auto) on a plain upload.
func TestAccImportProtectedHidden(t *testing.T) {
	e := setup(t)
	p := e.prefixFor(t, "prot")
	data := testQcow2(t)
	name := p + "img"
	url := sourceFor(t).add("/"+p+"image", data)
	run := e.build(t, importer(`
    image_name       = `+hclString(name)+`
    image_source_url = `+hclString(url)+`
    import_method    = "upload"
    disk_format      = "auto"
    protected        = true
    hidden           = true`), runOpts{Cloud: cloudDemo})
	requireSuccess(t, run)
	img := theImage(t, e, name)
	requireStored(t, img, data)
	if !img.Protected || !img.Hidden || img.DiskFormat != "qcow2" {
		t.Errorf("protected %v, hidden %v, disk_format %s; want true, true, qcow2", img.Protected, img.Hidden, img.DiskFormat)
	}
	// Not in demo's default listing, but found with os_hidden=true.
	if imgs, err := e.demo.listImages(map[string][]string{"name": {name}}); err != nil || len(imgs) != 0 {
		t.Errorf("a hidden image is in the default listing (%d, %v)", len(imgs), err)
	}
	// Protected: Glance refuses to delete it (the sweep unprotects it first).
	e.demo.must(t, "DELETE", "/v2/images/"+img.ID, nil, nil, 403)
}
