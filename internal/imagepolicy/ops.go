package imagepolicy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
)

// ErrProjectUnknown stops every by-name lookup whose result could be changed or
// deleted when the credentials name no project: without one, "the images of
// this name" would be every project's the user can see.
var ErrProjectUnknown = errors.New("the credentials are not scoped to a project, so images cannot be looked up by name safely: " +
	"log in with a project (project_name or project_id, or a project-scoped token or application credential)")

// MarkerProperty carries the marker of the run that made an image (the
// builder's build UUID, or one made per import). It is set when the image is
// created and kept as provenance. Clean-up after a create call whose reply was
// lost deletes only images with its own run's marker.
const MarkerProperty = osapi.MarkerProperty

// FindLost returns the images a create call made although its reply was lost:
// those of the session's project that carry this run's marker and were created
// after the call began (allowing for clock skew). Nothing else is ever returned,
// whatever its name.
func FindLost(ctx context.Context, imgs Images, marker string, callStarted time.Time) ([]Image, error) {
	if marker == "" {
		return nil, errors.New("no marker to look for (this is a bug in the plugin)")
	}
	found, err := imgs.OwnedImagesMarked(ctx, marker)
	if err != nil {
		return nil, err
	}
	var lost []Image
	for _, img := range found {
		if img.Properties[MarkerProperty] != marker {
			continue
		}
		if !img.CreatedAt.IsZero() && !callStarted.IsZero() && img.CreatedAt.Before(callStarted.Add(-osapi.ClockSkew)) {
			continue
		}
		lost = append(lost, img)
	}
	return lost, nil
}

// Naming says what to tell the user about a name that is taken.
type Naming struct {
	// NameOption and ForceOption are the component's option names.
	NameOption, ForceOption string
	// ForceHint is added to the advice, e.g. "(or run packer build -force)".
	ForceHint string
}

// CheckName returns the project's images already named name. Without force a
// taken name is an error that says how to go on; with force the images are
// returned, to be replaced once the new image is active.
func CheckName(ctx context.Context, imgs Images, name string, force bool, n Naming) ([]Image, error) {
	existing, err := imgs.OwnedImagesNamed(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("looking for existing images named %q: %w", name, err)
	}
	if len(existing) == 0 || force {
		return existing, nil
	}
	hint := ""
	if n.ForceHint != "" {
		hint = " " + n.ForceHint
	}
	return existing, fmt.Errorf("the project already has an image named %q (%s): choose another %s, or set %s = true%s to replace it once the new image is active",
		name, strings.Join(IDs(existing), ", "), n.NameOption, n.ForceOption, hint)
}

// IDs lists the images' IDs.
func IDs(imgs []Image) []string {
	ids := make([]string, 0, len(imgs))
	for _, img := range imgs {
		ids = append(ids, img.ID)
	}
	return ids
}

// ReplaceOlder deletes the images that had the name before (found by
// CheckName), now that newID is active. A protected image is never touched: it
// is reported and kept. A failed delete is reported, not fatal: the new image
// stands. It returns the IDs deleted.
func ReplaceOlder(ctx context.Context, imgs Images, old []Image, newID string, say func(string)) []string {
	var replaced []string
	for _, img := range old {
		if img.ID == newID {
			continue
		}
		if img.Protected {
			say(fmt.Sprintf("Warning: not deleting the old image %s: it is protected", img.ID))
			continue
		}
		say(fmt.Sprintf("Deleting the old image %s named %q (image_force)...", img.ID, img.Name))
		if err := imgs.DeleteImage(ctx, img.ID); err != nil && !isNotFound(err) {
			say(fmt.Sprintf("Warning: deleting the old image %s: %v (delete it by hand)", img.ID, err))
			continue
		}
		replaced = append(replaced, img.ID)
	}
	return replaced
}

// Share adds the members to the image and, when asked, accepts it on their
// behalf (which needs rights in each member project).
func Share(ctx context.Context, imgs Images, id string, members []string, autoAccept bool, say func(string)) error {
	for _, m := range members {
		say(fmt.Sprintf("Sharing image %s with project %s...", id, m))
		if err := imgs.AddMember(ctx, id, m); err != nil {
			return fmt.Errorf("adding project %s as a member of image %s: %w", m, id, err)
		}
		if autoAccept {
			if err := imgs.AcceptMember(ctx, id, m); err != nil {
				return fmt.Errorf("accepting image %s on behalf of project %s (image_auto_accept_members needs rights in that project): %w", id, m, err)
			}
		}
	}
	return nil
}

// Protect sets the protected flag, the last change made to a new image: until
// then a failed build can still delete it.
func Protect(ctx context.Context, imgs Images, id string) error {
	yes := true
	if err := imgs.UpdateImage(ctx, id, Update{Protected: &yes}); err != nil {
		return fmt.Errorf("protecting image %s: %w", id, err)
	}
	return nil
}

// DeleteUnfinished deletes an image this run made and did not finish. Only an
// image whose ID the run received may be un-protected, and only when the run
// protected it itself (unprotect); an image found by a lookup never is.
func DeleteUnfinished(ctx context.Context, imgs Images, id string, unprotect bool) error {
	err := imgs.DeleteImage(ctx, id)
	if isForbidden(err) && unprotect {
		no := false
		if uerr := imgs.UpdateImage(ctx, id, Update{Protected: &no}); uerr == nil {
			err = imgs.DeleteImage(ctx, id)
		}
	}
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}
