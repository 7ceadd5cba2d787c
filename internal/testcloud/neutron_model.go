package testcloud

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"time"
)

type network struct {
	ID, Name, ProjectID string
	External, Shared    bool
	Subnets             []string
	Seeded              bool
	Created             time.Time
}

// subnet addresses live in 127.0.0.0/8 so that every fixed or floating IP is a real local address on
// which the server's SSH endpoint listens. prefix is the first two octets, e.g. "127.77".
type subnet struct {
	ID, Name, NetworkID, ProjectID string
	Prefix                         string
	next                           int
	Seeded                         bool
	Created                        time.Time
}

func (s *subnet) cidr() string    { return s.Prefix + ".0.0/16" }
func (s *subnet) gateway() string { return s.Prefix + ".0.1" }

type port struct {
	ID, Name, NetworkID, SubnetID, ProjectID string
	MAC, IP, DeviceID, DeviceOwner           string
	SecGroups                                []string
	Seeded                                   bool
	auto                                     bool // created by Nova for a server; deleted with it
	Created                                  time.Time
}

type floatingIP struct {
	ID, ProjectID, NetworkID, IP, PortID, Description string
	Created                                           time.Time
}

type secGroup struct {
	ID, Name, Description, ProjectID string
	Seeded                           bool
	Created                          time.Time
}

type secRule struct {
	ID, GroupID, ProjectID, Direction, EtherType, Protocol string
	RemoteIPPrefix, RemoteGroupID, Description             string
	PortMin, PortMax                                       *int
	Seeded                                                 bool
	Created                                                time.Time
}

func randomMAC() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", b[0], b[1], b[2])
}

// randomOctet returns a number in [lo, hi].
func randomOctet(lo, hi int) int {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(hi-lo+1)))
	return lo + int(n.Int64())
}

// allocateIP picks the next free address of the subnet on which an SSH listener can be bound. A
// clash with another process (another test cloud) just moves on to the next address.
// Callers hold c.mu.
func (c *Cloud) allocateIP(s *subnet) (string, error) {
	for tries := 0; tries < 2000; tries++ {
		n := s.next
		s.next++
		ip := fmt.Sprintf("%s.%d.%d", s.Prefix, n/250, n%250+2)
		if n/250 > 255 {
			break
		}
		if err := c.ssh.claim(ip); err == nil {
			return ip, nil
		}
	}
	return "", fmt.Errorf("no free address in subnet %s", s.cidr())
}

func (c *Cloud) seedNetwork(reg *region) error {
	admin := c.ident.projectByName(AdminProject)
	demo := c.ident.projectByName(DemoProject)
	now := time.Now().Add(-24 * time.Hour)
	privOctet := randomOctet(64, 159)
	pubOctet := randomOctet(160, 254)
	priv := &network{ID: newUUID(), Name: "private", ProjectID: demo.ID, Seeded: true, Created: now}
	privSub := &subnet{ID: newUUID(), Name: "private-subnet", NetworkID: priv.ID, ProjectID: demo.ID,
		Prefix: fmt.Sprintf("127.%d", privOctet), next: 8, Seeded: true, Created: now}
	priv.Subnets = []string{privSub.ID}
	pub := &network{ID: newUUID(), Name: "public", ProjectID: admin.ID, External: true, Seeded: true, Created: now}
	pubSub := &subnet{ID: newUUID(), Name: "public-subnet", NetworkID: pub.ID, ProjectID: admin.ID,
		Prefix: fmt.Sprintf("127.%d", pubOctet), next: 8, Seeded: true, Created: now}
	pub.Subnets = []string{pubSub.ID}
	reg.networks[priv.ID], reg.networks[pub.ID] = priv, pub
	reg.subnets[privSub.ID], reg.subnets[pubSub.ID] = privSub, pubSub
	return nil
}

// seedProjectNetworkBits gives a project its default security group in every region, as Neutron does
// on first use. Callers hold c.mu.
func (c *Cloud) seedProjectNetworkBits(projectID string) {
	for _, reg := range c.regions {
		exists := false
		for _, g := range reg.secgroups {
			exists = exists || (g.ProjectID == projectID && g.Name == "default")
		}
		if exists {
			continue
		}
		now := time.Now()
		g := &secGroup{ID: newUUID(), Name: "default", Description: "Default security group", ProjectID: projectID,
			Seeded: true, Created: now}
		reg.secgroups[g.ID] = g
		for _, et := range []string{"IPv4", "IPv6"} {
			for _, dir := range []string{"ingress", "egress"} {
				r := &secRule{ID: newUUID(), GroupID: g.ID, ProjectID: projectID, Direction: dir, EtherType: et,
					Seeded: true, Created: now}
				if dir == "ingress" {
					r.RemoteGroupID = g.ID
				}
				reg.rules[r.ID] = r
			}
		}
	}
}

// createPort makes a port with a fixed IP on the network's first subnet. Callers hold c.mu.
func (c *Cloud) createPort(reg *region, net *network, projectID, name string, secGroups []string) (*port, error) {
	if len(net.Subnets) == 0 {
		return nil, fmt.Errorf("network %s has no subnet", net.ID)
	}
	sub := reg.subnets[net.Subnets[0]]
	ip, err := c.allocateIP(sub)
	if err != nil {
		return nil, err
	}
	p := &port{ID: newUUID(), Name: name, NetworkID: net.ID, SubnetID: sub.ID, ProjectID: projectID,
		MAC: randomMAC(), IP: ip, SecGroups: secGroups, Created: time.Now()}
	reg.ports[p.ID] = p
	return p, nil
}

// deletePort releases the port and any floating IP association. Callers hold c.mu.
func (c *Cloud) deletePort(reg *region, p *port) {
	for _, f := range reg.fips {
		if f.PortID == p.ID {
			f.PortID = ""
		}
	}
	c.ssh.release(p.IP)
	delete(reg.ports, p.ID)
}

func (reg *region) networkByName(name string) *network {
	for _, n := range reg.networks {
		if n.Name == name {
			return n
		}
	}
	return nil
}

func (reg *region) defaultSecGroup(projectID string) *secGroup {
	for _, g := range reg.secgroups {
		if g.ProjectID == projectID && g.Name == "default" {
			return g
		}
	}
	return nil
}
