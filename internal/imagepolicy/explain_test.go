package imagepolicy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
)

func TestExplainVisibilityRefusal(t *testing.T) {
	forbidden := gophercloud.ErrUnexpectedResponseCode{Actual: 403, Body: []byte(`{"message": "You are not authorized to complete publicize_image action."}`)}
	err := ExplainVisibilityRefusal(forbidden, "public")
	if !strings.Contains(err.Error(), "publicize_image") || !strings.Contains(err.Error(), `"community"`) || !gophercloud.ResponseCodeIs(err, 403) {
		t.Errorf("public refused: %v", err)
	}
	for _, tc := range []struct {
		err error
		vis string
	}{
		{forbidden, "private"},
		{gophercloud.ErrUnexpectedResponseCode{Actual: 409}, "public"},
		{nil, "public"},
	} {
		if got := ExplainVisibilityRefusal(tc.err, tc.vis); fmt.Sprint(got) != fmt.Sprint(tc.err) {
			t.Errorf("%v with %s changed to %v", tc.err, tc.vis, got)
		}
	}
}
