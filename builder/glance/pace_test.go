package glance

import (
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

func TestFirstPollFollowsTheCloudsBoot(t *testing.T) {
	saved := firstPollDelay
	defer func() { firstPollDelay = saved }()
	firstPollDelay = 500 * time.Millisecond

	state := new(multistep.BasicStateBag)
	if got := firstPoll(state); got != 500*time.Millisecond {
		t.Errorf("before any boot: %s, want firstPollDelay", got)
	}
	for boot, want := range map[time.Duration]time.Duration{
		200 * time.Millisecond: 250 * time.Millisecond, // the test cloud: half of firstPollDelay at least
		5 * time.Second:        500 * time.Millisecond,
		7 * time.Second:        700 * time.Millisecond,
		40 * time.Second:       time.Second, // a slow boot: twice firstPollDelay at most
	} {
		notePace(state, boot)
		if got := firstPoll(state); got != want {
			t.Errorf("after a %s boot: %s, want %s", boot, got, want)
		}
	}
}
