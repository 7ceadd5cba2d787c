package glance

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStepRemoveDebugKeyDeletesTheKeyAtCleanup(t *testing.T) {
	e := newTestEnv(t, minimal())
	path := filepath.Join(t.TempDir(), "glance_golden.pem")
	if err := os.WriteFile(path, []byte("-----BEGIN OPENSSH PRIVATE KEY-----"), 0o600); err != nil {
		t.Fatal(err)
	}
	step := &stepRemoveDebugKey{Path: path}
	e.mustRun(t, step)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the key must stay while the build runs: %v", err)
	}
	step.Cleanup(e.state)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("debug key still there after clean-up (%v)", err)
	}
	step.Cleanup(e.state) // a second clean-up of a missing file is quiet
	if contains(e.out.String(), "Error") {
		t.Errorf("errors shown: %s", e.out)
	}
}
