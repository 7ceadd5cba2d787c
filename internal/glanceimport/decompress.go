package glanceimport

import (
	"bytes"
	"compress/bzip2"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// decoderWindow bounds the zstd decoder's window so a hostile stream cannot make it
// allocate more (zstd's command-line tool uses the same default limit).
const decoderWindow = 128 << 20

// NoToolsEnv, when set to 1, keeps decompression in pure Go even when the xz and
// bzip2 tools are installed.
const NoToolsEnv = "GLANCE_IMPORT_NO_TOOLS"

// newDecompressor wraps r in a decoder for c. The implementations were chosen on
// the numbers in bench/README.md: klauspost's gzip (faster than the standard
// library and than the gzip tool) and zstd; for xz and bzip2 the C tools, about
// three times faster than the Go decoders, when they are installed, else
// ulikunitz's xz and the standard library's bzip2.
func newDecompressor(ctx context.Context, c Compression, r io.Reader) (io.ReadCloser, error) {
	switch c {
	case Gzip:
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("reading gzip header: %w", err)
		}
		return z, nil // Multistream by default: concatenated members decode as one.
	case Bzip2:
		if rc, ok := toolDecoder(ctx, r, "bzip2", "-dc"); ok {
			return rc, nil
		}
		return io.NopCloser(bzip2.NewReader(r)), nil
	case Xz:
		if rc, ok := toolDecoder(ctx, r, "xz", "-dc", "-T0"); ok {
			return rc, nil
		}
		cfg := xz.ReaderConfig{SingleStream: false}
		z, err := cfg.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("reading xz header: %w", err)
		}
		return io.NopCloser(z), nil
	case Zstd:
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(decoderWindow), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("reading zstd header: %w", err)
		}
		return z.IOReadCloser(), nil
	}
	return io.NopCloser(r), nil
}

// toolDecoder runs a decompression tool with r on its standard input. ok is false
// when the tool is missing or disabled; the Go decoder is used then.
func toolDecoder(ctx context.Context, r io.Reader, tool string, args ...string) (io.ReadCloser, bool) {
	if os.Getenv(NoToolsEnv) == "1" {
		return nil, false
	}
	path, err := exec.LookPath(tool)
	if err != nil {
		return nil, false
	}
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = r
	// After the tool ends, do not wait long for the goroutine feeding it: the source
	// may be stalled, and the import has already decided.
	cmd.WaitDelay = 2 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4096}
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, false
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, false
	}
	return &toolReader{out: out, cmd: cmd, cancel: cancel, stderr: &stderr, tool: tool}, true
}

type toolReader struct {
	out    io.Reader
	cmd    *exec.Cmd
	cancel context.CancelFunc
	stderr *bytes.Buffer
	tool   string
	waited bool
	err    error
}

func (t *toolReader) Read(p []byte) (int, error) {
	n, err := t.out.Read(p)
	if err == io.EOF {
		if werr := t.wait(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

func (t *toolReader) wait() error {
	if !t.waited {
		t.waited = true
		if err := t.cmd.Wait(); err != nil {
			t.err = fmt.Errorf("%s: %v: %s", t.tool, err, strings.TrimSpace(t.stderr.String()))
		}
		t.cancel()
	}
	return t.err
}

// Close stops the tool if it is still running.
func (t *toolReader) Close() error {
	if !t.waited {
		t.cancel()
		_ = t.wait()
	}
	return nil
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
