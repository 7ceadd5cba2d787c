package imagepolicy

import (
	"strings"
	"testing"
)

func TestSpecPrepareNormalisesVisibility(t *testing.T) {
	for in, want := range map[string]string{"Public": "public", " COMMUNITY ": "community", "": "private", "shared": "shared"} {
		s := Spec{Name: "x", Visibility: in}
		if errs := s.Prepare(BuilderOptions); len(errs) > 0 || s.Visibility != want {
			t.Errorf("%q: visibility %q, errors %v; want %q", in, s.Visibility, errs, want)
		}
	}
	s := Spec{Name: "x", Visibility: "Protected"}
	if errs := s.Prepare(BuilderOptions); len(errs) != 1 || !strings.Contains(errs[0].Error(), "image_visibility") {
		t.Errorf("an unknown visibility: %v", errs)
	}
}

func TestCheckPropertyNames(t *testing.T) {
	errs := CheckPropertyNames("drop_image_properties", []string{"user_id", "os_glance_import_task", "name", "bad key"}, "removed")
	if len(errs) != 3 {
		t.Fatalf("errors = %v", errs)
	}
	for i, want := range []string{"reserved by Glance and cannot be removed", "image field", "not a valid Glance property name"} {
		if !strings.Contains(errs[i].Error(), want) {
			t.Errorf("error %d %q misses %q", i, errs[i], want)
		}
	}
}
