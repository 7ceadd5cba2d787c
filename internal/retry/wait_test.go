package retry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

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
