//go:generate packer-sdc mapstructure-to-hcl2 -type Filter
//go:generate packer-sdc struct-markdown

package imagefind

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/packer-glance/packer-plugin-glance/internal/imagepolicy"
)

// Filter says which Glance images qualify. Every option that is set must match;
// an unset option matches everything. The same options back the `glance-image`
// data source and the builder's `source_image_filter { filters { ... } }`.
//
// Glance filters on the server side whatever it can filter exactly (name,
// owner, visibility, tags, properties, formats, member status, hidden, status
// and size); every option is also checked again on each image returned, so a
// cloud that ignores a filter cannot hand back the wrong image.
type Filter struct {
	// The exact name of the image. A name containing `*` is a wildcard pattern
	// instead: `*` matches any run of characters (including none), every other
	// character (`?` and `[` too) stands for itself, and the pattern must match
	// the whole name, for example `Fedora-Cloud-Base-*-x86_64`.
	// Wildcards are matched on the client, so Glance returns every image the
	// other filters allow. Conflicts with `name_regex`.
	Name string `mapstructure:"name" required:"false"`
	// A regular expression (RE2 syntax, https://github.com/google/re2/wiki/Syntax)
	// the image name must match. It matches anywhere in the name unless anchored
	// with `^` and `$`. Matched on the client. Conflicts with `name`.
	NameRegex string `mapstructure:"name_regex" required:"false"`
	// The project that owns the image: a project ID, or a project name when the
	// user may look projects up in Keystone (names are resolved at run time; a
	// value no project is named after is used as an ID).
	Owner string `mapstructure:"owner" required:"false"`
	// Which images to consider by visibility: `public`, `private`, `shared`,
	// `community` or `all`. When unset Glance's default applies: public images,
	// the project's own images, shared images whose membership was accepted,
	// and no community images except the project's own.
	Visibility string `mapstructure:"visibility" required:"false"`
	// Tags the image must carry; all of them must be present (the image may
	// have others).
	Tags []string `mapstructure:"tags" required:"false"`
	// Properties the image must have, with exactly these values, such as
	// `{ os_distro = "fedora", os_version = "37" }`. They are sent to Glance as
	// server-side filters where Glance can filter on them, and always checked
	// again on the client. Values are compared as strings; any characters are
	// allowed.
	Properties map[string]string `mapstructure:"properties" required:"false"`
	// The container format the image must have, such as `bare` or `ova`.
	ContainerFormat string `mapstructure:"container_format" required:"false"`
	// The disk format the image must have, such as `qcow2` or `raw`.
	DiskFormat string `mapstructure:"disk_format" required:"false"`
	// For images shared with the project: the membership status they must
	// have, `accepted`, `pending`, `rejected` or `all`. Defaults to Glance's
	// default, `accepted`, so an image shared with the project is found only
	// once the project accepted it.
	MemberStatus string `mapstructure:"member_status" required:"false"`
	// Search hidden images (`os_hidden = true`) instead of visible ones.
	// Defaults to `false`: like the Glance image list, hidden images are left
	// out.
	Hidden bool `mapstructure:"hidden" required:"false"`
	// The status the image must have: `active`, `queued`, `saving`,
	// `uploading`, `importing`, `deactivated`, `killed` or `pending_delete`.
	// Defaults to `active`, the only status a server can boot from.
	Status string `mapstructure:"status" required:"false"`
	// The image family, the `image_family` property the `glance` builder and
	// the `glance-import` post-processor set with their `image_family` option:
	// the newest active, non-hidden image of the family is taken, as if
	// `most_recent = true` were set. Combines with the other filters (an
	// `owner` narrows it to one project's images); `sort` cannot be set with it.
	Family string `mapstructure:"family" required:"false"`
	// The smallest image size, in bytes, to accept. Defaults to no lower bound.
	SizeMin int64 `mapstructure:"size_min" required:"false"`
	// The largest image size, in bytes, to accept. Defaults to no upper bound.
	SizeMax int64 `mapstructure:"size_max" required:"false"`
}

// Values Glance accepts, kept in the order the docs list them.
var (
	visibilities   = []string{"public", "private", "shared", "community", "all"}
	memberStatuses = []string{"accepted", "pending", "rejected", "all"}
	statuses       = []string{"active", "queued", "saving", "uploading", "importing", "deactivated", "killed", "pending_delete"}
)

// DefaultStatus is the status searched for when Filter.Status is unset.
const DefaultStatus = "active"

// attributeOptions maps image attributes that are not properties to the option
// that filters on them (or "" when none does). Glance lists these at the top
// level of an image, so a `properties` entry with such a key could never match
// and would be read by Glance as a filter on the attribute itself.
var attributeOptions = map[string]string{
	"id": "", "name": "name or name_regex", "owner": "owner", "visibility": "visibility",
	"status": "status", "tags": "tags", "container_format": "container_format",
	"disk_format": "disk_format", "size": "size_min and size_max", "os_hidden": "hidden",
	"virtual_size": "", "min_disk": "", "min_ram": "", "protected": "", "checksum": "",
	"created_at": "", "updated_at": "", "file": "", "schema": "", "self": "",
	"deleted": "", "deleted_at": "", "member_status": "member_status", "tag": "tags",
}

// isEmpty reports whether f sets nothing that narrows the search beyond the
// defaults (status, hidden and member_status alone do not).
func (f Filter) isEmpty() bool {
	return f.Name == "" && f.NameRegex == "" && f.Owner == "" && f.Visibility == "" &&
		len(f.Tags) == 0 && len(f.Properties) == 0 && f.ContainerFormat == "" &&
		f.DiskFormat == "" && f.SizeMin == 0 && f.SizeMax == 0 && f.Family == ""
}

// WithDefaults returns f with unset options that have a default filled in.
func (f Filter) WithDefaults() Filter {
	if f.Status == "" {
		f.Status = DefaultStatus
	}
	return f
}

// Validate checks every option and returns one error per problem, each naming
// the option(s). prefix is put before option names ("" for the data source,
// for example "source_image_filter.filters." for the builder). It makes no
// network call.
func (f Filter) Validate(prefix string) []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if f.isEmpty() {
		add("no image filter is set: set at least one of %sname, %sname_regex, %sfamily, %sowner, %stags, %sproperties, %svisibility, %scontainer_format, %sdisk_format, %ssize_min or %ssize_max, or Glance would offer every active image",
			prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix)
	}
	if f.Name != "" && f.NameRegex != "" {
		add("%sname and %sname_regex are both set: set only one of them (a name with * is a wildcard pattern)", prefix, prefix)
	}
	if f.NameRegex != "" {
		if _, err := regexp.Compile(f.NameRegex); err != nil {
			add("%sname_regex %q is not a valid RE2 regular expression: %v", prefix, f.NameRegex, err)
		}
	}
	if f.Visibility != "" && !contains(visibilities, f.Visibility) {
		add("%svisibility %q is not one of %s", prefix, f.Visibility, strings.Join(visibilities, ", "))
	}
	if f.MemberStatus != "" && !contains(memberStatuses, f.MemberStatus) {
		add("%smember_status %q is not one of %s", prefix, f.MemberStatus, strings.Join(memberStatuses, ", "))
	}
	if f.Status != "" && !contains(statuses, f.Status) {
		hint := ""
		if f.Status == "deleted" {
			hint = " (Glance never lists deleted images)"
		}
		add("%sstatus %q is not one of %s%s", prefix, f.Status, strings.Join(statuses, ", "), hint)
	}
	if f.SizeMin < 0 {
		add("%ssize_min is %d: it cannot be negative", prefix, f.SizeMin)
	}
	if f.SizeMax < 0 {
		add("%ssize_max is %d: it cannot be negative", prefix, f.SizeMax)
	}
	if f.SizeMin > 0 && f.SizeMax > 0 && f.SizeMin > f.SizeMax {
		add("%ssize_min (%d) is larger than %ssize_max (%d): no image can match", prefix, f.SizeMin, prefix, f.SizeMax)
	}
	if f.Family != "" && strings.TrimSpace(f.Family) == "" {
		add("%sfamily is blank: name the family, such as \"golden-fedora\"", prefix)
	}
	if v, ok := f.Properties[imagepolicy.FamilyProperty]; ok && f.Family != "" && v != f.Family {
		add("%sfamily = %q and %sproperties[%q] = %q can never both match: set the family with %sfamily only",
			prefix, f.Family, prefix, imagepolicy.FamilyProperty, v, prefix)
	}
	for i, t := range f.Tags {
		if strings.TrimSpace(t) == "" {
			add("%stags[%d] is empty: Glance has no empty tags", prefix, i)
		}
	}
	for _, k := range sortedKeys(f.Properties) {
		if strings.TrimSpace(k) == "" {
			add("%sproperties has an empty key", prefix)
			continue
		}
		if opt, ok := attributeOptions[k]; ok {
			if opt != "" {
				add("%sproperties[%q] is an image attribute, not a property: use %s%s", prefix, k, prefix, opt)
			} else {
				add("%sproperties[%q] is an image attribute, not a property, and cannot be filtered on", prefix, k)
			}
		}
	}
	return errs
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
