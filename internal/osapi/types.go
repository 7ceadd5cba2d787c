package osapi

// ServerSpec is what a temporary server is made of.
type ServerSpec struct {
	Name             string
	ImageID          string // "" when booting from VolumeID
	VolumeID         string
	FlavorID         string
	Networks         []string // network IDs
	Ports            []string // port IDs, attached before Networks
	SecurityGroups   []string // names or IDs
	AvailabilityZone string
	UserData         []byte
	ConfigDrive      bool
	Metadata         map[string]string
	KeyName          string
}

// Server is what the builder reads back about a server.
type Server struct {
	ID     string
	Status string
	// Fault is Nova's fault message when the server is in ERROR.
	Fault string
	// TaskState is Nova's task in progress (OS-EXT-STS:task_state), empty when idle.
	TaskState string
	Addresses []Address
	AccessIPv4,
	AccessIPv6 string
}

// Address is one IP of a server, in the order Nova lists them.
type Address struct {
	Network string // the key of `addresses`
	Addr    string
	Version int
	Type    string // fixed or floating
}

// NetworkInfo is a resolved network.
type NetworkInfo struct {
	ID       string
	Name     string
	External bool
}

// SubnetInfo is a subnet: its network and address range.
type SubnetInfo struct {
	ID        string
	NetworkID string
	CIDR      string
}

// PortInfo is a resolved port.
type PortInfo struct {
	ID        string
	NetworkID string
}

// FloatingIP is a Neutron floating IP.
type FloatingIP struct {
	ID        string
	Address   string
	NetworkID string
	PortID    string
}

// VolumeSpec is what the temporary volume is made of.
type VolumeSpec struct {
	Name             string
	SizeGiB          int
	ImageID          string
	VolumeType       string
	AvailabilityZone string
	Metadata         map[string]string
}

// Volume is what the builder reads back about a volume.
type Volume struct {
	ID     string
	Status string
}
