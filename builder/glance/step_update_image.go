package glance

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
)

// stepUpdateImage sets visibility, properties, tags, minimum sizes, protection and
// hiding, records where the image came from, and removes the snapshot's
// bookkeeping properties (drop_image_properties), all in a single PATCH that
// sends only what differs from the image as it became active; then it adds the
// members (Glance has no bulk call for them).
//
// Uses: config, cloud, image, source_image, source_import_url. Produces: image
// (updated view).
type stepUpdateImage struct{}

// provenance is what the new image records about how it was made.
type provenance struct {
	// props are source_image_id, source_image_name and base_image_ref (or
	// source_image_url for an imported source) and packer_build_name.
	props map[string]string
	// imported says the server booted from a temporary import of
	// external_source_image_url, deleted after the build: Nova's base_image_ref
	// then names an image that no longer exists.
	imported bool
}

// provenanceOf reads the source of the build from the state.
func provenanceOf(state multistep.StateBag) provenance {
	cfg := configOf(state)
	p := provenance{props: map[string]string{}}
	if cfg.PackerBuildName != "" {
		p.props["packer_build_name"] = cfg.PackerBuildName
	}
	if url := stringOf(state, stateSourceImportURL); url != "" {
		p.imported = true
		p.props["source_image_url"] = access.RedactURLString(url)
		return p
	}
	if src, ok := state.Get(stateSourceImage).(*Image); ok && src != nil {
		p.props["source_image_id"] = src.ID
		p.props["base_image_ref"] = src.ID
		if src.Name != "" {
			p.props["source_image_name"] = src.Name
		}
	}
	return p
}

// imageUpdate computes the changes the image still needs.
func imageUpdate(cfg *Config, img *Image, prov provenance) ImageUpdate {
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

	drop := map[string]bool{}
	for _, k := range cfg.DropImageProperties {
		drop[k] = true
	}
	want := map[string]string{}
	if _, set := cfg.ImageProperties["image_type"]; !set && !drop["image_type"] && img.Properties["image_type"] == "snapshot" {
		// Nova marks snapshots image_type=snapshot, and dashboards list those
		// apart from images; a golden image is an image.
		want["image_type"] = "image"
	}
	for k, v := range prov.props {
		if !drop[k] {
			want[k] = v
		}
	}
	for k, v := range cfg.ImageProperties {
		want[k] = v // the template's own value wins over provenance
	}
	for k, v := range want {
		if cur, ok := img.Properties[k]; !ok || cur != v {
			if u.Properties == nil {
				u.Properties = map[string]string{}
			}
			u.Properties[k] = v
		}
	}

	// Glance refuses to remove a property the image lacks, so only keys it has
	// are removed. An imported source's base_image_ref names the temporary image,
	// deleted after the build; it goes too, unless drop_image_properties = []
	// asks to keep everything Nova wrote.
	if prov.imported && len(cfg.DropImageProperties) > 0 {
		drop["base_image_ref"] = true
	}
	for k := range drop {
		if _, has := img.Properties[k]; has {
			if _, keep := want[k]; !keep {
				u.Remove = append(u.Remove, k)
			}
		}
	}
	sort.Strings(u.Remove)
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
	u := imageUpdate(cfg, img, provenanceOf(state))
	if !u.Empty() {
		ui.Sayf("Setting the visibility, properties and tags of image %s...", img.ID)
		if len(u.Remove) > 0 {
			ui.Sayf("Removing the snapshot's properties about the temporary server: %s", strings.Join(u.Remove, ", "))
		}
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
