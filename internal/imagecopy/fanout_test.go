package imagecopy

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// patternSource makes n bytes of cheap, non-repeating data.
type patternSource struct {
	n, off int64
}

func (p *patternSource) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	for i := range b {
		x := uint64(p.off + int64(i))
		b[i] = byte(x ^ x>>8 ^ x>>17)
	}
	p.off += int64(len(b))
	return len(b), nil
}

func patternHash(n int64) string {
	h := sha512.New()
	io.Copy(h, &patternSource{n: n}) //nolint:errcheck
	return hex.EncodeToString(h.Sum(nil))
}

// consume reads a tap the way an upload would, in reads of size bytes with a
// pause now and then, and returns the hash of what it read and how it ended.
func consume(t *tap, size int, pause time.Duration, seed uint64) (string, error) {
	h := sha512.New()
	buf := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, 1))
	for {
		n, err := t.Read(buf)
		h.Write(buf[:n])
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return hex.EncodeToString(h.Sum(nil)), err
		}
		if pause > 0 && r.IntN(8) == 0 {
			time.Sleep(pause)
		}
	}
}

func startTaps(f *fanout, n int) ([]*tap, []context.Context) {
	var taps []*tap
	var ctxs []context.Context
	for range n {
		ctx, cancel := context.WithCancelCause(context.Background())
		taps = append(taps, f.newTap(ctx, cancel))
		ctxs = append(ctxs, ctx)
	}
	return taps, ctxs
}

func TestFanoutEveryTapGetsTheWholeStreamInOrder(t *testing.T) {
	const size = 40<<20 + 12345
	var checked atomic.Int64
	f := newFanout(&patternSource{n: size}, time.Minute, func(n int64) error { checked.Store(n); return nil })
	taps, _ := startTaps(f, 3)
	var wg sync.WaitGroup
	sums := make([]string, len(taps))
	errs := make([]error, len(taps))
	for i, tp := range taps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[i], errs[i] = consume(tp, []int{4096, 32 << 10, 3<<20 + 7}[i], time.Duration(i)*time.Millisecond, uint64(i))
		}()
	}
	f.run(context.Background())
	wg.Wait()
	want := patternHash(size)
	for i := range taps {
		if errs[i] != nil || sums[i] != want {
			t.Errorf("tap %d: %v, hash %s…", i, errs[i], sums[i][:12])
		}
	}
	if checked.Load() != size {
		t.Errorf("the check saw %d bytes, want %d", checked.Load(), size)
	}
	if len(f.free) != ringBuffers {
		t.Errorf("%d of %d buffers came back to the ring", len(f.free), ringBuffers)
	}
}

// A failed check reaches every tap instead of the end of the stream, so no
// upload ever completes with data that is not the source's.
func TestFanoutFailedCheckOrSourceErrorReachesEveryTap(t *testing.T) {
	for _, tc := range []struct {
		name  string
		src   io.Reader
		check func(int64) error
		want  string
	}{
		{"check", &patternSource{n: 5 << 20}, func(int64) error { return errors.New("size differs") }, "size differs"},
		{"source", io.MultiReader(&patternSource{n: 3 << 20}, &failing{}), nil, "reading the source image's data after"},
	} {
		f := newFanout(tc.src, time.Minute, tc.check)
		taps, _ := startTaps(f, 2)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, tp := range taps {
			wg.Add(1)
			go func() { defer wg.Done(); _, errs[i] = consume(tp, 64<<10, 0, 1) }()
		}
		f.run(context.Background())
		wg.Wait()
		for i, err := range errs {
			var se *sourceError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: tap %d ended with %v", tc.name, i, err)
			}
		}
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// A tap that takes nothing is dropped after the stall time, with its context
// cancelled; the others get the whole stream.
func TestFanoutDropsAStalledTap(t *testing.T) {
	const size = 5 * ringBuffers * bufferSize
	f := newFanout(&patternSource{n: size}, 200*time.Millisecond, nil)
	taps, ctxs := startTaps(f, 3)
	var wg sync.WaitGroup
	sums := make([]string, 2)
	for i := range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); sums[i], _ = consume(taps[i], 128<<10, 0, 2) }()
	}
	// The third tap reads 100 bytes, then nothing.
	go taps[2].Read(make([]byte, 100)) //nolint:errcheck
	start := time.Now()
	f.run(context.Background())
	wg.Wait()
	want := patternHash(size)
	if sums[0] != want || sums[1] != want {
		t.Error("the live taps did not get the whole stream")
	}
	if !errors.Is(context.Cause(ctxs[2]), errStalled) {
		t.Errorf("the stalled tap's context ended with %v", context.Cause(ctxs[2]))
	}
	if _, err := taps[2].Read(make([]byte, 10)); !errors.Is(err, errStalled) {
		t.Errorf("a read of the dropped tap gave %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the stalled tap held the others for %s", took)
	}
	if len(f.free) != ringBuffers {
		t.Errorf("%d of %d buffers came back to the ring", len(f.free), ringBuffers)
	}
}

// Whatever the image size and the number of targets, the data in memory stays
// within the ring.
func TestFanoutMemoryStaysBounded(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector adds its own memory")
	}
	const size = 512 << 20
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	f := newFanout(&patternSource{n: size}, time.Minute, nil)
	taps, _ := startTaps(f, 4)
	var wg sync.WaitGroup
	for i, tp := range taps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 32<<10)
			var h hash.Hash = sha512.New()
			for {
				n, err := tp.Read(buf)
				if i == 0 {
					h.Write(buf[:n]) // one slow consumer
				}
				if err != nil {
					return
				}
			}
		}()
	}
	f.run(context.Background())
	wg.Wait()
	close(stop)
	<-sampled
	grew := int64(peak.Load()) - int64(before.HeapInuse)
	limit := int64(ringBuffers*bufferSize + 16<<20)
	t.Logf("heap in use grew by %d MiB while %d MiB went to 4 targets", grew>>20, size>>20)
	if grew > limit {
		t.Errorf("heap grew by %d MiB, more than the ring's %d MiB plus 16 MiB", grew>>20, ringBuffers*bufferSize>>20)
	}
}
