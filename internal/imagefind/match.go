package imagefind

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
)

// matcher checks images against a filter on the client. It is built once per
// lookup, with the name pattern compiled and the owner resolved to an ID.
type matcher struct {
	f     Filter         // with defaults filled in
	owner string         // project ID to compare with, "" for any
	name  *regexp.Regexp // name_regex or the wildcard name; nil for an exact name
}

func newMatcher(f Filter, ownerID string) (*matcher, error) {
	m := &matcher{f: f.WithDefaults(), owner: ownerID}
	switch {
	case f.NameRegex != "":
		re, err := regexp.Compile(f.NameRegex)
		if err != nil {
			return nil, fmt.Errorf("name_regex %q: %w", f.NameRegex, err)
		}
		m.name = re
	case isWildcard(f.Name):
		m.name = wildcardRegexp(f.Name)
	}
	return m, nil
}

// isWildcard reports whether a name option is a pattern rather than a name.
func isWildcard(name string) bool { return strings.Contains(name, "*") }

// wildcardRegexp turns a name with * into an anchored regular expression in
// which every other character stands for itself.
func wildcardRegexp(pattern string) *regexp.Regexp {
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`(?s)^` + strings.Join(parts, ".*") + `$`)
}

// mismatch returns the option that img fails, or "" when img matches every
// option. Server-side filters are checked again here, so a cloud that ignores
// one cannot hand back the wrong image.
func (m *matcher) mismatch(img *images.Image) string {
	f := m.f
	switch {
	case m.name != nil:
		if !m.name.MatchString(img.Name) {
			if f.NameRegex != "" {
				return "name_regex"
			}
			return "name"
		}
	case f.Name != "":
		if img.Name != f.Name {
			return "name"
		}
	}
	if m.owner != "" && img.Owner != m.owner {
		return "owner"
	}
	if f.Visibility != "" && f.Visibility != "all" && string(img.Visibility) != f.Visibility {
		return "visibility"
	}
	if string(img.Status) != f.Status {
		return "status"
	}
	if img.Hidden != f.Hidden {
		return "hidden"
	}
	if f.ContainerFormat != "" && img.ContainerFormat != f.ContainerFormat {
		return "container_format"
	}
	if f.DiskFormat != "" && img.DiskFormat != f.DiskFormat {
		return "disk_format"
	}
	if f.SizeMin > 0 && img.SizeBytes < f.SizeMin {
		return "size_min"
	}
	if f.SizeMax > 0 && img.SizeBytes > f.SizeMax {
		return "size_max"
	}
	for _, t := range f.Tags {
		if !contains(img.Tags, t) {
			return fmt.Sprintf("tags (%q)", t)
		}
	}
	if f.Family != "" {
		if got, ok := propertyString(img, imagepolicy.FamilyProperty); !ok || got != f.Family {
			return "family"
		}
	}
	for _, k := range sortedKeys(f.Properties) {
		got, ok := propertyString(img, k)
		if !ok || got != f.Properties[k] {
			return fmt.Sprintf("properties[%q]", k)
		}
	}
	return ""
}

// propertyString returns an image property as a string: strings as they are,
// anything else (numbers, booleans, lists, null) as JSON.
func propertyString(img *images.Image, key string) (string, bool) {
	v, ok := img.Properties[key]
	if !ok {
		return "", false
	}
	return RenderProperty(v), true
}

func RenderProperty(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// listRequest is the part of the lookup Glance can do: every filter it can
// apply exactly. Wildcard and regex names, and properties Glance would read as
// something else, stay on the client.
func (m *matcher) listRequest(q Query) ListRequest {
	f := m.f
	r := ListRequest{
		Owner:        m.owner,
		Visibility:   f.Visibility,
		Tags:         f.Tags,
		MemberStatus: f.MemberStatus,
		Hidden:       f.Hidden,
		SizeMin:      f.SizeMin,
		SizeMax:      f.SizeMax,
		Sort:         q.Sort,
		Limit:        q.PageSize,
	}
	if r.Limit == 0 {
		r.Limit = DefaultPageSize
	}
	if q.newest() {
		r.Sort = mostRecentSort
	}
	sendable := func(v string) string {
		if _, ok := osapi.EqFilterValue(v); ok {
			return v
		}
		return ""
	}
	if m.name == nil {
		r.Name = sendable(f.Name)
	}
	r.Status = sendable(f.Status)
	r.ContainerFormat = sendable(f.ContainerFormat)
	r.DiskFormat = sendable(f.DiskFormat)
	if f.Family != "" && osapi.ServerSideProperty(imagepolicy.FamilyProperty) {
		r.Properties = map[string]string{imagepolicy.FamilyProperty: f.Family}
	}
	for k, v := range f.Properties {
		if osapi.ServerSideProperty(k) {
			if r.Properties == nil {
				r.Properties = map[string]string{}
			}
			r.Properties[k] = v
		}
	}
	return r
}
