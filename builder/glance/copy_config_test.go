package glance

import (
	"strings"
	"testing"
	"time"
)

func TestPrepareCopyTo(t *testing.T) {
	c, _, err := prepare(t, with(
		"copy_to", []map[string]interface{}{
			{"region": "kz-ala-1"},
			{"cloud": "other", "region": "RegionOne", "name": "golden-fedora-37", "visibility": "shared",
				"members": []string{"p1"}, "tags": []string{"t"}, "properties": map[string]string{"k": "v"}, "protected": true},
		},
		"copy_timeout", "90m",
	))
	if err != nil {
		t.Fatalf("valid copy_to rejected: %v", err)
	}
	if len(c.CopyTo) != 2 || c.CopyTo[1].Name != "golden-fedora-37" || c.CopyTo[1].Protected == nil || !*c.CopyTo[1].Protected ||
		c.CopyTimeout != 90*time.Minute || c.CopyFailure != "fail" {
		t.Errorf("decoded %+v", c.Config)
	}
	for _, tc := range []struct {
		raw  map[string]interface{}
		want string
	}{
		{with("copy_to", []map[string]interface{}{{"name": "x"}}), "copy_to block 1: set region"},
		{with("copy_failure", "maybe"), `copy_failure "maybe"`},
		{with("copy_to", []map[string]interface{}{{"region": "kz-ala-1", "visibility": "private", "members": []string{"p"}}}), "members needs"},
		{with("copy_to", []map[string]interface{}{{"region": "kz-ala-1"}}, "skip_create_image", true), "copy_to is set with skip_create_image"},
		{with("copy_to", []map[string]interface{}{{"region": "RegionOne"}}, "region", "RegionOne"), "own region"},
	} {
		_, _, err := prepare(t, tc.raw)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error with %q, got %v", tc.want, err)
		}
	}
}
