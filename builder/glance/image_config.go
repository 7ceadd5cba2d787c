//go:generate packer-sdc struct-markdown

package glance

import (
	"fmt"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
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
	// Properties to remove from the new image. A Nova snapshot inherits
	// bookkeeping about the temporary server and whoever ran the build, which
	// points at a deleted server once the build is over. Only the keys the image
	// has are removed, in the same request that sets the other properties; a key
	// also set in `image_properties` is an error. `[]` keeps every property.
	// Defaults to `["instance_uuid", "user_id", "owner_user_name",
	// "owner_project_name", "owner_id", "boot_roles", "image_location",
	// "image_state"]`. The image gets provenance instead (see
	// the builder's "Image properties" section); a provenance key listed here is
	// not set, except `packer_build_uuid`, which is always kept.
	DropImageProperties []string `mapstructure:"drop_image_properties" required:"false"`
	// Build and provision the server, but make no image; the build then has no
	// artifact. Useful to test provisioning. Defaults to `false`.
	SkipCreateImage bool `mapstructure:"skip_create_image" required:"false"`
	// Build even when the project already owns images named `image_name`, and
	// delete them once the new image is active. `packer build -force` does the
	// same. Defaults to `false`.
	ImageForce bool `mapstructure:"image_force" required:"false"`
}

var volumeDiskFormats = []string{"raw", "qcow2", "vmdk", "vdi", "vhd", "vhdx"}

// DefaultDropImageProperties are the properties Nova puts on a snapshot about
// the temporary server and the user who ran the build; the builder removes
// them unless drop_image_properties says otherwise.
var DefaultDropImageProperties = []string{
	"instance_uuid", "user_id", "owner_user_name", "owner_project_name", "owner_id",
	"boot_roles", "image_location", "image_state",
}

// Prepare fills defaults and checks the image options; it makes no network call.
func (c *ImageConfig) Prepare(ctx *interpolate.Context, useVolume bool) (warnings []string, errs []error) {
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

	spec := c.spec()
	errs = append(errs, spec.Prepare(imagepolicy.BuilderOptions)...)
	c.ImageVisibility = spec.Visibility

	if c.DropImageProperties == nil {
		c.DropImageProperties = append([]string(nil), DefaultDropImageProperties...)
	} else {
		errs = append(errs, imagepolicy.CheckList("drop_image_properties", c.DropImageProperties)...)
		errs = append(errs, imagepolicy.CheckPropertyNames("drop_image_properties", c.DropImageProperties, "removed")...)
		for _, k := range c.DropImageProperties {
			if k == imagepolicy.MarkerProperty {
				errs = append(errs, fmt.Errorf("drop_image_properties: %s marks the image with the build that made it and is always kept", k))
			}
			if _, set := c.ImageProperties[k]; set {
				errs = append(errs, fmt.Errorf("drop_image_properties and image_properties both name %q: keep it in one of them", k))
			}
		}
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

// spec is the image the options describe, for the image policy.
func (c *ImageConfig) spec() imagepolicy.Spec {
	return imagepolicy.Spec{
		Name: c.ImageName, Visibility: c.ImageVisibility, Properties: c.ImageProperties, Tags: c.ImageTags,
		MinDisk: c.ImageMinDisk, MinRAM: c.ImageMinRAM, Protected: c.ImageProtected, Hidden: c.ImageHidden,
		Members: c.ImageMembers, AutoAcceptMembers: c.ImageAutoAcceptMembers,
	}
}
