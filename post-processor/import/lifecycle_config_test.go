package importpp

import (
	"strings"
	"testing"
)

func TestConfigureLifecycle(t *testing.T) {
	p, err := configure(t, base(map[string]interface{}{"image_family": "fedora-base", "keep_latest": 2,
		"properties": map[string]string{"os_distro": "fedora"}}))
	if err != nil {
		t.Fatal(err)
	}
	c := p.config
	if c.Properties["image_family"] != "fedora-base" || c.Properties["os_distro"] != "fedora" || c.RetireAction != "hide" {
		t.Errorf("properties %v, retire_action %q", c.Properties, c.RetireAction)
	}
	if s := c.imageSpec(); s.Properties["image_family"] != "fedora-base" {
		t.Errorf("the import does not set the family: %v", s.Properties)
	}
	if r := c.retention(); !r.Enabled() || r.Keep != 2 {
		t.Errorf("retention %+v", r)
	}
	p, err = configure(t, base(nil))
	if err != nil || p.config.retention().Enabled() || p.config.Properties != nil {
		t.Errorf("without the options: %v, %+v", err, p.config.LifecycleConfig)
	}

	for _, tc := range []struct {
		raw  map[string]interface{}
		want string
	}{
		{map[string]interface{}{"keep_latest": 1}, "keep_latest needs image_family"},
		{map[string]interface{}{"image_family": "f", "keep_latest": 1, "retire_action": "purge"}, `retire_action "purge" is not one of hide, delete`},
		{map[string]interface{}{"image_family": "f", "retire_action": "delete"}, "retire_action is set without keep_latest"},
		{map[string]interface{}{"image_family": "f", "properties": map[string]string{"image_family": "g"}}, `properties["image_family"] = "g" disagree`},
	} {
		if _, err := configure(t, base(tc.raw)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.raw, err, tc.want)
		}
	}
}
