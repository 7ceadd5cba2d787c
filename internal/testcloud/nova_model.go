package testcloud

import (
	"time"

	"golang.org/x/crypto/ssh"
)

type flavor struct {
	ID, Name         string
	VCPUs, RAM, Disk int
}

type keypair struct {
	Name, UserID, PublicKey, Fingerprint, Type string
	Created                                    time.Time
	key                                        ssh.PublicKey
}

type serverFault struct {
	Code    int
	Message string
	Created time.Time
}

type server struct {
	ID, Name, ProjectID, UserID string
	Status, TaskState, VMState  string
	PowerState                  int
	FlavorID, ImageID, KeyName  string
	AdminPass, UserData, AZ     string
	ConfigDrive                 bool
	Metadata                    map[string]string
	Ports                       []string // Neutron port IDs, in attachment order
	SecGroups                   []string // names
	Disk                        string   // the server's root folder
	BootVolume                  string   // Cinder volume ID when booted from volume
	DeleteVolumeOnTermination   bool
	Fault                       *serverFault
	Created, Updated            time.Time
	Gone                        bool // deleted: no longer served
	// authKey is the keypair's public key as it was when the server was
	// created: like a real guest, which got it at boot (cloud-init), the
	// server keeps accepting it after the keypair is deleted.
	authKey ssh.PublicKey
}

func (s *server) setState(status, vm, task string, power int) {
	s.Status, s.VMState, s.TaskState, s.PowerState = status, vm, task, power
	s.Updated = time.Now()
}

// Nova power states.
const (
	powerNoState  = 0
	powerRunning  = 1
	powerShutdown = 4
)

func (c *Cloud) seedCompute(reg *region) {
	reg.flavors["1"] = &flavor{ID: "1", Name: "m1.tiny", VCPUs: 1, RAM: 512, Disk: 1}
	reg.flavors["2"] = &flavor{ID: "2", Name: "m1.small", VCPUs: 1, RAM: 2048, Disk: 20}
}

// Server is a read-only snapshot of a Nova server, for test assertions.
type Server struct {
	ID, Name, Status, TaskState, ProjectID string
	Region                                 string
	FixedIPs, FloatingIPs                  []string
	KeyName, ImageID, FlavorID             string
	BootVolume                             string
	Metadata                               map[string]string
	UserData                               string
	Disk                                   string // the server's root folder on the host
}

// Servers lists every server of every region (including those being deleted).
func (c *Cloud) Servers() []Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Server
	for _, rname := range c.opts.Regions {
		reg := c.regions[rname]
		for _, s := range reg.servers {
			out = append(out, c.serverSnapshot(reg, s))
		}
	}
	return out
}

// GetServer returns one server by ID.
func (c *Cloud) GetServer(id string) (Server, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, reg := range c.regions {
		if s := reg.servers[id]; s != nil {
			return c.serverSnapshot(reg, s), true
		}
	}
	return Server{}, false
}

func (c *Cloud) serverSnapshot(reg *region, s *server) Server {
	out := Server{ID: s.ID, Name: s.Name, Status: s.Status, TaskState: s.TaskState, ProjectID: s.ProjectID,
		Region: reg.name, KeyName: s.KeyName, ImageID: s.ImageID, FlavorID: s.FlavorID, BootVolume: s.BootVolume,
		Metadata: map[string]string{}, UserData: s.UserData, Disk: s.Disk}
	for k, v := range s.Metadata {
		out.Metadata[k] = v
	}
	for _, pid := range s.Ports {
		if p := reg.ports[pid]; p != nil {
			out.FixedIPs = append(out.FixedIPs, p.IP)
			for _, f := range reg.fips {
				if f.PortID == p.ID {
					out.FloatingIPs = append(out.FloatingIPs, f.IP)
				}
			}
		}
	}
	return out
}

// ForceServerError puts a server into ERROR with a fault message, as a failed hypervisor would.
func (c *Cloud) ForceServerError(id, message string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, reg := range c.regions {
		if s := reg.servers[id]; s != nil {
			c.serverToError(s, message)
			return nil
		}
	}
	return errNotFound("server", id)
}

// serverToError is the single path into ERROR. Callers hold c.mu.
func (c *Cloud) serverToError(s *server, message string) {
	s.setState("ERROR", "error", "", powerNoState)
	s.Fault = &serverFault{Code: 500, Message: message, Created: time.Now()}
	c.ssh.disconnectServer(s.ID)
}
