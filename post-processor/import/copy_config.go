package importpp

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/packer-glance/packer-plugin-glance/internal/imagecopy"
	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// prepareCopies checks the copy_to blocks, copy_timeout and copy_failure
// (imagecopy.Config, embedded in Config) against the image options; it makes
// no network call.
func (c *Config) prepareCopies() []error {
	return c.Config.Prepare(imagecopy.Base{
		Name: c.ImageName, Visibility: c.Visibility, Members: c.ImageMembers, Region: c.Region,
		Options: imagepolicy.ImportOptions,
	})
}

// copier checks the copy_to targets before anything is imported, so a
// post-processor that could not publish its image fails before moving data;
// nil without copy_to.
func (c *Config) copier(ctx context.Context, cl *cloud, marker string, ui packersdk.Ui) (*imagecopy.Copier, error) {
	if len(c.CopyTo) == 0 {
		return nil, nil
	}
	if cl.copies == nil {
		return nil, errors.New("copy_to is set, but this cloud connection cannot copy images (this is a bug in the plugin)")
	}
	copier := imagecopy.New(cl.copies, c.Config, imagecopy.Options{
		Name: c.ImageName, Members: c.ImageMembers, AutoAcceptMembers: c.ImageAutoAcceptMembers, Force: c.ImageForce,
		Marker: marker, Say: func(line string) { ui.Say(line) },
		Track: func(name string, total int64, r io.ReadCloser) io.ReadCloser {
			return ui.TrackProgress(name, 0, total, r)
		},
	})
	ui.Sayf("Checking the %d copy_to target(s)...", len(c.CopyTo))
	if err := copier.Check(ctx); err != nil {
		return nil, err
	}
	return copier, nil
}

// copy copies the imported image to the copy_to targets. When that fails, the
// imported image is deleted too: the post-processor leaves no image in any
// region. Once everything succeeded, image_force replaces the older images,
// the image's and each copy's.
func (c *Config) copy(ctx context.Context, copier *imagecopy.Copier, imgs imagepolicy.Images, img *images.Image, older []imagepolicy.Image, ui packersdk.Ui) (*imagecopy.Result, error) {
	if !copier.Enabled() {
		return nil, nil
	}
	res, err := copier.Copy(ctx, img.ID)
	if err != nil {
		dctx, cancel := retry.CleanupContext()
		defer cancel()
		ui.Sayf("Deleting the imported image %s, as its copies failed...", img.ID)
		if derr := imagepolicy.DeleteUnfinished(dctx, imgs, img.ID, c.Protected); derr != nil {
			return nil, fmt.Errorf("copying image %s: %w; deleting the image also failed: %v (delete it by hand)", img.ID, err, derr)
		}
		return nil, fmt.Errorf("copying image %s: %w (the imported image was deleted)", img.ID, err)
	}
	for _, w := range res.Warnings {
		ui.Error("Warning: a copy failed and was left out (copy_failure = \"warn\"): " + w)
	}
	rctx, cancel := retry.CleanupContext()
	defer cancel()
	imagepolicy.ReplaceOlder(rctx, imgs, older, img.ID, func(line string) { ui.Say(line) })
	res.ReplaceOlder(rctx, func(line string) { ui.Say(line) })
	return res, nil
}

// retireCopies applies keep_latest in each copy's region and project, as
// retire does for the image.
func (c *Config) retireCopies(ctx context.Context, ui packersdk.Ui, imageID string, copies *imagecopy.Result) {
	r := c.retention()
	if !r.Enabled() || copies == nil {
		return
	}
	made := append([]string{imageID}, copies.ImageIDs()...)
	for _, cp := range copies.Copies {
		say := func(line string) { ui.Say(cp.Target + ": " + line) }
		if _, err := imagepolicy.Retire(ctx, cp.Images(), r, cp.ImageID, made, say); err != nil {
			ui.Error("Warning: " + cp.Target + ": " + err.Error() + " (nothing was retired there)")
		}
	}
}
