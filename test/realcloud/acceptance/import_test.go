package acceptance

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// importer renders a build whose only post-processor is glance-import with the given body.
func importer(body string) string {
	return nullBuild("", "  post-processor \"glance-import\" {\n"+body+"\n  }\n")
}

// theImage returns the one image named name (listed as admin, who sees every project's).
func theImage(t *testing.T, e *realEnv, name string) *image {
	t.Helper()
	imgs := e.admin.imagesNamed(t, name)
	if len(imgs) != 1 {
		t.Fatalf("%d images named %q, want 1", len(imgs), name)
	}
	return e.admin.getImage(t, imgs[0].ID)
}

// requireNoImage fails when an image of that name exists.
func requireNoImage(t *testing.T, e *realEnv, name string) {
	t.Helper()
	if imgs := e.admin.imagesNamed(t, name); len(imgs) != 0 {
		t.Errorf("%d image(s) named %q were left behind (status %s)", len(imgs), name, imgs[0].Status)
	}
}

// requireStored checks that Glance holds exactly data (size and its own sha512).
func requireStored(t *testing.T, img *image, data []byte) {
	t.Helper()
	if img.Status != "active" {
		t.Errorf("image %s is %s, want active", img.ID, img.Status)
	}
	if img.Size == nil || *img.Size != int64(len(data)) {
		t.Errorf("Glance stored %v bytes, want %d", img.Size, len(data))
	}
	if img.HashAlgo != "sha512" || img.HashValue != sha512Hex(data) {
		t.Errorf("Glance's %s is %s, want sha512 %s", img.HashAlgo, img.HashValue, sha512Hex(data))
	}
}

// requirePluginHashMatches checks that the sha512 the plugin computed over the bytes it sent is
// Glance's os_hash_value.
func requirePluginHashMatches(t *testing.T, run packerRun, img *image) {
	t.Helper()
	n, sum := pluginSent(t, run)
	if sum != img.HashValue {
		t.Errorf("the plugin sent %d bytes with sha512 %s; Glance's os_hash_value is %s", n, sum, img.HashValue)
	}
	if img.Size != nil && n != *img.Size {
		t.Errorf("the plugin sent %d bytes; Glance stored %d", n, *img.Size)
	}
	requireOutput(t, run, "Glance's sha512 matches")
}

// requireVirtualSize checks Glance's own reading of the qcow2 header.
func requireVirtualSize(t *testing.T, img *image) {
	t.Helper()
	if img.VirtualSize == nil || *img.VirtualSize != qcow2VirtualSize {
		t.Errorf("virtual_size = %v, want %d (Glance's inspection of the qcow2)", img.VirtualSize, qcow2VirtualSize)
	}
}

// seedProperties are the properties of the test cloud's seed image, Fedora 37.
var seedProperties = []string{
	"os_distro", "fedora", "os_version", "37", "hw_qemu_guest_agent", "yes",
	"os_require_quiesce", "yes", "hw_scsi_model", "virtio-scsi", "hw_disk_bus", "scsi",
}

// TestAccImportWebDownload imports a qcow2 from a local HTTP server that real Glance downloads
// itself (auto chooses web-download for uncompressed data), with the seed's properties, tags,
// minimum sizes and the default private visibility.
func TestAccImportWebDownload(t *testing.T) {
	e := setup(t)
	p := e.prefixFor(t, "web")
	data := testQcow2(t)
	name := p + "fedora-37"
	path := "/" + p + "disk.qcow2"
	url := sourceFor(t).add(path, data)
	run := e.build(t, importer(`
    image_name       = `+hclString(name)+`
    image_source_url = `+hclString(url)+`
    tags             = ["golden", "fedora"]
    min_disk         = 10
    min_ram          = 512
    properties       = `+hclMap(seedProperties...)), runOpts{Cloud: cloudDemo})
	requireSuccess(t, run)
	requireOutput(t, run, "(web-download)", "is active")
	img := theImage(t, e, name)
	requireStored(t, img, data)
	requireVirtualSize(t, img)
	for i := 0; i < len(seedProperties); i += 2 {
		if got := img.prop(seedProperties[i]); got != seedProperties[i+1] {
			t.Errorf("property %s = %q, want %q", seedProperties[i], got, seedProperties[i+1])
		}
	}
	tags := slices.Clone(img.Tags)
	slices.Sort(tags)
	if !slices.Equal(tags, []string{"fedora", "golden"}) {
		t.Errorf("tags = %v, want fedora and golden", img.Tags)
	}
	if img.MinDisk != 10 || img.MinRAM != 512 {
		t.Errorf("min_disk %d, min_ram %d; want 10 and 512", img.MinDisk, img.MinRAM)
	}
	if img.Visibility != "private" || img.Owner != e.demo.Project || img.DiskFormat != "qcow2" || img.ContainerFormat != "bare" {
		t.Errorf("visibility %s, owner %s, formats %s/%s; want private, demo's project %s, qcow2/bare",
			img.Visibility, img.Owner, img.DiskFormat, img.ContainerFormat, e.demo.Project)
	}
	// Glance itself fetched the whole file: a GET without a Range header.
	if !fetchedWhole(sourceFor(t).requests(path)) {
		t.Errorf("Glance never fetched %s whole: %+v", path, sourceFor(t).requests(path))
	}
	if strings.Contains(run.Log, "glance-import: sent ") {
		t.Errorf("with web-download the plugin must not upload the data itself")
	}
}

func fetchedWhole(reqs []seenRequest) bool {
	for _, r := range reqs {
		if r.Method == "GET" && r.Range == "" {
			return true
		}
	}
	return false
}

// TestAccImportGzipGlanceDecompression has Glance download a .gz itself (import_method
// web-download): its image_decompression plugin stores the decompressed qcow2.
func TestAccImportGzipGlanceDecompression(t *testing.T) {
	e := setup(t)
	p := e.prefixFor(t, "gzweb")
	data := testQcow2(t)
	name := p + "img"
	url := sourceFor(t).add("/"+p+"disk.qcow2.gz", compress(t, "gzip", data))
	run := e.build(t, importer(`
    image_name       = `+hclString(name)+`
    image_source_url = `+hclString(url)+`
    import_method    = "web-download"
    disk_format      = "qcow2"`), runOpts{Cloud: cloudDemo})
	requireSuccess(t, run)
	requireOutput(t, run, "(web-download)")
	img := theImage(t, e, name)
	requireStored(t, img, data)
	requireVirtualSize(t, img)
}

// TestAccImportClientSideDecompression streams compressed sources through the plugin, which
// detects the format by the first bytes, decompresses while uploading, and compares its hash
// of the bytes sent with Glance's.
func TestAccImportClientSideDecompression(t *testing.T) {
	e := setup(t)
	p := e.prefixFor(t, "unpack")
	data := testQcow2(t)
	for _, c := range []struct{ format, via string }{
		{"gzip", "url"}, {"bzip2", "url"}, {"xz", "file"}, {"zstd", "url"},
	} {
		t.Run(c.format+"_"+c.via, func(t *testing.T) {
			t.Parallel()
			name := p + c.format
			packed := compress(t, c.format, data)
			source := ""
			if c.via == "url" {
				// No telling extension: detection goes by the bytes.
				source = "image_source_url = " + hclString(sourceFor(t).add("/"+p+c.format+"/image", packed))
			} else {
				f := filepath.Join(t.TempDir(), "image.qcow2."+c.format)
				if err := os.WriteFile(f, packed, 0o644); err != nil {
					t.Fatal(err)
				}
				source = "local_file_path = " + hclString(f)
			}
			run := e.build(t, importer(`
    image_name  = `+hclString(name)+`
    `+source+`
    disk_format = "qcow2"`), runOpts{Cloud: cloudDemo})
			requireSuccess(t, run)
			requireOutput(t, run, "Decompressing ("+c.format+") and uploading")
			img := theImage(t, e, name)
			requireStored(t, img, data)
			requirePluginHashMatches(t, run, img)
			requireVirtualSize(t, img)
		})
	}
}

// TestAccImportUpload sends a local file with a plain PUT, verifying a sha256 checksum of the
// source on the way.
func TestAccImportUpload(t *testing.T) {
	e := setup(t)
	p := e.prefixFor(t, "upload")
	data := testQcow2(t)
	f := filepath.Join(t.TempDir(), "disk.qcow2")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	name := p + "img"
	run := e.build(t, importer(`
    image_name      = `+hclString(name)+`
    local_file_path = `+hclString(f)+`
    import_method   = "upload"
    checksum        = "sha256:`+hex.EncodeToString(sum[:])+`"`), runOpts{Cloud: cloudDemo})
	requireSuccess(t, run)
	requireOutput(t, run, "with upload", "Verified sha256 checksum")
	img := theImage(t, e, name)
	requireStored(t, img, data)
	requirePluginHashMatches(t, run, img)
	requireVirtualSize(t, img)
}

// TestAccImportGlanceDirect stages the data through the plugin and has Glance import it.
func TestAccImportGlanceDirect(t *testing.T) {
	e := setup(t)
	p := e.prefixFor(t, "direct")
	data := testQcow2(t)
	name := p + "img"
	url := sourceFor(t).add("/"+p+"disk.qcow2", data)
	run := e.build(t, importer(`
    image_name       = `+hclString(name)+`
    image_source_url = `+hclString(url)+`
    import_method    = "glance-direct"`), runOpts{Cloud: cloudDemo})
	requireSuccess(t, run)
	requireOutput(t, run, "with glance-direct")
	img := theImage(t, e, name)
	requireStored(t, img, data)
	requirePluginHashMatches(t, run, img)
	for _, call := range []string{"/stage -> 204", "/import -> 202"} {
		if !strings.Contains(run.Log, img.ID+call) {
			t.Errorf("PACKER_LOG shows no %q for image %s", call, img.ID)
		}
	}
}

// TestAccImportVisibility makes a public image as admin; as demo, whom Glance's policy forbids
// to publicize images, the build fails with Glance's reason and leaves nothing behind.
func TestAccImportVisibility(t *testing.T) {
	e := setup(t)
	p := e.prefixFor(t, "vis")
	data := filler("visibility", 64<<10)
	t.Run("admin_public", func(t *testing.T) {
		t.Parallel()
		name := p + "admin-public"
		url := sourceFor(t).add("/"+p+"admin.raw", data)
		run := e.build(t, importer(`
    image_name       = `+hclString(name)+`
    image_source_url = `+hclString(url)+`
    disk_format      = "raw"
    visibility       = "public"`), runOpts{Cloud: cloudAdmin})
		requireSuccess(t, run)
		img := theImage(t, e, name)
		requireStored(t, img, data)
		if img.Visibility != "public" || img.Owner != e.admin.Project {
			t.Errorf("visibility %s owner %s; want public, admin's project", img.Visibility, img.Owner)
		}
		// demo sees it in its default listing.
		if imgs := e.demo.imagesNamed(t, name); len(imgs) != 1 {
			t.Errorf("demo lists %d images named %q, want the public one", len(imgs), name)
		}
	})
	t.Run("demo_public_refused", func(t *testing.T) {
		t.Parallel()
		name := p + "demo-public"
		path := "/" + p + "demo.raw"
		url := sourceFor(t).add(path, data)
		run := e.build(t, importer(`
    image_name       = `+hclString(name)+`
    image_source_url = `+hclString(url)+`
    disk_format      = "raw"
    visibility       = "public"`), runOpts{Cloud: cloudDemo})
		requireFailure(t, run)
		requireOutput(t, run, name, "403", "publicize_image", `use visibility "community" or "shared"`)
		requireNoImage(t, e, name)
	})
	t.Run("demo_community", func(t *testing.T) {
		t.Parallel()
		name := p + "demo-community"
		url := sourceFor(t).add("/"+p+"community.raw", data)
		run := e.build(t, importer(`
    image_name       = `+hclString(name)+`
    image_source_url = `+hclString(url)+`
    disk_format      = "raw"
    visibility       = "community"`), runOpts{Cloud: cloudDemo})
		requireSuccess(t, run)
		if img := theImage(t, e, name); img.Visibility != "community" {
			t.Errorf("visibility %s, want community", img.Visibility)
		}
	})
}

// TestAccImportMembers shares the new image with the alt project: pending when demo shares it,
// accepted on alt's behalf when admin shares it with image_auto_accept_members.
func TestAccImportMembers(t *testing.T) {
	e := setup(t)
	p := e.prefixFor(t, "members")
	data := filler("members", 32<<10)
	for _, c := range []struct {
		name, cloud string
		autoAccept  bool
		wantStatus  string
	}{
		{"demo_pending", cloudDemo, false, "pending"},
		{"admin_auto_accept", cloudAdmin, true, "accepted"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			name := p + c.name
			url := sourceFor(t).add("/"+p+c.name+".raw", data)
			run := e.build(t, importer(`
    image_name                = `+hclString(name)+`
    image_source_url          = `+hclString(url)+`
    disk_format               = "raw"
    visibility                = "shared"
    image_members             = [`+hclString(e.alt.Project)+`]
    image_auto_accept_members = `+fmt.Sprint(c.autoAccept)), runOpts{Cloud: c.cloud})
			requireSuccess(t, run)
			img := theImage(t, e, name)
			requireStored(t, img, data)
			r := e.alt.must(t, "GET", "/v2/images/"+img.ID+"/members/"+e.alt.Project, nil, nil, 200)
			var m struct{ Status string }
			if err := r.decode(&m); err != nil || m.Status != c.wantStatus {
				t.Errorf("alt's membership: %s, want status %s", r, c.wantStatus)
			}
			// What alt's default listing shows follows the membership status.
			listed := len(e.alt.imagesNamed(t, name)) == 1
			if listed != (c.wantStatus == "accepted") {
				t.Errorf("alt's default listing shows the image: %v; membership %s", listed, c.wantStatus)
			}
		})
	}
}

// TestAccImportWebDownloadFailures: a web-download of a missing file fails as soon as Glance
// gives up (not at the import timeout), quoting Glance's reason and deleting the image; in auto
// mode the plugin's own first read finds the 404 before any image exists.
func TestAccImportWebDownloadFailures(t *testing.T) {
	e := setup(t)
	p := e.prefixFor(t, "fail")
	const importTimeout = 5 * time.Minute
	t.Run("glance_404", func(t *testing.T) {
		t.Parallel()
		name := p + "glance-404"
		path := "/" + p + "missing.qcow2"
		run := e.build(t, importer(`
    image_name       = `+hclString(name)+`
    image_source_url = `+hclString(sourceFor(t).url(path))+`
    import_method    = "web-download"
    import_timeout   = "`+importTimeout.String()+`"`), runOpts{Cloud: cloudDemo})
		requireFailure(t, run)
		// Real Glance's task message for a failed download (FACTS.md) and the cleanup.
		requireOutput(t, run, "Task failed due to Internal Error", "was deleted", name)
		if strings.Contains(run.Output, "longer than its timeout") || run.Took >= importTimeout {
			t.Errorf("the failure came from the import timeout, not from Glance's failed task (%s):\n%s", run.Took, run.Output)
		}
		if len(sourceFor(t).requests(path)) == 0 {
			t.Errorf("Glance never asked the source for %s", path)
		}
		requireNoImage(t, e, name)
	})
	t.Run("auto_404_before_image", func(t *testing.T) {
		t.Parallel()
		name := p + "auto-404"
		path := "/" + p + "missing-too.qcow2"
		url := sourceFor(t).url(path)
		run := e.build(t, importer(`
    image_name       = `+hclString(name)+`
    image_source_url = `+hclString(url)+`
    import_timeout   = "`+importTimeout.String()+`"`), runOpts{Cloud: cloudDemo})
		requireFailure(t, run)
		requireOutput(t, run, url, "404")
		if strings.Contains(run.Output, "Created image") {
			t.Errorf("an image was created for a source that could not be read:\n%s", run.Output)
		}
		requireNoImage(t, e, name)
	})
}

// TestAccImportChunkedSource: a source that sends no Content-Length. In auto mode the plugin
// sees it and streams the data itself; an explicit web-download of it fails in real Glance (its
// web-download needs the length), and the build says so and deletes the image.
func TestAccImportChunkedSource(t *testing.T) {
	e := setup(t)
	p := e.prefixFor(t, "chunked")
	data := testQcow2(t)
	url := sourceFor(t).addChunked("/"+p+"disk.qcow2", data)
	t.Run("auto_streams", func(t *testing.T) {
		t.Parallel()
		name := p + "auto"
		run := e.build(t, importer(`
    image_name       = `+hclString(name)+`
    image_source_url = `+hclString(url)), runOpts{Cloud: cloudDemo})
		requireSuccess(t, run)
		requireOutput(t, run, "with upload")
		img := theImage(t, e, name)
		requireStored(t, img, data)
		requirePluginHashMatches(t, run, img)
	})
	t.Run("web_download_fails", func(t *testing.T) {
		t.Parallel()
		name := p + "web"
		run := e.build(t, importer(`
    image_name       = `+hclString(name)+`
    image_source_url = `+hclString(url)+`
    import_method    = "web-download"`), runOpts{Cloud: cloudDemo})
		requireFailure(t, run)
		requireOutput(t, run, "Task failed", "was deleted")
		requireNoImage(t, e, name)
	})
}

// TestAccImportSourceCredentials: a source behind basic authentication and a key header. The
// plugin must download it itself (Glance's web-download cannot authenticate, and would keep the
// credentials in its task records), and no credential may reach packer's output, its log or
// Glance.
func TestAccImportSourceCredentials(t *testing.T) {
	e := setup(t)
	p := e.prefixFor(t, "creds")
	data := testQcow2(t)
	check := func(t *testing.T, run packerRun, name string, secrets ...string) {
		t.Helper()
		requireSuccess(t, run)
		img := theImage(t, e, name)
		requireStored(t, img, data)
		requirePluginHashMatches(t, run, img)
		r := e.demo.must(t, "GET", "/v2/images/"+img.ID+"/tasks", nil, nil, 200)
		for _, s := range secrets {
			if strings.Contains(string(r.Body), s) {
				t.Errorf("Glance's task records of image %s hold a source credential", img.ID)
			}
		}
	}
	t.Run("options", func(t *testing.T) {
		t.Parallel()
		pass, key := randomSecret(t), randomSecret(t)
		name := p + "options"
		url := sourceFor(t).addProtected("/"+p+"options.qcow2", data, "ci", pass, "X-Api-Key", key)
		run := e.build(t, importer(`
    image_name            = `+hclString(name)+`
    image_source_url      = `+hclString(url)+`
    image_source_username = "ci"
    image_source_password = `+hclString(pass)+`
    image_source_headers  = { "X-Api-Key" = `+hclString(key)+` }`), runOpts{Cloud: cloudDemo, Secrets: []string{pass, key}})
		check(t, run, name, pass, key)
	})
	t.Run("url_userinfo", func(t *testing.T) {
		t.Parallel()
		pass := randomSecret(t)
		name := p + "userinfo"
		url := sourceFor(t).addProtected("/"+p+"userinfo.qcow2", data, "ci", pass, "", "")
		url = strings.Replace(url, "http://", "http://ci:"+pass+"@", 1)
		run := e.build(t, importer(`
    image_name       = `+hclString(name)+`
    image_source_url = `+hclString(url)), runOpts{Cloud: cloudDemo, Secrets: []string{pass}})
		check(t, run, name, pass)
	})
}
