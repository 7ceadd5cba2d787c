//go:generate packer-sdc mapstructure-to-hcl2 -type DatasourceOutput
//go:generate packer-sdc struct-markdown

package image

import (
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/internal/imagefind"
)

// DatasourceOutput is what the data source returns about the image it found.
type DatasourceOutput struct {
	// The image ID, for `source_image` or `openstack_compute_instance_v2.image_id`.
	ID string `mapstructure:"id"`
	// The image name.
	Name string `mapstructure:"name"`
	// When the image was created, in RFC 3339 format (UTC).
	CreatedAt string `mapstructure:"created_at"`
	// When the image was last changed, in RFC 3339 format (UTC).
	UpdatedAt string `mapstructure:"updated_at"`
	// The ID of the project that owns the image.
	Owner string `mapstructure:"owner"`
	// The image visibility: `public`, `private`, `shared` or `community`.
	Visibility string `mapstructure:"visibility"`
	// The image status, `active` unless the `status` option asked for another.
	Status string `mapstructure:"status"`
	// The image tags.
	Tags []string `mapstructure:"tags"`
	// Every other attribute Glance lists for the image (its properties, such
	// as `os_distro`, plus `os_hash_algo`, `os_hash_value`, `stores` and
	// similar), as strings. Values that are not strings in Glance's answer,
	// such as numbers, lists or null, are rendered as JSON.
	Properties map[string]string `mapstructure:"properties"`
	// The container format, such as `bare`.
	ContainerFormat string `mapstructure:"container_format"`
	// The disk format, such as `qcow2`.
	DiskFormat string `mapstructure:"disk_format"`
	// The minimum disk size, in GiB, a server booted from the image needs.
	MinDisk int `mapstructure:"min_disk"`
	// The minimum RAM, in MiB, a server booted from the image needs.
	MinRAM int `mapstructure:"min_ram"`
	// The size of the image data, in bytes.
	Size int64 `mapstructure:"size"`
	// The MD5 checksum of the image data (empty on clouds that no longer set it).
	Checksum string `mapstructure:"checksum"`
	// The algorithm of `os_hash_value`, usually `sha512`.
	OSHashAlgo string `mapstructure:"os_hash_algo"`
	// The hash of the image data, computed by Glance with `os_hash_algo`.
	OSHashValue string `mapstructure:"os_hash_value"`
	// Whether the image is protected from deletion.
	Protected bool `mapstructure:"protected"`
	// Whether the image is hidden from the default image list (`os_hidden`).
	Hidden bool `mapstructure:"hidden"`
	// The region of the Glance endpoint the image was found in.
	Region string `mapstructure:"region"`
}

// OutputFrom describes img as the data source returns it.
func OutputFrom(img *images.Image, region string) DatasourceOutput {
	props := make(map[string]string, len(img.Properties))
	for k, v := range img.Properties {
		props[k] = imagefind.RenderProperty(v)
	}
	tags := img.Tags
	if tags == nil {
		tags = []string{}
	}
	hashAlgo, _ := img.Properties["os_hash_algo"].(string)
	hashValue, _ := img.Properties["os_hash_value"].(string)
	return DatasourceOutput{
		ID:              img.ID,
		Name:            img.Name,
		CreatedAt:       formatTime(img.CreatedAt),
		UpdatedAt:       formatTime(img.UpdatedAt),
		Owner:           img.Owner,
		Visibility:      string(img.Visibility),
		Status:          string(img.Status),
		Tags:            tags,
		Properties:      props,
		ContainerFormat: img.ContainerFormat,
		DiskFormat:      img.DiskFormat,
		MinDisk:         img.MinDiskGigabytes,
		MinRAM:          img.MinRAMMegabytes,
		Size:            img.SizeBytes,
		Checksum:        img.Checksum,
		OSHashAlgo:      hashAlgo,
		OSHashValue:     hashValue,
		Protected:       img.Protected,
		Hidden:          img.Hidden,
		Region:          region,
	}
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
