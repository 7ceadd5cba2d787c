package differential

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Disk formats: Glance 25 (Debian's deb12u5) inspects uploaded data for virtual_size but does not
// reject data that does not match disk_format.

func TestVirtualSize(t *testing.T) {
	demo, _ := setup(t)
	qemuImg, err := exec.LookPath("qemu-img")
	if err != nil {
		t.Skip("qemu-img not installed")
	}
	path := filepath.Join(t.TempDir(), "disk.qcow2")
	if out, err := exec.Command(qemuImg, "create", "-q", "-f", "qcow2", path, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v %s", err, out)
	}
	qcow, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	upload := func(t *testing.T, format string, data []byte) map[string]any {
		img := createImage(t, demo, map[string]any{"name": name("fmt", format), "disk_format": format, "container_format": "bare"})
		expectStatus(t, demo.Do(t, "PUT", "/v2/images/"+str(img, "id")+"/file", data, nil), 204)
		got := getImage(t, demo, str(img, "id"))
		checkActive(t, got, data)
		return got
	}
	t.Run("qcow2", func(t *testing.T) {
		field(t, upload(t, "qcow2", qcow), "virtual_size", 64<<20)
	})
	t.Run("raw", func(t *testing.T) {
		// raw: virtual_size is the size, whatever the bytes are.
		field(t, upload(t, "raw", qcow), "virtual_size", len(qcow))
	})
	t.Run("qcow2 label on other data", func(t *testing.T) {
		// Accepted (no format check on upload); virtual_size stays null.
		field(t, upload(t, "qcow2", payload(64<<10, 7)), "virtual_size", nil)
	})
}
