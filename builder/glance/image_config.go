//go:generate packer-sdc struct-markdown

package glance

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
)

// ImageConfig describes the Glance image the build produces.
type ImageConfig struct {
	// The name of the new image. By default the build refuses to start when the
	// project already owns an image of this name (see `image_force`).
	ImageName string `mapstructure:"image_name" required:"true"`
	// Who can see the image: `private`, `shared`, `community` or `public`
	// (`public` usually needs an administrator). Defaults to `private`, or
	// `shared` when `image_members` is set.
	ImageVisibility string `mapstructure:"image_visibility" required:"false"`
	// Glance properties of the image, such as `os_distro`, `os_version`,
	// `hw_disk_bus` or `hw_qemu_guest_agent`. They are added to the properties
	// the image inherits from its source image, replacing those of the same name.
	// Unless set here, `image_type` becomes `image` (Nova marks snapshots
	// `snapshot`, which dashboards list apart from images).
	ImageProperties map[string]string `mapstructure:"image_properties" required:"false"`
	// Alias of `image_properties`, the name the `openstack` builder uses. Both may
	// be set if they do not disagree on a key.
	Metadata map[string]string `mapstructure:"metadata" required:"false"`
	// Tags of the image. They replace any tags the snapshot inherits.
	ImageTags []string `mapstructure:"image_tags" required:"false"`
	// Project IDs to share the image with. The image's visibility must be
	// `shared` (the default when members are set).
	ImageMembers []string `mapstructure:"image_members" required:"false"`
	// Accept the membership on behalf of each member project, so the image shows
	// up in their image lists at once. This needs rights in those projects.
	// Defaults to `false`.
	ImageAutoAcceptMembers bool `mapstructure:"image_auto_accept_members" required:"false"`
	// The minimum disk size in GiB a server needs to boot the image. Defaults to
	// what the snapshot inherits.
	ImageMinDisk int `mapstructure:"image_min_disk" required:"false"`
	// The minimum RAM in MiB a server needs to boot the image. Defaults to what
	// the snapshot inherits.
	ImageMinRAM int `mapstructure:"image_min_ram" required:"false"`
	// Protect the image against deletion. Defaults to `false`.
	ImageProtected bool `mapstructure:"image_protected" required:"false"`
	// Hide the image from default image lists (`os_hidden`). Defaults to
	// `false`.
	ImageHidden bool `mapstructure:"image_hidden" required:"false"`
	// The disk format Cinder writes when `use_blockstorage_volume` is true:
	// `raw`, `qcow2`, `vmdk`, `vdi`, `vhd` or `vhdx`. Defaults to `raw`.
	ImageDiskFormat string `mapstructure:"image_disk_format" required:"false"`
	// Build and provision the server, but make no image; the build then has no
	// artifact. Useful to test provisioning. Defaults to `false`.
	SkipCreateImage bool `mapstructure:"skip_create_image" required:"false"`
	// Build even when the project already owns images named `image_name`, and
	// delete them once the new image is active. `packer build -force` does the
	// same. Defaults to `false`.
	ImageForce bool `mapstructure:"image_force" required:"false"`
}

// propertyName is what Glance accepts as a property key.
var propertyName = regexp.MustCompile(`^[A-Za-z0-9_:.\-]{1,255}$`)

// reservedProperties are set by Glance itself; a PATCH naming them fails with 403.
var reservedProperties = []string{"os_glance_", "os_hash_", "direct_url", "locations", "owner_specified."}

var volumeDiskFormats = []string{"raw", "qcow2", "vmdk", "vdi", "vhd", "vhdx"}

// Prepare fills defaults and checks the image options; it makes no network call.
func (c *ImageConfig) Prepare(ctx *interpolate.Context, useVolume bool) (warnings []string, errs []error) {
	if c.ImageName == "" {
		errs = append(errs, fmt.Errorf("image_name must be set"))
	} else if len(c.ImageName) > 255 {
		errs = append(errs, fmt.Errorf("image_name is longer than Glance's 255 characters"))
	}

	switch c.ImageVisibility {
	case "":
		c.ImageVisibility = "private"
		if len(c.ImageMembers) > 0 {
			c.ImageVisibility = "shared"
		}
	case "public", "private", "shared", "community":
		if len(c.ImageMembers) > 0 && c.ImageVisibility != "shared" {
			errs = append(errs, fmt.Errorf("image_members needs image_visibility = \"shared\", not %q", c.ImageVisibility))
		}
	default:
		errs = append(errs, fmt.Errorf("image_visibility %q is not one of private, shared, community or public", c.ImageVisibility))
	}
	if c.ImageAutoAcceptMembers && len(c.ImageMembers) == 0 {
		errs = append(errs, fmt.Errorf("image_auto_accept_members is set without image_members"))
	}
	errs = append(errs, checkListEntries("image_members", c.ImageMembers)...)
	errs = append(errs, checkListEntries("image_tags", c.ImageTags)...)

	// metadata is the openstack builder's name for the same map.
	merged := map[string]string{}
	for k, v := range c.Metadata {
		merged[k] = v
	}
	for k, v := range c.ImageProperties {
		if old, ok := c.Metadata[k]; ok && old != v {
			errs = append(errs, fmt.Errorf("image_properties and metadata disagree on %q (%q, %q): set it in image_properties only", k, v, old))
		}
		merged[k] = v
	}
	if len(merged) > 0 {
		c.ImageProperties = merged
	}
	c.Metadata = nil
	for k := range c.ImageProperties {
		if !propertyName.MatchString(k) {
			errs = append(errs, fmt.Errorf("image_properties: %q is not a valid Glance property name", k))
			continue
		}
		for _, r := range reservedProperties {
			if strings.HasPrefix(k, r) {
				errs = append(errs, fmt.Errorf("image_properties: %q is reserved by Glance and cannot be set", k))
			}
		}
		switch k {
		case "name", "visibility", "tags", "min_disk", "min_ram", "protected", "os_hidden", "status", "id", "owner", "size", "checksum", "disk_format", "container_format", "created_at", "updated_at":
			errs = append(errs, fmt.Errorf("image_properties: %q is an image field, not a property: use the matching image_* option", k))
		}
	}

	if c.ImageMinDisk < 0 {
		errs = append(errs, fmt.Errorf("image_min_disk must be 0 or more GiB, not %d", c.ImageMinDisk))
	}
	if c.ImageMinRAM < 0 {
		errs = append(errs, fmt.Errorf("image_min_ram must be 0 or more MiB, not %d", c.ImageMinRAM))
	}

	if c.ImageDiskFormat != "" {
		if !useVolume {
			errs = append(errs, fmt.Errorf("image_disk_format needs use_blockstorage_volume = true: a Nova snapshot keeps the server's disk format"))
		} else if !oneOf(c.ImageDiskFormat, volumeDiskFormats) {
			errs = append(errs, fmt.Errorf("image_disk_format %q is not one of %s", c.ImageDiskFormat, strings.Join(volumeDiskFormats, ", ")))
		}
	}
	if useVolume && c.ImageDiskFormat == "" {
		c.ImageDiskFormat = "raw"
	}

	if c.SkipCreateImage {
		if c.ImageForce {
			errs = append(errs, fmt.Errorf("image_force is set with skip_create_image: no image is made, so none is replaced"))
		}
	}
	return warnings, errs
}
