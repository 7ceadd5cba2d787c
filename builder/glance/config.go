//go:generate packer-sdc mapstructure-to-hcl2 -type Config
//go:generate packer-sdc struct-markdown

package glance

import (
	"errors"

	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	glancecommon "github.com/packer-glance/packer-plugin-glance/common"
)

// Config is the glance builder's configuration.
type Config struct {
	common.PackerConfig       `mapstructure:",squash"`
	glancecommon.AccessConfig `mapstructure:",squash"`

	// The name of the Glance image to create.
	ImageName string `mapstructure:"image_name" required:"true"`

	ctx interpolate.Context
}

// Prepare decodes and validates the template's settings without touching the cloud.
func (c *Config) Prepare(raws ...interface{}) (warnings []string, err error) {
	if err := config.Decode(c, &config.DecodeOpts{
		PluginType:         BuilderID,
		Interpolate:        true,
		InterpolateContext: &c.ctx,
	}, raws...); err != nil {
		return nil, err
	}
	var errs *packersdk.MultiError
	warnings, accessErrs := c.AccessConfig.Prepare()
	errs = packersdk.MultiErrorAppend(errs, accessErrs...)
	if c.ImageName == "" {
		errs = packersdk.MultiErrorAppend(errs, errors.New("image_name must be set"))
	}
	if errs != nil && len(errs.Errors) > 0 {
		return warnings, errs
	}
	return warnings, nil
}
