package glanceimport

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// lostLookupPause separates the two looks of findLost: a create cut off by
// Ctrl-C may still be running inside Glance when cleanup first looks.
var lostLookupPause = 2 * time.Second

// cleanupLost deletes the image a create call without a usable reply made, if it
// finds one, and says so in the returned error.
func (im *importer) cleanupLost(err error) error {
	lost, lerr := im.findLost()
	if lerr != nil {
		return fmt.Errorf("%w; looking for an image the interrupted create may have made also failed (check for a queued image named %q): %v", err, im.req.Image.Name, lerr)
	}
	if len(lost) == 0 {
		return err
	}
	var ids []string
	for _, img := range lost {
		ids = append(ids, img.ID)
	}
	if im.req.KeepFailedImage {
		return fmt.Errorf("%w (image %s, made although the create call failed, was kept: keep_failed_image is set)", err, strings.Join(ids, ", "))
	}
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	for _, id := range ids {
		if derr := im.g.DeleteImage(ctx, id); derr != nil && !osapi.IsNotFound(derr) {
			return fmt.Errorf("%w; the create call made image %s anyway, and deleting it failed: %v", err, id, derr)
		}
		log.Printf("[INFO] glance-import: deleted image %s, made by a create call whose reply was lost", id)
	}
	return fmt.Errorf("%w (image %s, made although the create call failed, was deleted)", err, strings.Join(ids, ", "))
}

// findLost lists the images carrying this import's marker, of the request's
// project, made since the create call began: what the failed create call made.
func (im *importer) findLost() ([]Image, error) {
	ctx, cancel := retry.CleanupContext()
	defer cancel()
	imgs := im.images()
	found, err := retry.LookTwice(ctx, lostLookupPause, func(ctx context.Context) ([]imagepolicy.Image, error) {
		return imagepolicy.FindLost(ctx, imgs, im.req.Marker, im.createStarted)
	})
	if err != nil {
		return nil, err
	}
	out := make([]Image, 0, len(found))
	for _, img := range found {
		out = append(out, Image{ID: img.ID, Name: img.Name})
	}
	return out, nil
}
