package testcloud

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// faultFlags collects repeated --fault JSON values.
type faultFlags []Fault

func (f *faultFlags) String() string { return fmt.Sprint(len(*f), " faults") }

func (f *faultFlags) Set(v string) error {
	var one Fault
	if err := json.Unmarshal([]byte(v), &one); err != nil {
		return fmt.Errorf("fault JSON: %w", err)
	}
	*f = append(*f, one)
	return nil
}

// Main runs the standalone test cloud until SIGINT or SIGTERM. It returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("glance-testcloud", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cloudsYAML := fs.String("clouds-yaml", "", "write a clouds.yaml with clouds testcloud and testcloud-admin to this file")
	listen := fs.String("listen", "127.0.0.1:0", "HTTP listen address (loopback only)")
	dataDir := fs.String("data-dir", "", "keep image data and server disks here (default: a temporary folder removed at exit)")
	seedRoot := fs.String("seed-root", "", "folder or tar(.gz) whose content becomes the base image's disk")
	tokenLifetime := fs.Duration("token-lifetime", time.Hour, "Keystone token lifetime")
	delay := fs.Duration("delay", 500*time.Millisecond, "delay of every asynchronous transition (boot, stop, delete, volume, image)")
	ports := fs.String("web-download-ports", "", "extra comma-separated ports allowed for web-download (80,443,8000,8080 always are)")
	glanceDownload := fs.Bool("glance-download", false, "offer the glance-download import method (pull an image from another region)")
	sshPort := fs.Int("ssh-port", 0, "port of the servers' SSH endpoints (default 22 when possible, else random)")
	discard := fs.Bool("discard-image-data", false, "hash image data (uploads, staging, web-download) without storing it")
	methods := fs.String("import-methods", "", "comma-separated import methods to offer (default glance-direct,web-download,copy-image)")
	verbose := fs.Bool("v", false, "log every request to stderr")
	exitWithParent := fs.Bool("exit-with-parent", true, "stop when the parent process goes away (so that killing `go run` stops the cloud too)")
	var faults faultFlags
	fs.Var(&faults, "fault", "install a fault at start, as JSON (repeatable), e.g. '{\"op\":\"server.stop\",\"action\":\"hold\"}'")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	opts := Options{
		ListenAddr: *listen, DataDir: *dataDir, SeedRoot: *seedRoot, TokenLifetime: *tokenLifetime,
		ServerBootDelay: *delay, ServerStopDelay: *delay, ServerDeleteDelay: *delay, VolumeDelay: *delay,
		ImageDelay: *delay, SSHPort: *sshPort, Seed: true, GlanceDownload: *glanceDownload,
		WebDownloadAllowedPorts: []int{80, 443, 8000, 8080}, Faults: faults, DiscardImageData: *discard,
	}
	if *methods != "" {
		opts.ImportMethods = []string{}
		for _, m := range strings.Split(*methods, ",") {
			if m = strings.TrimSpace(m); m != "" {
				opts.ImportMethods = append(opts.ImportMethods, m)
			}
		}
	}
	for _, p := range strings.Split(*ports, ",") {
		if p = strings.TrimSpace(p); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil {
				fmt.Fprintf(stderr, "glance-testcloud: bad port %q\n", p)
				return 2
			}
			opts.WebDownloadAllowedPorts = append(opts.WebDownloadAllowedPorts, n)
		}
	}
	c, err := Start(opts)
	if err != nil {
		fmt.Fprintf(stderr, "glance-testcloud: %v\n", err)
		return 1
	}
	defer c.Close()
	if *cloudsYAML != "" {
		if err := c.WriteCloudsYAML(*cloudsYAML); err != nil {
			fmt.Fprintf(stderr, "glance-testcloud: %v\n", err)
			return 1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// `go run` does not pass SIGTERM on to the program it started: a script that kills the go command would
	// leave the cloud running. Watching for re-parenting closes that gap.
	parent := os.Getppid()
	parentGone := func() bool { return *exitWithParent && parent > 1 && os.Getppid() != parent }
	fmt.Fprintf(stdout, "# OS_CLIENT_CONFIG_FILE=%s OS_CLOUD=testcloud (or testcloud-admin)\n", *cloudsYAML)
	for _, e := range c.Env() {
		fmt.Fprintf(stdout, "export %s\n", e)
	}
	fmt.Fprintf(stdout, "# control API: %s (faults, leaks, requests); servers' SSH port: %d\n", c.ControlURL(), c.SSHPort())
	fmt.Fprintf(stdout, "testcloud ready: auth_url=%s\n", c.AuthURL())
	if f, ok := stdout.(*os.File); ok {
		_ = f.Sync()
	}
	seen := 0
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(stderr, "glance-testcloud: stopping")
			if err := c.Close(); err != nil {
				fmt.Fprintf(stderr, "glance-testcloud: close: %v\n", err)
				return 1
			}
			return 0
		case <-tick.C:
			if parentGone() {
				fmt.Fprintln(stderr, "glance-testcloud: parent process exited, stopping")
				if err := c.Close(); err != nil {
					fmt.Fprintf(stderr, "glance-testcloud: close: %v\n", err)
					return 1
				}
				return 0
			}
			if *verbose {
				reqs := c.Requests()
				if len(reqs) < seen {
					seen = 0
				}
				for _, r := range reqs[seen:] {
					fmt.Fprintf(stderr, "%s %-6s %s %d %s\n", r.Op, r.Method, r.Path, r.Status, r.Region)
				}
				seen = len(reqs)
			}
		}
	}
}
