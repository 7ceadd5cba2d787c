// Package image is the glance-image data source: it finds one Glance image.
//
// The lookup itself is a reusable API for the builder's source_image_filter
// and source_image_name: Filter (the options, with mapstructure tags and an
// HCL2 spec, to embed in a config), Query (Filter plus most_recent and sort),
// and Finder.Find / Find, which take the Glance call through the Lister
// interface (GlanceLister is the gophercloud implementation; NewFinder builds
// one from a session).
package image

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/hcl2helper"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/zclconf/go-cty/cty"
)

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
	return d.config.prepare(raws...)
}

// Execute authenticates, finds the image and returns its description.
func (d *Datasource) Execute() (cty.Value, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d.config.Timeout)
	defer cancel()
	out, err := d.find(ctx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("the image lookup did not finish within timeout (%s): %w", d.config.Timeout, err)
		}
		return cty.NullVal(cty.EmptyObject), fmt.Errorf("glance-image: %w", err)
	}
	return hcl2helper.HCL2ValueFromConfig(out, d.OutputSpec()), nil
}

func (d *Datasource) find(ctx context.Context) (DatasourceOutput, error) {
	sess, err := d.config.AccessConfig.Authenticate(ctx)
	if err != nil {
		return DatasourceOutput{}, err
	}
	img, region, err := lookup(ctx, sess, d.config.Query())
	if err != nil {
		return DatasourceOutput{}, err
	}
	return OutputFrom(img, region), nil
}
