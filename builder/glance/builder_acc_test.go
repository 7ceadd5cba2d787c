package glance

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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

// accCloud starts a test cloud for one test and returns it with the environment
// packer needs to reach it.
func accCloud(t *testing.T, opts testcloud.Options) (*testcloud.Cloud, []string) {
	t.Helper()
	acctest.Skip(t)
	c, err := testcloud.Start(opts)
	if err != nil {
		t.Fatalf("starting the test cloud: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	clouds := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := c.WriteCloudsYAML(clouds); err != nil {
		t.Fatal(err)
	}
	env := []string{"OS_CLIENT_CONFIG_FILE=" + clouds, "OS_CLOUD=testcloud"}
	if c.SSHPort() != 22 {
		t.Logf("the test cloud's SSH endpoints listen on port %d", c.SSHPort())
	}
	return c, env
}

// accTemplate is a build of the seeded Fedora image with a shell provisioner;
// extra goes into the source block, provisioner replaces the inline commands.
func accTemplate(c *testcloud.Cloud, extra, inline string) string {
	port := ""
	if c.SSHPort() != 22 {
		port = fmt.Sprintf("ssh_port = %d", c.SSHPort())
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
  flavor       = "m1.tiny"
  ssh_username = "fedora"
  ssh_timeout  = "1m"
  %s
  %s
}

build {
  sources = ["source.glance.t"]
  provisioner "shell" {
    inline = [%s]
  }
}
`, acctest.SourceAddress, port, extra, inline)
}

func accBuild(t *testing.T, env []string, template string, interrupt string) acctest.Result {
	t.Helper()
	dir := t.TempDir()
	acctest.WriteFile(t, dir, "t.pkr.hcl", template)
	run := acctest.Run{Dir: dir, Args: []string{"build", "-color=false", "."}, Env: env, Timeout: 5 * time.Minute}
	if interrupt != "" {
		run.Interrupt = acctest.InterruptWhen(interrupt, 3*time.Minute)
	}
	res := acctest.Packer(t, run)
	if interrupt != "" && !res.Interrupted {
		t.Fatalf("the build ended before %q appeared: Ctrl-C was never pressed\n%s", interrupt, res.Output)
	}
	return res
}

func mustSucceed(t *testing.T, res acctest.Result) {
	t.Helper()
	if res.ExitCode != 0 {
		t.Fatalf("packer build failed (exit %d):\n%s", res.ExitCode, res.Output)
	}
}

func mustFail(t *testing.T, c *testcloud.Cloud, res acctest.Result, want string) {
	t.Helper()
	if res.ExitCode == 0 {
		t.Fatalf("packer build succeeded, want a failure:\n%s", res.Output)
	}
	if !strings.Contains(res.Output, want) {
		t.Errorf("output does not say %q:\n%s", want, res.Output)
	}
	for _, line := range strings.Split(res.Output, "\n") {
		if strings.Contains(line, "errored after") {
			t.Logf("packer: %s", line)
		}
	}
	noLeaks(t, c)
}

// noLeaks fails when the cloud holds any temporary resource or a new image.
func noLeaks(t *testing.T, c *testcloud.Cloud) {
	t.Helper()
	noTempLeaks(t, c)
	for _, img := range c.Images(c.DefaultRegion()) {
		if !img.Seeded {
			t.Errorf("image %s (%s, %s) left behind", img.Name, img.ID, img.Status)
		}
	}
}

// noTempLeaks fails when the cloud holds any temporary resource (a build's own
// image is allowed).
func noTempLeaks(t *testing.T, c *testcloud.Cloud) {
	t.Helper()
	if l := c.Leaks(); !l.Empty() {
		t.Errorf("leaked: %v", l)
	}
}

func onlyImage(t *testing.T, c *testcloud.Cloud, name string) testcloud.Image {
	t.Helper()
	imgs := c.ImagesByName(name)
	if len(imgs) != 1 {
		t.Fatalf("%d images named %q, want 1", len(imgs), name)
	}
	return imgs[0]
}

func TestAccBuildProvisionsAndRebuilds(t *testing.T) {
	c, env := accCloud(t, testcloud.Options{})
	res := accBuild(t, env, accTemplate(c, `
  source_image_name = "Fedora-Cloud-Base-37-1.7"
  image_name        = "golden-1"
  image_visibility  = "community"
  image_tags        = ["golden", "ci"]
  image_min_disk    = 2
  image_properties = {
    os_require_quiesce = "yes"
    hw_scsi_model      = "virtio-scsi"
    hw_disk_bus        = "scsi"
  }`, `"echo built-by-packer > /etc/marker", "echo ${build.SourceImageName} ${build.SourceImage} ${build.ImageName} ${build.Region} > /etc/build-info"`), "")
	mustSucceed(t, res)

	img := onlyImage(t, c, "golden-1")
	if img.Status != "active" || img.Visibility != "community" || img.MinDisk != 2 {
		t.Errorf("image = %s %s min_disk %d", img.Status, img.Visibility, img.MinDisk)
	}
	for k, want := range map[string]string{
		"os_distro": "fedora", "os_version": "37", "hw_qemu_guest_agent": "yes",
		"os_require_quiesce": "yes", "hw_scsi_model": "virtio-scsi", "hw_disk_bus": "scsi", "image_type": "image",
	} {
		if got := img.Properties[k]; got != want {
			t.Errorf("property %s = %q, want %q", k, got, want)
		}
	}
	if strings.Join(img.Tags, ",") != "ci,golden" && strings.Join(img.Tags, ",") != "golden,ci" {
		t.Errorf("tags = %v", img.Tags)
	}
	data, err := c.ImageFileContent(img.ID, "/etc/marker")
	if err != nil || strings.TrimSpace(string(data)) != "built-by-packer" {
		t.Errorf("/etc/marker in the image = %q, %v", data, err)
	}
	if !strings.Contains(res.Output, img.ID) {
		t.Errorf("the artifact line does not name %s:\n%s", img.ID, res.Output)
	}
	// The generated variables reach provisioners.
	info, _ := c.ImageFileContent(img.ID, "/etc/build-info")
	if f := strings.Fields(string(info)); len(f) != 4 || f[0] != "Fedora-Cloud-Base-37-1.7" || f[1] != img.Properties["base_image_ref"] || f[2] != "golden-1" || f[3] != "RegionOne" {
		t.Errorf("/etc/build-info = %q", info)
	}
	noTempLeaks(t, c)

	// A second build starts from the first image and sees its file (on a flavor
	// whose disk satisfies the image's min_disk).
	second := accTemplate(c, fmt.Sprintf(`
  source_image = %q
  image_name   = "golden-2"`, img.ID), `"cat /etc/marker", "test \"$(cat /etc/marker)\" = built-by-packer"`)
	res = accBuild(t, env, strings.Replace(second, `"m1.tiny"`, `"m1.small"`, 1), "")
	mustSucceed(t, res)
	if !strings.Contains(res.Output, "built-by-packer") {
		t.Errorf("the second build did not see the file:\n%s", res.Output)
	}
	onlyImage(t, c, "golden-2")
	noTempLeaks(t, c)
}

func TestAccBuildWithFloatingIP(t *testing.T) {
	c, env := accCloud(t, testcloud.Options{})
	res := accBuild(t, env, accTemplate(c, `
  source_image_name   = "Fedora-Cloud-Base-37-1.7"
  image_name          = "golden-fip"
  networks            = ["private"]
  floating_ip_network = "public"`, `"echo via-floating-ip > /etc/marker"`), "")
	mustSucceed(t, res)
	img := onlyImage(t, c, "golden-fip")
	if data, _ := c.ImageFileContent(img.ID, "/etc/marker"); strings.TrimSpace(string(data)) != "via-floating-ip" {
		t.Errorf("/etc/marker = %q", data)
	}
	if !strings.Contains(res.Output, "Floating IP") {
		t.Errorf("no floating IP step in the output:\n%s", res.Output)
	}
	noTempLeaks(t, c)
}

func TestAccBuildFromVolume(t *testing.T) {
	c, env := accCloud(t, testcloud.Options{})
	res := accBuild(t, env, accTemplate(c, `
  source_image_name       = "Fedora-Cloud-Base-37-1.7"
  image_name              = "golden-volume"
  use_blockstorage_volume = true
  volume_size             = 1`, `"echo from-volume > /etc/marker"`), "")
	mustSucceed(t, res)
	img := onlyImage(t, c, "golden-volume")
	if img.Status != "active" || img.Properties["os_distro"] != "fedora" {
		t.Errorf("image = %+v", img)
	}
	if data, _ := c.ImageFileContent(img.ID, "/etc/marker"); strings.TrimSpace(string(data)) != "from-volume" {
		t.Errorf("/etc/marker = %q", data)
	}
	noTempLeaks(t, c)
}

func TestAccBuildFailures(t *testing.T) {
	base := `
  source_image_name = "Fedora-Cloud-Base-37-1.7"
  image_name        = "never"
  temporary_security_group = true`
	tests := []struct {
		name      string
		fault     *testcloud.Fault
		inline    string
		interrupt string
		want      string
	}{
		{name: "provisioner fails", inline: `"exit 3"`, want: "non-zero exit status: 3"},
		{name: "server goes to ERROR", fault: &testcloud.Fault{Op: "server.create", Action: testcloud.ActionError, Message: "No valid host was found"},
			want: "No valid host was found"},
		{name: "snapshot killed", fault: &testcloud.Fault{Op: "server.createImage", Action: testcloud.ActionKill}, want: "killed"},
		{name: "API 500 mid-build", fault: &testcloud.Fault{Op: "floatingip.create", Status: 500}, want: "allocating a floating IP"},
		{name: "Ctrl-C while provisioning", inline: `"echo provisioning-now", "sleep 20"`, interrupt: "provisioning-now", want: "cancelled"},
		{name: "Ctrl-C while the snapshot is saved", fault: &testcloud.Fault{Op: "server.createImage", Action: testcloud.ActionHold},
			interrupt: "Waiting for image", want: "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, env := accCloud(t, testcloud.Options{})
			if tt.fault != nil {
				c.AddFault(*tt.fault)
			}
			inline := tt.inline
			if inline == "" {
				inline = `"true"`
			}
			extra := base
			if strings.Contains(tt.name, "500") {
				extra += "\n  floating_ip_network = \"public\"\n  networks = [\"private\"]"
			}
			res := accBuild(t, env, accTemplate(c, extra, inline), tt.interrupt)
			mustFail(t, c, res, tt.want)
		})
	}
}

// A create whose reply is lost (the operation happens, a proxy answers 504 or
// 500) no longer fails the build: what the call made is found by the build's
// marker and the build goes on with it, leaving the one image and nothing else.
func TestAccBuildGoesOnAfterLostReplies(t *testing.T) {
	for _, f := range []testcloud.Fault{
		{Op: "server.create", Action: testcloud.ActionLoseReply, Times: 1},
		{Op: "server.createImage", Action: testcloud.ActionLoseReply, Times: 1},
		{Op: "floatingip.create", Action: testcloud.ActionLoseReply, Status: 500, Times: 1},
		{Op: "secgroup.create", Action: testcloud.ActionLoseReply, Times: 1},
		{Op: "keypair.create", Action: testcloud.ActionLoseReply, Times: 1},
	} {
		t.Run(f.Op, func(t *testing.T) {
			c, env := accCloud(t, testcloud.Options{})
			c.AddFault(f)
			res := accBuild(t, env, accTemplate(c, `
  source_image_name        = "Fedora-Cloud-Base-37-1.7"
  image_name               = "golden-lost-reply"
  temporary_security_group = true
  floating_ip_network      = "public"
  networks                 = ["private"]`, `"echo made > /etc/marker"`), "")
			mustSucceed(t, res)
			img := onlyImage(t, c, "golden-lost-reply")
			if data, _ := c.ImageFileContent(img.ID, "/etc/marker"); strings.TrimSpace(string(data)) != "made" {
				t.Errorf("/etc/marker = %q", data)
			}
			if !strings.Contains(res.Log, "reply to creating") {
				t.Errorf("the fault never fired: no lost reply in the log")
			}
			noTempLeaks(t, c)
		})
	}
}

func TestAccBuildFromExternalURL(t *testing.T) {
	acctest.Skip(t)
	// A web server holding the seed image's data; the test cloud's web-download
	// filter is opened to its port, as an operator would for an internal mirror.
	var data []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(data) }))
	defer srv.Close()
	port, _ := strconv.Atoi(srv.URL[strings.LastIndex(srv.URL, ":")+1:])
	c, env := accCloud(t, testcloud.Options{WebDownloadAllowedPorts: []int{port}})
	for _, img := range c.Images(c.DefaultRegion()) {
		if img.Name == "Fedora-Cloud-Base-37-1.7" {
			r, err := c.ImageData(img.ID)
			if err != nil {
				t.Fatal(err)
			}
			data, err = io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	res := accBuild(t, env, accTemplate(c, fmt.Sprintf(`
  external_source_image_url        = "%s/fedora.qcow2"
  external_source_image_properties = { os_distro = "fedora", hw_disk_bus = "scsi" }
  image_name                       = "golden-external"`, srv.URL), `"echo from-url > /etc/marker"`), "")
	mustSucceed(t, res)
	img := onlyImage(t, c, "golden-external")
	if img.Properties["hw_disk_bus"] != "scsi" {
		t.Errorf("properties = %v", img.Properties)
	}
	if data, _ := c.ImageFileContent(img.ID, "/etc/marker"); strings.TrimSpace(string(data)) != "from-url" {
		t.Errorf("/etc/marker = %q", data)
	}
	// The temporary imported image is gone; Leaks reports any packer_* image.
	noTempLeaks(t, c)
}

// TestAccBuildRequestCount runs a build on a cloud with slower, more realistic
// transitions and reports every API request it made. It checks the structure
// that keeps the count low (one image PATCH, one server delete, one stop call)
// and logs the totals for the performance comparison with the openstack builder,
// which polls every 2 s and sends one PATCH per image attribute.
func TestAccBuildRequestCount(t *testing.T) {
	c, env := accCloud(t, testcloud.Options{
		ServerBootDelay: 6 * time.Second, ServerStopDelay: 10 * time.Second,
		ServerDeleteDelay: 3 * time.Second, ImageDelay: 12 * time.Second,
	})
	res := accBuild(t, env, accTemplate(c, `
  source_image_name = "Fedora-Cloud-Base-37-1.7"
  image_name        = "golden-count"
  image_visibility  = "community"
  image_tags        = ["golden"]
  image_min_disk    = 1
  image_properties  = { os_require_quiesce = "yes" }`, `"true"`), "")
	mustSucceed(t, res)

	counts := map[string]int{}
	total, identity := 0, 0
	for _, r := range c.Requests() {
		if r.Service == "identity" {
			identity++
			continue
		}
		counts[r.Op]++
		total++
	}
	t.Logf("API requests: %d, plus %d to Keystone", total, identity)
	ops := make([]string, 0, len(counts))
	for op := range counts {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		t.Logf("  %-24s %d", op, counts[op])
	}
	for op, want := range map[string]int{"image.update": 1, "server.delete": 1, "server.stop": 1, "server.create": 1} {
		if counts[op] != want {
			t.Errorf("%s made %d times, want %d", op, counts[op], want)
		}
	}
	noTempLeaks(t, c)
}

// An existing image name stops the build before anything is created; -force
// builds anyway and deletes the old image once the new one is active.
func TestAccImageNameTakenAndForce(t *testing.T) {
	c, env := accCloud(t, testcloud.Options{})
	template := accTemplate(c, `
  source_image_name = "Fedora-Cloud-Base-37-1.7"
  image_name        = "golden-taken"`, `"true"`)
	mustSucceed(t, accBuild(t, env, template, ""))
	first := onlyImage(t, c, "golden-taken")

	c.ResetRequests()
	res := accBuild(t, env, template, "")
	if res.ExitCode == 0 || !strings.Contains(res.Output, `already has an image named "golden-taken"`) {
		t.Fatalf("second build: exit %d\n%s", res.ExitCode, res.Output)
	}
	for _, op := range []string{"keypair.create", "server.create", "server.createImage"} {
		if n := c.CountRequests(op); n != 0 {
			t.Errorf("%s called %d times although the name was taken", op, n)
		}
	}

	dir := t.TempDir()
	acctest.WriteFile(t, dir, "t.pkr.hcl", template)
	res = acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"build", "-color=false", "-force", "."}, Env: env, Timeout: 5 * time.Minute})
	mustSucceed(t, res)
	second := onlyImage(t, c, "golden-taken")
	if second.ID == first.ID {
		t.Error("-force kept the old image and made no new one")
	}
	noTempLeaks(t, c)
}

// A shutdown_command that does not power the guest off: after shutdown_timeout
// the builder falls back to Nova's stop and the build still succeeds. (The test
// cloud's guests cannot power themselves off; a real `poweroff` in its chroot
// would reach the host.)
func TestAccShutdownCommandFallsBackToNovaStop(t *testing.T) {
	c, env := accCloud(t, testcloud.Options{})
	res := accBuild(t, env, accTemplate(c, `
  source_image_name = "Fedora-Cloud-Base-37-1.7"
  image_name        = "golden-shutdown"
  shutdown_command  = "echo shutting-down > /etc/shutdown-marker"
  shutdown_timeout  = "3s"`, `"true"`), "")
	mustSucceed(t, res)
	if !strings.Contains(res.Output, "did not shut down within shutdown_timeout") || c.CountRequests("server.stop") != 1 {
		t.Errorf("no fallback to Nova's stop (%d stop calls):\n%s", c.CountRequests("server.stop"), res.Output)
	}
	img := onlyImage(t, c, "golden-shutdown")
	if data, _ := c.ImageFileContent(img.ID, "/etc/shutdown-marker"); strings.TrimSpace(string(data)) != "shutting-down" {
		t.Errorf("shutdown_command did not run: /etc/shutdown-marker = %q", data)
	}
	noTempLeaks(t, c)
}

// A build that outlives its Keystone token re-authenticates and finishes (the
// openstack builder's old failure with builds longer than a token's life).
func TestAccBuildOutlivesItsToken(t *testing.T) {
	c, env := accCloud(t, testcloud.Options{TokenLifetime: 2 * time.Second, ImageDelay: 5 * time.Second})
	res := accBuild(t, env, accTemplate(c, `
  source_image_name = "Fedora-Cloud-Base-37-1.7"
  image_name        = "golden-long"
  image_tags        = ["long"]`, `"sleep 3"`), "")
	mustSucceed(t, res)
	if img := onlyImage(t, c, "golden-long"); img.Status != "active" || len(img.Tags) != 1 {
		t.Errorf("image = %+v", img)
	}
	if n := c.CountRequests("identity.token.create"); n < 2 {
		t.Errorf("%d token requests: the build never had to log in again, so the test proved nothing", n)
	}
	noTempLeaks(t, c)
}

// Glance shows the snapshot active while Nova is still finishing it; a server
// deleted then makes Nova delete the image. Here Nova takes 3 s to finish: the
// build waits for it before deleting its server, with and without a boot test.
func TestAccBuildKeepsTheSnapshotNovaIsFinishing(t *testing.T) {
	for name, extra := range map[string]string{
		"plain": ``,
		"with verify": `
  verify {
    inline  = ["test -s /etc/marker"]
    timeout = "2m"
  }`,
	} {
		t.Run(name, func(t *testing.T) {
			c, env := accCloud(t, testcloud.Options{SnapshotFinishDelay: 3 * time.Second})
			res := accBuild(t, env, accTemplate(c, `
  source_image_name = "Fedora-Cloud-Base-37-1.7"
  image_name        = "golden-finished"`+extra, `"echo built > /etc/marker"`), "")
			mustSucceed(t, res)
			// Nova's finish fell due 3 s after the image turned active, which
			// was before the build ended: let it pass, then look.
			time.Sleep(3*time.Second + 500*time.Millisecond)
			if img := onlyImage(t, c, "golden-finished"); img.Status != "active" {
				t.Errorf("image %s is %s", img.ID, img.Status)
			}
			noTempLeaks(t, c)
		})
	}
}
