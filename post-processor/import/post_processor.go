//go:generate packer-sdc mapstructure-to-hcl2 -type Config
//go:generate packer-sdc struct-markdown

// Package glanceimport is the glance-import post-processor: it imports an image
// into Glance from a URL, a local file or another builder's artifact.
package glanceimport

import (
	"context"
	"errors"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"

	glancecommon "github.com/packer-glance/packer-plugin-glance/common"
)

// BuilderID identifies artifacts made by this post-processor.
const BuilderID = "packer-glance.glance-import"

// Config is the glance-import post-processor's configuration.
type Config struct {
	common.PackerConfig       `mapstructure:",squash"`
	glancecommon.AccessConfig `mapstructure:",squash"`

	// The name of the Glance image to create.
	ImageName string `mapstructure:"image_name" required:"true"`
}

// PostProcessor implements packersdk.PostProcessor.
type PostProcessor struct {
	config Config
}

var _ packersdk.PostProcessor = new(PostProcessor)

// ConfigSpec describes the post-processor's HCL2 schema.
func (p *PostProcessor) ConfigSpec() hcldec.ObjectSpec { return p.config.FlatMapstructure().HCL2Spec() }

// Configure validates the configuration; it makes no network call.
func (p *PostProcessor) Configure(raws ...interface{}) error {
	if err := config.Decode(&p.config, &config.DecodeOpts{PluginType: BuilderID}, raws...); err != nil {
		return err
	}
	_, errs := p.config.AccessConfig.Prepare()
	if p.config.ImageName == "" {
		errs = append(errs, errors.New("image_name must be set"))
	}
	if len(errs) > 0 {
		return &packersdk.MultiError{Errors: errs}
	}
	return nil
}

// PostProcess authenticates, then stops: the import arrives with the post-processor's own work.
func (p *PostProcessor) PostProcess(ctx context.Context, ui packersdk.Ui, artifact packersdk.Artifact) (packersdk.Artifact, bool, bool, error) {
	if _, err := p.config.AccessConfig.Authenticate(ctx); err != nil {
		return nil, false, false, err
	}
	return nil, false, false, errors.New("the glance-import post-processor's import is not implemented yet")
}
