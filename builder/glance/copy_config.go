package glance

import (
	"errors"

	"github.com/packer-glance/packer-plugin-glance/internal/imagecopy"
	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
)

// prepareCopies checks the copy_to blocks, copy_timeout and copy_failure
// (imagecopy.Config, embedded in Config) against the image options; it makes
// no network call.
func (c *Config) prepareCopies() []error {
	errs := c.Config.Prepare(imagecopy.Base{
		Name: c.ImageName, Visibility: c.ImageVisibility, Members: c.ImageMembers, Region: c.Region,
		Options: imagepolicy.BuilderOptions,
	})
	if c.SkipCreateImage && len(c.CopyTo) > 0 {
		errs = append(errs, errors.New("copy_to is set with skip_create_image: no image is made, so none is copied"))
	}
	return errs
}
