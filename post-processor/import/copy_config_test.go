package importpp

import (
	"strings"
	"testing"
)

func TestConfigureCopyTo(t *testing.T) {
	p, err := configure(t, base(map[string]interface{}{
		"copy_to":      []map[string]interface{}{{"region": "kz-ala-1"}, {"cloud": "other", "name": "img-2", "members": []string{"p"}}},
		"copy_failure": "warn",
	}))
	if err != nil {
		t.Fatalf("valid copy_to rejected: %v", err)
	}
	if c := p.config; len(c.CopyTo) != 2 || c.CopyTo[1].Visibility != "shared" || c.CopyFailure != "warn" || c.CopyTimeout == 0 {
		t.Errorf("decoded %+v", c.Config)
	}
	for _, tc := range []struct {
		extra map[string]interface{}
		want  string
	}{
		{map[string]interface{}{"copy_to": []map[string]interface{}{{}}}, "copy_to block 1: set region"},
		{map[string]interface{}{"copy_timeout": "-5m"}, "copy_timeout must be positive"},
		{map[string]interface{}{"copy_to": []map[string]interface{}{{"region": "kz-ala-1", "tags": []string{""}}}}, "tags has an empty entry"},
	} {
		if _, err := configure(t, base(tc.extra)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want an error with %q, got %v", tc.extra, tc.want, err)
		}
	}
}
