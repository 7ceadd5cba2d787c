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
	// The URL of a disk image to start from. It is imported into Glance as a
	// temporary image named `packer_<build-uuid>_source`, the server boots from it,
	// and it is deleted after the build. Glance downloads the URL itself
	// (`web-download`) when the cloud offers that method and the file needs no
	// help; otherwise the plugin streams it into Glance, decompressing it on the
	// way (the `glance-import` post-processor's engine). A failed import fails the
	// build at once.
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
	// Address ranges, such as `10.0.0.0/8`, to find the server's network by:
	// the network of the first subnet (in Neutron's order) whose CIDR lies
	// within one of them, as the `openstack` builder does. Used only when neither
	// `networks` nor `ports` is set.
	NetworkDiscoveryCIDRs []string `mapstructure:"network_discovery_cidrs" required:"false"`
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
	// A file whose content is passed as user data. When `user_data` is set too,
	// the file wins and `user_data` is ignored with a warning.
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
	// use; it is detached again after the build and never deleted. It wins over
	// `floating_ip_network` and `reuse_ips`, which are then ignored with a
	// warning.
	FloatingIP string `mapstructure:"floating_ip" required:"false"`
	// The external network to allocate a new floating IP from, by name or ID. The
	// IP is released after the build.
	FloatingIPNetwork string `mapstructure:"floating_ip_network" required:"false"`
	// Deprecated: use `floating_ip_network`. Accepted for templates written for the
	// `openstack` builder; ignored when `floating_ip_network` is set.
	FloatingIPPool string `mapstructure:"floating_ip_pool" required:"false"`
	// Give the server a floating IP. With `true` the build needs somewhere to get
	// it: `floating_ip_network` (or `floating_ip_pool`) to allocate it from,
	// `floating_ip`, or `reuse_ips`. Any of those attaches a floating IP anyway, so
	// the option states the intent and catches a template that forgot the
	// network. Defaults to `false`.
	UseFloatingIP bool `mapstructure:"use_floating_ip" required:"false"`
	// Reuse a free floating IP instead of allocating one: one of
	// `floating_ip_network` (a new one is allocated there when none is free), or,
	// without `floating_ip_network`, any free floating IP of the project (the build
	// fails when there is none), as the `openstack` builder does. Two builds may
	// pick the same address, so avoid it for concurrent builds. Defaults to
	// `false`.
	ReuseIPs bool `mapstructure:"reuse_ips" required:"false"`
	// The network, by name or ID, whose port receives the floating IP when the
	// server has several. Defaults to the first port of the server. Ignored, with
	// a warning, when the server gets no floating IP.
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
	// disk; the image is then made with Cinder's upload-to-image. Without it the
	// `volume_*` options are ignored, with a warning. Defaults to `false`.
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

	// Deprecated: does nothing here. Accepted, with a warning, for templates
	// written for the `openstack` builder, where it waited for Rackspace
	// RackConnect to configure the server.
	RackconnectWait bool `mapstructure:"rackconnect_wait" required:"false"`
	// Deprecated: does nothing here (the `openstack` builder ignored it too).
	// Accepted, with a warning, for templates written for that builder.
	OpenstackProvider string `mapstructure:"openstack_provider" required:"false"`
	// Deprecated: does nothing here. The `openstack` builder waited this many
	// seconds after the image became active; this builder uses the image once
	// Glance reports it `active`, within `image_timeout`. Accepted, with a warning,
	// for templates written for that builder.
	ImageCreationWait int `mapstructure:"image_creation_wait" required:"false"`

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
			warnings = append(warnings, "source_image_filter.most_recent is ignored: the filter has no filters { ... }")
			c.SourceImageFilter.MostRecent = false
		}
	} else {
		q := imagefind.Query{Filter: c.SourceImageFilter.Filters, MostRecent: c.SourceImageFilter.MostRecent}
		errs = append(errs, q.Validate("source_image_filter.filters.")...)
	}
	if c.ExternalSourceImageURL != "" {
		if !strings.HasPrefix(c.ExternalSourceImageURL, "http://") && !strings.HasPrefix(c.ExternalSourceImageURL, "https://") {
			errs = append(errs, fmt.Errorf("external_source_image_url must be an http or https URL (Glance or the plugin downloads it)"))
		}
		if c.ExternalSourceImageFormat == "" {
			c.ExternalSourceImageFormat = "qcow2"
		}
	} else {
		if c.ExternalSourceImageFormat != "" {
			warnings = append(warnings, "external_source_image_format is ignored without external_source_image_url")
			c.ExternalSourceImageFormat = ""
		}
		if len(c.ExternalSourceImageProperties) > 0 {
			warnings = append(warnings, "external_source_image_properties is ignored without external_source_image_url")
			c.ExternalSourceImageProperties = nil
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
		warnings = append(warnings, "user_data is ignored: user_data_file is set too, and the file wins (as in the openstack builder)")
		c.UserData = ""
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
	errs = append(errs, imagepolicy.CheckList("network_discovery_cidrs", c.NetworkDiscoveryCIDRs)...)
	for _, cidr := range c.NetworkDiscoveryCIDRs {
		if _, _, err := net.ParseCIDR(cidr); err != nil && cidr != "" {
			errs = append(errs, fmt.Errorf("network_discovery_cidrs: %q is not a CIDR such as 10.0.0.0/8", cidr))
		}
	}
	if len(c.NetworkDiscoveryCIDRs) > 0 && len(c.Networks)+len(c.Ports) > 0 {
		warnings = append(warnings, "network_discovery_cidrs is ignored: networks or ports name the server's networks")
		c.NetworkDiscoveryCIDRs = nil
	}

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
	for i, cidr := range c.TemporarySecurityGroupSourceCIDRs {
		_, ipnet, err := net.ParseCIDR(cidr)
		if err != nil {
			errs = append(errs, fmt.Errorf("temporary_security_group_source_cidrs: %q is not a CIDR such as 203.0.113.0/24", cidr))
			continue
		}
		// In Neutron's own form (203.0.113.5/24 is stored as 203.0.113.0/24),
		// so a rule whose create reply was lost is found by what it allows.
		c.TemporarySecurityGroupSourceCIDRs[i] = ipnet.String()
	}

	// Floating IP. Where the openstack builder let one option win over another,
	// so does this builder, with a warning instead of silence.
	if c.FloatingIPPool != "" {
		warnings = append(warnings, "floating_ip_pool is deprecated: use floating_ip_network")
		switch {
		case c.FloatingIPNetwork == "":
			c.FloatingIPNetwork = c.FloatingIPPool
		case c.FloatingIPNetwork != c.FloatingIPPool:
			warnings = append(warnings, fmt.Sprintf("floating_ip_pool %q is ignored: floating_ip_network %q is set", c.FloatingIPPool, c.FloatingIPNetwork))
		}
		c.FloatingIPPool = ""
	}
	if c.FloatingIP != "" && c.ReuseIPs {
		warnings = append(warnings, "reuse_ips is ignored: floating_ip names the address to use")
		c.ReuseIPs = false
	}
	if c.FloatingIP != "" && c.FloatingIPNetwork != "" {
		warnings = append(warnings, "floating_ip_network is ignored: floating_ip names the address to use")
		c.FloatingIPNetwork = ""
	}
	wantsFloatingIP := c.FloatingIP != "" || c.FloatingIPNetwork != "" || c.ReuseIPs
	if c.UseFloatingIP && !wantsFloatingIP {
		errs = append(errs, fmt.Errorf("use_floating_ip = true needs floating_ip_network (or floating_ip_pool): the external network to allocate the address from; or floating_ip, or reuse_ips"))
	}
	if c.InstanceFloatingIPNet != "" && !wantsFloatingIP {
		warnings = append(warnings, "instance_floating_ip_net is ignored: the server gets no floating IP (set floating_ip_network)")
		c.InstanceFloatingIPNet = ""
	}
	switch c.SSHIPVersion {
	case "", "4", "6":
	default:
		errs = append(errs, fmt.Errorf("ssh_ip_version %q must be 4 or 6", c.SSHIPVersion))
	}

	// Boot from volume.
	if !c.UseBlockStorageVolume {
		for _, o := range []struct {
			name  string
			set   bool
			clear func()
		}{
			{"volume_name", c.VolumeName != "", func() { c.VolumeName = "" }},
			{"volume_type", c.VolumeType != "", func() { c.VolumeType = "" }},
			{"volume_size", c.VolumeSize != 0, func() { c.VolumeSize = 0 }},
			{"volume_availability_zone", c.VolumeAvailabilityZone != "", func() { c.VolumeAvailabilityZone = "" }},
		} {
			if o.set {
				warnings = append(warnings, fmt.Sprintf("%s is ignored without use_blockstorage_volume = true", o.name))
				o.clear()
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

	// Options of the openstack builder that have no effect here.
	if c.RackconnectWait {
		warnings = append(warnings, "rackconnect_wait is deprecated and does nothing here (it waited for Rackspace RackConnect in the openstack builder): remove it")
	}
	if c.OpenstackProvider != "" {
		warnings = append(warnings, "openstack_provider is deprecated and does nothing here: remove it")
	}
	if c.ImageCreationWait != 0 {
		warnings = append(warnings, "image_creation_wait is deprecated and does nothing here: the image is used once Glance reports it active (within image_timeout); remove it")
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
