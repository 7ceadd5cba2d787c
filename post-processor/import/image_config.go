//go:generate packer-sdc struct-markdown

package importpp

import (
	"fmt"
	"strings"
	"time"
)

// ImageConfig describes the Glance image to create.
type ImageConfig struct {
	// The name of the new image. In HCL templates, build it with HCL functions,
	// such as `"base-${formatdate("YYYYMMDD", timestamp())}"`; JSON templates may
	// use `{{timestamp}}`.
	ImageName string `mapstructure:"image_name" required:"true"`
	// The container format: `bare`, `ovf`, `aki`, `ari`, `ami`, `ova`, `docker` or
	// `compressed`. Defaults to `bare`.
	ContainerFormat string `mapstructure:"container_format" required:"false"`
	// The disk format of the data as Glance stores it (after the plugin's
	// decompression): `qcow2`, `raw`, `vmdk`, `vhd`, `vhdx`, `vdi`, `iso`, `ploop`,
	// `aki`, `ari`, `ami`, or `auto` to detect `qcow2`, `vmdk`, `vhdx`, `vhd` and `iso`
	// from the data's first bytes (anything else is `raw`; with `web-download` the URL's
	// extension decides). Defaults to `qcow2`.
	DiskFormat string `mapstructure:"disk_format" required:"false"`
	// Who can see the image: `private`, `shared`, `community` or `public`. Defaults to
	// `private` (Glance's own default would be `shared`).
	Visibility string `mapstructure:"visibility" required:"false"`
	// Properties to set on the image, such as `os_distro`, `hw_qemu_guest_agent` or
	// `hw_disk_bus`. Keys starting with `os_glance` are reserved by Glance.
	Properties map[string]string `mapstructure:"properties" required:"false"`
	// Tags to set on the image.
	Tags []string `mapstructure:"tags" required:"false"`
	// The minimum root disk size in GiB needed to boot the image. Defaults to `0`.
	MinDisk int `mapstructure:"min_disk" required:"false"`
	// The minimum RAM in MiB needed to boot the image. Defaults to `0`.
	MinRAM int `mapstructure:"min_ram" required:"false"`
	// Protect the image from deletion. Defaults to `false`. A protected image cannot
	// be replaced by `image_force` or removed by a failed import's cleanup until it is
	// unprotected.
	Protected bool `mapstructure:"protected" required:"false"`
	// Hide the image from default image lists (`os_hidden`). Sent only when `true`.
	// Defaults to `false`.
	Hidden bool `mapstructure:"hidden" required:"false"`
	// Project IDs to share the image with; needs `visibility = "shared"`.
	ImageMembers []string `mapstructure:"image_members" required:"false"`
	// Accept the membership of `image_members` on their behalf, so the image shows
	// in their lists at once; the credentials must be allowed to do so. Defaults to
	// `false`.
	ImageAutoAcceptMembers bool `mapstructure:"image_auto_accept_members" required:"false"`
	// The Glance stores to import into, on clouds with several stores. Needs an import
	// method (`web-download` or `glance-direct`; `auto` then streams with
	// `glance-direct`). Conflicts with `all_stores`.
	Stores []string `mapstructure:"stores" required:"false"`
	// Import into every store of the cloud. Conflicts with `stores`. Defaults to
	// `false`.
	AllStores bool `mapstructure:"all_stores" required:"false"`
	// With `stores` or `all_stores`: whether one failing store fails the import.
	// Sent only when set, because Glance refuses it on single-store clouds; Glance's
	// default is `true`.
	AllStoresMustSucceed *bool `mapstructure:"all_stores_must_succeed" required:"false"`
	// Replace existing images of the same name (owned by the same project): they are
	// deleted once the new image is active. Without it, an existing image of that name
	// is an error, reported before any data is sent. Defaults to `false`.
	ImageForce bool `mapstructure:"image_force" required:"false"`
	// Keep the half-made image when the import fails, for debugging. Defaults to
	// `false`: every failure, including Ctrl-C, deletes it.
	KeepFailedImage bool `mapstructure:"keep_failed_image" required:"false"`
	// How long the whole import may take, transfer and Glance's processing included,
	// such as `90m`. Defaults to `60m`.
	ImportTimeout time.Duration `mapstructure:"import_timeout" required:"false"`

	// The `glance` builder's names of the options above are accepted too, so a
	// block of image settings can move between the builder and this
	// post-processor. Setting an option under both names is an error.

	// Alias of `visibility` (the `glance` builder's name).
	ImageVisibility string `mapstructure:"image_visibility" required:"false"`
	// Alias of `properties` (the `glance` builder's name).
	ImageProperties map[string]string `mapstructure:"image_properties" required:"false"`
	// Alias of `properties` (the `openstack` and `glance` builders' older name).
	Metadata map[string]string `mapstructure:"metadata" required:"false"`
	// Alias of `tags` (the `glance` builder's name).
	ImageTags []string `mapstructure:"image_tags" required:"false"`
	// Alias of `min_disk` (the `glance` builder's name).
	ImageMinDisk int `mapstructure:"image_min_disk" required:"false"`
	// Alias of `min_ram` (the `glance` builder's name).
	ImageMinRAM int `mapstructure:"image_min_ram" required:"false"`
	// Alias of `protected` (the `glance` builder's name).
	ImageProtected bool `mapstructure:"image_protected" required:"false"`
	// Alias of `hidden` (the `glance` builder's name).
	ImageHidden bool `mapstructure:"image_hidden" required:"false"`
}

// aliases moves the builder's option names to this post-processor's, and
// refuses an option set under two names; set reports whether the template
// set a key.
func (i *ImageConfig) aliases(set func(key string) bool) []error {
	var errs []error
	one := func(names ...string) string {
		var given []string
		for _, n := range names {
			if set(n) {
				given = append(given, n)
			}
		}
		if len(given) > 1 {
			quantity := "both"
			if len(given) > 2 {
				quantity = "all"
			}
			errs = append(errs, fmt.Errorf("%s are %s set: they name one option, set it once", strings.Join(given, " and "), quantity))
		}
		if len(given) == 0 {
			return ""
		}
		return given[len(given)-1]
	}
	switch one("visibility", "image_visibility") {
	case "image_visibility":
		i.Visibility = i.ImageVisibility
	}
	switch one("properties", "image_properties", "metadata") {
	case "image_properties":
		i.Properties = i.ImageProperties
	case "metadata":
		i.Properties = i.Metadata
	}
	if one("tags", "image_tags") == "image_tags" {
		i.Tags = i.ImageTags
	}
	if one("min_disk", "image_min_disk") == "image_min_disk" {
		i.MinDisk = i.ImageMinDisk
	}
	if one("min_ram", "image_min_ram") == "image_min_ram" {
		i.MinRAM = i.ImageMinRAM
	}
	if one("protected", "image_protected") == "image_protected" {
		i.Protected = i.ImageProtected
	}
	if one("hidden", "image_hidden") == "image_hidden" {
		i.Hidden = i.ImageHidden
	}
	i.ImageVisibility, i.ImageProperties, i.Metadata, i.ImageTags = "", nil, nil, nil
	i.ImageMinDisk, i.ImageMinRAM, i.ImageProtected, i.ImageHidden = 0, 0, false, false
	return errs
}
