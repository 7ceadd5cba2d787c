package imagefind

import (
	"fmt"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// Rejection counts the images Glance listed that failed one option on the
// client.
type Rejection struct {
	Option string
	Count  int
}

// NoMatchError says that no image matches, with the filters in effect (defaults
// included) and what the client-side checks rejected.
type NoMatchError struct {
	Query    Query
	OwnerID  string // owner as resolved, when it differs from the option
	Listed   int    // images Glance returned
	Rejected []Rejection
}

func (e *NoMatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no Glance image matches %s", DescribeQuery(e.Query, e.OwnerID))
	if e.Listed == 0 {
		b.WriteString("; Glance listed no image for these filters")
	} else {
		fmt.Fprintf(&b, "; Glance listed %d image(s), rejected on the client by", e.Listed)
		for i, r := range e.Rejected {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, " %s (%d)", r.Option, r.Count)
		}
	}
	return b.String()
}

// AmbiguousError says that several images match and most_recent is not set.
type AmbiguousError struct {
	Count      int
	Candidates []images.Image // the newest ones, or the first ones in the user's sort order
}

func (e *AmbiguousError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d Glance images match; narrow the filters, or set most_recent = true to take the newest:", e.Count)
	for _, img := range e.Candidates {
		fmt.Fprintf(&b, "\n  %q (ID %s, created %s)", img.Name, img.ID, img.CreatedAt.UTC().Format(time.RFC3339))
	}
	if more := e.Count - len(e.Candidates); more > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more", more)
	}
	return b.String()
}

// DescribeQuery renders the filters in effect, defaults included, the way a
// template would write them.
func DescribeQuery(q Query, ownerID string) string {
	f := q.Filter.WithDefaults()
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	if f.Name != "" {
		add("name = %q", f.Name)
	}
	if f.NameRegex != "" {
		add("name_regex = %q", f.NameRegex)
	}
	if f.Family != "" {
		add("family = %q (the newest of it)", f.Family)
	}
	if f.Owner != "" {
		if ownerID != "" && ownerID != f.Owner {
			add("owner = %q (project %s)", f.Owner, ownerID)
		} else {
			add("owner = %q", f.Owner)
		}
	}
	if f.Visibility != "" {
		add("visibility = %q", f.Visibility)
	} else {
		add("visibility unset (Glance lists public images, the project's own and accepted shared ones)")
	}
	if len(f.Tags) > 0 {
		quoted := make([]string, len(f.Tags))
		for i, t := range f.Tags {
			quoted[i] = fmt.Sprintf("%q", t)
		}
		add("tags = [%s]", strings.Join(quoted, ", "))
	}
	if len(f.Properties) > 0 {
		var kv []string
		for _, k := range sortedKeys(f.Properties) {
			kv = append(kv, fmt.Sprintf("%q = %q", k, f.Properties[k]))
		}
		add("properties = {%s}", strings.Join(kv, ", "))
	}
	if f.ContainerFormat != "" {
		add("container_format = %q", f.ContainerFormat)
	}
	if f.DiskFormat != "" {
		add("disk_format = %q", f.DiskFormat)
	}
	if f.MemberStatus != "" {
		add("member_status = %q", f.MemberStatus)
	}
	add("hidden = %t", f.Hidden)
	if q.Filter.Status == "" {
		add("status = %q (default)", f.Status)
	} else {
		add("status = %q", f.Status)
	}
	if f.SizeMin > 0 {
		add("size_min = %d", f.SizeMin)
	}
	if f.SizeMax > 0 {
		add("size_max = %d", f.SizeMax)
	}
	return strings.Join(parts, ", ")
}
