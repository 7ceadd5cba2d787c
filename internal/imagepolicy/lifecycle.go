package imagepolicy

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// FamilyProperty is the property that puts an image in a family: the images
// of one pipeline, newest first, of which the `glance-image` data source's
// `family` picks the newest and retention keeps the newest few.
const FamilyProperty = "image_family"

// RetiredAtProperty records, in RFC 3339, when retention hid an image.
const RetiredAtProperty = "retired_at"

// LifecycleProperties are the properties that say where an image stands in its
// family. A new image never inherits them from its source image: a build from
// the newest image of a family would otherwise join that family (or carry its
// retirement date) before it was verified, or without being asked to.
var LifecycleProperties = []string{FamilyProperty, RetiredAtProperty}

// Retire actions.
const (
	RetireHide   = "hide"
	RetireDelete = "delete"
)

// RetireActions lists the values of retire_action.
var RetireActions = []string{RetireHide, RetireDelete}

// Retention says which images of a family to keep once a new one is made.
type Retention struct {
	// Family is the value of the image_family property; "" means no family.
	Family string
	// Keep is how many images of the family to keep, the new one included;
	// 0 retires nothing.
	Keep int
	// Action is RetireHide or RetireDelete.
	Action string
}

// LifecycleOptions are a component's names for the lifecycle options, for
// messages.
type LifecycleOptions struct {
	Family, Keep, Action, Properties string
}

// Enabled reports whether retention runs.
func (r Retention) Enabled() bool { return r.Family != "" && r.Keep > 0 }

// Prepare fills the default action (hide) and returns every problem with the
// lifecycle options, naming them. props are the image's other properties: an
// image_family there must agree with the family option. It makes no network
// call.
func (r *Retention) Prepare(o LifecycleOptions, props map[string]string) []error {
	var errs []error
	if r.Family != "" {
		switch {
		case strings.TrimSpace(r.Family) == "":
			errs = append(errs, fmt.Errorf("%s is blank: name the family, such as \"golden-fedora\"", o.Family))
		case len(r.Family) > 255:
			errs = append(errs, fmt.Errorf("%s is longer than Glance's 255 characters", o.Family))
		}
		if v, ok := props[FamilyProperty]; ok && v != r.Family {
			errs = append(errs, fmt.Errorf("%s = %q and %s[%q] = %q disagree: set the family with %s only",
				o.Family, r.Family, o.Properties, FamilyProperty, v, o.Family))
		}
	}
	if _, ok := props[RetiredAtProperty]; ok {
		errs = append(errs, fmt.Errorf("%s[%q]: the property is set by retention, not by a template", o.Properties, RetiredAtProperty))
	}
	switch {
	case r.Keep < 0:
		errs = append(errs, fmt.Errorf("%s must be 1 or more, not %d", o.Keep, r.Keep))
	case r.Keep > 0 && r.Family == "":
		errs = append(errs, fmt.Errorf("%s needs %s: retention keeps the newest images of one family", o.Keep, o.Family))
	}
	if r.Action != "" && r.Keep == 0 {
		errs = append(errs, fmt.Errorf("%s is set without %s", o.Action, o.Keep))
	}
	if r.Action == "" {
		r.Action = RetireHide
	}
	if !slices.Contains(RetireActions, r.Action) {
		errs = append(errs, fmt.Errorf("%s %q is not one of %s", o.Action, r.Action, strings.Join(RetireActions, ", ")))
	}
	return errs
}

// Retired is what Retire did.
type Retired struct {
	// Kept are the images of the family kept, newest first.
	Kept []string
	// Hidden are the images hidden now (already hidden ones are not listed).
	Hidden []string
	// Deleted are the images deleted.
	Deleted []string
	// Failed are the images retention could not retire; each was reported.
	Failed []string
}

// Retire applies the retention to the images of one region, now that newID is
// active there (and verified, and copied). It lists the session project's
// images of the family, hidden ones included, and keeps the r.Keep newest by
// created_at (ties: the greater ID), newID always among them. The other images
// this run made (spare: its copies, which may land in the same project under
// another name) are never retired either, and rank right after newID. An image
// hidden by hand still takes a place: retention counts images, not visible
// images. Every older one is retired:
//
//   - hide: os_hidden = true and retired_at = now, unless already hidden;
//   - delete: deleted, except a protected image, which is hidden instead.
//
// Only active images count and are retired: one being made (or deactivated by
// an administrator) is left alone. Another project's image is never listed, so
// never touched. A change Glance refuses (an image still in use on a
// Ceph-backed cloud refuses its delete) is reported and skipped: the new image
// stands. The error is for a failed listing only.
func Retire(ctx context.Context, imgs Images, r Retention, newID string, spare []string, say func(string)) (Retired, error) {
	var out Retired
	if !r.Enabled() {
		return out, nil
	}
	listed, err := imgs.OwnedImagesInFamily(ctx, r.Family)
	if err != nil {
		return out, fmt.Errorf("listing the images of family %q: %w", r.Family, err)
	}
	made := map[string]bool{newID: true}
	for _, id := range spare {
		made[id] = true
	}
	family := ranked(listed, r.Family, newID, made)
	keep := r.Keep
	if !slices.ContainsFunc(family, func(img Image) bool { return img.ID == newID }) {
		// Glance's list may lag behind the new image: it still takes a place.
		out.Kept = append(out.Kept, newID)
		keep--
	}
	if len(family) <= keep {
		for _, img := range family {
			out.Kept = append(out.Kept, img.ID)
		}
		return out, nil
	}
	for _, img := range family[:keep] {
		out.Kept = append(out.Kept, img.ID)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	for _, img := range family[keep:] {
		if made[img.ID] {
			out.Kept = append(out.Kept, img.ID) // this run's own: never retired
			continue
		}
		what := fmt.Sprintf("image %s (%q, created %s)", img.ID, img.Name, img.CreatedAt.UTC().Format(time.RFC3339))
		if r.Action == RetireDelete && !img.Protected {
			say(fmt.Sprintf("Deleting %s: family %q keeps its %d newest (retire_action = delete)", what, r.Family, r.Keep))
			if err := imgs.DeleteImage(ctx, img.ID); err != nil && !isNotFound(err) {
				say(fmt.Sprintf("Warning: Glance refused to delete %s: %v (%s); it is left as it is", what, err, refusalHint(err)))
				out.Failed = append(out.Failed, img.ID)
				continue
			}
			out.Deleted = append(out.Deleted, img.ID)
			continue
		}
		if img.Hidden {
			continue // retired before (or hidden by hand): nothing to do
		}
		if r.Action == RetireDelete {
			say(fmt.Sprintf("Hiding %s instead of deleting it: it is protected", what))
		} else {
			say(fmt.Sprintf("Hiding %s: family %q keeps its %d newest", what, r.Family, r.Keep))
		}
		yes := true
		u := Update{Hidden: &yes, Properties: map[string]string{RetiredAtProperty: now}}
		if err := imgs.UpdateImage(ctx, img.ID, u); err != nil {
			if isNotFound(err) {
				continue // deleted meanwhile: retired all the same
			}
			say(fmt.Sprintf("Warning: Glance refused to hide %s: %v; it is left as it is", what, err))
			out.Failed = append(out.Failed, img.ID)
			continue
		}
		out.Hidden = append(out.Hidden, img.ID)
	}
	return out, nil
}

// ranked keeps the active images of the family (checked again here, whatever
// the listing did) and orders them newest first, newID ahead of all, then the
// other images this run made.
func ranked(listed []Image, family, newID string, made map[string]bool) []Image {
	var out []Image
	seen := map[string]bool{}
	for _, img := range listed {
		if seen[img.ID] || img.Properties[FamilyProperty] != family || img.Status != "active" {
			continue
		}
		seen[img.ID] = true
		out = append(out, img)
	}
	slices.SortStableFunc(out, func(a, b Image) int {
		switch {
		case a.ID == newID:
			return -1
		case b.ID == newID:
			return 1
		case made[a.ID] != made[b.ID]:
			if made[a.ID] {
				return -1
			}
			return 1
		case !a.CreatedAt.Equal(b.CreatedAt):
			return b.CreatedAt.Compare(a.CreatedAt)
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out
}

// refusalHint says why Glance may have refused a delete.
func refusalHint(err error) string {
	switch {
	case gophercloud.ResponseCodeIs(err, http.StatusConflict):
		return "an image still in use, as on a Ceph-backed cloud where volumes and servers are clones of it, cannot be deleted"
	case isForbidden(err):
		return "the image may be protected, or the credentials may not delete it"
	}
	return "delete it by hand once it can go"
}
