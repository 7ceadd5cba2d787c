package imagecopy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/glanceimport"
)

// Memory bound of a fan-out: ringBuffers buffers of bufferSize bytes, shared by
// every target, whatever the image size and the number of targets. These are the
// import engine's buffers: two of its read-ahead stages.
const (
	bufferSize  = glanceimport.BufferSize
	ringBuffers = 2 * glanceimport.StageBuffers
)

// DefaultStall is how long a target may take no data while the others wait for
// it before the fan-out gives up on that target.
const DefaultStall = 5 * time.Minute

// fanout reads one source once and hands every chunk to each tap (one per
// target upload). A chunk's buffer returns to the ring when every tap has
// consumed it, so the targets advance together, at most ringBuffers apart: a
// slow target slows the others down, and one that takes nothing for `stall`
// while the others wait is dropped (its upload is stopped with an error) so the
// rest go on.
type fanout struct {
	src   io.Reader
	free  chan []byte
	taps  []*tap
	stall time.Duration
	// check runs at the end of the source, before the taps see their end: an
	// error there reaches every upload instead of EOF, so Glance never
	// activates a copy of the wrong size.
	check func(read int64) error
	read  atomic.Int64
}

// sourceError is a failure of the source (reading it, or its check), which
// every target shares.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// errStalled is the error of a tap the fan-out gave up on.
var errStalled = errors.New("the target took no data while the other targets waited for it")

func newFanout(src io.Reader, stall time.Duration, check func(int64) error) *fanout {
	f := &fanout{src: src, free: make(chan []byte, ringBuffers), stall: stall, check: check}
	for range ringBuffers {
		f.free <- make([]byte, bufferSize)
	}
	return f
}

// newTap adds a consumer; call it before run. cancel stops the consumer's
// upload when the tap is dropped.
func (f *fanout) newTap(ctx context.Context, cancel context.CancelCauseFunc) *tap {
	t := &tap{f: f, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1)}
	t.last.Store(time.Now().UnixNano())
	f.taps = append(f.taps, t)
	return t
}

// chunk is one buffer of data, shared by the taps it was handed to.
type chunk struct {
	f    *fanout
	buf  []byte
	n    int
	refs atomic.Int32
}

func (c *chunk) release() {
	if c.refs.Add(-1) == 0 {
		c.f.free <- c.buf
	}
}

// run reads the source until its end, an error, ctx's end, or until no tap is
// left; every tap then sees the end (io.EOF) or the error.
func (f *fanout) run(ctx context.Context) {
	for _, t := range f.taps {
		t.last.Store(time.Now().UnixNano())
	}
	for {
		if f.live() == 0 {
			return
		}
		buf, err := f.take(ctx)
		if err != nil {
			f.finish(err)
			return
		}
		n, rerr := io.ReadFull(f.src, buf)
		if errors.Is(rerr, io.ErrUnexpectedEOF) {
			rerr = io.EOF // a short last buffer is the normal end of a stream
		}
		if rerr != nil && rerr != io.EOF {
			f.free <- buf
			if ctx.Err() != nil {
				f.finish(context.Cause(ctx))
			} else {
				f.finish(&sourceError{fmt.Errorf("reading the source image's data after %d bytes: %w", f.read.Load(), rerr)})
			}
			return
		}
		if n == 0 {
			f.free <- buf
		} else {
			f.read.Add(int64(n))
			c := &chunk{f: f, buf: buf, n: n}
			c.refs.Store(1)
			for _, t := range f.taps {
				c.refs.Add(1)
				if !t.push(c) {
					c.refs.Add(-1)
				}
			}
			c.release()
		}
		if rerr == io.EOF {
			if f.check != nil {
				if err := f.check(f.read.Load()); err != nil {
					f.finish(&sourceError{err})
					return
				}
			}
			f.finish(io.EOF)
			return
		}
	}
}

// take waits for a free buffer. While it waits, a tap that holds data and has
// read nothing for f.stall is dropped.
func (f *fanout) take(ctx context.Context) ([]byte, error) {
	select {
	case b := <-f.free:
		return b, nil
	default:
	}
	tick := time.NewTicker(min(f.stall/4, time.Second))
	defer tick.Stop()
	for {
		select {
		case b := <-f.free:
			return b, nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case now := <-tick.C:
			for _, t := range f.taps {
				if t.holding() && now.Sub(time.Unix(0, t.last.Load())) > f.stall {
					err := fmt.Errorf("%w for %s: given up", errStalled, f.stall)
					t.Close(err)
					t.cancel(err)
				}
			}
		}
	}
}

func (f *fanout) live() int {
	n := 0
	for _, t := range f.taps {
		if !t.isClosed() {
			n++
		}
	}
	return n
}

func (f *fanout) finish(err error) {
	for _, t := range f.taps {
		t.end(err)
	}
}

// tap is one target's reader of a fan-out: an io.Reader for its upload.
type tap struct {
	f      *fanout
	ctx    context.Context
	cancel context.CancelCauseFunc
	wake   chan struct{}
	n      atomic.Int64 // bytes handed out
	last   atomic.Int64 // when a Read last returned data (unix ns)

	mu     sync.Mutex
	queue  []*chunk
	cur    *chunk
	pos    int
	ended  error // the source's end: io.EOF or its error, seen once the queue is empty
	closed error // the tap was closed: reads fail with this at once
}

func (t *tap) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (t *tap) push(c *chunk) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed != nil {
		return false
	}
	t.queue = append(t.queue, c)
	t.signal()
	return true
}

func (t *tap) end(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended == nil {
		t.ended = err
	}
	t.signal()
}

func (t *tap) holding() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed == nil && (t.cur != nil || len(t.queue) > 0)
}

// sourceErr is the source's failure, once the tap has seen it.
func (t *tap) sourceErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var se *sourceError
	if errors.As(t.ended, &se) {
		return se
	}
	return nil
}

func (t *tap) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed != nil
}

// Read hands out the chunks in order, then the source's end.
func (t *tap) Read(p []byte) (int, error) {
	for {
		t.mu.Lock()
		if t.closed != nil {
			err := t.closed
			t.mu.Unlock()
			return 0, err
		}
		if t.cur != nil && t.pos < t.cur.n {
			n := copy(p, t.cur.buf[t.pos:t.cur.n])
			t.pos += n
			t.mu.Unlock()
			t.n.Add(int64(n))
			t.last.Store(time.Now().UnixNano())
			return n, nil
		}
		if t.cur != nil {
			t.cur.release()
			t.cur = nil
		}
		if len(t.queue) > 0 {
			t.cur, t.pos = t.queue[0], 0
			t.queue = t.queue[1:]
			t.mu.Unlock()
			continue
		}
		if t.ended != nil {
			err := t.ended
			t.mu.Unlock()
			return 0, err
		}
		t.mu.Unlock()
		select {
		case <-t.wake:
		case <-t.ctx.Done():
			return 0, context.Cause(t.ctx)
		}
	}
}

// Close gives the tap's data back to the ring and makes its reads fail with
// err: the fan-out goes on without it. It may be called more than once.
func (t *tap) Close(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed != nil {
		return
	}
	if err == nil {
		err = errors.New("the copy stopped reading")
	}
	t.closed = err
	if t.cur != nil {
		t.cur.release()
		t.cur = nil
	}
	for _, c := range t.queue {
		c.release()
	}
	t.queue = nil
	t.signal()
}
