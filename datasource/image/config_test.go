package image

import (
	"strings"
	"testing"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/imagefind"
)

func TestConfigureRejectsEveryConflictAndInvalidValue(t *testing.T) {
	cases := []struct {
		name string
		raw  map[string]any
		// every fragment must appear in the error
		want []string
	}{
		{"no filter at all", map[string]any{}, []string{"no image filter is set"}},
		{"only defaults-like options", map[string]any{"status": "active", "hidden": true, "member_status": "all"}, []string{"no image filter is set"}},
		{"name and name_regex", map[string]any{"name": "a", "name_regex": "a"}, []string{"name and name_regex are both set"}},
		{"invalid regex", map[string]any{"name_regex": "fedora-(37"}, []string{"name_regex", "not a valid RE2"}},
		{"lookaround is not RE2", map[string]any{"name_regex": "(?=x)"}, []string{"name_regex", "RE2"}},
		{"invalid visibility", map[string]any{"name": "a", "visibility": "everyone"}, []string{`visibility "everyone" is not one of public, private, shared, community, all`}},
		{"visibility is case sensitive", map[string]any{"name": "a", "visibility": "Public"}, []string{`visibility "Public"`}},
		{"invalid member_status", map[string]any{"name": "a", "member_status": "yes"}, []string{`member_status "yes" is not one of accepted, pending, rejected, all`}},
		{"invalid status", map[string]any{"name": "a", "status": "ready"}, []string{`status "ready" is not one of`}},
		{"deleted status", map[string]any{"name": "a", "status": "deleted"}, []string{"never lists deleted images"}},
		{"negative size_min", map[string]any{"name": "a", "size_min": -1}, []string{"size_min is -1"}},
		{"negative size_max", map[string]any{"name": "a", "size_max": -5}, []string{"size_max is -5"}},
		{"size_min above size_max", map[string]any{"name": "a", "size_min": 10, "size_max": 5}, []string{"size_min (10) is larger than size_max (5)"}},
		{"empty tag", map[string]any{"name": "a", "tags": []string{"ok", " "}}, []string{"tags[1] is empty"}},
		{"attribute as property with an option", map[string]any{"properties": map[string]string{"visibility": "public"}}, []string{`properties["visibility"] is an image attribute`, "use visibility"}},
		{"attribute as property without an option", map[string]any{"properties": map[string]string{"protected": "true"}}, []string{`properties["protected"]`, "cannot be filtered on"}},
		{"empty property key", map[string]any{"properties": map[string]string{"": "x"}}, []string{"properties has an empty key"}},
		{"unknown sort key", map[string]any{"name": "a", "sort": "owner:asc"}, []string{`Glance cannot sort by "owner"`}},
		{"bad sort direction", map[string]any{"name": "a", "sort": "name:up"}, []string{`direction "up" of name is not asc or desc`}},
		{"sort key twice", map[string]any{"name": "a", "sort": "name,name:asc"}, []string{"sorts by name twice"}},
		{"empty sort key", map[string]any{"name": "a", "sort": "name,"}, []string{"empty key"}},
		{"sort with most_recent", map[string]any{"name": "a", "sort": "name", "most_recent": true}, []string{"sort and most_recent are both set"}},
		{"sort with family", map[string]any{"family": "golden-fedora", "sort": "name"}, []string{"sort and family are both set"}},
		{"family and its property disagree", map[string]any{"family": "golden-fedora", "properties": map[string]string{"image_family": "x"}}, []string{"can never both match"}},
		{"negative timeout", map[string]any{"name": "a", "timeout": "-1s"}, []string{"timeout is -1s"}},
		{"unparsable timeout", map[string]any{"name": "a", "timeout": "soon"}, []string{"timeout"}},
		{"access conflict", map[string]any{"name": "a", "username": "u", "user_id": "i"}, []string{"username and user_id are both set"}},
		{"unknown option", map[string]any{"name": "a", "tag": "x"}, []string{"tag"}},
		{"several errors at once", map[string]any{"name": "a", "name_regex": "(", "visibility": "x", "size_min": -1},
			[]string{"both set", "name_regex", "visibility", "size_min"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var d Datasource
			err := d.Configure(tc.raw)
			if err == nil {
				t.Fatalf("Configure(%v) succeeded, want an error containing %q", tc.raw, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestConfigureAcceptsValidOptionsAndFillsDefaults(t *testing.T) {
	var d Datasource
	err := d.Configure(map[string]any{
		"name":             "Fedora-Cloud-Base-*",
		"owner":            "admin",
		"visibility":       "all",
		"tags":             []string{"golden", "x86_64"},
		"properties":       map[string]string{"os_distro": "fedora", "note": `a&b=c "d", e:f`},
		"container_format": "bare",
		"disk_format":      "qcow2",
		"member_status":    "pending",
		"hidden":           true,
		"size_min":         1,
		"size_max":         1 << 40,
		"most_recent":      true,
		"region":           "kz-ala-1",
	})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	c := d.config
	// The default status is applied by the lookup, so its errors can say it is a default.
	if c.Status != "" || c.Query().Filter.WithDefaults().Status != "active" {
		t.Errorf("status = %q; the lookup's default must be active", c.Status)
	}
	if c.Timeout != DefaultTimeout {
		t.Errorf("timeout = %s, want %s", c.Timeout, DefaultTimeout)
	}
	if c.Properties["note"] != `a&b=c "d", e:f` || c.Tags[1] != "x86_64" || !c.Hidden || c.SizeMax != 1<<40 {
		t.Errorf("options not decoded as written: %+v", c.Filter)
	}
	if c.Region != "kz-ala-1" {
		t.Errorf("region = %q: the access config's region must be decoded", c.Region)
	}
	q := c.Query()
	if !q.MostRecent || q.Filter.Name != "Fedora-Cloud-Base-*" {
		t.Errorf("Query() = %+v", q)
	}
}

// family alone is a complete lookup: the newest active, visible image of it.
func TestConfigureFamilyAlone(t *testing.T) {
	var d Datasource
	if err := d.Configure(map[string]any{"family": "golden-fedora"}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if q := d.config.Query(); q.Filter.Family != "golden-fedora" || q.Sort != "" {
		t.Errorf("Query() = %+v", q)
	}
}

func TestConfigureKeepsExplicitStatusAndTimeout(t *testing.T) {
	var d Datasource
	if err := d.Configure(map[string]any{"name_regex": "^x$", "status": "deactivated", "timeout": "90s", "sort": "name:asc,created_at"}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if d.config.Status != "deactivated" || d.config.Timeout != 90*time.Second {
		t.Errorf("status %q, timeout %s", d.config.Status, d.config.Timeout)
	}
}

func TestFilterValidatePrefixesOptionNames(t *testing.T) {
	errs := imagefind.Filter{Name: "a", NameRegex: "b"}.Validate("source_image_filter.filters.")
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "source_image_filter.filters.name and source_image_filter.filters.name_regex") {
		t.Fatalf("errors %v do not name the prefixed options", errs)
	}
}
