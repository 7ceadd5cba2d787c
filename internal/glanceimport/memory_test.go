package glanceimport

import (
	"context"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// generated is a deterministic stream of n bytes that costs no memory: a 1 MiB
// pattern whose first bytes change with each repetition.
type generated struct {
	left    int64
	pattern []byte
	pos     int
	round   uint64
}

func newGenerated(n int64) *generated {
	g := &generated{left: n, pattern: fakeQcow2(1 << 20)}
	return g
}

func (g *generated) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.EOF
	}
	if g.pos == len(g.pattern) {
		g.pos = 0
		g.round++
		for i := range 8 {
			g.pattern[4096+i] = byte(g.round >> (8 * i))
		}
	}
	n := copy(p, g.pattern[g.pos:])
	n = int(min(int64(n), g.left))
	g.pos += n
	g.left -= int64(n)
	return n, nil
}

// heapPeak samples the live heap until stop is called and returns the peak.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// The import's memory must not grow with the image: stream multi-GiB data, plain
// and gzip-compressed, through the whole engine into the test cloud, and bound
// the peak heap (which includes the cloud's own buffers). The cloud only hashes
// the data, so the test costs no disk either.
func TestImportMemoryStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams gigabytes")
	}
	if raceDetector {
		t.Skip("streams gigabytes and measures the heap: run without -race (make test-unit does)")
	}
	const limit = 64 << 20
	cases := []struct {
		name   string
		size   int64
		source func(n int64) io.Reader
	}{
		{"plain 2GiB", 2 << 30, func(n int64) io.Reader { return newGenerated(n) }},
		{"gzip of 1GiB", 1 << 30, func(n int64) io.Reader {
			pr, pw := io.Pipe()
			go func() {
				zw, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
				_, err := io.Copy(zw, newGenerated(n))
				if err == nil {
					err = zw.Close()
				}
				pw.CloseWithError(err)
			}()
			return pr
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cloud, g := startCloud(t, testcloud.Options{DiscardImageData: true, DataDir: dir})
			runtime.GC()
			stop := heapPeak()
			res, err := Import(context.Background(), g, cloud.request(Request{
				Source: Source{Reader: c.source(c.size), Name: "generated"},
				Image:  ImageSpec{DiskFormat: "raw"},
			}))
			peak := stop()
			if err != nil {
				t.Fatal(err)
			}
			if res.UploadedBytes != c.size {
				t.Fatalf("uploaded %d bytes, want %d", res.UploadedBytes, c.size)
			}
			t.Logf("%s: %d MiB streamed, peak heap %.1f MiB", c.name, c.size>>20, float64(peak)/(1<<20))
			if peak > limit {
				t.Fatalf("peak heap %.1f MiB exceeds %d MiB", float64(peak)/(1<<20), limit>>20)
			}
			if img, _ := cloud.GetImage(res.Image.ID); img.Size != c.size || img.OSHashValue != res.UploadedSHA512 {
				t.Fatalf("the cloud hashed %d bytes to %.16s…, the engine sent %d bytes hashing to %.16s…",
					img.Size, img.OSHashValue, c.size, res.UploadedSHA512)
			}
			if n := filesBytes(t, dir); n > 1<<20 {
				t.Fatalf("the test cloud wrote %d bytes to disk", n)
			}
		})
	}
}

// filesBytes adds up the sizes of the regular files under dir.
func filesBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			total += info.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}
