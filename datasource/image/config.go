//go:generate packer-sdc mapstructure-to-hcl2 -type Config
//go:generate packer-sdc struct-markdown

package image

import (
	"fmt"
	"log"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/imagefind"
)

// DefaultTimeout bounds a lookup when `timeout` is unset.
const DefaultTimeout = 5 * time.Minute

// Config is the glance-image data source's configuration: how to reach the
// cloud, which images qualify (Filter) and how to pick one of them.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`
	access.AccessConfig `mapstructure:",squash"`
	imagefind.Filter    `mapstructure:",squash"`

	// When several images match, take the newest by `created_at`; images
	// created in the same second are ordered by name, then by ID, and the
	// greatest wins. Defaults to `false`: several matches are an error that
	// lists them. Glance is asked for the images newest first, so the search
	// stops at the first page holding an older image.
	MostRecent bool `mapstructure:"most_recent" required:"false"`
	// The order Glance lists images in, as `key[:asc|desc]` separated by
	// commas, such as `name:asc,created_at:desc`. Glance sorts by `name`,
	// `status`, `container_format`, `disk_format`, `size`, `id`, `created_at`
	// and `updated_at` only; the direction defaults to `desc`. It orders the
	// images named when several match. Defaults to Glance's order, newest
	// first. Conflicts with `most_recent`, which sorts by itself.
	Sort string `mapstructure:"sort" required:"false"`
	// How long the whole lookup (authentication included) may take, such as
	// `90s` or `10m`. Defaults to `5m`.
	Timeout time.Duration `mapstructure:"timeout" required:"false"`
}

// Query is the lookup the configuration describes.
func (c *Config) Query() imagefind.Query {
	return imagefind.Query{Filter: c.Filter, MostRecent: c.MostRecent, Sort: c.Sort}
}

// prepare decodes and validates the configuration; it makes no network call.
func (c *Config) prepare(raws ...interface{}) error {
	if err := config.Decode(c, nil, raws...); err != nil {
		return err
	}
	var errs *packersdk.MultiError
	warnings, accessErrs := c.AccessConfig.Prepare()
	for _, w := range warnings {
		// A data source cannot return warnings; the log keeps them.
		log.Printf("[WARN] glance-image: %s", w)
	}
	errs = packersdk.MultiErrorAppend(errs, accessErrs...)
	errs = packersdk.MultiErrorAppend(errs, c.Query().Validate("")...)
	if c.Timeout < 0 {
		errs = packersdk.MultiErrorAppend(errs, fmt.Errorf("timeout is %s: it must be positive", c.Timeout))
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}
