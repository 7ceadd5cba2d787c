package acceptance

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
)

// qcow2VirtualSize is the virtual disk size of the test image.
const qcow2VirtualSize = 64 << 20

var (
	qcow2Once sync.Once
	qcow2Data []byte
	qcow2Err  error
)

// testQcow2 is a real qcow2 image made by qemu-img (64 MiB virtual, a few MiB of written
// clusters), so that Glance's own inspection (virtual_size) has something true to find.
func testQcow2(t *testing.T) []byte {
	t.Helper()
	qcow2Once.Do(func() {
		dir, err := os.MkdirTemp("", "racc-qcow2-")
		if err != nil {
			qcow2Err = err
			return
		}
		defer os.RemoveAll(dir)
		p := filepath.Join(dir, "disk.qcow2")
		for _, args := range [][]string{
			{"qemu-img", "create", "-q", "-f", "qcow2", p, strconv.Itoa(qcow2VirtualSize)},
			// Two patterns and a random-looking run, so the compressors have real work.
			{"qemu-io", "-c", "write -q -P 0x5a 0 2M", "-c", "write -q -P 0xa5 8M 1M", p},
		} {
			if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
				qcow2Err = fmt.Errorf("%v (qemu-utils, installed by make realcloud): %v\n%s", args, err, out)
				return
			}
		}
		qcow2Data, qcow2Err = os.ReadFile(p)
	})
	if qcow2Err != nil {
		t.Fatal(qcow2Err)
	}
	return qcow2Data
}

// randomBytes is incompressible data: its compressed form is as large as itself, so a
// throttled compressed source takes as long as a plain one.
func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// compress packs data with gzip (Go's standard library) or with the bzip2, xz and zstd
// command-line tools, independent of the decoders the plugin uses.
func compress(t *testing.T, format string, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	switch format {
	case "gzip":
		w := gzip.NewWriter(&out)
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case "bzip2", "xz", "zstd":
		args := []string{"-c"}
		if format == "zstd" {
			args = append(args, "-q")
		}
		cmd := exec.Command(format, args...)
		cmd.Stdin, cmd.Stdout = bytes.NewReader(data), &out
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s tool (make realcloud-acceptance installs it): %v %s", format, err, stderr.String())
		}
	default:
		t.Fatalf("unknown compression %q", format)
	}
	return out.Bytes()
}

// sentLine is the plugin's PACKER_LOG record of what it uploaded.
var sentLine = regexp.MustCompile(`glance-import: sent (\d+) bytes \((\d+) read from the source\), sha512 ([0-9a-f]{128})`)

// pluginSent returns the byte count and sha512 the plugin computed over the bytes it sent.
func pluginSent(t *testing.T, run packerRun) (int64, string) {
	t.Helper()
	m := sentLine.FindStringSubmatch(run.Log)
	if m == nil {
		t.Fatalf("PACKER_LOG has no \"glance-import: sent ... sha512\" record")
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n, m[3]
}
