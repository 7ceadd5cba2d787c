package osapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

var fast = retry.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}

func TestWaitForImage(t *testing.T) {
	lock := map[string]any{"os_glance_import_task": "task-1"}
	cases := []struct {
		name    string
		seq     []*images.Image
		import_ bool
		want    string // "" = success
	}{
		{name: "queued saving active", seq: []*images.Image{img("queued", nil), img("saving", nil), img("active", nil)}},
		{name: "killed", seq: []*images.Image{img("saving", nil), img("killed", nil)}, want: "image img-1 is killed"},
		{name: "deactivated", seq: []*images.Image{img("deactivated", nil)}, want: "deactivated"},
		{name: "deleted", seq: []*images.Image{img("pending_delete", nil)}, want: "was deleted"},
		{name: "gone", seq: []*images.Image{img("saving", nil), nil}, want: "no longer exists"},
		{name: "import in progress then done", import_: true, seq: []*images.Image{img("queued", lock), img("importing", lock), img("active", nil)}},
		{name: "import failed back to queued", import_: true, seq: []*images.Image{img("queued", lock), img("importing", lock), img("queued", map[string]any{"os_glance_import_task": ""})}, want: "the import failed"},
		{name: "import failed, lock removed entirely", import_: true, seq: []*images.Image{img("importing", lock), img("queued", nil)}, want: "the import failed"},
		{name: "queued without import is just waiting", seq: []*images.Image{img("queued", nil), img("queued", nil), img("active", nil)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var statuses []string
			got, err := WaitForImage(context.Background(), imageSeq(tc.seq...), "img-1", ImageWait{
				Timeout: time.Minute, ImportStarted: tc.import_, Backoff: fast,
				OnStatus: func(i *images.Image) { statuses = append(statuses, string(i.Status)) },
			})
			if tc.want == "" {
				if err != nil || got.Status != "active" {
					t.Fatalf("got %v, %v", got, err)
				}
				if len(statuses) == 0 || statuses[len(statuses)-1] != "active" {
					t.Errorf("status callbacks = %v", statuses)
				}
				return
			}
			var failed *ImageFailedError
			if !errors.As(err, &failed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ImageFailedError containing %q", err, tc.want)
			}
		})
	}
	// After an import, active is not the end while the task still holds the lock.
	reads := 0
	seq := imageSeq(img("importing", lock), img("active", lock), img("active", lock), img("active", map[string]any{"os_glance_failed_import": ""}))
	got, err := WaitForImage(context.Background(), func(ctx context.Context, id string) (*images.Image, error) {
		reads++
		return seq(ctx, id)
	}, "img-1", ImageWait{Timeout: time.Minute, ImportStarted: true, Backoff: fast})
	if err != nil || reads != 4 || importLockHeld(got) {
		t.Errorf("active while locked: %d reads, last %v, %v; want the wait to end at the unlocked read", reads, got.Properties, err)
	}
	// A snapshot has no import task: active ends the wait even if the property is there.
	reads = 0
	seq = imageSeq(img("active", lock))
	if _, err := WaitForImage(context.Background(), func(ctx context.Context, id string) (*images.Image, error) {
		reads++
		return seq(ctx, id)
	}, "img-1", ImageWait{Timeout: time.Minute, Backoff: fast}); err != nil || reads != 1 {
		t.Errorf("snapshot: %d reads, %v", reads, err)
	}
	// A lock that is never released runs into the timeout rather than waiting forever.
	_, err = WaitForImage(context.Background(), imageSeq(img("active", lock)), "img-1",
		ImageWait{Timeout: 50 * time.Millisecond, ImportStarted: true, Backoff: fast})
	if !errors.Is(err, retry.ErrWaitTimeout) {
		t.Errorf("lock never released: err = %v, want a timeout", err)
	}

	// API errors other than 404 are reported with what was being read.
	_, err = WaitForImage(context.Background(), func(context.Context, string) (*images.Image, error) {
		return nil, fmt.Errorf("boom")
	}, "img-1", ImageWait{What: "snapshot x", Backoff: fast})
	if err == nil || !strings.Contains(err.Error(), "reading snapshot x: boom") {
		t.Errorf("err = %v", err)
	}
}

func imageSeq(states ...*images.Image) ImageGetter {
	i := 0
	return func(ctx context.Context, id string) (*images.Image, error) {
		s := states[min(i, len(states)-1)]
		i++
		if s == nil {
			return nil, gophercloud.ErrUnexpectedResponseCode{Actual: http.StatusNotFound}
		}
		return s, nil
	}
}

func img(status images.ImageStatus, props map[string]any) *images.Image {
	return &images.Image{ID: "img-1", Status: status, Properties: props}
}
