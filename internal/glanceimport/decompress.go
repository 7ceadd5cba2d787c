package glanceimport

import (
	"compress/bzip2"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// decoderWindow bounds the zstd decoder's window so a hostile stream cannot make it
// allocate more (zstd's command-line tool uses the same default limit).
const decoderWindow = 128 << 20

// newDecompressor wraps r in a decoder for c. The choice of implementation per
// format comes from bench/ numbers (see bench/README.md): klauspost's gzip and
// zstd, ulikunitz's xz, and the standard library's bzip2.
func newDecompressor(c Compression, r io.Reader) (io.ReadCloser, error) {
	switch c {
	case Gzip:
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("reading gzip header: %w", err)
		}
		return z, nil // Multistream by default: concatenated members decode as one.
	case Bzip2:
		return io.NopCloser(bzip2.NewReader(r)), nil
	case Xz:
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
