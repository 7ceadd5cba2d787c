package osapi

import (
	"context"
	"fmt"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// ImportLockProperty is the property Glance holds while an import task owns the
// image. It is set before the import call returns and removed when the task ends,
// on success and on failure.
const ImportLockProperty = "os_glance_import_task"

// ImageGetter reads one image; tests give a fake, real code wraps images.Get.
type ImageGetter func(ctx context.Context, id string) (*images.Image, error)

// ImageWait says how to wait for an image to become active.
type ImageWait struct {
	// What names the wait in messages, e.g. `snapshot "web-1"`.
	What string
	// Timeout bounds the whole wait; <= 0 means only the context bounds it.
	Timeout time.Duration
	// ImportStarted tells the waiter an import call was accepted (HTTP 202). Glance
	// then reports failure only by putting the image back to `queued` and dropping
	// its import lock, so that combination is a failure, not "still waiting".
	ImportStarted bool
	// Backoff is the polling schedule; the zero value uses DefaultBackoff.
	Backoff retry.Backoff
	// OnStatus, if set, is called whenever the status changes (for progress lines).
	OnStatus func(img *images.Image)
}

// ImageFailedError says an image reached a state it will not recover from.
type ImageFailedError struct {
	ImageID string
	Status  images.ImageStatus
	Reason  string
}

func (e *ImageFailedError) Error() string {
	return fmt.Sprintf("image %s is %s: %s", e.ImageID, e.Status, e.Reason)
}

// WaitForImage polls until the image is active and returns it. After an import it
// also waits for the import task to release the image. It fails at once on killed,
// deleted, pending_delete and deactivated, and, after an import, on queued without
// the import lock (a failed import), with an *ImageFailedError.
func WaitForImage(ctx context.Context, get ImageGetter, id string, w ImageWait) (*images.Image, error) {
	what := w.What
	if what == "" {
		what = "image " + id
	}
	var last *images.Image
	var lastStatus images.ImageStatus
	err := retry.WaitFor(ctx, what+" to become active", w.Timeout, w.Backoff, func(ctx context.Context) (bool, error) {
		img, err := get(ctx, id)
		if err != nil {
			if IsNotFound(err) {
				return false, &ImageFailedError{ImageID: id, Status: images.ImageStatusDeleted, Reason: "it no longer exists"}
			}
			return false, fmt.Errorf("reading %s: %w", what, err)
		}
		last = img
		if img.Status != lastStatus && w.OnStatus != nil {
			w.OnStatus(img)
		}
		lastStatus = img.Status
		return imageDone(img, w.ImportStarted)
	})
	if err != nil {
		return last, err
	}
	return last, nil
}

// imageDone classifies one observation of an image.
func imageDone(img *images.Image, importStarted bool) (bool, error) {
	switch img.Status {
	case images.ImageStatusActive:
		// Glance turns the image active as soon as the first store has the data, and
		// the import task keeps working (further stores, its own bookkeeping) until it
		// drops the lock. Only then are os_glance_failed_import and the stores final,
		// and only then can the image be changed or deleted without racing the task
		// (real Glance answers such a race with a 500).
		return !importStarted || !importLockHeld(img), nil
	case images.ImageStatusKilled:
		return false, &ImageFailedError{ImageID: img.ID, Status: img.Status, Reason: "Glance gave up on the image data (killed)"}
	case images.ImageStatusDeleted, images.ImageStatusPendingDelete:
		return false, &ImageFailedError{ImageID: img.ID, Status: img.Status, Reason: "the image was deleted while waiting for it"}
	case images.ImageStatusDeactivated:
		return false, &ImageFailedError{ImageID: img.ID, Status: img.Status, Reason: "an administrator deactivated the image"}
	case images.ImageStatusQueued:
		if importStarted && !importLockHeld(img) {
			return false, &ImageFailedError{ImageID: img.ID, Status: img.Status, Reason: "the import failed: Glance put the image back to queued and released its import task"}
		}
	}
	return false, nil
}

// importLockHeld reports whether an import task still owns the image.
func importLockHeld(img *images.Image) bool {
	v, ok := img.Properties[ImportLockProperty]
	if !ok || v == nil {
		return false
	}
	s, isString := v.(string)
	return !isString || s != ""
}
