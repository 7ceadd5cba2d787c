//go:generate packer-sdc mapstructure-to-hcl2 -type Config
//go:generate packer-sdc struct-markdown

package glance

import (
	"fmt"
	"net/url"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/imagecopy"
)

// Config is the glance builder's configuration: how to reach the cloud, how to run
// the temporary server, and what image to make of it.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`
	access.AccessConfig `mapstructure:",squash"`
	RunConfig           `mapstructure:",squash"`
	ImageConfig         `mapstructure:",squash"`
	LifecycleConfig     `mapstructure:",squash"`
	imagecopy.Config    `mapstructure:",squash"`

	ctx interpolate.Context
}

// generatedVariables are the names Prepare announces; steps fill them in
// generated_data, and provisioners read them as `build.<Name>`.
var generatedVariables = []string{"SourceImage", "SourceImageName", "ImageName", "Region", "ImageIDs"}

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
	w, es := c.AccessConfig.Prepare()
	warnings = append(warnings, w...)
	errs = packersdk.MultiErrorAppend(errs, es...)

	w, es = c.RunConfig.Prepare(&c.ctx)
	warnings = append(warnings, w...)
	errs = packersdk.MultiErrorAppend(errs, es...)

	w, es = c.ImageConfig.Prepare(&c.ctx, c.UseBlockStorageVolume)
	warnings = append(warnings, w...)
	errs = packersdk.MultiErrorAppend(errs, es...)
	errs = packersdk.MultiErrorAppend(errs, c.prepareCopies()...)

	w, es = c.LifecycleConfig.Prepare(&c.ImageConfig, &c.RunConfig)
	warnings = append(warnings, w...)
	errs = packersdk.MultiErrorAppend(errs, es...)

	if c.UserDataFile != "" {
		if _, err := os.Stat(c.UserDataFile); err != nil {
			errs = packersdk.MultiErrorAppend(errs, fmt.Errorf("user_data_file: %w", err))
		}
	}
	if c.PackerForce {
		c.ImageForce = true
	}
	packersdk.LogSecretFilter.Set(c.Comm.SSHPassword, c.Comm.WinRMPassword, c.Comm.SSHBastionPassword, c.Comm.SSHProxyPassword)
	if u, err := url.Parse(c.ExternalSourceImageURL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			packersdk.LogSecretFilter.Set(pw) // redacted wherever the URL is shown; kept out of any other line too
		}
	}

	if errs != nil && len(errs.Errors) > 0 {
		return warnings, errs
	}
	return warnings, nil
}
