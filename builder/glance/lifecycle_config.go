//go:generate packer-sdc mapstructure-to-hcl2 -type VerifyConfig
//go:generate packer-sdc struct-markdown

package glance

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/communicator"

	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
)

// LifecycleConfig puts the image in a family, keeps the family short, and
// boot-tests the image before it is promoted.
type LifecycleConfig struct {
	// The image's family, such as `golden-fedora`: the builder sets it as the
	// property `image_family` once the image is finished (verified, when
	// `verify` is set), and the `glance-image` data source's `family` finds
	// the newest image of it. An `image_family` the source image carries is
	// never inherited, so a build from the newest image of a family does not
	// join that family unasked: without this option the property is blanked.
	ImageFamily string `mapstructure:"image_family" required:"false"`
	// Keep only this many images of `image_family` (the new one included) in
	// the project: once the build has succeeded, older images of the family
	// owned by the project are retired (`retire_action`). Images are ranked by
	// `created_at`; hidden ones count, so an image hidden by hand still takes
	// a place; only active images count and are retired. Other projects'
	// images of the family are never touched. A retirement Glance refuses is
	// reported and skipped, not fatal. `packer build -force` does not change
	// it. Needs `image_family`. Defaults to `0`: nothing is retired.
	KeepLatest int `mapstructure:"keep_latest" required:"false"`
	// What happens to a retired image: `hide` sets `os_hidden = true` and the
	// property `retired_at` (RFC 3339 time), so the image stays bootable by ID
	// but leaves image lists and the data source's lookups; `delete` deletes
	// it, except a protected image, which is hidden instead. Defaults to
	// `hide`.
	RetireAction string `mapstructure:"retire_action" required:"false"`
	// Boot-test the image before it is promoted. See the `verify` section.
	Verify VerifyConfig `mapstructure:"verify" required:"false"`
}

// VerifyConfig is a boot test of the new image: a server booted from it,
// reached with the build's communicator settings, runs the commands.
type VerifyConfig struct {
	// Commands run, one after the other, on a server booted from the new image
	// (through the build's communicator, as the communicator's user: use sudo
	// where root is needed). Each must exit 0: the first that does not fails
	// the build, and the image is deleted. Their output is shown. Setting it
	// turns the boot test on.
	Inline []string `mapstructure:"inline" required:"false"`
	// The flavor of the test server, by name or ID. Defaults to `flavor`. The
	// server gets the build's networks, ports, security groups, keypair,
	// availability zone, config drive and instance metadata, and its floating
	// IP, but no user data.
	Flavor string `mapstructure:"flavor" required:"false"`
	// How long the whole test may take: booting the server, connecting, and
	// running the commands. Defaults to `15m`.
	Timeout time.Duration `mapstructure:"timeout" required:"false"`

	// The communicator address the template set (ssh_host, winrm_host), kept
	// before the build's connection overwrites it with the build server's.
	sshHost, winrmHost string
}

const defaultVerifyTimeout = 15 * time.Minute

// lifecycleOptions names the builder's lifecycle options in messages.
var lifecycleOptions = imagepolicy.LifecycleOptions{
	Family: "image_family", Keep: "keep_latest", Action: "retire_action", Properties: "image_properties",
}

// Verifies reports whether the image is boot-tested before it is promoted.
func (c *LifecycleConfig) Verifies() bool { return len(c.Verify.Inline) > 0 }

// retention is the retention the options ask for.
func (c *LifecycleConfig) retention() imagepolicy.Retention {
	return imagepolicy.Retention{Family: c.ImageFamily, Keep: c.KeepLatest, Action: c.RetireAction}
}

// Prepare checks the lifecycle options and puts the family among the image's
// properties; it makes no network call. It runs after the image and run
// options are prepared.
func (c *LifecycleConfig) Prepare(img *ImageConfig, run *RunConfig) (warnings []string, errs []error) {
	r := c.retention()
	errs = append(errs, r.Prepare(lifecycleOptions, img.ImageProperties)...)
	c.RetireAction = r.Action
	if c.ImageFamily != "" {
		if img.ImageProperties == nil {
			img.ImageProperties = map[string]string{}
		}
		img.ImageProperties[imagepolicy.FamilyProperty] = c.ImageFamily
	}
	if img.SkipCreateImage {
		for name, set := range map[string]bool{
			"image_family": c.ImageFamily != "", "keep_latest": c.KeepLatest != 0, "verify": c.Verifies(),
		} {
			if set {
				errs = append(errs, fmt.Errorf("%s is set with skip_create_image: no image is made", name))
			}
		}
	}

	v := &c.Verify
	if !c.Verifies() {
		if v.Flavor != "" || v.Timeout != 0 {
			errs = append(errs, fmt.Errorf("verify.flavor and verify.timeout need verify.inline: the commands that check the image"))
		}
		return warnings, errs
	}
	for i, cmd := range v.Inline {
		if strings.TrimSpace(cmd) == "" {
			errs = append(errs, fmt.Errorf("verify.inline[%d] is empty", i))
		}
	}
	if v.Timeout < 0 {
		errs = append(errs, fmt.Errorf("verify.timeout cannot be negative"))
	}
	if v.Timeout == 0 {
		v.Timeout = defaultVerifyTimeout
	}
	switch run.Comm.Type {
	case "none":
		errs = append(errs, fmt.Errorf("verify needs a communicator to run its commands: communicator is \"none\""))
	case "winrm":
		if run.Comm.WinRMPassword == "" {
			errs = append(errs, fmt.Errorf("verify with the winrm communicator needs winrm_password: the password Nova keeps for the build's server is not the test server's"))
		}
	}
	v.sshHost, v.winrmHost = run.Comm.SSHHost, run.Comm.WinRMHost
	return warnings, errs
}

// verifyComm is the communicator configuration that reaches the test server: the
// build's, with the address the template gave (if any) instead of the build
// server's, which the build's connection stored in it.
func (c *Config) verifyComm() communicator.Config {
	comm := c.Comm
	comm.SSHHost, comm.WinRMHost = c.Verify.sshHost, c.Verify.winrmHost
	return comm
}
