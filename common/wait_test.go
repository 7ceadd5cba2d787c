package common

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
)

// gophercloudServiceClient makes one raw authenticated GET through a session.
type gophercloudServiceClient struct{ s *Session }

func (c *gophercloudServiceClient) get(url string) error {
	sc := &gophercloud.ServiceClient{ProviderClient: c.s.Provider, Endpoint: url + "/"}
	var out map[string]any
	_, err := sc.Get(context.Background(), url, &out, nil)
	return err
}

var fast = Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}

func TestWaitForPollsUntilDone(t *testing.T) {
	calls := 0
	err := WaitFor(context.Background(), "thing", time.Minute, fast, func(context.Context) (bool, error) {
		calls++
		return calls == 3, nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
}

func TestWaitForFailsAtOnceOnError(t *testing.T) {
	boom := errors.New("server went to ERROR")
	calls := 0
	err := WaitFor(context.Background(), "thing", time.Minute, fast, func(context.Context) (bool, error) {
		calls++
		return false, boom
	})
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
}

func TestWaitForTimeoutNamesWhat(t *testing.T) {
	err := WaitFor(context.Background(), "server abc to stop", 20*time.Millisecond, fast, func(context.Context) (bool, error) {
		return false, nil
	})
	if !errors.Is(err, ErrWaitTimeout) || !strings.Contains(err.Error(), "waiting for server abc to stop") {
		t.Fatalf("err = %v", err)
	}
}

func TestWaitForStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := WaitFor(ctx, "thing", time.Hour, fast, func(context.Context) (bool, error) {
		calls++
		if calls == 2 {
			cancel()
		}
		return false, nil
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped waiting for thing") {
		t.Fatalf("err = %v", err)
	}
}

func TestBackoffScheduleGrowsToItsCap(t *testing.T) {
	b := Backoff{Initial: 250 * time.Millisecond, Max: time.Second, Factor: 2}.withDefaults()
	var got []time.Duration
	for d := b.Initial; len(got) < 5; d = b.next(d) {
		got = append(got, d)
	}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, time.Second, time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("schedule = %v, want %v", got, want)
	}
	if d := (Backoff{}).withDefaults(); d != DefaultBackoff {
		t.Errorf("zero Backoff = %+v, want the default %+v", d, DefaultBackoff)
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
	if !errors.Is(err, ErrWaitTimeout) {
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
