package imagecopy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
)

// Result is what a run copied.
type Result struct {
	// Copies are the finished copies, in copy_to order.
	Copies []*Copy
	// Warnings are the copies that failed with copy_failure "warn".
	Warnings []string
}

// Copy is one finished copy.
type Copy struct {
	// Block is the copy_to block's index (0-based).
	Block int
	// Target names the block in messages.
	Target string
	// Region is the copy's catalog region; Cloud its clouds.yaml entry when it
	// is another cloud's.
	Region, Cloud string
	ImageID, Name string
	// Method is MethodGlanceDownload or MethodStream.
	Method string

	existing  []imagepolicy.Image
	imgs      imagepolicy.Images
	protected bool
}

// Images is the image service of the copy, in the image policy's view (for
// retention and clean-up per region).
func (c *Copy) Images() imagepolicy.Images { return c.imgs }

// ReplaceOlder deletes, in each copy's project, the images that had the copy's
// name before (image_force), now that the build has succeeded. A failure is
// ImageIDs are the copies' image IDs (none for a nil result).
func (r *Result) ImageIDs() []string {
	if r == nil {
		return nil
	}
	ids := make([]string, 0, len(r.Copies))
	for _, c := range r.Copies {
		ids = append(ids, c.ImageID)
	}
	return ids
}

// reported and not fatal, as for the image itself.
func (r *Result) ReplaceOlder(ctx context.Context, say func(string)) {
	if r == nil {
		return
	}
	for _, c := range r.Copies {
		imagepolicy.ReplaceOlder(ctx, c.imgs, c.existing, c.ImageID, func(line string) { say(c.Target + ": " + line) })
	}
}

// Delete deletes every copy (a build that fails after the copies were made);
// a copy this run protected is unprotected first. A second call does nothing.
func (r *Result) Delete(ctx context.Context, say func(string)) error {
	if r == nil {
		return nil
	}
	var errs []error
	var kept []*Copy
	for _, c := range r.Copies {
		say(fmt.Sprintf("Deleting the copy %s in %s, as the build did not succeed...", c.ImageID, c.Target))
		if err := imagepolicy.DeleteUnfinished(ctx, c.imgs, c.ImageID, c.protected); err != nil {
			errs = append(errs, fmt.Errorf("deleting the copy %s in %s: %w (delete it by hand)", c.ImageID, c.Target, err))
			kept = append(kept, c)
		}
	}
	r.Copies = kept
	return errors.Join(errs...)
}

// Placement is one image of a build, for its artifact: the source first, then
// each copy.
type Placement struct {
	// Key names the image in ImageIDs and in the artifact's ID: its region;
	// another cloud's region is "cloud/region"; a second image in the same
	// place gets "/name" appended.
	Key     string
	Region  string
	Cloud   string
	ImageID string
	Name    string
}

// Where names the image's place for people: its region, or "cloud/region".
func (p Placement) Where() string {
	region := p.Region
	if region == "" {
		region = "the default region"
	}
	if p.Cloud != "" {
		return p.Cloud + "/" + region
	}
	return region
}

// Placements lists the source image and its copies.
func Placements(region, imageID, name string, r *Result) []Placement {
	out := []Placement{{Region: region, ImageID: imageID, Name: name}}
	if r != nil {
		for _, c := range r.Copies {
			out = append(out, Placement{Region: c.Region, Cloud: c.Cloud, ImageID: c.ImageID, Name: c.Name})
		}
	}
	taken := map[string]bool{}
	for i := range out {
		p := &out[i]
		key := p.Region
		if key == "" {
			key = "default"
		}
		if p.Cloud != "" {
			key = p.Cloud + "/" + key
		}
		if taken[key] {
			key += "/" + p.Name
		}
		p.Key = key
		taken[key] = true
	}
	return out
}

// ArtifactID is "key:id" of every image joined by commas, the source first.
func ArtifactID(ps []Placement) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Key + ":" + p.ImageID
	}
	return strings.Join(parts, ",")
}

// ImageIDs maps each image's key to its ID.
func ImageIDs(ps []Placement) map[string]string {
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.Key] = p.ImageID
	}
	return m
}

// ImageIDsJSON is ImageIDs as a JSON object (keys sorted), the form it takes in
// generated_data: Packer's build variables are strings, numbers, booleans and
// lists, and a map there would fail every later post-processor. Templates read
// it with jsondecode(build.ImageIDs)["kz-ala-1"].
func ImageIDsJSON(ps []Placement) string {
	b, _ := json.Marshal(ImageIDs(ps)) // a map of strings always encodes
	return string(b)
}
