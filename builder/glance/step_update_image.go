package glance

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
)

// stepUpdateImage sets visibility, properties, tags, minimum sizes, protection and
// hiding in a single PATCH, sending only what differs from the image as it became
// active, then adds the members (Glance has no bulk call for them).
//
// Uses: config, cloud, image. Produces: image (updated view).
type stepUpdateImage struct{}

// imageUpdate computes the changes the image still needs.
func imageUpdate(cfg *Config, img *Image) ImageUpdate {
	var u ImageUpdate
	if cfg.ImageVisibility != img.Visibility {
		v := cfg.ImageVisibility
		u.Visibility = &v
	}
	if cfg.ImageTags != nil && !sameSet(cfg.ImageTags, img.Tags) {
		tags := append([]string(nil), cfg.ImageTags...)
		u.Tags = &tags
	}
	if cfg.ImageMinDisk > 0 && cfg.ImageMinDisk != img.MinDisk {
		v := cfg.ImageMinDisk
		u.MinDisk = &v
	}
	if cfg.ImageMinRAM > 0 && cfg.ImageMinRAM != img.MinRAM {
		v := cfg.ImageMinRAM
		u.MinRAM = &v
	}
	if cfg.ImageProtected != img.Protected {
		v := cfg.ImageProtected
		u.Protected = &v
	}
	if cfg.ImageHidden != img.Hidden {
		v := cfg.ImageHidden
		u.Hidden = &v
	}
	want := cfg.ImageProperties
	if _, set := want["image_type"]; !set && img.Properties["image_type"] == "snapshot" {
		// Nova marks snapshots image_type=snapshot, and dashboards list those
		// apart from images; a golden image is an image.
		want = map[string]string{"image_type": "image"}
		for k, v := range cfg.ImageProperties {
			want[k] = v
		}
	}
	for k, v := range want {
		if cur, ok := img.Properties[k]; !ok || cur != v {
			if u.Properties == nil {
				u.Properties = map[string]string{}
			}
			u.Properties[k] = v
		}
	}
	return u
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

func (s *stepUpdateImage) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	cfg, cloud, ui := configOf(state), cloudOf(state), uiOf(state)
	img := state.Get(stateImage).(*Image)
	u := imageUpdate(cfg, img)
	if !u.Empty() {
		ui.Sayf("Setting the visibility, properties and tags of image %s...", img.ID)
		if err := cloud.Images.UpdateImage(ctx, img.ID, u); err != nil {
			err = imagepolicy.ExplainVisibilityRefusal(err, cfg.ImageVisibility)
			return halt(state, fmt.Errorf("updating image %s: %w", img.ID, err))
		}
		img = u.Apply(*img)
		state.Put(stateImage, img)
	}
	if err := imagepolicy.Share(ctx, cloud.Images, img.ID, cfg.ImageMembers, cfg.ImageAutoAcceptMembers, ui.Say); err != nil {
		return halt(state, err)
	}
	return multistep.ActionContinue
}

func (s *stepUpdateImage) Cleanup(multistep.StateBag) {}
