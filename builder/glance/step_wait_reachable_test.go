package glance

import (
	"net"
	"strconv"
	"testing"
	"time"
)

func TestStepWaitReachable(t *testing.T) {
	t.Run("goes on once the port accepts, probing without API calls", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close() // closed now, opened again shortly: the step must wait for it
		go func() {
			time.Sleep(50 * time.Millisecond)
			if again, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
				t.Cleanup(func() { again.Close() })
			}
		}()
		e := newTestEnv(t, with("ssh_host", "127.0.0.1", "ssh_port", port))
		e.mustRun(t, &stepWaitReachable{})
		if len(e.fake.calls) != 0 {
			t.Errorf("API calls while probing: %v", e.fake.calls)
		}
		if !contains(e.out.String(), "accepts connections") {
			t.Errorf("output:\n%s", e.out)
		}
	})
	t.Run("a port that never opens fails within ssh_timeout, naming the address", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		e := newTestEnv(t, with("ssh_host", "127.0.0.1", "ssh_port", port, "ssh_timeout", "200ms"))
		e.mustHalt(t, &stepWaitReachable{}, "127.0.0.1:"+strconv.Itoa(port))
	})
	t.Run("skipped through a bastion", func(t *testing.T) {
		e := newTestEnv(t, with("ssh_host", "192.0.2.1", "ssh_bastion_host", "bastion.example.com", "ssh_bastion_password", "x", "ssh_timeout", "50ms"))
		e.mustRun(t, &stepWaitReachable{})
	})
}
