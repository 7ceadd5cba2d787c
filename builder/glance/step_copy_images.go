package glance

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/imagecopy"
	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// State keys of the copies.
const (
	stateCopier = "copier" // *imagecopy.Copier, once the targets were checked
	stateCopies = "copies" // *imagecopy.Result: the copies made
)

// stepCheckCopies reaches every copy_to target before anything is created, so
// a build that could not publish its image fails in seconds rather than after
// provisioning: it logs in to other clouds, finds each region's Glance and
// applies the name rules (image_force) in each target's project.
//
// Uses: config, cloud, build_uuid. Produces: copier.
type stepCheckCopies struct{}

func (s *stepCheckCopies) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	if cloud.Copies == nil {
		return halt(state, errors.New("copy_to is set, but this cloud connection cannot copy images (this is a bug in the plugin)"))
	}
	copier := imagecopy.New(cloud.Copies, cfg.Config, imagecopy.Options{
		Name: cfg.ImageName, Members: cfg.ImageMembers, AutoAcceptMembers: cfg.ImageAutoAcceptMembers,
		Force: cfg.ImageForce, Marker: stringOf(state, stateBuildUUID), Say: ui.Say,
		Track: func(name string, total int64, r io.ReadCloser) io.ReadCloser {
			return ui.TrackProgress(name, 0, total, r)
		},
	})
	ui.Sayf("Checking the %d copy_to target(s)...", len(cfg.CopyTo))
	if err := copier.Check(ctx); err != nil {
		return halt(state, err)
	}
	state.Put(stateCopier, copier)
	return multistep.ActionContinue
}

func (s *stepCheckCopies) Cleanup(multistep.StateBag) {}

// stepCopyImages copies the finished image to every copy_to target. Its
// clean-up, and Builder.Run when the build fails later, delete the copies: a
// build that does not succeed leaves no image in any region.
//
// Uses: copier, image. Produces: copies.
type stepCopyImages struct {
	made *imagecopy.Result
}

func (s *stepCopyImages) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := uiOf(state)
	copier := state.Get(stateCopier).(*imagecopy.Copier)
	img := state.Get(stateImage).(*Image)
	ui.Sayf("Copying image %s to %d target(s)...", img.ID, len(configOf(state).CopyTo))
	res, err := copier.Copy(ctx, img.ID)
	if err != nil {
		return halt(state, fmt.Errorf("copying image %s: %w", img.ID, err))
	}
	for _, w := range res.Warnings {
		ui.Error("Warning: a copy failed and was left out (copy_failure = \"warn\"): " + w)
	}
	s.made = res
	state.Put(stateCopies, res)
	return multistep.ActionContinue
}

func (s *stepCopyImages) Cleanup(state multistep.StateBag) {
	if buildFailed(state) {
		s.undo(state)
	}
}

// undo deletes the copies; a second call does nothing.
func (s *stepCopyImages) undo(state multistep.StateBag) {
	if s.made == nil || len(s.made.Copies) == 0 {
		return
	}
	ui := uiOf(state)
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	if err := s.made.Delete(ctx, ui.Say); err != nil {
		ui.Error(err.Error())
	}
}

// retireCopies applies keep_latest in each copy's region and project, as
// stepRetireImages does for the image; like it, Builder.Run calls it once the
// build has succeeded, and nothing it meets fails the build.
func retireCopies(ctx context.Context, state multistep.StateBag, copies *imagecopy.Result) {
	r := configOf(state).retention()
	if !r.Enabled() || copies == nil {
		return
	}
	ui := uiOf(state)
	made := append([]string{stringOf(state, stateImageID)}, copies.ImageIDs()...)
	for _, c := range copies.Copies {
		say := func(line string) { ui.Say(c.Target + ": " + line) }
		if _, err := imagepolicy.Retire(ctx, c.Images(), r, c.ImageID, made, say); err != nil {
			ui.Error("Warning: " + c.Target + ": " + err.Error() + " (nothing was retired there)")
		}
	}
}
