package testcloud

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// busyboxCandidates are where Debian's busybox-static (and friends) put the binary.
var busyboxCandidates = []string{"/bin/busybox", "/usr/bin/busybox", "/usr/local/bin/busybox"}

// StaticBusybox returns the path of a statically linked busybox on this host, or "".
func StaticBusybox() string {
	for _, p := range busyboxCandidates {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		static := true
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				static = false
			}
		}
		f.Close()
		if static {
			return p
		}
	}
	return ""
}

// buildMinimalRoot writes a tiny Fedora-flavoured root filesystem into dir: a static busybox with
// its applet links (when available) and the /etc files a shell provisioner expects.
func buildMinimalRoot(dir string) error {
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "usr/local/sbin", "usr/share", "usr/lib",
		"lib", "etc", "root", "home", "tmp", "var/tmp", "var/log", "var/lib", "opt", "srv", "mnt", "media", "dev", "proc", "sys", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	_ = os.Chmod(filepath.Join(dir, "tmp"), 0o1777)
	_ = os.Chmod(filepath.Join(dir, "var/tmp"), 0o1777)
	files := map[string]string{
		"etc/passwd":      "root:x:0:0:root:/root:/bin/sh\nfedora:x:1000:1000:Fedora Cloud User:/home/fedora:/bin/sh\n",
		"etc/group":       "root:x:0:\nwheel:x:10:fedora\nfedora:x:1000:\n",
		"etc/hostname":    "testcloud\n",
		"etc/os-release":  "NAME=\"Fedora Linux\"\nVERSION=\"37 (Cloud Edition)\"\nID=fedora\nVERSION_ID=37\nPRETTY_NAME=\"Fedora Linux 37 (Cloud Edition, testcloud busybox)\"\nVARIANT_ID=cloud\n",
		"etc/profile":     "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
		"etc/shells":      "/bin/sh\n/bin/ash\n",
		"etc/resolv.conf": "",
		// Templates often run scripts through sudo; everything already runs as root, so the shim only
		// drops sudo's options and runs the command.
		"usr/bin/sudo": "#!/bin/sh\n# testcloud sudo shim: everything runs as root already\nwhile [ $# -gt 0 ]; do\n  case \"$1\" in\n    -u|-g|-p|-C|-h) shift 2 ;;\n    --) shift; break ;;\n    -*) shift ;;\n    *) break ;;\n  esac\ndone\nexec \"$@\"\n",
	}
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasPrefix(name, "usr/bin/") {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "home/fedora"), 0o755); err != nil {
		return err
	}
	bb := StaticBusybox()
	if bb == "" {
		return nil // documented fallback: commands run with the host shell
	}
	if err := copyFile(bb, filepath.Join(dir, "bin/busybox"), 0o755); err != nil {
		return err
	}
	out, err := exec.Command(bb, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("list busybox applets: %w", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		link := filepath.Join(dir, filepath.FromSlash(applet))
		if _, err := os.Lstat(link); err == nil || applet == "bin/busybox" {
			continue // keep our own files (the sudo shim)
		}
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return err
		}
		_ = os.Symlink("/bin/busybox", link)
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// linkOrCopy hard-links src to dst, copying when the link fails (e.g. across file systems).
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	return copyFile(src, dst, 0o644)
}

// seedArchive produces the base image's data file (a disk archive) once, in the data folder.
func (c *Cloud) seedArchive() (string, error) {
	out := filepath.Join(c.dataDir, "seed-root.tar")
	if src := c.opts.SeedRoot; src != "" {
		st, err := os.Stat(src)
		if err != nil {
			return "", fmt.Errorf("seed root: %w", err)
		}
		if !st.IsDir() {
			return out, copyFile(src, out, 0o644)
		}
		return out, writeArchiveFile(src, out)
	}
	root := filepath.Join(c.dataDir, "seed-root")
	if err := buildMinimalRoot(root); err != nil {
		return "", fmt.Errorf("build seed root: %w", err)
	}
	defer os.RemoveAll(root)
	return out, writeArchiveFile(root, out)
}

func writeArchiveFile(dir, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := writeDiskArchive(dir, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// seed creates the contract resources in every region. Seeded resources are never reported as leaks.
func (c *Cloud) seed() error {
	archive, err := c.seedArchive()
	if err != nil {
		return err
	}
	h, err := hashFile(archive)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	admin := c.ident.projectByName(AdminProject)
	created := glanceNow().Add(-24 * time.Hour)
	for _, name := range c.opts.Regions {
		reg := c.regions[name]
		img := &image{Image: Image{
			ID: newUUID(), Name: BaseImageName, Status: "active", Visibility: "public", Owner: admin.ID,
			Region: name, ContainerFormat: "bare", DiskFormat: "qcow2", MinDisk: 1,
			Properties: map[string]string{"os_distro": "fedora", "os_version": "37", "hw_qemu_guest_agent": "yes",
				"os_admin_user": "fedora"},
			Tags: []string{}, CreatedAt: created, UpdatedAt: created, Seeded: true,
		}, members: map[string]*member{}}
		dst := reg.imagePath(img.ID)
		if err := linkOrCopy(archive, dst); err != nil {
			return fmt.Errorf("seed image data: %w", err)
		}
		markActive(img, dst, h, []string{glanceStores[0]})
		img.UpdatedAt = created
		reg.images[img.ID] = img
		c.seedCompute(reg)
		if err := c.seedNetwork(reg); err != nil {
			return err
		}
	}
	for _, p := range c.ident.projects {
		c.seedProjectNetworkBits(p.ID)
	}
	return nil
}
