// Package acctest runs a real packer binary, with this plugin installed, against
// templates: the end-to-end tests of every component go through it.
//
// Acceptance tests run only when PACKER_ACC is set (make test sets it). They need
// bin/packer, which `make packer` builds from the Go module proxy.
package acctest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SourceAddress is the plugin's address in required_plugins blocks.
const SourceAddress = "github.com/packer-glance/glance"

// Skip skips t unless acceptance tests were asked for.
func Skip(t testing.TB) {
	t.Helper()
	if os.Getenv("PACKER_ACC") == "" {
		t.Skip("acceptance test: set PACKER_ACC=1 (make test does)")
	}
}

// RepoRoot is the folder holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's folder")
		}
		dir = parent
	}
}

// PackerBinary returns bin/packer, failing the test with the fix when it is missing.
func PackerBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("PACKER_BINARY"); p != "" {
		return p
	}
	p := filepath.Join(RepoRoot(t), "bin", "packer")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no packer binary at %s: run `make packer` first", p)
	}
	return p
}

var (
	installOnce sync.Once
	pluginDir   string
	installErr  error
)

// PluginPath builds the plugin (once per test binary) and installs it into a
// private PACKER_PLUGIN_PATH, which it returns.
func PluginPath(t testing.TB) string {
	t.Helper()
	packer := PackerBinary(t)
	root := RepoRoot(t)
	installOnce.Do(func() {
		pluginDir, installErr = os.MkdirTemp("", "packer-plugin-glance-acc-")
		if installErr != nil {
			return
		}
		bin := filepath.Join(pluginDir, "packer-plugin-glance")
		// A release-style version (no "dev" suffix) so required_plugins ">= 0.1.0" matches.
		build := exec.Command("go", "build", "-o", bin,
			"-ldflags", "-X github.com/packer-glance/packer-plugin-glance/version.VersionPrerelease=", ".")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			installErr = fmt.Errorf("building the plugin: %v\n%s", err, out)
			return
		}
		install := exec.Command(packer, "plugins", "install", "--path", bin, SourceAddress)
		install.Env = append(cleanEnv(), "PACKER_PLUGIN_PATH="+pluginDir, "CHECKPOINT_DISABLE=1")
		if out, err := install.CombinedOutput(); err != nil {
			installErr = fmt.Errorf("installing the plugin: %v\n%s", err, out)
		}
	})
	if installErr != nil {
		t.Fatal(installErr)
	}
	return pluginDir
}

// Cleanup removes the shared plugin folder; call it from TestMain after m.Run.
func Cleanup() {
	if pluginDir != "" {
		os.RemoveAll(pluginDir)
	}
}

// cleanEnv is the test process's environment without OS_* variables, so a
// developer's own cloud settings never leak into a test run.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OS_") || strings.HasPrefix(kv, "PACKER_LOG") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Run describes one packer invocation.
type Run struct {
	// Dir is where packer runs; templates are given relative to it.
	Dir string
	// Args are packer's arguments, e.g. {"build", "-color=false", "."}.
	Args []string
	// Env adds variables (e.g. OS_CLIENT_CONFIG_FILE=..., OS_CLOUD=testcloud).
	Env []string
	// Timeout bounds the run; default 10 minutes.
	Timeout time.Duration
	// Interrupt, when set, is called with the running command; it may send SIGINT
	// when it sees fit (see InterruptWhen).
	Interrupt func(cmd *exec.Cmd, out *SyncBuffer)
}

// Result is what a packer run printed and how it ended.
type Result struct {
	ExitCode int
	Output   string // stdout and stderr, interleaved
	Log      string // PACKER_LOG=1 output of core and plugins
	// Interrupted says an InterruptWhen interrupt really sent Ctrl-C. A Ctrl-C test
	// must check it: a run that ended before its marker showed proves nothing.
	Interrupted bool
}

// Packer runs packer with the plugin installed, PACKER_LOG=1 captured to Result.Log,
// and no network-facing checkpoint.
func Packer(t testing.TB, r Run) Result {
	t.Helper()
	plugins := PluginPath(t)
	if r.Timeout == 0 {
		r.Timeout = 10 * time.Minute
	}
	if r.Dir == "" {
		r.Dir = t.TempDir()
	}
	logFile := filepath.Join(t.TempDir(), "packer.log")
	ctx, cancel := context.WithTimeout(context.Background(), r.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, PackerBinary(t), r.Args...)
	cmd.Dir = r.Dir
	cmd.Env = append(cleanEnv(),
		"PACKER_PLUGIN_PATH="+plugins,
		"CHECKPOINT_DISABLE=1",
		"PACKER_LOG=1",
		"PACKER_LOG_PATH="+logFile,
		"PACKER_CONFIG_DIR="+t.TempDir(),
		"PACKER_CACHE_DIR="+t.TempDir(),
	)
	cmd.Env = append(cmd.Env, r.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting packer: %v", err)
	}
	if r.Interrupt != nil {
		go r.Interrupt(cmd, out)
	}
	err := cmd.Wait()
	out.finish()
	res := Result{Output: out.String(), Interrupted: out.interrupted()}
	if b, rerr := os.ReadFile(logFile); rerr == nil {
		res.Log = string(b)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitCode()
	default:
		t.Fatalf("running packer: %v\n%s", err, res.Output)
	}
	if ctx.Err() != nil {
		t.Fatalf("packer did not finish within %s\n%s", r.Timeout, res.Output)
	}
	return res
}

// InterruptWhen returns an Interrupt function that sends SIGINT to packer's whole
// process group once its output contains marker, as Ctrl-C in a terminal does
// (packer's first process is a wrapper that ignores a SIGINT sent to it alone).
// It gives up after timeout or when packer has ended; Result.Interrupted says
// whether it fired.
func InterruptWhen(marker string, timeout time.Duration) func(*exec.Cmd, *SyncBuffer) {
	return InterruptAfter(marker, 0, timeout)
}

// InterruptAfter is InterruptWhen with a pause: Ctrl-C comes delay after marker
// shows (an empty marker counts from the start), unless packer has ended by then.
func InterruptAfter(marker string, delay, timeout time.Duration) func(*exec.Cmd, *SyncBuffer) {
	return func(cmd *exec.Cmd, out *SyncBuffer) {
		deadline := time.Now().Add(timeout)
		for !strings.Contains(out.String(), marker) {
			if !time.Now().Before(deadline) || out.finished() {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(delay)
		if out.finished() {
			return
		}
		out.noteInterrupt()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	}
}

// WriteFile writes content to dir/name and returns its path.
func WriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// SyncBuffer is a bytes.Buffer safe for a writer and a concurrent reader. It also
// carries what a watcher of the run needs to know: whether the run has ended and
// whether an interrupt was sent.
type SyncBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ended bool
	sent  bool
}

func (b *SyncBuffer) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ended = true
}

func (b *SyncBuffer) finished() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ended
}

func (b *SyncBuffer) noteInterrupt() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent = true
}

func (b *SyncBuffer) interrupted() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sent
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
