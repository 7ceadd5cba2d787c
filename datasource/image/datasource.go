//go:generate packer-sdc mapstructure-to-hcl2 -type Config,DatasourceOutput
//go:generate packer-sdc struct-markdown

// Package image is the glance-image data source: it finds one Glance image.
package image

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/common"
	"github.com/hashicorp/packer-plugin-sdk/hcl2helper"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/zclconf/go-cty/cty"

	glancecommon "github.com/packer-glance/packer-plugin-glance/common"
)

// Config is the glance-image data source's configuration.
type Config struct {
	common.PackerConfig       `mapstructure:",squash"`
	glancecommon.AccessConfig `mapstructure:",squash"`

	// The exact name of the image to find.
	Name string `mapstructure:"name" required:"false"`
}

// DatasourceOutput is what the data source returns.
type DatasourceOutput struct {
	// The ID of the image found.
	ID string `mapstructure:"id"`
	// The name of the image found.
	Name string `mapstructure:"name"`
}

// Datasource implements packersdk.Datasource.
type Datasource struct {
	config Config
}

var _ packersdk.Datasource = new(Datasource)

// ConfigSpec describes the data source's HCL2 schema.
func (d *Datasource) ConfigSpec() hcldec.ObjectSpec { return d.config.FlatMapstructure().HCL2Spec() }

// OutputSpec describes the data source's outputs.
func (d *Datasource) OutputSpec() hcldec.ObjectSpec {
	return (&DatasourceOutput{}).FlatMapstructure().HCL2Spec()
}

// Configure validates the configuration; it makes no network call.
func (d *Datasource) Configure(raws ...interface{}) error {
	if err := config.Decode(&d.config, nil, raws...); err != nil {
		return err
	}
	_, errs := d.config.AccessConfig.Prepare()
	if len(errs) > 0 {
		return &packersdk.MultiError{Errors: errs}
	}
	return nil
}

// Execute authenticates, then stops: the lookup arrives with the data source's own work.
func (d *Datasource) Execute() (cty.Value, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := d.config.AccessConfig.Authenticate(ctx); err != nil {
		return cty.NullVal(cty.EmptyObject), err
	}
	return hcl2helper.HCL2ValueFromConfig(DatasourceOutput{}, d.OutputSpec()),
		errors.New("the glance-image data source's lookup is not implemented yet")
}
