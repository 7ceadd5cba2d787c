// Package imagepolicy is the one set of rules for the images the plugin makes,
// shared by the glance builder and the glance-import post-processor: which
// visibility, members, properties, tags and sizes are valid (Spec.Prepare), when
// a name is taken, which older images image_force replaces, how an image is
// shared and protected, and how an unfinished image is deleted. Each component
// names the options its own way (Options); the rules are the same.
package imagepolicy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Visibilities are Glance's image visibilities.
var Visibilities = []string{"private", "shared", "community", "public"}

// Spec is what the new image should look like.
type Spec struct {
	Name              string
	Visibility        string
	Properties        map[string]string
	Tags              []string
	MinDisk, MinRAM   int
	Protected, Hidden bool
	Members           []string
	AutoAcceptMembers bool
}

// Options are a component's names for the Spec's fields, for messages.
type Options struct {
	Name, Visibility, Properties, Tags, MinDisk, MinRAM, Members, AutoAccept string
}

// BuilderOptions are the glance builder's option names.
var BuilderOptions = Options{
	Name: "image_name", Visibility: "image_visibility", Properties: "image_properties", Tags: "image_tags",
	MinDisk: "image_min_disk", MinRAM: "image_min_ram", Members: "image_members", AutoAccept: "image_auto_accept_members",
}

// ImportOptions are the glance-import post-processor's option names.
var ImportOptions = Options{
	Name: "image_name", Visibility: "visibility", Properties: "properties", Tags: "tags",
	MinDisk: "min_disk", MinRAM: "min_ram", Members: "image_members", AutoAccept: "image_auto_accept_members",
}

// propertyName is what Glance accepts as a property key.
var propertyName = regexp.MustCompile(`^[A-Za-z0-9_:.\-]{1,255}$`)

// ReservedPrefixes are property keys Glance keeps for itself (os_glance_*
// import bookkeeping, the hashes it computes, locations) and refuses in a
// create or update.
var ReservedPrefixes = []string{"os_glance_", "os_hash_", "direct_url", "locations", "owner_specified."}

// imageFields are image attributes, set with their own options, never as
// properties.
var imageFields = []string{"name", "visibility", "tags", "min_disk", "min_ram", "protected", "os_hidden", "status",
	"id", "owner", "size", "checksum", "disk_format", "container_format", "created_at", "updated_at"}

// Prepare fills the defaults (visibility private, or shared when members are
// given) and returns every problem, naming the component's options.
func (s *Spec) Prepare(o Options) []error {
	var errs []error
	switch {
	case strings.TrimSpace(s.Name) == "":
		errs = append(errs, fmt.Errorf("%s must be set", o.Name))
	case len(s.Name) > 255:
		errs = append(errs, fmt.Errorf("%s is longer than Glance's 255 characters", o.Name))
	}

	// Glance takes only lower case; the openstack builder accepted any case, so
	// "Public" is read as "public".
	s.Visibility = strings.ToLower(strings.TrimSpace(s.Visibility))
	if s.Visibility == "" {
		s.Visibility = "private"
		if len(s.Members) > 0 {
			s.Visibility = "shared"
		}
	}
	switch {
	case !slices.Contains(Visibilities, s.Visibility):
		errs = append(errs, fmt.Errorf("%s %q is not one of %s", o.Visibility, s.Visibility, strings.Join(Visibilities, ", ")))
	case len(s.Members) > 0 && s.Visibility != "shared":
		errs = append(errs, fmt.Errorf("%s needs %s = \"shared\", not %q", o.Members, o.Visibility, s.Visibility))
	}
	if s.AutoAcceptMembers && len(s.Members) == 0 {
		errs = append(errs, fmt.Errorf("%s is set without %s", o.AutoAccept, o.Members))
	}
	errs = append(errs, CheckList(o.Members, s.Members)...)
	errs = append(errs, CheckList(o.Tags, s.Tags)...)
	for _, tag := range s.Tags {
		if len(tag) > 255 {
			errs = append(errs, fmt.Errorf("%s: %q is longer than Glance's 255 characters", o.Tags, tag))
		}
	}
	errs = append(errs, checkPropertyNames(o.Properties, sortedKeys(s.Properties), "set")...)
	if s.MinDisk < 0 {
		errs = append(errs, fmt.Errorf("%s must be 0 or more GiB, not %d", o.MinDisk, s.MinDisk))
	}
	if s.MinRAM < 0 {
		errs = append(errs, fmt.Errorf("%s must be 0 or more MiB, not %d", o.MinRAM, s.MinRAM))
	}
	return errs
}

// CheckPropertyNames reports keys that are no valid Glance property, are
// reserved by Glance, or are image fields; verb says what the option does with
// them ("set", "removed"), for the message.
func CheckPropertyNames(option string, keys []string, verb string) []error {
	return checkPropertyNames(option, keys, verb)
}

func checkPropertyNames(option string, keys []string, verb string) []error {
	var errs []error
	for _, k := range keys {
		if !propertyName.MatchString(k) {
			errs = append(errs, fmt.Errorf("%s: %q is not a valid Glance property name", option, k))
			continue
		}
		if Reserved(k) {
			errs = append(errs, fmt.Errorf("%s: %q is reserved by Glance and cannot be %s", option, k, verb))
		}
		if slices.Contains(imageFields, k) {
			errs = append(errs, fmt.Errorf("%s: %q is an image field, not a property: use the matching option", option, k))
		}
	}
	return errs
}

// Reserved reports whether Glance keeps a property key for itself.
func Reserved(key string) bool {
	for _, r := range ReservedPrefixes {
		if strings.HasPrefix(key, r) {
			return true
		}
	}
	return false
}

// CheckList reports empty and repeated entries of a list option.
func CheckList(option string, values []string) (errs []error) {
	seen := map[string]bool{}
	for _, v := range values {
		switch {
		case strings.TrimSpace(v) == "":
			errs = append(errs, fmt.Errorf("%s has an empty entry", option))
		case seen[v]:
			errs = append(errs, fmt.Errorf("%s lists %q twice", option, v))
		}
		seen[v] = true
	}
	return errs
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
