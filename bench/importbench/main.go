// Command importbench drives the import engine alone (no Packer around it) for
// bench/import.sh: it imports a file or URL and prints the wall time and the
// process's peak RSS; it can also generate a test image and print the image
// endpoint and a token for the raw curl comparison.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/bench/internal/procstat"
	"github.com/packer-glance/packer-plugin-glance/internal/glanceimport"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
)

func main() {
	file := flag.String("file", "", "import this local file")
	url := flag.String("url", "", "import this URL")
	name := flag.String("name", "bench", "image name")
	method := flag.String("method", "upload", "import method")
	diskFormat := flag.String("disk-format", "raw", "disk format")
	generate := flag.String("generate", "", "write a test image of -size MiB to this path and exit")
	size := flag.Int64("size", 1024, "size in MiB for -generate")
	endpoint := flag.Bool("endpoint", false, "print the image endpoint and a token, then exit")
	flag.Parse()

	if *generate != "" {
		if err := generateImage(*generate, *size<<20); err != nil {
			fail(err)
		}
		return
	}
	ctx := context.Background()
	ac := access.AccessConfig{}
	if _, errs := ac.Prepare(); len(errs) > 0 {
		fail(errs[0])
	}
	sess, err := ac.Authenticate(ctx)
	if err != nil {
		fail(err)
	}
	glance := osapi.New(sess).Glance()
	if *endpoint {
		base, err := glance.Endpoint()
		if err != nil {
			fail(err)
		}
		fmt.Println(strings.TrimSuffix(base, "/")+"/v2/", sess.Provider.Token())
		return
	}
	start := time.Now()
	// The engine's progress lines cut the run into phases: before the data moves (name
	// check, probe, image creation), the upload itself, and after it (status, hash check).
	var sending, waiting time.Time
	say := func(line string) {
		switch {
		case sending.IsZero() && (strings.HasPrefix(line, "Uploading ") || strings.HasPrefix(line, "Decompressing ")):
			sending = time.Now()
		case waiting.IsZero() && strings.HasPrefix(line, "Waiting for image "):
			waiting = time.Now()
		}
	}
	res, err := glanceimport.Import(ctx, glance, glanceimport.Request{
		Source:     glanceimport.Source{File: *file, URL: *url},
		Method:     glanceimport.Method(*method),
		Image:      glanceimport.ImageSpec{Name: *name, DiskFormat: *diskFormat},
		Say:        say,
		Decompress: glanceimport.DecompressAuto,
		// The engine checks names only within the session's project.
		OwnerID: sess.Project.ID,
	})
	end := time.Now()
	took := end.Sub(start)
	if err != nil {
		fail(err)
	}
	phases := "?"
	if !sending.IsZero() && !waiting.IsZero() {
		phases = fmt.Sprintf("before:%.2f,upload:%.2f,after:%.2f", sending.Sub(start).Seconds(), waiting.Sub(sending).Seconds(), end.Sub(waiting).Seconds())
	}
	fmt.Printf("seconds=%.2f image=%s bytes=%d compression=%s peak_rss_mib=%d phases=%s\n", took.Seconds(), res.Image.ID, res.UploadedBytes, orNone(string(res.Compression)), procstat.PeakRSS()>>20, phases)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// generateImage writes a disk-like image: a qcow2 magic, then 4 KiB blocks that
// are zero (40%), random (35%) or repeated text (25%), which compresses about as
// well as a real cloud image.
func generateImage(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(42, 1))
	text := []byte(strings.Repeat("Lorem ipsum dolor sit amet, /usr/lib/x86_64-linux-gnu/libc.so.6 ", 64))[:4096]
	block := make([]byte, 4096)
	zero := make([]byte, 4096)
	for written := int64(0); written < size; written += 4096 {
		var b []byte
		switch p := r.IntN(100); {
		case written == 0:
			copy(block, zero)
			copy(block, []byte{'Q', 'F', 'I', 0xfb})
			b = block
		case p < 40:
			b = zero
		case p < 75:
			for i := 0; i < len(block); i += 8 {
				v := r.Uint64()
				for j := range 8 {
					block[i+j] = byte(v >> (8 * j))
				}
			}
			b = block
		default:
			b = text
		}
		if _, err := w.Write(b[:min(int64(len(b)), size-written)]); err != nil {
			return err
		}
	}
	return w.Flush()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "importbench:", err)
	os.Exit(1)
}
