package glanceimport

import (
	"bytes"
	"context"
	"testing"

	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// BenchmarkImportStream measures the engine end to end (source → decompress →
// hash → upload) against the in-process test cloud, which hashes what it receives
// without storing it.
func BenchmarkImportStream(b *testing.B) {
	plain := fakeQcow2(128 << 20)
	for _, c := range []Compression{NoCompression, Gzip, Zstd} {
		name := string(c)
		if name == "" {
			name = "plain"
		}
		data := compress(b, c, plain)
		b.Run(name, func(b *testing.B) {
			cloud, g := startCloud(b, testcloud.Options{DiscardImageData: true})
			b.SetBytes(int64(len(plain)))
			b.ResetTimer()
			for i := range b.N {
				_, err := Import(context.Background(), g, cloud.request(Request{
					Source: Source{Reader: bytes.NewReader(data), Name: "bench", Size: int64(len(data))},
					Image:  ImageSpec{Name: "bench-" + name + "-" + string(rune('a'+i%26)), DiskFormat: "raw"},
					Force:  true,
				}))
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
