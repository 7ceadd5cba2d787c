package glanceimport

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// errTaskDied says the import task that held the image died with the
// glance-api process running it: Glance then keeps the image `importing` and
// locked for good, so waiting longer cannot help.
var errTaskDied = errors.New("Glance's import task died with its glance-api (the image stays importing)")

// deadTaskGrace is how long a task must stay `processing` without any update,
// after the image service went away during the wait, before it counts as dead.
// A live task saves its progress ("Copied N MiB") at most once a minute while
// it writes to the store, so the grace is longer than that. While Glance still
// downloads into its staging area a live task is not updated at all: a task
// seen across a lost connection in that phase may be taken for dead and the
// import made again (the first image is deleted, so the result is the same).
// Tests shorten it.
var deadTaskGrace = 90 * time.Second

// taskWatch reads the image for a wait after an import call and notices an
// import task that died. The sign is a call of the wait that lost its
// connection or got a 502/503 from a load balancer in front of Glance (the
// service went away: a restart), after which the task that
// holds the image stays `processing` with no update for deadTaskGrace. Without
// such a sign a slow task is only ever slow.
type taskWatch struct {
	im         *importer
	wentAway   bool
	lastUpdate string
	unchanged  time.Time
}

func (w *taskWatch) get(ctx context.Context, id string) (*images.Image, error) {
	tracked, attempts := retry.Track(ctx)
	img, err := w.im.g.GetImage(tracked, id)
	if attempts.Broken() && !w.wentAway {
		w.wentAway = true
		log.Printf("[INFO] glance-import: the image service went away while image %s was imported; watching its import task", id)
	}
	if err != nil || !w.wentAway || img.Status != images.ImageStatusImporting {
		return img, err
	}
	lock, _ := img.Properties[osapi.ImportLockProperty].(string)
	if lock == "" {
		return img, nil
	}
	tasks, terr := w.im.g.ImageTasks(ctx, id)
	if terr != nil {
		return img, nil // the wait goes on; the next read looks again
	}
	for _, t := range tasks {
		if t.ID != lock || t.Status != "processing" {
			continue
		}
		if t.UpdatedAt != w.lastUpdate {
			w.lastUpdate, w.unchanged = t.UpdatedAt, time.Now()
			return img, nil
		}
		if time.Since(w.unchanged) >= deadTaskGrace {
			return nil, fmt.Errorf("task %s: %w", t.ID, errTaskDied)
		}
	}
	return img, nil
}
