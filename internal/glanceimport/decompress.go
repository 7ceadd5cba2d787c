package glanceimport

import (
	"bufio"
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

// xzMemoryLimit bounds what xz decompression may allocate, with the tool
// (--memlimit-decompress) and in Go (the dictionary a stream asks for). xz's
// strongest preset needs a 64 MiB dictionary; a stream asking for gigabytes is
// refused instead of exhausting the runner's memory.
const xzMemoryLimit = 512 << 20

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
		if rc, ok := toolDecoder(ctx, r, "xz", "-dc", "-T0", fmt.Sprintf("--memlimit-decompress=%dMiB", xzMemoryLimit>>20)); ok {
			return rc, nil
		}
		if br, ok := r.(*bufio.Reader); ok {
			head, _ := br.Peek(xzHeaderPeek)
			if dict, ok := xzDictionary(head); ok && dict > xzMemoryLimit {
				return nil, fmt.Errorf("the xz stream needs a %d MiB dictionary, more than the %d MiB the import allows", dict>>20, xzMemoryLimit>>20)
			}
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

// xzHeaderPeek is enough of an xz stream to hold its header and the first
// block's header (at most 1024 bytes by the format, far less in practice).
const xzHeaderPeek = 1024

// xzDictionary reads the LZMA2 dictionary size of the first block of an xz
// stream: the stream header (12 bytes), then the block header, whose filter
// flags hold LZMA2's one property byte. ok is false when the data does not say
// (no block, another filter, truncated).
func xzDictionary(b []byte) (size int64, ok bool) {
	const streamHeader = 12
	if len(b) < streamHeader+2 || b[streamHeader] == 0 { // 0: the index, no block
		return 0, false
	}
	block := b[streamHeader:]
	headerSize := (int(block[0]) + 1) * 4
	if len(block) < headerSize {
		return 0, false
	}
	flags := block[1]
	pos := 2
	skipVarint := func() bool {
		for ; pos < headerSize; pos++ {
			if block[pos]&0x80 == 0 {
				pos++
				return true
			}
		}
		return false
	}
	if flags&0x40 != 0 && !skipVarint() { // compressed size
		return 0, false
	}
	if flags&0x80 != 0 && !skipVarint() { // uncompressed size
		return 0, false
	}
	for range int(flags&0x03) + 1 {
		if pos+3 > headerSize {
			return 0, false
		}
		id, propsSize := block[pos], block[pos+1]
		if id == 0x21 && propsSize == 1 { // LZMA2, always the last filter
			d := block[pos+2] & 0x3f
			if d > 40 {
				return 0, false
			}
			if d == 40 {
				return 1<<32 - 1, true
			}
			return int64(2|d&1) << (d/2 + 11), true
		}
		pos += 2 + int(propsSize)
	}
	return 0, false
}
