package glance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
)

// guestComm stands in for the SSH connection to a server: each command gets
// the output and exit status its script says (default: no output, 0).
type guestComm struct {
	mu     sync.Mutex
	server string // the server this connection reached
	ran    []string
	out    map[string]string
	stderr map[string]string
	exit   map[string]int
	// hang makes a command run until its context ends (Ctrl-C, a timeout).
	hang map[string]bool
	// onStart runs when a command starts, with the server it runs on.
	onStart func(server, command string)
}

func (g *guestComm) Start(ctx context.Context, rc *packersdk.RemoteCmd) error {
	g.mu.Lock()
	g.ran = append(g.ran, g.server+": "+rc.Command)
	out, stderr, exit, hang, hook := g.out[rc.Command], g.stderr[rc.Command], g.exit[rc.Command], g.hang[rc.Command], g.onStart
	g.mu.Unlock()
	if hook != nil {
		hook(g.server, rc.Command)
	}
	go func() {
		if out != "" && rc.Stdout != nil {
			io.WriteString(rc.Stdout, out)
		}
		if stderr != "" && rc.Stderr != nil {
			io.WriteString(rc.Stderr, stderr)
		}
		if hang {
			<-ctx.Done()
			rc.SetExited(packersdk.CmdDisconnect)
			return
		}
		rc.SetExited(exit)
	}()
	return nil
}

func (g *guestComm) commands() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.ran)
}

func (g *guestComm) script(cmd, out string, exit int) {
	g.out[cmd], g.exit[cmd] = out, exit
}

func newGuest() *guestComm {
	return &guestComm{out: map[string]string{}, stderr: map[string]string{}, exit: map[string]int{}, hang: map[string]bool{}}
}

// connection is one connection to a server; its commands are recorded in g.
type connection struct {
	g      *guestComm
	server string
}

func (c *connection) Start(ctx context.Context, rc *packersdk.RemoteCmd) error {
	c.g.mu.Lock()
	c.g.server = c.server
	c.g.mu.Unlock()
	return c.g.Start(ctx, rc)
}
func (c *connection) Upload(string, io.Reader, *os.FileInfo) error { return nil }
func (c *connection) UploadDir(string, string, []string) error     { return nil }
func (c *connection) Download(string, io.Writer) error             { return nil }
func (c *connection) DownloadDir(string, string, []string) error   { return nil }

// connectStep "connects" without a network: it puts a connection to the build
// server, or with verifying to the test server, into the state.
type connectStep struct {
	g         *guestComm
	verifying bool
}

func (c *connectStep) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	server := stringOf(state, stateServerID)
	if c.verifying {
		server = stringOf(state, stateVerifyServerID)
	}
	state.Put(stateCommunicatorKey, &connection{g: c.g, server: server})
	return multistep.ActionContinue
}

func (c *connectStep) Cleanup(multistep.StateBag) {}

// runGuestBuild runs a whole build against the fake with an SSH communicator
// whose connections go to g; the port the builder probes is a local listener.
func runGuestBuild(t *testing.T, ctx context.Context, fake *fakeCloud, g *guestComm, raw map[string]interface{}) (packersdk.Artifact, string, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	raw["ssh_host"] = "127.0.0.1"
	raw["ssh_port"] = ln.Addr().(*net.TCPAddr).Port
	b := &Builder{newCloud: func(context.Context, *Config) (*Cloud, error) { return fake.cloud(), nil }}
	b.connect = func(comm *communicator.Config, host func(multistep.StateBag) (string, error)) multistep.Step {
		return &connectStep{g: g, verifying: comm != &b.config.Comm}
	}
	if _, _, err := b.Prepare(raw); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	out := &syncBuffer{}
	ui := &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: out, ErrorWriter: out}
	a, err := b.Run(ctx, ui, &packersdk.MockHook{})
	return a, out.String(), err
}

// syncBuffer keeps the UI's output, written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// verifyTemplate is a build with a floating IP, final visibility, tags,
// protection and members, a family, and a verify block of two commands.
func verifyTemplate(extra ...interface{}) map[string]interface{} {
	raw := with(append([]interface{}{"source_image", "img-fedora", "networks", []string{"private"}, "floating_ip_network", "public",
		"image_visibility", "shared", "image_members", []string{"p2"}, "image_tags", []string{"golden"},
		"image_protected", true, "image_family", "golden-fedora", "image_min_disk", 5,
		"image_properties", map[string]string{"hw_disk_bus": "scsi"},
		"verify", map[string]interface{}{"inline": []string{"systemctl is-system-running --wait || true", "test -s /etc/golden-marker"}},
	}, extra...)...)
	return raw
}

// The boot test runs on a server booted from the new image, while the image is
// private, untagged, outside its family and unprotected but already has the
// properties and sizes that decide how it boots; only then is it promoted.
func TestRunVerifyPassesThenPromotes(t *testing.T) {
	fake := newFakeCloud()
	g := newGuest()
	type seen struct {
		img               Image
		servers, keypairs int
	}
	var during *seen
	g.onStart = func(server, cmd string) {
		if cmd != "test -s /etc/golden-marker" {
			return
		}
		fake.mu.Lock()
		defer fake.mu.Unlock()
		for _, img := range fake.images {
			if img.Name == "golden" {
				during = &seen{img: *img, servers: len(fake.servers), keypairs: len(fake.keypairs)}
			}
		}
	}
	// The test server gets the build's keypair, which must still exist then.
	keypairsAtTestServer := -1
	fake.onCall = func(m string) {
		if m == "CreateServer" && fake.called("CreateServer") == 2 {
			fake.mu.Lock()
			keypairsAtTestServer = len(fake.keypairs)
			fake.mu.Unlock()
		}
	}
	a, out, err := runGuestBuild(t, context.Background(), fake, g, verifyTemplate())
	if err != nil {
		t.Fatalf("build failed: %v\n%s", err, out)
	}
	id := a.Id()
	if keypairsAtTestServer != 1 {
		t.Errorf("%d keypairs when the test server was created, want the build's one", keypairsAtTestServer)
	}
	if during == nil {
		t.Fatalf("the verify commands never ran: %v\n%s", g.commands(), out)
	}
	if d := during.img; d.ID != id || d.Visibility != "private" || len(d.Tags) != 0 || d.Protected ||
		d.Properties["image_family"] != "" || d.MinDisk != 5 || d.Properties["hw_disk_bus"] != "scsi" {
		t.Errorf("image during verify = %+v: want private, untagged, unprotected, outside its family, with min_disk and hw_disk_bus", d)
	}
	if during.servers != 1 || during.keypairs != 0 {
		t.Errorf("during verify: %d servers (want only the test server), %d keypairs (want none left)", during.servers, during.keypairs)
	}
	img := fake.images[id]
	if img.Visibility != "shared" || !slices.Equal(img.Tags, []string{"golden"}) || !img.Protected || img.Properties["image_family"] != "golden-fedora" {
		t.Errorf("image after verify = %+v", img)
	}
	if got := fake.members[id]; !slices.Equal(got, []string{"p2"}) {
		t.Errorf("members = %v", got)
	}

	// Where each command ran: provisioning on the build server, verify on the test server.
	var verifyServer string
	for _, c := range fake.calls {
		if strings.HasPrefix(c, "CreateServer packer_") && strings.HasSuffix(c, "_verify") {
			verifyServer = "found"
		}
	}
	if verifyServer == "" {
		t.Errorf("no server named packer_<uuid>_verify: %v", fake.calls)
	}
	cmds := g.commands()
	if len(cmds) != 2 || !strings.HasSuffix(cmds[0], ": systemctl is-system-running --wait || true") {
		t.Errorf("commands = %v", cmds)
	}

	// The order of the calls that matter.
	order := []string{}
	for _, c := range fake.calls {
		switch {
		case strings.HasPrefix(c, "CreateServer"), strings.HasPrefix(c, "DeleteServer"), strings.HasPrefix(c, "UpdateImage"),
			strings.HasPrefix(c, "DeleteKeypair"), strings.HasPrefix(c, "AddMember"), strings.HasPrefix(c, "AssociateFloatingIP"),
			strings.HasPrefix(c, "CreateServerImage"):
			order = append(order, strings.Fields(c)[0])
		}
	}
	want := []string{"CreateServer", "CreateServerImage", "UpdateImage", "DeleteServer", "CreateServer", "DeleteKeypair",
		"AssociateFloatingIP", "DeleteServer", "UpdateImage", "AddMember"}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("calls in order:\n got %v\nwant %v", order, want)
	}
	if u := fake.updates[id]; len(u) != 2 || u[0].Visibility != nil || u[0].Tags != nil || u[0].Protected != nil || u[1].Visibility == nil || u[1].Properties["image_family"] != "golden-fedora" {
		t.Errorf("updates = %+v", u)
	}
	if l := fake.leaks(); len(l) != 1 || l[0] != "image "+id {
		t.Errorf("left behind %v, want only the new image", l)
	}
	for _, want := range []string{"Boot-testing image " + id, "passed its boot test"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// A build without verify keeps the keypair only until its server is ACTIVE and
// finishes the image in one PATCH.
func TestRunWithoutVerifyIsUnchanged(t *testing.T) {
	fake := newFakeCloud()
	g := newGuest()
	a, out, err := runGuestBuild(t, context.Background(), fake, g, with("source_image", "img-fedora", "image_visibility", "community",
		"image_tags", []string{"golden"}, "image_family", "golden-fedora"))
	if err != nil {
		t.Fatalf("build failed: %v\n%s", err, out)
	}
	if n := fake.called("UpdateImage"); n != 1 {
		t.Errorf("%d PATCHes, want one", n)
	}
	if n := fake.called("CreateServer"); n != 1 {
		t.Errorf("%d servers", n)
	}
	kp, srv := slices.IndexFunc(fake.calls, func(c string) bool { return strings.HasPrefix(c, "DeleteKeypair") }),
		slices.IndexFunc(fake.calls, func(c string) bool { return strings.HasPrefix(c, "CreateServerImage") })
	if kp < 0 || kp > srv {
		t.Errorf("the keypair was not deleted before the snapshot: %v", fake.calls)
	}
	if fake.images[a.Id()].Properties["image_family"] != "golden-fedora" {
		t.Errorf("properties = %v", fake.images[a.Id()].Properties)
	}
}

// A failing check fails the build with its output shown, and leaves nothing: no
// server, keypair, floating IP or image, and the image was never promoted.
func TestRunVerifyFails(t *testing.T) {
	fake := newFakeCloud()
	g := newGuest()
	g.stderr["test -s /etc/golden-marker"] = "golden-marker is missing\n"
	g.script("test -s /etc/golden-marker", "checking the marker\n", 3)
	_, out, err := runGuestBuild(t, context.Background(), fake, g, verifyTemplate())
	if err == nil {
		t.Fatalf("build succeeded\n%s", out)
	}
	if !strings.Contains(err.Error(), `"test -s /etc/golden-marker" exited with status 3`) {
		t.Errorf("error = %v", err)
	}
	for _, want := range []string{"golden-marker is missing", "checking the marker", "Deleting the test server", "Deleting the unfinished image"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if l := fake.leaks(); len(l) != 0 {
		t.Errorf("left behind %v\ncalls: %v", l, fake.calls)
	}
	if n := fake.called("AddMember"); n != 0 {
		t.Errorf("a failed image was shared")
	}
	for _, us := range fake.updates {
		for _, u := range us {
			if u.Visibility != nil || u.Tags != nil || u.Protected != nil {
				t.Errorf("a failed image was promoted: %+v", u)
			}
		}
	}
}

// Ctrl-C while the checks run, and a test that outlives verify.timeout: the
// test server and the image go, and a timeout is not reported as a Ctrl-C.
func TestRunVerifyInterruptedOrTimedOut(t *testing.T) {
	t.Run("Ctrl-C", func(t *testing.T) {
		fake := newFakeCloud()
		g := newGuest()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		g.hang["test -s /etc/golden-marker"] = true
		g.onStart = func(_, cmd string) {
			if cmd == "test -s /etc/golden-marker" {
				go func() { time.Sleep(20 * time.Millisecond); cancel() }()
			}
		}
		_, out, err := runGuestBuild(t, ctx, fake, g, verifyTemplate())
		if err == nil || !strings.Contains(err.Error(), "cancelled") {
			t.Fatalf("error %v\n%s", err, out)
		}
		if l := fake.leaks(); len(l) != 0 {
			t.Errorf("left behind %v\ncalls: %v", l, fake.calls)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		fake := newFakeCloud()
		g := newGuest()
		g.hang["test -s /etc/golden-marker"] = true
		raw := verifyTemplate()
		raw["verify"] = map[string]interface{}{"inline": []string{"test -s /etc/golden-marker"}, "timeout": "300ms"}
		_, out, err := runGuestBuild(t, context.Background(), fake, g, raw)
		if err == nil || !strings.Contains(err.Error(), "within verify.timeout (300ms)") || strings.Contains(err.Error(), "cancelled") {
			t.Fatalf("error %v\n%s", err, out)
		}
		if l := fake.leaks(); len(l) != 0 {
			t.Errorf("left behind %v\ncalls: %v", l, fake.calls)
		}
	})
}

// Every cloud call of the boot test, failed in turn: the build fails saying what
// it was doing and leaves nothing.
func TestRunVerifyFailsCleanlyAtEveryCall(t *testing.T) {
	for _, tc := range []struct {
		method string
		from   int // the call that fails first: the test server's
		want   string
	}{
		{"CreateServer", 2, "creating the test server"},
		{"GetServer", 0, "reading server"},
		{"AssociateFloatingIP", 1, "attaching floating IP"},
		{"UpdateImage", 1, "before its boot test"},
		{"FlavorID", 2, "verify.flavor"},
	} {
		t.Run(tc.method, func(t *testing.T) {
			fake := newFakeCloud()
			fake.flavors["m1.tiny"] = "flavor-tiny"
			fake.fail[tc.method] = errServer
			if tc.from > 0 {
				fake.failAfter[tc.method] = tc.from
			}
			if tc.method == "GetServer" {
				// Fail the test server's reads only (the build server's ID is srv-<n> too).
				fake.fail[tc.method] = nil
				fake.onCall = func(m string) {
					if m == "CreateServer" && fake.called("CreateServer") == 2 {
						fake.mu.Lock()
						fake.fail["GetServer"] = errServer
						fake.mu.Unlock()
					}
				}
			}
			raw := verifyTemplate("verify", map[string]interface{}{"inline": []string{"true"}, "flavor": "m1.tiny"})
			_, out, err := runGuestBuild(t, context.Background(), fake, newGuest(), raw)
			if err == nil {
				t.Fatalf("build succeeded\n%s", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if l := fake.leaks(); len(l) != 0 {
				t.Errorf("left behind %v\ncalls: %v", l, fake.calls)
			}
		})
	}
}

// A test server whose create reply was lost is found by its name and the
// build's marker, and deleted.
func TestRunVerifyDeletesALostTestServer(t *testing.T) {
	fake := newFakeCloud()
	fake.lose["CreateServer"] = httpError(504)
	fake.loseFrom["CreateServer"] = 2
	_, out, err := runGuestBuild(t, context.Background(), fake, newGuest(), verifyTemplate())
	if err == nil {
		t.Fatalf("build succeeded\n%s", out)
	}
	if !strings.Contains(out, "whose creation was cut off") || !slices.ContainsFunc(fake.calls, func(c string) bool {
		return strings.HasPrefix(c, "ServersOfBuild packer_") && strings.Contains(c, "_verify ")
	}) {
		t.Errorf("the lost test server was not looked for:\n%s\n%v", out, fake.calls)
	}
	if l := fake.leaks(); len(l) != 0 {
		t.Errorf("left behind %v\ncalls: %v", l, fake.calls)
	}
}

// family images of project demo, newest first: fam-1 (1 h old), fam-2 (2 h,
// protected), fam-3 (3 h); theirs is another project's, older still.
func seedFamily(fake *fakeCloud) {
	base := time.Now().Add(-time.Minute)
	for i, mod := range []func(*Image){nil, func(i *Image) { i.Protected = true }, nil} {
		id := fmt.Sprintf("old-fam-%d", i+1)
		img := &Image{ID: id, Name: id, Status: "active", Visibility: "private", CreatedAt: base.Add(-time.Duration(i+1) * time.Hour),
			Properties: map[string]string{imagepolicy.FamilyProperty: "golden-fedora"}}
		if mod != nil {
			mod(img)
		}
		fake.images[id] = img
	}
	fake.images["old-theirs"] = &Image{ID: "old-theirs", Name: "theirs", Status: "active", Visibility: "public", Owner: "alt",
		CreatedAt: base.Add(-10 * time.Hour), Properties: map[string]string{imagepolicy.FamilyProperty: "golden-fedora"}}
}

func TestRunRetiresOlderImagesOfTheFamily(t *testing.T) {
	t.Run("hide", func(t *testing.T) {
		fake := newFakeCloud()
		seedFamily(fake)
		a, out, err := runBuild(t, context.Background(), fake, with("source_image", "img-fedora", "image_family", "golden-fedora", "keep_latest", 2))
		if err != nil {
			t.Fatalf("build failed: %v\n%s", err, out)
		}
		if img := fake.images[a.Id()]; img.Hidden || img.Properties["image_family"] != "golden-fedora" {
			t.Errorf("new image %+v", img)
		}
		if fake.images["old-fam-1"].Hidden {
			t.Error("the second newest was retired")
		}
		for _, id := range []string{"old-fam-2", "old-fam-3"} {
			if img := fake.images[id]; !img.Hidden || img.Properties[imagepolicy.RetiredAtProperty] == "" {
				t.Errorf("%s not hidden: %+v", id, img)
			}
		}
		if img := fake.images["old-theirs"]; img.Hidden || len(fake.updates["old-theirs"]) != 0 {
			t.Errorf("another project's image was touched: %+v", img)
		}
		if !strings.Contains(out, "Keeping the 2 newest images of family \"golden-fedora\"") {
			t.Errorf("output:\n%s", out)
		}
	})
	t.Run("delete", func(t *testing.T) {
		fake := newFakeCloud()
		seedFamily(fake)
		_, out, err := runBuild(t, context.Background(), fake, with("source_image", "img-fedora", "image_family", "golden-fedora", "keep_latest", 1,
			"retire_action", "delete"))
		if err != nil {
			t.Fatalf("build failed: %v\n%s", err, out)
		}
		for id, want := range map[string]string{"old-fam-1": "deleted", "old-fam-2": "hidden", "old-fam-3": "deleted", "old-theirs": "kept"} {
			img, ok := fake.images[id]
			got := "kept"
			switch {
			case !ok:
				got = "deleted"
			case img.Hidden:
				got = "hidden"
			}
			if got != want {
				t.Errorf("%s %s, want %s", id, got, want)
			}
		}
	})
	t.Run("a refused delete is not fatal", func(t *testing.T) {
		fake := newFakeCloud()
		seedFamily(fake)
		fake.fail["DeleteImage"] = httpError(409)
		a, out, err := runBuild(t, context.Background(), fake, with("source_image", "img-fedora", "image_family", "golden-fedora", "keep_latest", 1,
			"retire_action", "delete"))
		if err != nil || a == nil {
			t.Fatalf("build failed: %v\n%s", err, out)
		}
		if !strings.Contains(out, "refused to delete image old-fam-1") || fake.images["old-fam-1"] == nil {
			t.Errorf("output:\n%s", out)
		}
	})
	t.Run("a failed build retires nothing", func(t *testing.T) {
		fake := newFakeCloud()
		seedFamily(fake)
		fake.fail["StopServer"] = errServer
		if _, _, err := runBuild(t, context.Background(), fake, with("source_image", "img-fedora", "image_family", "golden-fedora", "keep_latest", 1)); err == nil {
			t.Fatal("build succeeded")
		}
		if n := fake.called("OwnedImagesInFamily"); n != 0 {
			t.Errorf("retention ran after a failed build")
		}
	})
}

// A build from an image of a family does not inherit its family (nor its
// retirement date): the property is blanked from the image's creation on, and
// set only to the build's own image_family, if any.
func TestRunDoesNotInheritTheSourcesFamily(t *testing.T) {
	for _, family := range []string{"", "golden-fedora"} {
		t.Run("image_family="+family, func(t *testing.T) {
			fake := newFakeCloud()
			fake.images["img-fedora"].Properties["image_family"] = "base-fedora"
			fake.images["img-fedora"].Properties["retired_at"] = "2024-01-01T00:00:00Z"
			var atCreation map[string]string
			fake.onCall = func(m string) {
				if m == "GetImage" && atCreation == nil {
					fake.mu.Lock()
					defer fake.mu.Unlock()
					for _, img := range fake.images {
						if img.Name == "golden" {
							atCreation = maps.Clone(img.Properties)
						}
					}
				}
			}
			raw := with("source_image", "img-fedora")
			if family != "" {
				raw["image_family"] = family
			}
			a, out, err := runBuild(t, context.Background(), fake, raw)
			if err != nil {
				t.Fatalf("build failed: %v\n%s", err, out)
			}
			if atCreation == nil || atCreation["image_family"] != "" || atCreation["retired_at"] != "" {
				t.Errorf("properties at creation: %v", atCreation)
			}
			if got := fake.images[a.Id()].Properties; got["image_family"] != family || got["retired_at"] != "" {
				t.Errorf("final properties: %v", got)
			}
		})
	}
}

// In the volume flow the build's server is already gone when the image is
// active; the test server boots from the image all the same.
func TestRunVerifyAfterTheVolumeFlow(t *testing.T) {
	fake := newFakeCloud()
	g := newGuest()
	a, out, err := runGuestBuild(t, context.Background(), fake, g, with("source_image", "img-fedora", "use_blockstorage_volume", true,
		"verify", map[string]interface{}{"inline": []string{"true"}}))
	if err != nil {
		t.Fatalf("build failed: %v\n%s", err, out)
	}
	if n := fake.called("DeleteServer"); n != 2 {
		t.Errorf("%d server deletions, want the build's and the test server's", n)
	}
	if cmds := g.commands(); len(cmds) != 1 || !strings.HasSuffix(cmds[0], ": true") {
		t.Errorf("commands = %v", cmds)
	}
	if l := fake.leaks(); len(l) != 1 || l[0] != "image "+a.Id() {
		t.Errorf("left behind %v", l)
	}
}
