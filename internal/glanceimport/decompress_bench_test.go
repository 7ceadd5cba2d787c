package glanceimport

import (
	"bytes"
	stdbzip2 "compress/bzip2"
	stdgzip "compress/gzip"
	"context"
	"io"
	"os/exec"
	"sync"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
	"github.com/ulikunitz/xz"
)

// The decompressor candidates, measured on the same qcow2-like data; the C tools
// run as child processes for reference. Run with
//
//	go test -run '^$' -bench Decompress -benchtime 3x ./internal/glanceimport/
//
// The numbers that chose newDecompressor's implementations are in bench/README.md.

var (
	benchOnce  sync.Once
	benchPlain []byte
	benchPack  = map[Compression][]byte{}
)

func benchData(b *testing.B) ([]byte, map[Compression][]byte) {
	benchOnce.Do(func() {
		benchPlain = fakeQcow2(64 << 20)
		for _, c := range []Compression{Gzip, Bzip2, Xz, Zstd} {
			benchPack[c] = compress(b, c, benchPlain)
		}
	})
	return benchPlain, benchPack
}

func runDecoder(b *testing.B, c Compression, open func(io.Reader) (io.Reader, error)) {
	plain, packs := benchData(b)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r, err := open(bytes.NewReader(packs[c]))
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, r)
		if err != nil || n != int64(len(plain)) {
			b.Fatalf("decoded %d bytes: %v", n, err)
		}
	}
}

func runTool(b *testing.B, c Compression, tool string, args ...string) {
	if _, err := exec.LookPath(tool); err != nil {
		b.Skipf("%s missing", tool)
	}
	runDecoder(b, c, func(r io.Reader) (io.Reader, error) {
		cmd := exec.Command(tool, args...)
		cmd.Stdin = r
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return &waitReader{out, cmd}, nil
	})
}

type waitReader struct {
	io.Reader
	cmd *exec.Cmd
}

func (w *waitReader) Read(p []byte) (int, error) {
	n, err := w.Reader.Read(p)
	if err == io.EOF {
		if werr := w.cmd.Wait(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

func BenchmarkDecompress(b *testing.B) {
	b.Run("gzip/stdlib", func(b *testing.B) {
		runDecoder(b, Gzip, func(r io.Reader) (io.Reader, error) { return stdgzip.NewReader(r) })
	})
	b.Run("gzip/klauspost", func(b *testing.B) {
		runDecoder(b, Gzip, func(r io.Reader) (io.Reader, error) { return kgzip.NewReader(r) })
	})
	b.Run("gzip/pgzip", func(b *testing.B) {
		runDecoder(b, Gzip, func(r io.Reader) (io.Reader, error) { return pgzip.NewReader(r) })
	})
	b.Run("gzip/tool", func(b *testing.B) { runTool(b, Gzip, "gzip", "-dc") })
	b.Run("xz/ulikunitz", func(b *testing.B) {
		runDecoder(b, Xz, func(r io.Reader) (io.Reader, error) { return xz.NewReader(r) })
	})
	b.Run("xz/tool", func(b *testing.B) { runTool(b, Xz, "xz", "-dc") })
	b.Run("bzip2/stdlib", func(b *testing.B) {
		runDecoder(b, Bzip2, func(r io.Reader) (io.Reader, error) { return stdbzip2.NewReader(r), nil })
	})
	b.Run("bzip2/tool", func(b *testing.B) { runTool(b, Bzip2, "bzip2", "-dc") })
	b.Run("zstd/klauspost-1", func(b *testing.B) {
		runDecoder(b, Zstd, func(r io.Reader) (io.Reader, error) { return zstd.NewReader(r, zstd.WithDecoderConcurrency(1)) })
	})
	b.Run("zstd/klauspost-default", func(b *testing.B) {
		runDecoder(b, Zstd, func(r io.Reader) (io.Reader, error) { return zstd.NewReader(r) })
	})
	b.Run("zstd/tool", func(b *testing.B) { runTool(b, Zstd, "zstd", "-dc") })
	b.Run("engine", func(b *testing.B) {
		for _, c := range []Compression{Gzip, Xz, Bzip2, Zstd} {
			b.Run(string(c), func(b *testing.B) {
				runDecoder(b, c, func(r io.Reader) (io.Reader, error) { return newDecompressor(context.Background(), c, r) })
			})
		}
	})
}
