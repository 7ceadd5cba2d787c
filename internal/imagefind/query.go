package imagefind

import (
	"fmt"
	"strings"
)

// Query is one image lookup: the filter plus how to choose among several
// matches. The data source fills it from its options; the builder from
// `source_image_filter` (Filter from `filters`, MostRecent from `most_recent`)
// or from `source_image_name` (Filter{Name: name}).
type Query struct {
	Filter Filter
	// MostRecent picks the newest match by created_at when several images
	// match; ties go to the greatest name, then the greatest ID (the order
	// Glance lists them in with sort=created_at:desc,name:desc). A Filter.Family
	// implies it.
	MostRecent bool
	// Sort is Glance's sort expression, `key[:asc|desc],...`, with keys
	// SortKeys allows. It orders the candidates named when several images
	// match. It cannot be combined with MostRecent, which sorts by itself.
	Sort string
	// PageSize is how many images to ask Glance for per page; 0 means
	// DefaultPageSize. Glance caps it at its api_limit_max (1000 by default).
	PageSize int
}

// DefaultPageSize is the page size asked for when Query.PageSize is 0: large
// enough to keep the number of round trips low on big public clouds.
const DefaultPageSize = 200

// SortKeys are the keys Glance's image list can sort by; any other key is
// refused by Glance with HTTP 400.
var SortKeys = []string{"name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at"}

// mostRecentSort is the order used with MostRecent: newest first, and within
// one second the greatest name first. Glance appends id itself, in the same
// direction.
const mostRecentSort = "created_at:desc,name:desc"

// Validate checks the whole query; errors name the options, with prefix put
// before each option name. It makes no network call.
func (q Query) Validate(prefix string) []error {
	errs := q.Filter.Validate(prefix)
	if q.Sort != "" {
		if err := validateSort(q.Sort); err != nil {
			errs = append(errs, fmt.Errorf("%ssort %q: %w", prefix, q.Sort, err))
		}
		if q.MostRecent {
			errs = append(errs, fmt.Errorf("%ssort and %smost_recent are both set: most_recent orders by created_at (then name, then ID) itself; remove sort", prefix, prefix))
		}
		if q.Filter.Family != "" {
			errs = append(errs, fmt.Errorf("%ssort and %sfamily are both set: family takes the newest image of the family; remove sort", prefix, prefix))
		}
	}
	if q.PageSize < 0 {
		errs = append(errs, fmt.Errorf("page size %d is negative", q.PageSize))
	}
	return errs
}

// newest reports whether the newest match is taken: most_recent, or a family.
func (q Query) newest() bool { return q.MostRecent || q.Filter.Family != "" }

// validateSort checks a Glance sort expression: comma-separated keys, each
// optionally followed by :asc or :desc, no key twice.
func validateSort(s string) error {
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		key, dir, hasDir := strings.Cut(strings.TrimSpace(part), ":")
		key = strings.TrimSpace(key)
		if key == "" {
			return fmt.Errorf("has an empty key; write keys as key[:asc|desc] separated by commas")
		}
		if !contains(SortKeys, key) {
			return fmt.Errorf("Glance cannot sort by %q: use one of %s", key, strings.Join(SortKeys, ", "))
		}
		if hasDir {
			if d := strings.TrimSpace(dir); d != "asc" && d != "desc" {
				return fmt.Errorf("direction %q of %s is not asc or desc", d, key)
			}
		}
		if seen[key] {
			return fmt.Errorf("sorts by %s twice", key)
		}
		seen[key] = true
	}
	return nil
}
