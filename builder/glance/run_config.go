//go:generate packer-sdc mapstructure-to-hcl2 -type ImageFilter
//go:generate packer-sdc struct-markdown

package glance

import (
	"fmt"
	"net"
	"reflect"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/packer-glance/packer-plugin-glance/internal/imagefind"
	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
)

// RunConfig says where the build starts from and how the temporary server is
// made: the source image, the flavor, the networks, the communicator and the
// timeouts of every wait.
type RunConfig struct {
	// The ID of the image to boot the temporary server from. Exactly one of
	// `source_image`, `source_image_name`, `source_image_filter` and
	// `external_source_image_url` must be set.
	SourceImage string `mapstructure:"source_image" required:"false"`
	// The name of the image to boot from. The image must be active; when several
	// active images carry this name the build fails and asks for
	// `source_image_filter` with `most_recent = true`.
	SourceImageName string `mapstructure:"source_image_name" required:"false"`
	// Finds the source image by name, owner, tags, visibility and properties, all
	// sent to Glance as server-side filters. See the `source_image_filter` section.
	SourceImageFilter ImageFilter `mapstructure:"source_image_filter" required:"false"`
	// The URL of a disk image to start from. It is imported into Glance with the
	// `web-download` method as a temporary image named `packer_<build-uuid>_source`,
	// the server boots from it, and it is deleted after the build. A failed import
	// fails the build at once.
	ExternalSourceImageURL string `mapstructure:"external_source_image_url" required:"false"`
	// The disk format of `external_source_image_url`: `qcow2`, `raw`, `vmdk`,
	// `vdi`, `vhd`, `vhdx`, `iso`, `ploop`, `aki`, `ari` or `ami`. Defaults to
	// `qcow2`.
	ExternalSourceImageFormat string `mapstructure:"external_source_image_format" required:"false"`
	// Glance properties of the temporary image imported from
	// `external_source_image_url`, such as `hw_disk_bus`.
	ExternalSourceImageProperties map[string]string `mapstructure:"external_source_image_properties" required:"false"`

	// The flavor of the temporary server, by name or ID.
	Flavor string `mapstructure:"flavor" required:"true"`
	// The Nova availability zone of the temporary server. Defaults to the cloud's
	// choice.
	AvailabilityZone string `mapstructure:"availability_zone" required:"false"`
	// The networks to attach the server to, by name or ID, in this order. Defaults to
	// the networks Nova picks when there is exactly one the project can use.
	Networks []string `mapstructure:"networks" required:"false"`
	// Existing Neutron ports to attach, by name or ID; they come before
	// `networks`.
	Ports []string `mapstructure:"ports" required:"false"`
	// Security groups for the server, by name or ID. Defaults to the project's
	// `default` group, unless `temporary_security_group` is true.
	SecurityGroups []string `mapstructure:"security_groups" required:"false"`
	// Create a security group for the build that opens only the communicator port
	// (`ssh_port` or `winrm_port`) to `temporary_security_group_source_cidrs`, and
	// delete it afterwards. Cannot be combined with `security_groups`. Defaults to
	// `false`.
	TemporarySecurityGroup bool `mapstructure:"temporary_security_group" required:"false"`
	// The source address ranges the temporary security group admits. Defaults to
	// `["0.0.0.0/0"]`, or `["::/0"]` with `ssh_ip_version = "6"`.
	TemporarySecurityGroupSourceCIDRs []string `mapstructure:"temporary_security_group_source_cidrs" required:"false"`
	// User data to pass to the server, such as a cloud-init document.
	UserData string `mapstructure:"user_data" required:"false"`
	// A file whose content is passed as user data. Cannot be combined with
	// `user_data`.
	UserDataFile string `mapstructure:"user_data_file" required:"false"`
	// Attach a config drive to the server. Defaults to `false`.
	ConfigDrive bool `mapstructure:"config_drive" required:"false"`
	// The name of the temporary server. Defaults to `packer_<build-uuid>_server`, so
	// an operator can tell a stray server from its name.
	InstanceName string `mapstructure:"instance_name" required:"false"`
	// Nova metadata of the temporary server. Keys and values are at most 255 bytes.
	// The key `packer_build_uuid` is always added.
	InstanceMetadata map[string]string `mapstructure:"instance_metadata" required:"false"`
	// Delete the server with `os-forceDelete`, for clouds that soft-delete servers.
	// Defaults to `false`.
	ForceDelete bool `mapstructure:"force_delete" required:"false"`

	// A floating IP to attach to the server, by address or ID. It must not be in
	// use; it is detached again after the build and never deleted.
	FloatingIP string `mapstructure:"floating_ip" required:"false"`
	// The external network to allocate a new floating IP from, by name or ID. The
	// IP is released after the build.
	FloatingIPNetwork string `mapstructure:"floating_ip_network" required:"false"`
	// Deprecated: use `floating_ip_network`. Accepted for templates written for the
	// `openstack` builder.
	FloatingIPPool string `mapstructure:"floating_ip_pool" required:"false"`
	// Reuse a free floating IP of `floating_ip_network` instead of allocating one.
	// Two builds may pick the same address, so avoid it for concurrent builds.
	// Defaults to `false`.
	ReuseIPs bool `mapstructure:"reuse_ips" required:"false"`
	// The network, by name or ID, whose port receives the floating IP when the
	// server has several. Defaults to the first port of the server.
	InstanceFloatingIPNet string `mapstructure:"instance_floating_ip_net" required:"false"`
	// The network name (the key of the server's `addresses`) to take the
	// communicator address from; it wins over a floating IP, not over `ssh_host`.
	// Defaults to the floating IP, else the first network of the server in the
	// order of `ports` and `networks`, then by name.
	SSHInterface string `mapstructure:"ssh_interface" required:"false"`
	// The IP version, `4` or `6`, of the address to connect to. Defaults to IPv4
	// when the server has one, else IPv6.
	SSHIPVersion string `mapstructure:"ssh_ip_version" required:"false"`

	// Boot from a Cinder volume made from the source image instead of a local
	// disk; the image is then made with Cinder's upload-to-image. Defaults to
	// `false`.
	UseBlockStorageVolume bool `mapstructure:"use_blockstorage_volume" required:"false"`
	// The name of the temporary volume. Defaults to `packer_<build-uuid>_volume`.
	VolumeName string `mapstructure:"volume_name" required:"false"`
	// The Cinder volume type. Defaults to the cloud's default type.
	VolumeType string `mapstructure:"volume_type" required:"false"`
	// The volume size in GiB. Defaults to the source image's `min_disk`, or else
	// its size rounded up to whole GiB.
	VolumeSize int `mapstructure:"volume_size" required:"false"`
	// The Cinder availability zone of the volume. Defaults to `availability_zone`.
	VolumeAvailabilityZone string `mapstructure:"volume_availability_zone" required:"false"`

	// How long to wait for each server or volume transition: boot, stop, deletion,
	// volume creation. Defaults to `10m`.
	StateTimeout time.Duration `mapstructure:"state_timeout" required:"false"`
	// How long to wait for the new image (and an imported source image) to become
	// active. Defaults to `60m`.
	ImageTimeout time.Duration `mapstructure:"image_timeout" required:"false"`
	// A command run through the communicator to shut the guest down before the
	// snapshot, such as `sudo shutdown -P now`. The builder then waits for Nova to
	// report `SHUTOFF`, and falls back to Nova's stop after `shutdown_timeout`.
	// Defaults to Nova's stop, which asks the guest with an ACPI power-button
	// event and waits out Nova's own timeout if the guest ignores it.
	ShutdownCommand string `mapstructure:"shutdown_command" required:"false"`
	// How long to wait for the server to be `SHUTOFF` after `shutdown_command`.
	// Defaults to `5m`.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout" required:"false"`
	// Stop the server before taking the snapshot, so the disk is consistent.
	// Set to `false` to snapshot the running server, which is faster and safe
	// when the image has a guest agent (`hw_qemu_guest_agent=yes`) and
	// `os_require_quiesce=yes`. Must stay true with `use_blockstorage_volume`.
	// Defaults to `true`.
	StopBeforeSnapshot *bool `mapstructure:"stop_before_snapshot" required:"false"`

	// The communicator: SSH or WinRM options of Packer, such as `ssh_username`.
	// Without a password or key of its own, the builder generates a temporary
	// ed25519 key pair (RSA for WinRM), uploads it to Nova as
	// `packer_<build-uuid>_keypair` and deletes it after the build.
	Comm communicator.Config `mapstructure:",squash"`
}

// ImageFilter finds one image among many, with the same filters as the
// `glance-image` data source.
type ImageFilter struct {
	// What the image must match: `name` (with `*` wildcards), `name_regex`,
	// `owner`, `visibility`, `tags`, `properties`, `container_format`,
	// `disk_format`, `member_status`, `hidden`, `status` and `size_min`/`size_max`,
	// exactly as in the `glance-image` data source. Glance filters on the server
	// side whatever it can; only active images are considered unless `status`
	// says otherwise.
	Filters imagefind.Filter `mapstructure:"filters" required:"false"`
	// Take the newest of several matching images. Without it, more than one match
	// is an error that lists them. Defaults to `false`.
	MostRecent bool `mapstructure:"most_recent" required:"false"`
}

// filterEmpty reports whether no filter is set.
func filterEmpty(f imagefind.Filter) bool { return reflect.DeepEqual(f, imagefind.Filter{}) }

var validDiskFormats = []string{"qcow2", "raw", "vmdk", "vdi", "vhd", "vhdx", "iso", "ploop", "aki", "ari", "ami"}

const (
	defaultStateTimeout    = 10 * time.Minute
	defaultImageTimeout    = 60 * time.Minute
	defaultShutdownTimeout = 5 * time.Minute
)

// Prepare fills defaults and checks the run options; it makes no network call.
func (c *RunConfig) Prepare(ctx *interpolate.Context) (warnings []string, errs []error) {
	// Source: exactly one way to name it.
	var sources []string
	if c.SourceImage != "" {
		sources = append(sources, "source_image")
	}
	if c.SourceImageName != "" {
		sources = append(sources, "source_image_name")
	}
	if !filterEmpty(c.SourceImageFilter.Filters) {
		sources = append(sources, "source_image_filter")
	}
	if c.ExternalSourceImageURL != "" {
		sources = append(sources, "external_source_image_url")
	}
	switch {
	case len(sources) == 0:
		errs = append(errs, fmt.Errorf("no source image: set one of source_image, source_image_name, source_image_filter or external_source_image_url"))
	case len(sources) > 1:
		errs = append(errs, fmt.Errorf("%s are all set: set only one source image option", strings.Join(sources, " and ")))
	}
	if filterEmpty(c.SourceImageFilter.Filters) {
		if c.SourceImageFilter.MostRecent {
			errs = append(errs, fmt.Errorf("source_image_filter.most_recent is set without any filter: add filters { ... }"))
		}
	} else {
		q := imagefind.Query{Filter: c.SourceImageFilter.Filters, MostRecent: c.SourceImageFilter.MostRecent}
		errs = append(errs, q.Validate("source_image_filter.filters.")...)
	}
	if c.ExternalSourceImageURL != "" {
		if !strings.HasPrefix(c.ExternalSourceImageURL, "http://") && !strings.HasPrefix(c.ExternalSourceImageURL, "https://") {
			errs = append(errs, fmt.Errorf("external_source_image_url must be an http or https URL (Glance's web-download fetches it)"))
		}
		if c.ExternalSourceImageFormat == "" {
			c.ExternalSourceImageFormat = "qcow2"
		}
	} else {
		if c.ExternalSourceImageFormat != "" {
			errs = append(errs, fmt.Errorf("external_source_image_format is set without external_source_image_url"))
		}
		if len(c.ExternalSourceImageProperties) > 0 {
			errs = append(errs, fmt.Errorf("external_source_image_properties is set without external_source_image_url"))
		}
	}
	if c.ExternalSourceImageFormat != "" && !oneOf(c.ExternalSourceImageFormat, validDiskFormats) {
		errs = append(errs, fmt.Errorf("external_source_image_format %q is not one of %s", c.ExternalSourceImageFormat, strings.Join(validDiskFormats, ", ")))
	}

	// Server.
	if c.Flavor == "" {
		errs = append(errs, fmt.Errorf("flavor must be set (a flavor name or ID)"))
	}
	if c.UserData != "" && c.UserDataFile != "" {
		errs = append(errs, fmt.Errorf("user_data and user_data_file are both set: set only one"))
	}
	for k, v := range c.InstanceMetadata {
		if len(k) > 255 {
			errs = append(errs, fmt.Errorf("instance_metadata key %q is longer than 255 bytes", k))
		}
		if len(v) > 255 {
			errs = append(errs, fmt.Errorf("instance_metadata value of %q is longer than 255 bytes", k))
		}
	}
	errs = append(errs, imagepolicy.CheckList("networks", c.Networks)...)
	errs = append(errs, imagepolicy.CheckList("ports", c.Ports)...)
	errs = append(errs, imagepolicy.CheckList("security_groups", c.SecurityGroups)...)

	// Temporary security group.
	if c.TemporarySecurityGroup && len(c.SecurityGroups) > 0 {
		errs = append(errs, fmt.Errorf("temporary_security_group and security_groups are both set: the temporary group replaces the listed ones, set only one"))
	}
	if len(c.TemporarySecurityGroupSourceCIDRs) > 0 && !c.TemporarySecurityGroup {
		errs = append(errs, fmt.Errorf("temporary_security_group_source_cidrs is set without temporary_security_group = true"))
	}
	if c.TemporarySecurityGroup && c.Comm.Type == "none" {
		errs = append(errs, fmt.Errorf("temporary_security_group is set with communicator = \"none\": there is no port to open"))
	}
	if c.TemporarySecurityGroup && len(c.TemporarySecurityGroupSourceCIDRs) == 0 {
		c.TemporarySecurityGroupSourceCIDRs = []string{"0.0.0.0/0"}
		if c.SSHIPVersion == "6" {
			// The communicator connects over IPv6: an IPv4-only rule would not admit it.
			c.TemporarySecurityGroupSourceCIDRs = []string{"::/0"}
		}
	}
	for _, cidr := range c.TemporarySecurityGroupSourceCIDRs {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			errs = append(errs, fmt.Errorf("temporary_security_group_source_cidrs: %q is not a CIDR such as 203.0.113.0/24", cidr))
		}
	}

	// Floating IP.
	if c.FloatingIPPool != "" {
		warnings = append(warnings, "floating_ip_pool is deprecated: use floating_ip_network")
		if c.FloatingIPNetwork != "" && c.FloatingIPNetwork != c.FloatingIPPool {
			errs = append(errs, fmt.Errorf("floating_ip_pool and floating_ip_network name different networks (%q, %q): set only floating_ip_network", c.FloatingIPPool, c.FloatingIPNetwork))
		}
		if c.FloatingIPNetwork == "" {
			c.FloatingIPNetwork = c.FloatingIPPool
		}
		c.FloatingIPPool = ""
	}
	if c.FloatingIP != "" && c.ReuseIPs {
		errs = append(errs, fmt.Errorf("floating_ip and reuse_ips are both set: a given floating IP is never reused from the pool, set only one"))
	}
	if c.FloatingIP != "" && c.FloatingIPNetwork != "" {
		errs = append(errs, fmt.Errorf("floating_ip and floating_ip_network are both set: a given floating IP already has its network, set only one"))
	}
	if c.ReuseIPs && c.FloatingIPNetwork == "" {
		errs = append(errs, fmt.Errorf("reuse_ips needs floating_ip_network: the network whose free floating IPs may be reused"))
	}
	if c.InstanceFloatingIPNet != "" && c.FloatingIP == "" && c.FloatingIPNetwork == "" {
		errs = append(errs, fmt.Errorf("instance_floating_ip_net is set without floating_ip or floating_ip_network"))
	}
	switch c.SSHIPVersion {
	case "", "4", "6":
	default:
		errs = append(errs, fmt.Errorf("ssh_ip_version %q must be 4 or 6", c.SSHIPVersion))
	}

	// Boot from volume.
	if !c.UseBlockStorageVolume {
		for name, set := range map[string]bool{
			"volume_name":              c.VolumeName != "",
			"volume_type":              c.VolumeType != "",
			"volume_size":              c.VolumeSize != 0,
			"volume_availability_zone": c.VolumeAvailabilityZone != "",
		} {
			if set {
				errs = append(errs, fmt.Errorf("%s is set without use_blockstorage_volume = true", name))
			}
		}
	}
	if c.VolumeSize < 0 {
		errs = append(errs, fmt.Errorf("volume_size must be a positive number of GiB, not %d", c.VolumeSize))
	}
	if c.UseBlockStorageVolume && c.VolumeAvailabilityZone == "" {
		c.VolumeAvailabilityZone = c.AvailabilityZone
	}

	// Timeouts and stopping.
	if c.StateTimeout < 0 || c.ImageTimeout < 0 || c.ShutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("state_timeout, image_timeout and shutdown_timeout cannot be negative"))
	}
	if c.StateTimeout == 0 {
		c.StateTimeout = defaultStateTimeout
	}
	if c.ImageTimeout == 0 {
		c.ImageTimeout = defaultImageTimeout
	}
	if c.ShutdownTimeout != 0 && c.ShutdownCommand == "" {
		errs = append(errs, fmt.Errorf("shutdown_timeout is set without shutdown_command"))
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = defaultShutdownTimeout
	}
	if c.StopBeforeSnapshot == nil {
		stop := true
		c.StopBeforeSnapshot = &stop
	}
	if !*c.StopBeforeSnapshot {
		if c.ShutdownCommand != "" {
			errs = append(errs, fmt.Errorf("shutdown_command is set with stop_before_snapshot = false: the server would be snapshotted while shutting down"))
		}
		if c.UseBlockStorageVolume {
			errs = append(errs, fmt.Errorf("stop_before_snapshot = false cannot be used with use_blockstorage_volume: the server is deleted before Cinder uploads the volume"))
		}
	}

	// Communicator. The temporary key is ed25519 unless WinRM needs RSA to decrypt
	// the administrator password Nova keeps.
	if c.Comm.SSHTemporaryKeyPairType == "" {
		if c.Comm.Type == "winrm" {
			c.Comm.SSHTemporaryKeyPairType = "rsa"
		} else {
			c.Comm.SSHTemporaryKeyPairType = "ed25519"
		}
	}
	if c.Comm.Type == "winrm" && c.Comm.WinRMPassword == "" && c.Comm.SSHPrivateKeyFile == "" && c.Comm.SSHTemporaryKeyPairType != "rsa" {
		errs = append(errs, fmt.Errorf("temporary_key_pair_type %q cannot decrypt the WinRM password Nova keeps: use rsa, or set winrm_password", c.Comm.SSHTemporaryKeyPairType))
	}
	if c.Comm.SSHKeyPairName != "" {
		if c.Comm.Type == "winrm" && c.Comm.WinRMPassword == "" && c.Comm.SSHPrivateKeyFile == "" {
			errs = append(errs, fmt.Errorf("ssh_keypair_name with the winrm communicator needs winrm_password or ssh_private_key_file (to decrypt the password Nova keeps)"))
		}
		if c.Comm.Type != "winrm" && c.Comm.SSHPrivateKeyFile == "" && !c.Comm.SSHAgentAuth {
			errs = append(errs, fmt.Errorf("ssh_keypair_name needs ssh_private_key_file or ssh_agent_auth = true to log in with that key"))
		}
	}
	errs = append(errs, c.Comm.Prepare(ctx)...)
	return warnings, errs
}

// StopFirst reports whether the server is stopped before the snapshot.
func (c *RunConfig) StopFirst() bool { return c.StopBeforeSnapshot == nil || *c.StopBeforeSnapshot }

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}
