package testcloud

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshFabric owns one SSH listener per fixed or floating IP. Every address is a 127.x.y.z address bound on
// the same port (22 when possible), so Packer reaches a server with nothing but ssh_username.
type sshFabric struct {
	c       *Cloud
	port    int
	hostKey ssh.Signer

	mu        sync.Mutex
	closed    bool
	listeners map[string]net.Listener
	conns     map[string]map[net.Conn]struct{} // server ID -> live connections
	wg        sync.WaitGroup
}

func newSSHFabric(c *Cloud) (*sshFabric, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testcloud: ssh host key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("testcloud: ssh host key: %w", err)
	}
	f := &sshFabric{c: c, hostKey: signer, listeners: map[string]net.Listener{}, conns: map[string]map[net.Conn]struct{}{}}
	f.port = c.opts.SSHPort
	if f.port == 0 {
		f.port = pickSSHPort()
	}
	return f, nil
}

// pickSSHPort returns 22 when this process may bind it on loopback addresses (root, and nothing
// listening on *:22), else a random free port shared by every server address.
func pickSSHPort() int {
	probe := fmt.Sprintf("127.%d.%d.%d:22", randomOctet(1, 254), randomOctet(0, 254), randomOctet(2, 250))
	if ln, err := net.Listen("tcp", probe); err == nil {
		ln.Close()
		return 22
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 2222
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// SSHPort is the port every server's SSH endpoint listens on.
func (c *Cloud) SSHPort() int { return c.ssh.port }

// SSHHostKey is the public host key all server endpoints present.
func (c *Cloud) SSHHostKey() ssh.PublicKey { return c.ssh.hostKey.PublicKey() }

// claim binds ip:port and starts serving it. It fails when the address is taken.
func (f *sshFabric) claim(ip string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errors.New("ssh fabric closed")
	}
	if _, taken := f.listeners[ip]; taken {
		return fmt.Errorf("%s already claimed", ip)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(f.port)))
	if err != nil {
		return err
	}
	f.listeners[ip] = ln
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.acceptLoop(ip, ln)
	}()
	return nil
}

func (f *sshFabric) release(ip string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ln := f.listeners[ip]; ln != nil {
		ln.Close()
		delete(f.listeners, ip)
	}
}

func (f *sshFabric) close() {
	f.mu.Lock()
	f.closed = true
	for ip, ln := range f.listeners {
		ln.Close()
		delete(f.listeners, ip)
	}
	for _, set := range f.conns {
		for conn := range set {
			conn.Close()
		}
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// DisconnectSSH cuts every live SSH connection to a server, like a network blip.
func (c *Cloud) DisconnectSSH(serverID string) { c.ssh.disconnectServer(serverID) }

// disconnectServer cuts every SSH connection of a server (stop, delete, ERROR, or an ssh fault).
func (f *sshFabric) disconnectServer(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for conn := range f.conns[id] {
		conn.Close()
	}
}

func (f *sshFabric) track(id string, conn net.Conn, add bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if add {
		if f.closed {
			return false
		}
		if f.conns[id] == nil {
			f.conns[id] = map[net.Conn]struct{}{}
		}
		f.conns[id][conn] = struct{}{}
		return true
	}
	delete(f.conns[id], conn)
	if len(f.conns[id]) == 0 {
		delete(f.conns, id)
	}
	return true
}

func (f *sshFabric) acceptLoop(ip string, ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.serveConn(ip, conn)
		}()
	}
}

// sshTarget is what a connection needs to know about the server behind an address.
type sshTarget struct {
	serverID, region, disk, password string
	key                              ssh.PublicKey
}

// targetFor finds the ACTIVE server behind a fixed or floating IP.
func (c *Cloud) targetFor(ip string) (sshTarget, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, reg := range c.regions {
		portID := ""
		for _, p := range reg.ports {
			if p.IP == ip {
				portID = p.ID
			}
		}
		for _, fip := range reg.fips {
			if fip.IP == ip {
				portID = fip.PortID
			}
		}
		p := reg.ports[portID]
		if p == nil {
			continue
		}
		s := reg.servers[p.DeviceID]
		if s == nil || s.Gone || s.Status != "ACTIVE" || s.TaskState == "deleting" || s.TaskState == "powering-off" {
			return sshTarget{}, false
		}
		t := sshTarget{serverID: s.ID, region: reg.name, disk: s.Disk, password: s.AdminPass}
		t.key = s.authKey
		return t, true
	}
	return sshTarget{}, false
}

func (f *sshFabric) serveConn(ip string, conn net.Conn) {
	defer conn.Close()
	target, ok := f.c.targetFor(ip)
	if !ok {
		return // like a guest that is not up: the TCP connection closes without a banner
	}
	if action, _ := f.c.stateFault("ssh.connect", target.region); action == ActionDrop {
		return
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if target.key != nil && string(target.key.Marshal()) == string(key.Marshal()) {
				return &ssh.Permissions{}, nil
			}
			return nil, fmt.Errorf("unknown public key for %s", meta.User())
		},
		PasswordCallback: func(meta ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if target.password != "" && string(pw) == target.password {
				return &ssh.Permissions{}, nil
			}
			return nil, fmt.Errorf("wrong password for %s", meta.User())
		},
		ServerVersion: "SSH-2.0-OpenSSH_9.0 testcloud",
	}
	cfg.AddHostKey(f.hostKey)
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	sconn, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	_ = conn.SetDeadline(time.Time{})
	defer sconn.Close()
	if !f.track(target.serverID, conn, true) {
		return
	}
	defer f.track(target.serverID, conn, false)
	go ssh.DiscardRequests(reqs)
	// Commands die with their connection (client gone, server stopped, fault, cloud closed).
	ctx, cancel := context.WithCancel(f.c.bgCtx)
	defer cancel()
	go func() {
		_ = sconn.Wait()
		cancel()
	}()
	var wg sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only session channels are supported")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.serveSession(ctx, target, conn, ch, chReqs)
		}()
	}
	wg.Wait()
}
