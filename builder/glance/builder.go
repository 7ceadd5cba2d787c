// Package glance is the glance builder: it boots a temporary Nova server, provisions
// it, and snapshots it into a Glance image.
package glance

import (
	"context"
	"errors"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// BuilderID identifies artifacts made by this builder.
const BuilderID = "packer-glance.glance"

// Builder implements packersdk.Builder.
type Builder struct {
	config Config
}

var _ packersdk.Builder = new(Builder)

// ConfigSpec describes the builder's HCL2 schema.
func (b *Builder) ConfigSpec() hcldec.ObjectSpec { return b.config.FlatMapstructure().HCL2Spec() }

// Prepare validates the configuration; it makes no network call.
func (b *Builder) Prepare(raws ...interface{}) ([]string, []string, error) {
	warnings, err := b.config.Prepare(raws...)
	return nil, warnings, err
}

// Run authenticates, then stops: the build steps arrive with the builder's own work.
func (b *Builder) Run(ctx context.Context, ui packersdk.Ui, hook packersdk.Hook) (packersdk.Artifact, error) {
	if _, err := b.config.AccessConfig.Authenticate(ctx); err != nil {
		return nil, err
	}
	return nil, errors.New("the glance builder's build steps are not implemented yet")
}
