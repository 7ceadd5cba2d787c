package testcloud

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// sshString decodes the one-string payload of exec and subsystem requests.
func sshString(payload []byte) string {
	if len(payload) < 4 {
		return ""
	}
	n := binary.BigEndian.Uint32(payload)
	if int(n) > len(payload)-4 {
		return ""
	}
	return string(payload[4 : 4+n])
}

func exitStatus(ch ssh.Channel, code int) {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, uint32(code))
	_, _ = ch.SendRequest("exit-status", false, b)
}

func (f *sshFabric) serveSession(ctx context.Context, t sshTarget, conn net.Conn, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	env := []string{}
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			if ssh.Unmarshal(req.Payload, &kv) == nil {
				env = append(env, kv.Name+"="+kv.Value)
			}
			_ = req.Reply(true, nil)
		case "pty-req", "window-change", "signal", "auth-agent-req@openssh.com":
			_ = req.Reply(req.Type == "pty-req", nil)
		case "exec", "shell":
			cmd := ""
			if req.Type == "exec" {
				cmd = sshString(req.Payload)
			}
			_ = req.Reply(true, nil)
			if action, _ := f.c.stateFault("ssh.exec", t.region); action == ActionDrop {
				conn.Close()
				return
			}
			exitStatus(ch, f.runCommand(ctx, t, ch, cmd, env))
			return
		case "subsystem":
			if sshString(req.Payload) != "sftp" {
				_ = req.Reply(false, nil)
				continue
			}
			_ = req.Reply(true, nil)
			root, err := os.OpenRoot(t.disk)
			if err != nil {
				exitStatus(ch, 1)
				return
			}
			srv := sftp.NewRequestServer(ch, confinedSFTPHandlers(root))
			_ = srv.Serve()
			srv.Close()
			root.Close()
			exitStatus(ch, 0)
			return
		default:
			_ = req.Reply(false, nil)
		}
	}
}

// runCommand runs one exec request; scp is implemented in-process, everything else by a shell confined
// to the server's disk.
func (f *sshFabric) runCommand(ctx context.Context, t sshTarget, ch ssh.Channel, cmd string, env []string) int {
	if args := strings.Fields(cmd); len(args) > 0 && (args[0] == "scp" || strings.HasSuffix(args[0], "/scp")) {
		return runSCP(t.disk, args[1:], ch, ch.Stderr())
	}
	c := f.c.confinedCommand(t.disk, cmd, env)
	c.Stdin, c.Stdout, c.Stderr = ch, ch, ch.Stderr()
	// Run the shell in its own process group so that cancelling kills everything it started.
	if c.SysProcAttr == nil {
		c.SysProcAttr = &syscall.SysProcAttr{}
	}
	c.SysProcAttr.Setpgid = true
	c.WaitDelay = 2 * time.Second
	if err := c.Start(); err != nil {
		_, _ = ch.Stderr().Write([]byte("testcloud: " + err.Error() + "\n"))
		return 127
	}
	stop := context.AfterFunc(ctx, func() { _ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL) })
	defer stop()
	if err := c.Wait(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return 128 + int(ws.Signal())
			}
			return ee.ExitCode()
		}
		_, _ = ch.Stderr().Write([]byte("testcloud: " + err.Error() + "\n"))
		return 127
	}
	return 0
}

// confinedCommand builds the shell process for a command. As root it chroots into the disk, which
// holds a static busybox. Otherwise it tries an unprivileged user namespace with the same chroot; when
// even that is impossible, or the disk has no /bin/sh, it runs the host's /bin/sh inside the disk folder
// (NOT confined; documented).
func (c *Cloud) confinedCommand(disk, cmd string, env []string) *exec.Cmd {
	baseEnv := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
		"USER=root", "LOGNAME=root", "SHELL=/bin/sh", "TERM=dumb"}
	args := []string{"-c", cmd}
	if cmd == "" {
		args = []string{"-s"}
	}
	_, shErr := os.Stat(filepath.Join(disk, "bin", "sh"))
	if shErr == nil && !c.opts.SSHNoChroot {
		x := exec.Command("/bin/sh", args...)
		x.Env = append(baseEnv, env...)
		x.Dir = "/"
		if os.Geteuid() == 0 {
			x.SysProcAttr = &syscall.SysProcAttr{Chroot: disk}
		} else if userNamespacesWork() {
			x.SysProcAttr = &syscall.SysProcAttr{
				Chroot:                     disk,
				Cloneflags:                 syscall.CLONE_NEWUSER,
				UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
				GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
				GidMappingsEnableSetgroups: false,
			}
		} else {
			x = nil
		}
		if x != nil {
			return x
		}
	}
	x := exec.Command("/bin/sh", args...)
	x.Dir = disk
	x.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + disk, "TESTCLOUD_UNCONFINED=1"}, env...)
	return x
}

// userNamespacesWork reports whether this kernel lets an unprivileged process create a user namespace.
func userNamespacesWork() bool {
	x := exec.Command("/bin/true")
	x.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
	}
	return x.Run() == nil
}
