package importpp

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// The glance builder's option names work here too, so a block of image
// settings can move between the builder and the post-processor.
func TestConfigureBuilderNamesAreAliases(t *testing.T) {
	p, err := configure(t, base(map[string]interface{}{
		"image_visibility": "Shared", "image_properties": map[string]string{"os_distro": "fedora"},
		"image_tags": []string{"golden"}, "image_min_disk": 10, "image_min_ram": 512,
		"image_protected": true, "image_hidden": true, "image_members": []string{"p1"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	c := p.config.ImageConfig
	got := []interface{}{c.Visibility, c.Properties, c.Tags, c.MinDisk, c.MinRAM, c.Protected, c.Hidden}
	want := []interface{}{"shared", map[string]string{"os_distro": "fedora"}, []string{"golden"}, 10, 512, true, true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %v, want %v", got, want)
	}
	p, err = configure(t, base(map[string]interface{}{"metadata": map[string]string{"os_version": "37"}}))
	if err != nil || !reflect.DeepEqual(p.config.Properties, map[string]string{"os_version": "37"}) {
		t.Errorf("metadata: properties %v, %v", p.config.Properties, err)
	}
	// The alias's validation speaks of the option as it is checked.
	if _, err := configure(t, base(map[string]interface{}{"image_visibility": "secret"})); err == nil || !strings.Contains(err.Error(), "visibility") {
		t.Errorf("an invalid image_visibility: %v", err)
	}
}

func TestConfigureRefusesBothNames(t *testing.T) {
	for _, tc := range []struct {
		extra map[string]interface{}
		want  string
	}{
		{map[string]interface{}{"visibility": "private", "image_visibility": "private"}, "visibility and image_visibility are both set"},
		{map[string]interface{}{"properties": map[string]string{"a": "1"}, "image_properties": map[string]string{"b": "2"}}, "properties and image_properties"},
		{map[string]interface{}{"properties": map[string]string{"a": "1"}, "metadata": map[string]string{"a": "1"}}, "properties and metadata"},
		{map[string]interface{}{"image_properties": map[string]string{"a": "1"}, "metadata": map[string]string{"a": "1"}}, "image_properties and metadata"},
		{map[string]interface{}{"properties": map[string]string{}, "image_properties": map[string]string{}, "metadata": map[string]string{}}, "properties and image_properties and metadata are all set"},
		{map[string]interface{}{"tags": []string{"a"}, "image_tags": []string{"a"}}, "tags and image_tags"},
		{map[string]interface{}{"min_disk": 1, "image_min_disk": 1}, "min_disk and image_min_disk"},
		{map[string]interface{}{"min_ram": 0, "image_min_ram": 512}, "min_ram and image_min_ram"},
		// A false value counts as set: the template said it twice.
		{map[string]interface{}{"protected": false, "image_protected": true}, "protected and image_protected"},
		{map[string]interface{}{"hidden": true, "image_hidden": false}, "hidden and image_hidden"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := configure(t, base(tc.extra))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// In HCL2 every option reaches Configure, unset ones as null: those do not
// count as set, so an alias alone is no conflict.
func TestConfigureAliasesFromHCL(t *testing.T) {
	for _, tc := range []struct {
		body, want string
	}{
		{`image_name = "x"
image_source_url = "https://example.com/x.qcow2"
image_visibility = "community"
image_protected = true`, ""},
		{`image_name = "x"
image_source_url = "https://example.com/x.qcow2"
protected = false
image_protected = true`, "protected and image_protected"},
	} {
		for _, k := range []string{"OS_CLOUD", "OS_AUTH_URL", "OS_CLIENT_CONFIG_FILE"} {
			t.Setenv(k, "")
		}
		f, diags := hclparse.NewParser().ParseHCL([]byte(tc.body), "t.hcl")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		p := new(PostProcessor)
		val, diags := hcldec.Decode(f.Body, p.ConfigSpec(), nil)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		err := p.Configure(val)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("rejected: %v", err)
		case tc.want == "" && (p.config.Visibility != "community" || !p.config.Protected):
			t.Errorf("aliases not applied: %+v", p.config.ImageConfig)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
