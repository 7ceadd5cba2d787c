package glance

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"
)

// runBuild runs a whole build against the fake, with no communicator so no guest
// is needed, and returns the artifact, the error and the UI output.
func runBuild(t *testing.T, ctx context.Context, fake *fakeCloud, raw map[string]interface{}) (packersdk.Artifact, string, error) {
	t.Helper()
	raw["communicator"] = "none"
	delete(raw, "ssh_username")
	b := &Builder{newCloud: func(context.Context, *Config) (*Cloud, error) { return fake.cloud(), nil }}
	if _, _, err := b.Prepare(raw); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	out := new(bytes.Buffer)
	ui := &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: out, ErrorWriter: out}
	a, err := b.Run(ctx, ui, &packersdk.MockHook{})
	return a, out.String(), err
}

func TestRunHappyPath(t *testing.T) {
	fake := newFakeCloud()
	a, out, err := runBuild(t, context.Background(), fake, with(
		"source_image", "img-fedora", "image_visibility", "shared", "image_members", []string{"p2"},
		"image_properties", map[string]string{"os_require_quiesce": "yes"}, "image_tags", []string{"golden"},
		"image_min_disk", 5, "networks", []string{"private"}, "floating_ip_network", "public"))
	if err != nil {
		t.Fatalf("build failed: %v\n%s", err, out)
	}
	if a == nil {
		t.Fatal("no artifact")
	}
	img := fake.images[a.Id()]
	if img == nil || img.Status != "active" || img.Name != "golden" || img.Visibility != "shared" || img.MinDisk != 5 {
		t.Fatalf("image = %+v", img)
	}
	if img.Properties["os_distro"] != "fedora" || img.Properties["os_require_quiesce"] != "yes" {
		t.Errorf("properties = %v (want the inherited os_distro and the requested os_require_quiesce)", img.Properties)
	}
	if got := fake.called("UpdateImage"); got != 1 {
		t.Errorf("%d PATCHes, want exactly one", got)
	}
	if got := fake.members[a.Id()]; len(got) != 1 || got[0] != "p2" {
		t.Errorf("members = %v", got)
	}
	if l := fake.leaks(); len(l) != 1 || l[0] != "image "+a.Id() {
		t.Errorf("left behind %v, want only the new image", l)
	}
	if !strings.Contains(a.String(), a.Id()) || !strings.Contains(a.String(), "RegionOne") {
		t.Errorf("String() = %q", a.String())
	}
	gen, _ := a.State("generated_data").(map[string]interface{})
	for k, want := range map[string]string{"SourceImage": "img-fedora", "SourceImageName": "Fedora-37", "ImageName": "golden", "Region": "RegionOne"} {
		if gen[k] != want {
			t.Errorf("generated %s = %v, want %s", k, gen[k], want)
		}
	}
	reg, ok := a.State(registryimage.ArtifactStateURI).(*registryimage.Image)
	if !ok || reg.ProviderName != "openstack" || reg.ImageID != a.Id() || reg.SourceImageID != "img-fedora" || reg.ProviderRegion != "RegionOne" || reg.Labels["visibility"] != "shared" {
		t.Errorf("registry metadata = %+v", reg)
	}
	if err := a.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, ok := fake.images[a.Id()]; ok {
		t.Error("Destroy left the image")
	}
}

func TestRunVolumeFlow(t *testing.T) {
	fake := newFakeCloud()
	a, out, err := runBuild(t, context.Background(), fake, with("source_image", "img-fedora", "use_blockstorage_volume", true))
	if err != nil {
		t.Fatalf("build failed: %v\n%s", err, out)
	}
	if got := fake.called("DeleteServer"); got != 1 {
		t.Errorf("server deleted %d times, want once", got)
	}
	if got := fake.called("UploadToImage"); got != 1 {
		t.Errorf("UploadToImage called %d times", got)
	}
	if l := fake.leaks(); len(l) != 1 || l[0] != "image "+a.Id() {
		t.Errorf("left behind %v", l)
	}
}

func TestRunSkipCreateImage(t *testing.T) {
	fake := newFakeCloud()
	a, _, err := runBuild(t, context.Background(), fake, with("source_image", "img-fedora", "skip_create_image", true))
	if err != nil || a != nil {
		t.Fatalf("artifact %v, error %v; want neither", a, err)
	}
	if fake.called("CreateServerImage")+fake.called("StopServer")+fake.called("OwnedImagesNamed") != 0 {
		t.Errorf("image calls made: %v", fake.calls)
	}
	if l := fake.leaks(); len(l) != 0 {
		t.Errorf("left behind %v", l)
	}
}

// Every cloud call the build makes, failed in turn: the build stops with an error
// saying what it was doing, and leaves nothing behind, not even the new image.
func TestRunFailsCleanlyAtEveryCall(t *testing.T) {
	full := func() map[string]interface{} {
		return with("source_image", "img-fedora", "networks", []string{"private"}, "floating_ip_network", "public",
			"image_members", []string{"p2"}, "image_protected", true)
	}
	methods := []struct{ method, want string }{
		{"OwnedImagesNamed", "existing images"}, {"FlavorID", "flavor"}, {"FindNetwork", "network"},
		{"GetImage", "source_image"},
		{"CreateServer", "creating server"}, {"GetServer", "reading server"}, {"ServerPorts", "ports of server"},
		{"CreateFloatingIP", "floating IP"}, {"StopServer", "stopping server"}, {"CreateServerImage", "creating image"},
		{"UpdateImage", "updating image"}, {"AddMember", "member"},
	}
	for _, m := range methods {
		t.Run(m.method, func(t *testing.T) {
			fake := newFakeCloud()
			fake.fail[m.method] = errServer
			if m.method == "GetImage" {
				fake.fail[m.method] = errNotFound
			}
			_, out, err := runBuild(t, context.Background(), fake, full())
			if err == nil {
				t.Fatalf("build succeeded\n%s", out)
			}
			if !strings.Contains(err.Error(), m.want) {
				t.Errorf("error %q does not say %q", err, m.want)
			}
			if l := fake.leaks(); len(l) != 0 {
				t.Errorf("left behind %v\ncalls: %v", l, fake.calls)
			}
		})
	}
}

// Ctrl-C at any point: cleanup still removes everything, including the image,
// also when the key is pressed during the final clean-up, after the image is
// finished (deleting the floating IP or the server).
func TestRunCancelledCleansUp(t *testing.T) {
	for _, at := range []string{"OwnedImagesNamed", "CreateServer", "GetServer", "CreateFloatingIP", "StopServer", "CreateServerImage", "GetImage", "UpdateImage",
		"DeleteFloatingIP", "DeleteServer"} {
		t.Run(at, func(t *testing.T) {
			fake := newFakeCloud()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fake.onCall = func(method string) {
				if method == at {
					cancel()
				}
			}
			raw := with("source_image", "img-fedora", "floating_ip_network", "public", "image_tags", []string{"t"})
			_, out, err := runBuild(t, ctx, fake, raw)
			if err == nil {
				t.Fatalf("build succeeded after cancel\n%s", out)
			}
			if fake.called(at) == 0 {
				t.Fatalf("the build never called %s, so Ctrl-C was not tested there\ncalls: %v", at, fake.calls)
			}
			if l := fake.leaks(); len(l) != 0 {
				t.Errorf("left behind %v\ncalls: %v", l, fake.calls)
			}
		})
	}
}

// A create whose reply never arrives (a 5xx from a proxy, a timeout, Ctrl-C)
// may still have made the resource: cleanup finds it by its name and deletes it.
func TestRunDeletesWhatALostCreateMade(t *testing.T) {
	for _, method := range []string{"CreateVolume", "CreateServer", "CreateFloatingIP", "UploadToImage", "CreateServerImage"} {
		raw := func() map[string]interface{} {
			return with("source_image", "img-fedora", "floating_ip_network", "public", "use_blockstorage_volume", method != "CreateServerImage")
		}
		for name, lost := range map[string]error{"504": httpError(http.StatusGatewayTimeout), "connection reset": fmt.Errorf("POST: %w", syscall.ECONNRESET)} {
			t.Run(method+" "+name, func(t *testing.T) {
				fake := newFakeCloud()
				fake.lose[method] = lost
				_, out, err := runBuild(t, context.Background(), fake, raw())
				if err == nil {
					t.Fatalf("build succeeded\n%s", out)
				}
				if l := fake.leaks(); len(l) != 0 {
					t.Errorf("left behind %v\ncalls: %v", l, fake.calls)
				}
				if !strings.Contains(out, "whose creation was cut off") {
					t.Errorf("cleanup did not say it looked for the lost resource:\n%s", out)
				}
			})
		}
		t.Run(method+" Ctrl-C", func(t *testing.T) {
			fake := newFakeCloud()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fake.lose[method] = context.Canceled
			fake.onCall = func(m string) {
				if m == method {
					cancel()
				}
			}
			if _, out, err := runBuild(t, ctx, fake, raw()); err == nil {
				t.Fatalf("build succeeded after cancel\n%s", out)
			}
			if l := fake.leaks(); len(l) != 0 {
				t.Errorf("left behind %v\ncalls: %v", l, fake.calls)
			}
		})
	}
	// A refusal (4xx) made nothing: cleanup does not go looking.
	fake := newFakeCloud()
	fake.fail["CreateServer"] = httpError(http.StatusForbidden)
	if _, _, err := runBuild(t, context.Background(), fake, with("source_image", "img-fedora")); err == nil || fake.called("ServersOfBuild") != 0 {
		t.Errorf("after a 403: error %v, %d lookups; want an error and none", err, fake.called("ServersOfBuild"))
	}
}

// Ctrl-C at any point of the boot-from-volume flow: the volume, the server and the
// uploaded image are all removed.
func TestRunCancelledCleansUpTheVolumeFlow(t *testing.T) {
	for _, at := range []string{"CreateVolume", "GetVolume", "CreateServer", "GetServer", "StopServer", "DeleteServer", "UploadToImage", "GetImage", "UpdateImage"} {
		t.Run(at, func(t *testing.T) {
			fake := newFakeCloud()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fake.onCall = func(method string) {
				if method == at {
					cancel()
				}
			}
			raw := with("source_image", "img-fedora", "use_blockstorage_volume", true, "floating_ip_network", "public", "image_tags", []string{"t"})
			_, out, err := runBuild(t, ctx, fake, raw)
			if err == nil {
				t.Fatalf("build succeeded after cancel\n%s", out)
			}
			if fake.called(at) == 0 {
				t.Fatalf("the build never called %s: calls %v", at, fake.calls)
			}
			if l := fake.leaks(); len(l) != 0 {
				t.Errorf("left behind %v\ncalls: %v", l, fake.calls)
			}
		})
	}
}

func TestRunExternalSourceKeepsCredentialsOutOfTheArtifact(t *testing.T) {
	fake := newFakeCloud()
	a, out, err := runBuild(t, context.Background(), fake, with("source_image", nil,
		"external_source_image_url", "https://mirror-user:mirror-pass-4821@example.com/f.qcow2"))
	if err != nil {
		t.Fatalf("build failed: %v\n%s", err, out)
	}
	reg := a.State(registryimage.ArtifactStateURI).(*registryimage.Image)
	if reg.SourceImageID != "" || !strings.Contains(reg.Labels["source_image_url"], "example.com/f.qcow2") || strings.Contains(reg.Labels["source_image_url"], "mirror-pass-4821") {
		t.Errorf("registry metadata = %+v", reg)
	}
	if strings.Contains(out, "mirror-pass-4821") {
		t.Errorf("the URL password was shown:\n%s", out)
	}
	if l := fake.leaks(); len(l) != 1 || l[0] != "image "+a.Id() {
		t.Errorf("left behind %v (the imported source must go)", l)
	}
}
