// Command copybench drives the copy engine alone (no Packer around it) for
// bench/copy.sh: it copies one image of the session's region to copy_to
// targets in another region and prints the wall time, the bytes read from the
// source and the process's peak RSS; -delete removes the copies afterwards.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/bench/internal/procstat"
	"github.com/packer-glance/packer-plugin-glance/internal/imagecopy"
)

func main() {
	image := flag.String("image", "", "ID of the image to copy (in the session's region)")
	region := flag.String("region", "kz-ala-1", "region of the copies")
	names := flag.String("names", "bench-copy-1,bench-copy-2", "comma-separated names, one copy_to block each; name@region copies to another region than -region")
	del := flag.Bool("delete", true, "delete the copies afterwards")
	flag.Parse()
	if *image == "" {
		fail(fmt.Errorf("-image is required"))
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
	cfg := imagecopy.Config{}
	for _, n := range strings.Split(*names, ",") {
		name, where, found := strings.Cut(n, "@")
		if !found {
			where = *region
		}
		cfg.CopyTo = append(cfg.CopyTo, imagecopy.Target{Region: where, Name: name})
	}
	if errs := cfg.Prepare(imagecopy.Base{Name: "bench-source"}); len(errs) > 0 {
		fail(errs[0])
	}
	origin := imagecopy.FromSession(sess, 0)
	copier := imagecopy.New(origin, cfg, imagecopy.Options{
		Name: "bench-source", Marker: fmt.Sprintf("copybench-%d", time.Now().UnixNano()),
		Say: func(line string) { fmt.Fprintln(os.Stderr, "copybench:", line) },
	})
	start := time.Now()
	res, err := copier.Copy(ctx, *image)
	took := time.Since(start)
	if err != nil {
		fail(err)
	}
	var methods []string
	for _, c := range res.Copies {
		methods = append(methods, c.Method)
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("seconds=%.2f copies=%d methods=%s peak_rss_mib=%d cpu_seconds=%.2f\n", took.Seconds(), len(res.Copies), strings.Join(methods, ","), procstat.PeakRSS()>>20, cpu.Seconds())
	if *del {
		if err := res.Delete(ctx, func(string) {}); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "copybench:", err)
	os.Exit(1)
}
