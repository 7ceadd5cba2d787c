package glance

import (
	"context"
	"crypto/rsa"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/internal/glanceimport"
	"github.com/packer-glance/packer-plugin-glance/internal/imagecopy"
	"github.com/packer-glance/packer-plugin-glance/internal/imagefind"
	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
)

// The builder talks to the cloud only through the interfaces below: exactly the
// Nova, Neutron, Glance and Cinder calls it makes. The shared clients of
// internal/osapi implement them for a real cloud (newOSAPICloud); the step tests
// use a recording fake.

// Compute is the part of Nova the builder uses.
type Compute interface {
	// FlavorID resolves a flavor name or ID.
	FlavorID(ctx context.Context, nameOrID string) (string, error)
	CreateKeypair(ctx context.Context, name, publicKey string) error
	DeleteKeypair(ctx context.Context, name string) error
	// KeypairPublicKey returns the public key of the keypair of that name.
	KeypairPublicKey(ctx context.Context, name string) (string, error)
	CreateServer(ctx context.Context, spec ServerSpec) (id string, err error)
	// GetServer returns the server; a missing server is a 404 error.
	GetServer(ctx context.Context, id string) (*Server, error)
	StopServer(ctx context.Context, id string) error
	DeleteServer(ctx context.Context, id string, force bool) error
	// ServersOfBuild lists the servers named name whose packer_build_uuid metadata
	// is buildUUID: what a create whose reply was lost may have made.
	ServersOfBuild(ctx context.Context, name, buildUUID string) ([]string, error)
	// CreateServerImage snapshots the server and returns the new image's ID.
	CreateServerImage(ctx context.Context, serverID, name string, metadata map[string]string) (string, error)
	// ServerPassword returns the administrator password Nova keeps for the
	// server, decrypted with key; "" while the guest has not posted one.
	ServerPassword(ctx context.Context, serverID string, key *rsa.PrivateKey) (string, error)
}

// Network is the part of Neutron the builder uses.
type Network interface {
	// FindNetwork resolves a network name or ID.
	FindNetwork(ctx context.Context, nameOrID string) (*NetworkInfo, error)
	// Subnets lists the subnets the project can see, in Neutron's order.
	Subnets(ctx context.Context) ([]SubnetInfo, error)
	// FindPort resolves a port name or ID.
	FindPort(ctx context.Context, nameOrID string) (*PortInfo, error)
	// FindSecurityGroup resolves a security group name or ID in the project.
	FindSecurityGroup(ctx context.Context, nameOrID string) (string, error)
	CreateSecurityGroup(ctx context.Context, name, description string) (string, error)
	// AllowIngress opens a TCP port to a CIDR in a security group.
	AllowIngress(ctx context.Context, groupID string, port int, cidr string) error
	DeleteSecurityGroup(ctx context.Context, id string) error
	// SecurityGroupsNamed lists the project's security groups with exactly this name.
	SecurityGroupsNamed(ctx context.Context, name string) ([]string, error)
	// ServerPorts lists the ports of a server.
	ServerPorts(ctx context.Context, serverID string) ([]PortInfo, error)
	// FindFloatingIP resolves a floating IP address or ID.
	FindFloatingIP(ctx context.Context, addressOrID string) (*FloatingIP, error)
	// FreeFloatingIP returns an unassociated floating IP of the network (of any
	// network when networkID is ""), or nil.
	FreeFloatingIP(ctx context.Context, networkID string) (*FloatingIP, error)
	// CreateFloatingIP allocates an address on the network and binds it to the port.
	CreateFloatingIP(ctx context.Context, networkID, portID, description string) (*FloatingIP, error)
	// AssociateFloatingIP binds the floating IP to the port; "" unbinds it.
	AssociateFloatingIP(ctx context.Context, id, portID string) (*FloatingIP, error)
	DeleteFloatingIP(ctx context.Context, id string) error
	// FloatingIPsDescribed lists the project's floating IPs with exactly this description.
	FloatingIPsDescribed(ctx context.Context, description string) ([]string, error)
}

// Images is the part of Glance the builder uses: the image policy's view,
// shared with the glance-import post-processor.
type Images = imagepolicy.Images

// Volumes is the part of Cinder the builder uses.
type Volumes interface {
	CreateVolume(ctx context.Context, spec VolumeSpec) (string, error)
	// GetVolume returns the volume's status; a missing volume is a 404 error.
	GetVolume(ctx context.Context, id string) (*Volume, error)
	DeleteVolume(ctx context.Context, id string) error
	// VolumesOfBuild lists the volumes named name whose packer_build_uuid metadata
	// is buildUUID.
	VolumesOfBuild(ctx context.Context, name, buildUUID string) ([]string, error)
	// UploadToImage makes a Glance image of the volume and returns its ID;
	// properties are set on the volume's image metadata first, so the image
	// carries them from its creation.
	UploadToImage(ctx context.Context, volumeID, imageName, diskFormat string, properties map[string]string) (string, error)
}

// ImageFinder looks up one image by name or filter; imagefind.Finder implements
// it, so the builder and the glance-image data source match images alike.
type ImageFinder interface {
	Find(ctx context.Context, q imagefind.Query) (*images.Image, error)
}

// Cloud is everything a build needs.
type Cloud struct {
	Compute Compute
	Network Network
	Images  Images
	Finder  ImageFinder
	// Import fills a new image from a URL with the import engine the
	// glance-import post-processor uses (glanceimport.Import in real builds).
	Import  func(ctx context.Context, req glanceimport.Request) (*glanceimport.Result, error)
	Volumes Volumes
	// Region the clients point at ("" when the catalog's first was used).
	Region string
	// Copies is where copy_to copies the image from (imagecopy.FromSession in
	// real builds; nil in step tests, which make no copies).
	Copies *imagecopy.Origin
}

// The service types are internal/osapi's: its clients implement the
// interfaces above directly.
type (
	ServerSpec  = osapi.ServerSpec
	Server      = osapi.Server
	Address     = osapi.Address
	NetworkInfo = osapi.NetworkInfo
	PortInfo    = osapi.PortInfo
	SubnetInfo  = osapi.SubnetInfo
	FloatingIP  = osapi.FloatingIP
	VolumeSpec  = osapi.VolumeSpec
	Volume      = osapi.Volume
)

// Image and ImageUpdate are the image policy's.
type (
	Image       = imagepolicy.Image
	ImageUpdate = imagepolicy.Update
)
