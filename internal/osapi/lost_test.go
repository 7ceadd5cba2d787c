package osapi

import (
	"context"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// The first create's reply is lost and the looks find nothing yet (the service
// is slow to show it); the create is sent again and refused with 409, because
// the first one's resource now exists. The error must still say the create may
// have made something, so that the caller's clean-up looks for it.
func TestCreateSentAgainKeepsTheEarlierLostReply(t *testing.T) {
	saved := LostLookupPause
	LostLookupPause = time.Millisecond
	t.Cleanup(func() { LostLookupPause = saved })
	answers := []error{gophercloud.ErrUnexpectedResponseCode{Actual: 504}, gophercloud.ErrUnexpectedResponseCode{Actual: 409}}
	calls := 0
	_, err := createRecovering(context.Background(), "keypair",
		func(context.Context) (string, error) { calls++; return "", answers[calls-1] },
		func(context.Context) ([]string, error) { return nil, nil })
	if calls != 2 || err == nil {
		t.Fatalf("%d calls, error %v; want 2 calls and an error", calls, err)
	}
	if !retry.CreateMayHaveHappened(context.Background(), err) {
		t.Errorf("after a lost first reply, %q does not count as possibly made", err)
	}
	if !gophercloud.ResponseCodeIs(err, 409) {
		t.Errorf("the last answer (409) is lost from %q", err)
	}

	// A 409 at the first call made nothing: no clean-up lookup.
	calls = 0
	answers = []error{gophercloud.ErrUnexpectedResponseCode{Actual: 409}}
	_, err = createRecovering(context.Background(), "keypair",
		func(context.Context) (string, error) { calls++; return "", answers[calls-1] },
		func(context.Context) ([]string, error) { return nil, nil })
	if retry.CreateMayHaveHappened(context.Background(), err) {
		t.Errorf("a first-call 409 %q counts as possibly made", err)
	}
}
