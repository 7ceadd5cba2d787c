//go:generate packer-sdc struct-markdown

package importpp

import (
	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
)

// LifecycleConfig puts the imported image in a family and keeps the family
// short.
type LifecycleConfig struct {
	// The image's family, such as `fedora-base`: set as the property
	// `image_family`, which the `glance-image` data source's `family` finds the
	// newest image of. The image is active, and so found, only once the import
	// has finished.
	ImageFamily string `mapstructure:"image_family" required:"false"`
	// Keep only this many images of `image_family` (the new one included) in
	// the project: once the import is active, older images of the family owned
	// by the project are retired (`retire_action`). Images are ranked by
	// `created_at`; hidden ones count, so an image hidden by hand still takes
	// a place; only active images count and are retired. Other projects'
	// images of the family are never touched. A retirement Glance refuses is
	// reported and skipped, not fatal. Needs `image_family`. Defaults to `0`:
	// nothing is retired.
	KeepLatest int `mapstructure:"keep_latest" required:"false"`
	// What happens to a retired image: `hide` sets `os_hidden = true` and the
	// property `retired_at` (RFC 3339 time); `delete` deletes it, except a
	// protected image, which is hidden instead. Defaults to `hide`.
	RetireAction string `mapstructure:"retire_action" required:"false"`
}

// lifecycleOptions names the post-processor's lifecycle options in messages.
var lifecycleOptions = imagepolicy.LifecycleOptions{
	Family: "image_family", Keep: "keep_latest", Action: "retire_action", Properties: "properties",
}

func (c *LifecycleConfig) retention() imagepolicy.Retention {
	return imagepolicy.Retention{Family: c.ImageFamily, Keep: c.KeepLatest, Action: c.RetireAction}
}

// prepare checks the options and puts the family among the image's properties.
func (c *LifecycleConfig) prepare(img *ImageConfig) []error {
	r := c.retention()
	errs := r.Prepare(lifecycleOptions, img.Properties)
	c.RetireAction = r.Action
	if c.ImageFamily != "" {
		if img.Properties == nil {
			img.Properties = map[string]string{}
		}
		img.Properties[imagepolicy.FamilyProperty] = c.ImageFamily
	}
	return errs
}
