package glanceimport

import (
	"context"
	"errors"
	"hash"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Memory bounds of the stream: each read-ahead stage holds at most
// stageBuffers × bufferSize bytes, whatever the image size.
const (
	bufferSize   = 1 << 20
	stageBuffers = 4
)

// BufferSize and StageBuffers are the same bounds, for the copy engine's
// fan-out (internal/imagecopy), which uses the same buffers.
const (
	BufferSize   = bufferSize
	StageBuffers = stageBuffers
)

// readAhead reads its source in a goroutine into a fixed set of buffers, so the
// stage before it (network, decompression) runs while the stage after it
// (decompression, upload) consumes. Memory is bounded by the buffer set.
type readAhead struct {
	ctx  context.Context
	full chan chunk
	free chan []byte
	stop chan struct{}
	done chan struct{} // closed when fill returns
	once sync.Once
	cur  chunk
	pos  int
	err  error
}

type chunk struct {
	buf []byte
	n   int
	err error
}

func newReadAhead(ctx context.Context, src io.Reader) *readAhead {
	ra := &readAhead{
		ctx:  ctx,
		full: make(chan chunk, stageBuffers),
		free: make(chan []byte, stageBuffers),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for range stageBuffers {
		ra.free <- make([]byte, bufferSize)
	}
	go ra.fill(src)
	return ra
}

func (ra *readAhead) fill(src io.Reader) {
	defer close(ra.done)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.stop:
			return
		case <-ra.ctx.Done():
			return
		}
		n, err := io.ReadFull(src, buf)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF // a short last buffer is the normal end of a stream
		}
		select {
		case ra.full <- chunk{buf: buf, n: n, err: err}:
		case <-ra.stop:
			return
		case <-ra.ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for ra.pos >= ra.cur.n {
		if ra.err != nil {
			return 0, ra.err
		}
		if ra.cur.buf != nil {
			ra.free <- ra.cur.buf
			ra.cur = chunk{}
		}
		select {
		case c := <-ra.full:
			ra.cur, ra.pos, ra.err = c, 0, c.err
			if c.n == 0 && c.err == nil {
				continue
			}
		case <-ra.ctx.Done():
			return 0, context.Cause(ra.ctx)
		case <-ra.stop:
			return 0, errStageClosed
		}
	}
	n := copy(p, ra.cur.buf[ra.pos:ra.cur.n])
	ra.pos += n
	return n, nil
}

// errStageClosed is what a read-ahead stage returns once the import gave up on it.
var errStageClosed = errors.New("the import stopped reading this stream")

// Close tells the goroutine to stop; a read of this stage fails from now on. It
// does not wait: the goroutine may be blocked reading a source only its owner
// can unblock (by closing it).
func (ra *readAhead) Close() error {
	ra.once.Do(func() { close(ra.stop) })
	return nil
}

// Wait returns once the goroutine has returned, so that what it reads from may
// be closed without a read still running inside it. Call it after Close, and
// after whatever the source reads from was closed.
func (ra *readAhead) Wait() {
	<-ra.done
}

// counter counts bytes and feeds hashes as data passes.
type counter struct {
	r      io.Reader
	n      atomic.Int64
	hashes []hash.Hash
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		for _, h := range c.hashes {
			h.Write(p[:n])
		}
		c.n.Add(int64(n))
	}
	return n, err
}

// endCheck runs check once, when the stream ends, and turns a failed check into a
// read error: the upload then aborts and Glance never activates bad data.
type endCheck struct {
	r     io.Reader
	check func() error
	done  bool
}

func (e *endCheck) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF && !e.done {
		e.done = true
		if cerr := e.check(); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

// progressLogger writes a line with bytes, rate and ETA every interval while a
// transfer runs, for logs where the progress bar is not shown.
func progressLogger(ctx context.Context, what string, total int64, done func() int64, logf func(string, ...any), interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	start := time.Now()
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				n := done()
				secs := time.Since(start).Seconds()
				rate := float64(n) / secs
				line := what + ": " + formatSize(n)
				if total > 0 {
					line += " of " + formatSize(total)
					if rate > 0 {
						eta := time.Duration(float64(total-n) / rate * float64(time.Second)).Round(time.Second)
						line += ", about " + eta.String() + " left"
					}
				}
				logf("%s (%s/s)", line, formatSize(int64(rate)))
			}
		}
	}()
	return cancel
}
