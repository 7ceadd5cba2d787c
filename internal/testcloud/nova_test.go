package testcloud

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

type computeEnv struct {
	c                   *Cloud
	compute, net, block *gophercloud.ServiceClient
	image               *gophercloud.ServiceClient
	signer              ssh.Signer
	baseImage, privNet  string
}

func newComputeEnv(t *testing.T, opts Options) *computeEnv {
	t.Helper()
	if StaticBusybox() == "" {
		t.Skip("needs busybox-static (scripts/apt-install.sh busybox-static)")
	}
	c := startCloud(t, opts)
	pc := demoProvider(t, c)
	eo := gophercloud.EndpointOpts{Region: "RegionOne"}
	e := &computeEnv{c: c, image: imageClient(t, pc, "RegionOne")}
	var err error
	if e.compute, err = openstack.NewComputeV2(pc, eo); err != nil {
		t.Fatal(err)
	}
	if e.net, err = openstack.NewNetworkV2(pc, eo); err != nil {
		t.Fatal(err)
	}
	if e.block, err = openstack.NewBlockStorageV3(pc, eo); err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	e.signer, _ = ssh.NewSignerFromKey(priv)
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(e.signer.PublicKey())))
	if _, err := keypairs.Create(testCtx(t), e.compute, keypairs.CreateOpts{Name: "k", PublicKey: pub}).Extract(); err != nil {
		t.Fatalf("keypair: %v", err)
	}
	e.baseImage = c.ImagesByName(BaseImageName)[0].ID
	pages, err := networks.List(e.net, networks.ListOpts{Name: "private"}).AllPages(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	nets, _ := networks.ExtractNetworks(pages)
	e.privNet = nets[0].ID
	return e
}

func (e *computeEnv) boot(t *testing.T, name, imageID string) *servers.Server {
	t.Helper()
	opts := keypairs.CreateOptsExt{CreateOptsBuilder: servers.CreateOpts{Name: name, ImageRef: imageID, FlavorRef: "1",
		Networks: []servers.Network{{UUID: e.privNet}}}, KeyName: "k"}
	s, err := servers.Create(testCtx(t), e.compute, opts, nil).Extract()
	if err != nil {
		t.Fatalf("create server: %v", err)
	}
	return e.waitServer(t, s.ID, "ACTIVE")
}

func (e *computeEnv) waitServer(t *testing.T, id, status string) *servers.Server {
	t.Helper()
	var s *servers.Server
	waitFor(t, "server "+status, func() bool {
		var err error
		s, err = servers.Get(testCtx(t), e.compute, id).Extract()
		if err != nil {
			t.Fatalf("get server: %v", err)
		}
		return s.Status == status && s.TaskState == ""
	})
	return s
}

func fixedIP(s *servers.Server) string {
	for _, list := range s.Addresses {
		for _, a := range list.([]any) {
			m := a.(map[string]any)
			if m["OS-EXT-IPS:type"] == "fixed" {
				return m["addr"].(string)
			}
		}
	}
	return ""
}

func (e *computeEnv) dial(t *testing.T, ip string) *ssh.Client {
	t.Helper()
	cfg := &ssh.ClientConfig{User: "fedora", Auth: []ssh.AuthMethod{ssh.PublicKeys(e.signer)},
		HostKeyCallback: ssh.FixedHostKey(e.c.SSHHostKey())}
	cl, err := ssh.Dial("tcp", net.JoinHostPort(ip, strconv.Itoa(e.c.SSHPort())), cfg)
	if err != nil {
		t.Fatalf("ssh %s: %v", ip, err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func run(t *testing.T, cl *ssh.Client, cmd string) string {
	t.Helper()
	s, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	if err != nil {
		t.Fatalf("%q: %v: %s", cmd, err, out)
	}
	return string(out)
}

// scpUpload speaks the scp sink protocol exactly as Packer's SSH communicator does ("scp -vt DIR").
func scpUpload(t *testing.T, cl *ssh.Client, dir, name string, data []byte) {
	t.Helper()
	s, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in, _ := s.StdinPipe()
	out, _ := s.StdoutPipe()
	if err := s.Start("scp -vt " + dir); err != nil {
		t.Fatal(err)
	}
	ack := func() {
		b := make([]byte, 1)
		if _, err := io.ReadFull(out, b); err != nil || b[0] != 0 {
			t.Fatalf("scp ack: %v %v", err, b)
		}
	}
	ack()
	fmt.Fprintf(in, "C0644 %d %s\n", len(data), name)
	ack()
	in.Write(data)
	in.Write([]byte{0})
	ack()
	in.Close()
	if err := s.Wait(); err != nil {
		t.Fatalf("scp: %v", err)
	}
}

func TestServerSSHSnapshotRoundTrip(t *testing.T) {
	e := newComputeEnv(t, Options{})
	s := e.boot(t, "builder", e.baseImage)
	ip := fixedIP(s)
	if !strings.HasPrefix(ip, "127.") {
		t.Fatalf("fixed IP %q is not loopback", ip)
	}
	cl := e.dial(t, ip)
	// Commands run as root inside the server's disk, never on the host.
	if out := run(t, cl, "echo provisioned > /etc/marker; id -u; cat /etc/os-release"); !strings.Contains(out, "Fedora") || !strings.HasPrefix(out, "0") {
		t.Fatalf("exec output: %q", out)
	}
	if b, err := os.ReadFile("/etc/marker"); err == nil && string(b) == "provisioned\n" {
		t.Fatal("command escaped the server's disk")
	}
	scpUpload(t, cl, "/tmp", "script.sh", []byte("#!/bin/sh\necho from-script > /root/out\n"))
	run(t, cl, "chmod +x /tmp/script.sh && sudo -E -S sh -c '/tmp/script.sh'")
	sc, err := sftp.NewClient(cl)
	if err != nil {
		t.Fatalf("sftp: %v", err)
	}
	f, err := sc.Create("/etc/sftp-file")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("via-sftp"))
	f.Close()
	if _, err := sc.Open("/../../../etc/passwd-host-escape"); err == nil {
		t.Fatal("sftp escaped the disk")
	}
	sc.Close()
	if out := run(t, cl, "cat /root/out /etc/sftp-file"); out != "from-script\nvia-sftp" {
		t.Fatalf("uploads: %q", out)
	}
	// Stop, snapshot, and boot a second server from the snapshot.
	if err := servers.Stop(testCtx(t), e.compute, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	e.waitServer(t, s.ID, "SHUTOFF")
	e.compute.Microversion = "2.45"
	imgID, err := servers.CreateImage(testCtx(t), e.compute, s.ID, servers.CreateImageOpts{Name: "snap", Metadata: map[string]string{"built_by": "test"}}).ExtractImageID()
	if err != nil {
		t.Fatal(err)
	}
	e.compute.Microversion = ""
	img := waitImageStatus(t, e.image, imgID, "active")
	if img.Properties["image_type"] != "snapshot" || img.Properties["os_distro"] != "fedora" || img.Properties["built_by"] != "test" {
		t.Fatalf("snapshot properties: %v", img.Properties)
	}
	if b, err := e.c.ImageFileContent(imgID, "/etc/marker"); err != nil || string(b) != "provisioned\n" {
		t.Fatalf("snapshot content: %q %v", b, err)
	}
	s2 := e.boot(t, "from-snapshot", imgID)
	if out := run(t, e.dial(t, fixedIP(s2)), "cat /etc/marker /root/out"); out != "provisioned\nfrom-script\n" {
		t.Fatalf("second server: %q", out)
	}
	// Delete both; the leak report names the keypair only.
	for _, id := range []string{s.ID, s2.ID} {
		if err := servers.Delete(testCtx(t), e.compute, id).ExtractErr(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "servers gone", func() bool { return len(e.c.Servers()) == 0 })
	l := e.c.Leaks()
	if len(l["keypairs"]) != 1 || len(l["servers"]) != 0 || len(l["ports"]) != 0 {
		t.Fatalf("leaks: %v", l)
	}
}

func TestServerCreateImageLocationBelow245(t *testing.T) {
	e := newComputeEnv(t, Options{})
	s := e.boot(t, "old", e.baseImage)
	id, err := servers.CreateImage(testCtx(t), e.compute, s.ID, servers.CreateImageOpts{Name: "old-snap"}).ExtractImageID()
	if err != nil || id == "" {
		t.Fatalf("Location-style createImage: %q %v", id, err)
	}
	waitImageStatus(t, e.image, id, "active")
}

func TestServerFaults(t *testing.T) {
	e := newComputeEnv(t, Options{})
	e.c.AddFault(Fault{Op: "server.create", Action: ActionError, Message: "no valid host", Times: 1})
	opts := keypairs.CreateOptsExt{CreateOptsBuilder: servers.CreateOpts{Name: "doomed", ImageRef: e.baseImage, FlavorRef: "1"}, KeyName: "k"}
	s, err := servers.Create(testCtx(t), e.compute, opts, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ERROR", func() bool {
		got, _ := servers.Get(testCtx(t), e.compute, s.ID).Extract()
		return got.Status == "ERROR" && got.Fault.Message == "no valid host"
	})
	// The fault fired once: the next server boots.
	ok := e.boot(t, "fine", e.baseImage)
	// A held stop never finishes; SSH to a server being stopped is refused.
	e.c.AddFault(Fault{Op: "server.stop", Action: ActionHold})
	if err := servers.Stop(testCtx(t), e.compute, ok.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	got, _ := servers.Get(testCtx(t), e.compute, ok.ID).Extract()
	if got.TaskState != "powering-off" || got.Status != "ACTIVE" {
		t.Fatalf("held stop: %s/%s", got.Status, got.TaskState)
	}
	// An HTTP fault on floating IP allocation, then it clears.
	pub, _ := networks.List(e.net, networks.ListOpts{Name: "public"}).AllPages(testCtx(t))
	nets, _ := networks.ExtractNetworks(pub)
	e.c.AddFault(Fault{Op: "floatingip.create", Status: 409, Times: 1})
	if _, err := floatingips.Create(testCtx(t), e.net, floatingips.CreateOpts{FloatingNetworkID: nets[0].ID}).Extract(); !gophercloud.ResponseCodeIs(err, 409) {
		t.Fatalf("fip fault: %v", err)
	}
	fip, err := floatingips.Create(testCtx(t), e.net, floatingips.CreateOpts{FloatingNetworkID: nets[0].ID}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if l := e.c.Leaks(); len(l["floating_ips"]) != 1 || l["floating_ips"][0].ID != fip.ID {
		t.Fatalf("fip leak: %v", l["floating_ips"])
	}
	// lose_reply: the floating IP is made, but the client is told 504.
	e.c.AddFault(Fault{Op: "floatingip.create", Action: ActionLoseReply, Times: 1})
	if _, err := floatingips.Create(testCtx(t), e.net, floatingips.CreateOpts{FloatingNetworkID: nets[0].ID, Description: "lost"}).Extract(); !gophercloud.ResponseCodeIs(err, 504) {
		t.Fatalf("lost reply: %v, want a 504", err)
	}
	if l := e.c.Leaks(); len(l["floating_ips"]) != 2 {
		t.Fatalf("the floating IP whose reply was lost was not made: %v", l["floating_ips"])
	}
	// On an action sub-operation too: the server stops, the client hears 502.
	e.c.ClearFaults()
	e.c.AddFault(Fault{Op: "server.stop", Action: ActionLoseReply, Status: 502, Times: 1})
	stopping := e.boot(t, "stop-lost", e.baseImage)
	if err := servers.Stop(testCtx(t), e.compute, stopping.ID).ExtractErr(); !gophercloud.ResponseCodeIs(err, 502) {
		t.Fatalf("lost stop reply: %v, want a 502", err)
	}
	waitFor(t, "SHUTOFF after a lost reply", func() bool {
		got, _ := servers.Get(testCtx(t), e.compute, stopping.ID).Extract()
		return got.Status == "SHUTOFF"
	})
	// ssh.connect drop cuts the connection before the handshake.
	e.c.ClearFaults()
	e.c.AddFault(Fault{Op: "ssh.connect", Action: ActionDrop, Times: 1})
	other := e.boot(t, "ssh-drop", e.baseImage)
	cfg := &ssh.ClientConfig{User: "x", Auth: []ssh.AuthMethod{ssh.PublicKeys(e.signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey()}
	if _, err := ssh.Dial("tcp", net.JoinHostPort(fixedIP(other), strconv.Itoa(e.c.SSHPort())), cfg); err == nil {
		t.Fatal("dropped connection succeeded")
	}
	e.dial(t, fixedIP(other)) // and the next one works
}

func TestBootFromVolumeAndUploadToImage(t *testing.T) {
	e := newComputeEnv(t, Options{})
	v, err := volumes.Create(testCtx(t), e.block, volumes.CreateOpts{Size: 1, Name: "root", ImageID: e.baseImage}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if err := volumes.WaitForStatus(testCtx(t), e.block, v.ID, "available"); err != nil {
		t.Fatal(err)
	}
	opts := keypairs.CreateOptsExt{CreateOptsBuilder: servers.CreateOpts{Name: "bfv", FlavorRef: "1",
		BlockDevice: []servers.BlockDevice{{SourceType: servers.SourceVolume, UUID: v.ID, DestinationType: servers.DestinationVolume}}}, KeyName: "k"}
	s, err := servers.Create(testCtx(t), e.compute, opts, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	s = e.waitServer(t, s.ID, "ACTIVE")
	run(t, e.dial(t, fixedIP(s)), "echo on-volume > /etc/vol-marker")
	if got, _ := volumes.Get(testCtx(t), e.block, v.ID).Extract(); got.Status != "in-use" {
		t.Fatalf("volume status %s", got.Status)
	}
	if err := servers.Delete(testCtx(t), e.compute, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := volumes.WaitForStatus(testCtx(t), e.block, v.ID, "available"); err != nil {
		t.Fatal(err)
	}
	up, err := volumes.UploadImage(testCtx(t), e.block, v.ID, volumes.UploadImageOpts{ImageName: "from-volume", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitImageStatus(t, e.image, up.ImageID, "active")
	if b, err := e.c.ImageFileContent(up.ImageID, "etc/vol-marker"); err != nil || !bytes.Equal(b, []byte("on-volume\n")) {
		t.Fatalf("uploaded volume content: %q %v", b, err)
	}
	if err := volumes.WaitForStatus(testCtx(t), e.block, v.ID, "available"); err != nil {
		t.Fatal(err)
	}
}

func TestStopCutsRunningSSHCommands(t *testing.T) {
	e := newComputeEnv(t, Options{})
	s := e.boot(t, "long", e.baseImage)
	cl := e.dial(t, fixedIP(s))
	sess, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start("echo started; sleep 600"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	if err := servers.Stop(testCtx(t), e.compute, s.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("command survived the stop")
		}
	case <-testCtx(t).Done():
		t.Fatal("stopping the server did not end the SSH session")
	}
	e.waitServer(t, s.ID, "SHUTOFF")
	if _, err := ssh.Dial("tcp", net.JoinHostPort(fixedIP(s), strconv.Itoa(e.c.SSHPort())),
		&ssh.ClientConfig{User: "x", Auth: []ssh.AuthMethod{ssh.PublicKeys(e.signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey()}); err == nil {
		t.Fatal("SSH answered while SHUTOFF")
	}
}

func TestSeedRootFromFolder(t *testing.T) {
	if StaticBusybox() == "" {
		t.Skip("needs busybox-static")
	}
	seed := t.TempDir()
	if err := buildMinimalRoot(seed); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(seed, "etc", "seeded-by-test"), []byte("yes"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newComputeEnv(t, Options{SeedRoot: seed})
	if b, err := e.c.ImageFileContent(e.baseImage, "etc/seeded-by-test"); err != nil || string(b) != "yes" {
		t.Fatalf("base image content: %q %v", b, err)
	}
	s := e.boot(t, "seeded", e.baseImage)
	if out := run(t, e.dial(t, fixedIP(s)), "cat /etc/seeded-by-test"); out != "yes" {
		t.Fatalf("server disk: %q", out)
	}
}

// A server keeps accepting the key it was created with after its keypair is
// deleted: the guest got the key at boot.
func TestServerKeepsItsKeyAfterTheKeypairIsDeleted(t *testing.T) {
	e := newComputeEnv(t, Options{})
	s := e.boot(t, "keeps-key", e.baseImage)
	if err := keypairs.Delete(testCtx(t), e.compute, "k", nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got := run(t, e.dial(t, fixedIP(s)), "echo still-in"); strings.TrimSpace(got) != "still-in" {
		t.Errorf("output %q", got)
	}
}

// Glance shows a snapshot active before Nova clears the server's task_state; a server deleted in
// between loses its snapshot, as on a real Nova. Waiting for the task_state keeps it.
func TestSnapshotLostWhenServerDeletedBeforeNovaFinishes(t *testing.T) {
	e := newComputeEnv(t, Options{SnapshotFinishDelay: 2 * time.Second})
	snapshot := func(name string) string {
		s := e.boot(t, name, e.baseImage)
		e.compute.Microversion = "2.45"
		defer func() { e.compute.Microversion = "" }()
		id, err := servers.CreateImage(testCtx(t), e.compute, s.ID, servers.CreateImageOpts{Name: name}).ExtractImageID()
		if err != nil {
			t.Fatal(err)
		}
		waitImageStatus(t, e.image, id, "active")
		if srv, err := servers.Get(testCtx(t), e.compute, s.ID).Extract(); err != nil || srv.TaskState != "image_uploading" {
			t.Fatalf("server right after its snapshot turned active: task_state %q (%v), want image_uploading", srv.TaskState, err)
		}
		return s.ID
	}
	imageOf := func(name string) []Image { return e.c.ImagesByName(name) }

	hasty := snapshot("hasty")
	if err := servers.Delete(testCtx(t), e.compute, hasty).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Nova to delete the hasty snapshot", func() bool { return len(imageOf("hasty")) == 0 })

	patient := snapshot("patient")
	e.waitServer(t, patient, "ACTIVE")
	if err := servers.Delete(testCtx(t), e.compute, patient).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the patient server to go", func() bool { return len(e.c.Servers()) == 0 })
	time.Sleep(100 * time.Millisecond)
	if imgs := imageOf("patient"); len(imgs) != 1 || imgs[0].Status != "active" {
		t.Fatalf("the snapshot of a server deleted after Nova finished: %+v, want one active image", imgs)
	}
}
