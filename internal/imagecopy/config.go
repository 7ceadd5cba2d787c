//go:generate packer-sdc mapstructure-to-hcl2 -type Target
//go:generate packer-sdc struct-markdown

package imagecopy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
)

// Config publishes the finished image to other regions and clouds: the glance
// builder and the glance-import post-processor embed it, with the same options.
// Each `copy_to` block is one more image, copied from the finished one (whose
// data is read once, however many targets there are) and verified against its
// hash. Nothing here touches the network while Packer validates a template.
type Config struct {
	// Where to copy the finished image; repeat the block for each target. See
	// the `copy_to` section.
	CopyTo []Target `mapstructure:"copy_to" required:"false"`
	// How long all the copies together may take, such as `"90m"`. A copy that
	// has not finished by then fails. Defaults to `60m`.
	CopyTimeout time.Duration `mapstructure:"copy_timeout" required:"false"`
	// What a failed copy does to the build. `fail` (the default): the build
	// fails naming the target, the copies still running are cancelled, and the
	// build leaves no image in any region. `warn`: the failed copy's image is
	// deleted, the other copies are kept and the build succeeds with a warning.
	CopyFailure string `mapstructure:"copy_failure" required:"false"`
}

// Target is one `copy_to` block: a region of the same cloud, or another
// `clouds.yaml` entry, and what to change in the copy. Unset options copy the
// finished image's: its data, disk and container format, properties, tags,
// minimum disk and RAM, visibility, members, hidden and protected flags.
type Target struct {
	// A region of the same cloud, reached with the same credentials. With
	// `cloud`, the region of that cloud (default: the entry's `region_name`).
	// At least one of `region` and `cloud` must be set.
	Region string `mapstructure:"region" required:"false"`
	// Another entry of `clouds.yaml`, logged in to with its own credentials, as
	// `openstack --os-cloud NAME` would (`OS_*` variables still apply).
	Cloud string `mapstructure:"cloud" required:"false"`
	// The copy's name. Defaults to the finished image's name. As for the image
	// itself, the build refuses to start a copy into a project that already has
	// an image of this name, unless `image_force` (or `-force`) is set; then the
	// older images are deleted once the build has succeeded.
	Name string `mapstructure:"name" required:"false"`
	// The copy's visibility: `private`, `shared`, `community` or `public`.
	// Defaults to the image's, or `shared` when `members` is set.
	Visibility string `mapstructure:"visibility" required:"false"`
	// Project IDs to share the copy with, instead of the image's members (which
	// are copied only when the copy's visibility is `shared`).
	Members []string `mapstructure:"members" required:"false"`
	// Properties to set on the copy, replacing the image's of the same name.
	Properties map[string]string `mapstructure:"properties" required:"false"`
	// Tags of the copy, instead of the image's.
	Tags []string `mapstructure:"tags" required:"false"`
	// Whether the copy is protected against deletion. Defaults to the image's
	// setting. Protection is set last, once everything else succeeded.
	Protected *bool `mapstructure:"protected" required:"false"`
}

// Failure policies of copy_failure.
const (
	FailBuild = "fail"
	WarnOnly  = "warn"
)

// DefaultTimeout is copy_timeout's default.
const DefaultTimeout = 60 * time.Minute

// Base is what the component's own options say about the image, for the checks
// of the targets: the names of those options, and their values.
type Base struct {
	Name       string
	Visibility string
	Members    []string
	// Region is the source's region when the options name one ("" otherwise).
	Region string
	// Options are the component's option names, for messages.
	Options imagepolicy.Options
}

// label names one block in messages: `copy_to block 2 (region kz-ala-1)`.
func (t *Target) label(i int) string {
	var where []string
	if t.Cloud != "" {
		where = append(where, "cloud "+t.Cloud)
	}
	if t.Region != "" {
		where = append(where, "region "+t.Region)
	}
	return fmt.Sprintf("copy_to block %d (%s)", i+1, strings.Join(where, ", "))
}

// Prepare fills the defaults and checks every option, with no network call; the
// errors name the option and the block.
func (c *Config) Prepare(base Base) []error {
	var errs []error
	switch c.CopyFailure {
	case "":
		c.CopyFailure = FailBuild
	case FailBuild, WarnOnly:
	default:
		errs = append(errs, fmt.Errorf("copy_failure %q is not one of %q or %q", c.CopyFailure, FailBuild, WarnOnly))
	}
	switch {
	case c.CopyTimeout < 0:
		errs = append(errs, fmt.Errorf("copy_timeout must be positive, not %s", c.CopyTimeout))
	case c.CopyTimeout == 0:
		c.CopyTimeout = DefaultTimeout
	}
	seen := map[string]int{}
	for i := range c.CopyTo {
		t := &c.CopyTo[i]
		label := t.label(i)
		if t.Region == "" && t.Cloud == "" {
			errs = append(errs, fmt.Errorf("copy_to block %d: set region (a region of the same cloud), cloud (another clouds.yaml entry) or both", i+1))
			continue
		}
		errs = append(errs, t.spec(base).Prepare(targetOptions(label))...)
		if t.Visibility == "" && len(t.Members) > 0 {
			t.Visibility = "shared"
		}
		name := t.Name
		if name == "" {
			name = base.Name
		}
		if t.Cloud == "" && base.Region != "" && t.Region == base.Region && name == base.Name {
			errs = append(errs, fmt.Errorf("%s: that is the image's own region; give the copy another name, or remove the block", label))
		}
		key := t.Cloud + "\x00" + t.Region + "\x00" + name
		if j, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("%s copies to the same place under the same name %q as copy_to block %d", label, name, j+1))
		}
		seen[key] = i
	}
	return errs
}

// targetOptions names the block's options for the image policy's messages.
func targetOptions(label string) imagepolicy.Options {
	o := func(name string) string { return label + " " + name }
	return imagepolicy.Options{Name: o("name"), Visibility: o("visibility"), Properties: o("properties"), Tags: o("tags"),
		MinDisk: o("min_disk"), MinRAM: o("min_ram"), Members: o("members"), AutoAccept: "image_auto_accept_members"}
}

// spec is the copy as the options describe it before the source image is read,
// for the image policy's checks: the block's overrides over the component's
// values.
func (t *Target) spec(base Base) *imagepolicy.Spec {
	s := &imagepolicy.Spec{Name: t.Name, Visibility: t.Visibility, Members: t.Members, Properties: t.Properties, Tags: t.Tags}
	if s.Name == "" {
		s.Name = base.Name
	}
	if s.Name == "" {
		s.Name = "(the image's name)" // the component reports a missing image name itself
	}
	if s.Visibility == "" && len(t.Members) == 0 {
		s.Visibility = base.Visibility
	}
	if t.Members == nil && s.Visibility == "shared" {
		s.Members = slices.Clone(base.Members)
	}
	return s
}
