package testcloud

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	packerssh "github.com/hashicorp/packer-plugin-sdk/sdk-internals/communicator/ssh"
	"golang.org/x/crypto/ssh"
)

// TestPackerSSHCommunicator drives a server with the SSH communicator Packer plugins use (scp by
// default, sftp on request), the way the shell and file provisioners do.
func TestPackerSSHCommunicator(t *testing.T) {
	e := newComputeEnv(t, Options{})
	s := e.boot(t, "packer", e.baseImage)
	addr := net.JoinHostPort(fixedIP(s), strconv.Itoa(e.c.SSHPort()))
	local := t.TempDir()
	if err := os.MkdirAll(filepath.Join(local, "tree", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(local, "tree", "sub", "f.txt"), []byte("nested"), 0o644)
	for _, useSftp := range []bool{false, true} {
		comm, err := packerssh.New(addr, &packerssh.Config{
			SSHConfig: &ssh.ClientConfig{User: "fedora", Auth: []ssh.AuthMethod{ssh.PublicKeys(e.signer)},
				HostKeyCallback: ssh.InsecureIgnoreHostKey()},
			Connection: packerssh.ConnectFunc("tcp", addr), UseSftp: useSftp, HandshakeTimeout: 10 * time.Second,
		})
		if err != nil {
			t.Fatalf("sftp=%v: connect: %v", useSftp, err)
		}
		mode := strconv.FormatBool(useSftp)
		if err := comm.Upload("/tmp/script-"+mode+".sh", strings.NewReader("#!/bin/sh\necho ran-"+mode+" > /etc/provisioned-"+mode+"\n"), nil); err != nil {
			t.Fatalf("sftp=%v: upload: %v", useSftp, err)
		}
		if err := comm.UploadDir("/opt/", filepath.Join(local, "tree"), nil); err != nil {
			t.Fatalf("sftp=%v: upload dir: %v", useSftp, err)
		}
		var out, errOut bytes.Buffer
		cmd := &packersdk.RemoteCmd{Command: "chmod 0755 /tmp/script-" + mode + ".sh && /tmp/script-" + mode + ".sh && cat /etc/provisioned-" + mode + " /opt/tree/sub/f.txt", Stdout: &out, Stderr: &errOut}
		if err := comm.Start(context.Background(), cmd); err != nil {
			t.Fatal(err)
		}
		if code := cmd.Wait(); code != 0 || out.String() != "ran-"+mode+"\nnested" {
			t.Fatalf("sftp=%v: exit %d output %q, stderr %q", useSftp, code, out.String(), errOut.String())
		}
		var got bytes.Buffer
		if err := comm.Download("/etc/provisioned-"+mode, &got); err != nil || got.String() != "ran-"+mode+"\n" {
			t.Fatalf("sftp=%v: download %q %v", useSftp, got.String(), err)
		}
		fail := &packersdk.RemoteCmd{Command: "exit 3"}
		_ = comm.Start(context.Background(), fail)
		if code := fail.Wait(); code != 3 {
			t.Fatalf("exit status %d, want 3", code)
		}
	}
}
