package testcloud

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

var glanceSortKeys = []string{"name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at"}

type sortSpec struct {
	key  string
	desc bool
}

func validSortDir(dir string) error {
	if dir != "asc" && dir != "desc" {
		return fmt.Errorf("Invalid sort direction: %s", dir)
	}
	return nil
}

// parseGlanceSort reads sort=k:dir,... or the classic repeated sort_key/sort_dir, and appends Glance's
// tie-breakers created_at and id (unless already sorted on) in the default direction: desc, or the only
// direction given.
func parseGlanceSort(q url.Values) ([]sortSpec, error) {
	var keys, dirs []string
	if q.Has("sort") {
		if q.Has("sort_key") || q.Has("sort_dir") {
			return nil, fmt.Errorf("Old and new sorting syntax cannot be combined")
		}
		for _, part := range strings.Split(strings.TrimSpace(q.Get("sort")), ",") {
			k, dir, _ := strings.Cut(part, ":")
			if dir == "" {
				dir = "desc"
			}
			keys, dirs = append(keys, strings.TrimSpace(k)), append(dirs, strings.TrimSpace(dir))
		}
	} else {
		for _, k := range q["sort_key"] {
			keys = append(keys, strings.TrimSpace(k))
		}
		for _, d := range q["sort_dir"] {
			dirs = append(dirs, strings.TrimSpace(d))
		}
	}
	for _, k := range keys {
		if !contains(glanceSortKeys, k) {
			return nil, fmt.Errorf("Invalid sort key: %s. It must be one of the following: %s.", k, strings.Join(glanceSortKeys, ", "))
		}
	}
	for _, d := range dirs {
		if err := validSortDir(d); err != nil {
			return nil, err
		}
	}
	if len(dirs) > 1 && len(dirs) != len(keys) {
		return nil, fmt.Errorf("Number of sort dirs does not match the number of sort keys")
	}
	if len(keys) == 0 {
		keys = []string{"created_at"}
	}
	def := "desc"
	if len(dirs) == 1 {
		def = dirs[0]
	}
	for len(dirs) < len(keys) {
		dirs = append(dirs, def)
	}
	for _, k := range []string{"created_at", "id"} {
		if !contains(keys, k) {
			keys, dirs = append(keys, k), append(dirs, def)
		}
	}
	specs := make([]sortSpec, len(keys))
	for i := range keys {
		specs[i] = sortSpec{keys[i], dirs[i] == "desc"}
	}
	return specs, nil
}

func compareImages(a, b *image, key string) int {
	cmpStr := func(x, y string) int { return strings.Compare(x, y) }
	switch key {
	case "name":
		return cmpStr(a.Name, b.Name)
	case "status":
		return cmpStr(a.Status, b.Status)
	case "container_format":
		return cmpStr(a.ContainerFormat, b.ContainerFormat)
	case "disk_format":
		return cmpStr(a.DiskFormat, b.DiskFormat)
	case "size":
		switch {
		case a.Size < b.Size:
			return -1
		case a.Size > b.Size:
			return 1
		}
		return 0
	case "id":
		return cmpStr(a.ID, b.ID)
	case "created_at":
		return a.CreatedAt.Compare(b.CreatedAt)
	case "updated_at":
		return a.UpdatedAt.Compare(b.UpdatedAt)
	}
	return 0
}

// splitFilterOp splits "op:value" like Glance's split_filter_op: no colon, or a whole value that is an
// ISO 8601 time, means equality.
func splitFilterOp(v string) (op, val string) {
	left, right, ok := strings.Cut(v, ":")
	if !ok {
		return "eq", v
	}
	if _, err := parseISOTime(v); err == nil {
		return "eq", v
	}
	return left, right
}

// parseISOTime accepts the ISO 8601 forms clients send (with or without zone and fractions).
func parseISOTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not an ISO 8601 time: %q", v)
}

// splitQuotedValues splits the list of an "in:" filter at commas; double-quoted items may hold commas
// (Glance's split_filter_value_for_quotes). An unclosed quote is an error.
func splitQuotedValues(v string) ([]string, error) {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range v {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	if quoted {
		return nil, fmt.Errorf("Invalid filter value %s. The quote is not closed.", v)
	}
	return append(out, cur.String()), nil
}

// matchOpFilter applies a filter on name, id, status, container_format or disk_format: "in:a,b" or
// "eq:a" or a plain value; any other operator is refused, as Glance does.
func matchOpFilter(actual, filter string) (bool, error) {
	op, val := splitFilterOp(filter)
	switch op {
	case "eq":
		return actual == val, nil
	case "in":
		vals, err := splitQuotedValues(val)
		if err != nil {
			return false, err
		}
		return contains(vals, actual), nil
	}
	return false, fmt.Errorf("Unable to filter by unknown operator '%s'.", op)
}

// matchTime applies Glance's "[op:]timestamp" date filter (gt, gte, lt, lte, eq, neq; eq by default).
// Glance stores times to the second.
func matchTime(key string, t time.Time, filter string) (bool, error) {
	op, val := splitFilterOp(filter)
	ref, err := parseISOTime(val)
	if err != nil {
		return false, fmt.Errorf("Bad \"%s\" query filter format. Use ISO 8601 DateTime notation.", key)
	}
	t = t.Truncate(time.Second)
	switch op {
	case "gt":
		return t.After(ref), nil
	case "gte":
		return !t.Before(ref), nil
	case "lt":
		return t.Before(ref), nil
	case "lte":
		return !t.After(ref), nil
	case "eq":
		return t.Equal(ref), nil
	case "neq":
		return !t.Equal(ref), nil
	}
	return false, fmt.Errorf("Unable to filter on a unknown operator.")
}

// errServerError stands for Glance's HTTP 500 on a filter its database layer cannot build.
var errServerError = errors.New("The server has either erred or is incapable of performing the requested operation.")

// numericColumn returns an image's numeric column by name (null columns give ok=false for the value).
func numericColumn(img *image, key string) (value int64, known, notNull bool) {
	switch key {
	case "size":
		return img.Size, true, img.Size >= 0
	case "virtual_size":
		return img.VirtualSize, true, img.VirtualSize > 0
	case "min_disk":
		return int64(img.MinDisk), true, true
	case "min_ram":
		return int64(img.MinRAM), true, true
	}
	return 0, false, false
}

// matchRange applies a KEY_min/KEY_max filter. Glance compares the image column KEY; a key that is not
// a numeric column makes its database layer fail (500), a value that is not a number is a 400.
func matchRange(img *image, k, v string) (bool, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return false, fmt.Errorf("Unable to filter on a range with a non-numeric value.")
	}
	val, known, notNull := numericColumn(img, k[:len(k)-4])
	if !known {
		return false, errServerError
	}
	if !notNull {
		return false, nil
	}
	if strings.HasSuffix(k, "_min") {
		return val >= n, nil
	}
	return val <= n, nil
}

// validateListQuery refuses what Glance's request deserializer and controller refuse, before any
// image is looked at.
func validateListQuery(q url.Values) error {
	if v := q.Get("visibility"); v != "" && !contains([]string{"community", "public", "private", "shared", "all"}, v) {
		return fmt.Errorf("Invalid visibility value: %s", v)
	}
	if q.Has("changes-since") {
		return fmt.Errorf("The \"changes-since\" filter is no longer available on v2.")
	}
	if q.Has("member_status") {
		if v := q.Get("member_status"); !contains([]string{"pending", "accepted", "rejected", "all"}, v) {
			return fmt.Errorf("Invalid status: %s", v)
		}
	}
	if q.Has("os_hidden") {
		if v := strings.ToLower(q.Get("os_hidden")); v != "true" && v != "false" {
			return fmt.Errorf("Invalid value '%s' for 'os_hidden' filter. Valid values are 'true' or 'false'.", q.Get("os_hidden"))
		}
	}
	if q.Has("protected") {
		if v := q.Get("protected"); v != "true" && v != "false" {
			return fmt.Errorf("Invalid value '%s' for 'protected' filter. Valid values are 'true' or 'false'.", v)
		}
	}
	return nil
}

// imageMatches applies every filter of the query, the way Glance's database layer builds its
// conditions. It returns an error for malformed filters (errServerError for the ones Glance fails on).
func imageMatches(img *image, q url.Values, rc *reqCtx) (bool, error) {
	project := rc.projectID()
	vis := q.Get("visibility")
	memberStatus := q.Get("member_status")
	if memberStatus == "" {
		memberStatus = "accepted"
	}
	owned := img.Owner == project
	switch vis {
	case "":
		// Without a visibility filter nobody, not even an admin, gets other projects' community images.
		if img.Visibility == "community" && !owned {
			return false, nil
		}
		if !rc.isAdmin() && !owned {
			switch img.Visibility {
			case "public":
			case "shared":
				m := img.members[project]
				if m == nil || (memberStatus != "all" && m.status != memberStatus) {
					return false, nil
				}
			default:
				return false, nil
			}
		}
	case "all":
		if !canSee(img, rc) {
			return false, nil
		}
	default:
		if img.Visibility != vis || !canSee(img, rc) {
			return false, nil
		}
		if vis == "shared" && !owned && !rc.isAdmin() {
			m := img.members[project]
			if m == nil || (memberStatus != "all" && m.status != memberStatus) {
				return false, nil
			}
		}
	}
	if img.Hidden != (strings.ToLower(q.Get("os_hidden")) == "true") {
		return false, nil
	}
	if v := q.Get("protected"); v != "" && img.Protected != (v == "true") {
		return false, nil
	}
	for _, t := range q["tag"] {
		if !contains(img.Tags, t) {
			return false, nil
		}
	}
	// Every remaining key is a condition, in Glance's order of precedence: ranges, times, the columns
	// with operators, other columns by equality, and then image properties, compared exactly.
	for k, vals := range q {
		if len(vals) == 0 || k == "visibility" || k == "member_status" || k == "os_hidden" || k == "protected" ||
			k == "tag" || k == "limit" || k == "marker" || k == "sort" || k == "sort_key" || k == "sort_dir" {
			continue
		}
		v := vals[0]
		var ok bool
		var err error
		switch {
		case strings.HasSuffix(k, "_min") || strings.HasSuffix(k, "_max"):
			ok, err = matchRange(img, k, v)
		case k == "created_at":
			ok, err = matchTime(k, img.CreatedAt, v)
		case k == "updated_at":
			ok, err = matchTime(k, img.UpdatedAt, v)
		case k == "name" || k == "id" || k == "status" || k == "container_format" || k == "disk_format":
			ok, err = matchOpFilter(map[string]string{"name": img.Name, "id": img.ID, "status": img.Status,
				"container_format": img.ContainerFormat, "disk_format": img.DiskFormat}[k], v)
		case k == "owner" || k == "checksum" || k == "os_hash_algo" || k == "os_hash_value":
			ok = v == map[string]string{"owner": img.Owner, "checksum": img.Checksum,
				"os_hash_algo": img.OSHashAlgo, "os_hash_value": img.OSHashValue}[k]
		case k == "size" || k == "virtual_size" || k == "min_disk" || k == "min_ram":
			n, perr := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			val, _, notNull := numericColumn(img, k)
			ok = perr == nil && notNull && val == n
		default:
			pv, has := img.property(k)
			ok = has
			for _, want := range vals {
				ok = ok && pv == want
			}
		}
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func (c *Cloud) glanceListImages(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q := r.URL.Query()
	limit := 25
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil {
			rc.fail(w, http.StatusBadRequest, "limit param must be an integer")
			return
		}
		if n < 0 {
			rc.fail(w, http.StatusBadRequest, "limit param must be positive")
			return
		}
		limit = min(n, 1000)
	}
	if err := validateListQuery(q); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	specs, err := parseGlanceSort(q)
	if err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var matched []*image
	for _, img := range rc.reg.sortedImages() {
		ok, err := imageMatches(img, q, rc)
		if err == errServerError {
			rc.fail(w, http.StatusInternalServerError, "%v", err)
			return
		}
		if err != nil {
			rc.fail(w, http.StatusBadRequest, "%v", err)
			return
		}
		if ok {
			matched = append(matched, img)
		}
	}
	sort.SliceStable(matched, func(i, j int) bool {
		for _, s := range specs {
			if d := compareImages(matched[i], matched[j], s.key); d != 0 {
				return (d < 0) != s.desc
			}
		}
		return false
	})
	if marker := q.Get("marker"); marker != "" {
		pos := -1
		for i, img := range matched {
			if img.ID == marker {
				pos = i
			}
		}
		if pos < 0 {
			if img := rc.reg.images[marker]; img == nil || !canSee(img, rc) {
				rc.fail(w, http.StatusBadRequest, "No image found with ID %s", marker)
				return
			}
		}
		matched = matched[pos+1:]
	}
	page := matched
	if len(page) > limit {
		page = page[:limit]
	}
	out := make([]any, 0, len(page))
	for _, img := range page {
		out = append(out, img.json())
	}
	resp := map[string]any{"images": out, "schema": "/v2/schemas/images", "first": "/v2/images" + queryWithout(q, "marker")}
	// Like Glance, a full page carries a next link even when it happens to be the last one.
	if len(page) > 0 && len(page) == limit {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("marker", page[len(page)-1].ID)
		nq.Set("limit", strconv.Itoa(limit))
		resp["next"] = "/v2/images?" + nq.Encode()
	}
	writeJSON(w, http.StatusOK, resp)
}

func queryWithout(q url.Values, drop string) string {
	nq := url.Values{}
	for k, v := range q {
		if k != drop {
			nq[k] = v
		}
	}
	if len(nq) == 0 {
		return ""
	}
	return "?" + nq.Encode()
}
