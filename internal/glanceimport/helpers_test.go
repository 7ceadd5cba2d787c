package glanceimport

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math/rand/v2"
	"os/exec"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Cleanup's second look for a lost create need not wait long in tests.
func init() { lostLookupPause = 10 * time.Millisecond }

// fakeQcow2 returns n bytes starting with a qcow2 header and continuing with
// compressible but not trivial data.
func fakeQcow2(n int) []byte {
	b := make([]byte, n)
	copy(b, []byte{'Q', 'F', 'I', 0xfb, 0, 0, 0, 3})
	binary.BigEndian.PutUint64(b[24:], uint64(n)*4)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 512; i < n; i += 64 {
		// Runs of zeros with random words: compresses like a real sparse disk.
		if r.IntN(3) == 0 {
			end := min(i+64, n)
			for j := i; j < end; j++ {
				b[j] = byte(r.IntN(256))
			}
		}
	}
	return b
}

// compress encodes data with a real encoder for each format (bzip2 through the
// bzip2 tool, as Go has no bzip2 encoder).
func compress(t testing.TB, c Compression, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch c {
	case Gzip:
		w := gzip.NewWriter(&buf)
		w.Write(data)
		w.Close()
	case Xz:
		w, err := xz.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
	case Zstd:
		w, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
	case Bzip2:
		if _, err := exec.LookPath("bzip2"); err != nil {
			t.Skip("bzip2 tool missing: run make deps")
		}
		cmd := exec.Command("bzip2", "-c", "-1")
		cmd.Stdin = bytes.NewReader(data)
		cmd.Stdout = &buf
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
	default:
		return data
	}
	return buf.Bytes()
}
