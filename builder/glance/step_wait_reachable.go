package glance

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// reachProbeEvery is how often the communicator port is probed. A TCP connect
// costs no API request, so probing often is free: the build goes on within this
// much of the guest's SSH or WinRM service starting, where Packer's own connect
// loop would try only every five seconds.
var reachProbeEvery = 250 * time.Millisecond

// stepWaitReachable waits until the communicator port of the server accepts a
// TCP connection, so the communicator's first attempt succeeds. It is skipped
// when the connection goes through a bastion or proxy (the port cannot be
// probed from here) and with no communicator.
//
// Uses: config, server, floating_ip.
type stepWaitReachable struct {
	// comm and host reach another server than the build's (verify's); unset,
	// the build's communicator and server.
	comm *communicator.Config
	host func(multistep.StateBag) (string, error)
}

func (s *stepWaitReachable) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, ui := configOf(state), uiOf(state)
	comm, hostOf := &cfg.Comm, commHost(cfg)
	if s.comm != nil {
		comm, hostOf = s.comm, s.host
	}
	var timeout time.Duration
	switch comm.Type {
	case "ssh":
		if comm.SSHBastionHost != "" || comm.SSHProxyHost != "" {
			return multistep.ActionContinue
		}
		timeout = comm.SSHTimeout
	case "winrm":
		timeout = comm.WinRMTimeout
	default:
		return multistep.ActionContinue
	}
	host, err := hostOf(state)
	if err != nil {
		return halt(state, err)
	}
	addr := net.JoinHostPort(host, strconv.Itoa(comm.Port()))
	ui.Sayf("Waiting for %s to accept connections...", addr)
	start := time.Now()
	err = retry.WaitFor(ctx, fmt.Sprintf("%s (%s) to accept connections", addr, comm.Type), timeout,
		retry.Backoff{Initial: reachProbeEvery, Max: reachProbeEvery, Factor: 1},
		func(ctx context.Context) (bool, error) {
			d := net.Dialer{Timeout: time.Second}
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return false, nil
			}
			conn.Close()
			return true, nil
		})
	if err != nil {
		return halt(state, err)
	}
	ui.Sayf("%s accepts connections (after %s)", addr, time.Since(start).Round(100*time.Millisecond))
	return multistep.ActionContinue
}

func (s *stepWaitReachable) Cleanup(multistep.StateBag) {}
