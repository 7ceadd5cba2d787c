package testcloud

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Query keys that are not property filters.
var glanceListReserved = map[string]bool{
	"limit": true, "marker": true, "sort": true, "sort_key": true, "sort_dir": true, "name": true,
	"visibility": true, "member_status": true, "owner": true, "status": true, "tag": true, "os_hidden": true,
	"size_min": true, "size_max": true, "id": true, "created_at": true, "updated_at": true,
	"container_format": true, "disk_format": true, "protected": true, "min_disk": true, "min_ram": true,
}

var glanceSortKeys = []string{"name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at"}

type sortSpec struct {
	key  string
	desc bool
}

// parseGlanceSort reads sort=k:dir,... or the classic repeated sort_key/sort_dir.
func parseGlanceSort(q url.Values) ([]sortSpec, error) {
	var specs []sortSpec
	if s := q.Get("sort"); s != "" {
		if q.Has("sort_key") || q.Has("sort_dir") {
			return nil, fmt.Errorf("The 'sort' parameter cannot be used with 'sort_key' or 'sort_dir'")
		}
		for _, part := range strings.Split(s, ",") {
			k, dir, _ := strings.Cut(strings.TrimSpace(part), ":")
			if dir == "" {
				dir = "desc"
			}
			if dir != "asc" && dir != "desc" {
				return nil, fmt.Errorf("Invalid sort direction: %s", dir)
			}
			specs = append(specs, sortSpec{k, dir == "desc"})
		}
	} else {
		keys, dirs := q["sort_key"], q["sort_dir"]
		for i, k := range keys {
			dir := "desc"
			if i < len(dirs) {
				dir = dirs[i]
			} else if len(dirs) == 1 {
				dir = dirs[0]
			}
			if dir != "asc" && dir != "desc" {
				return nil, fmt.Errorf("Invalid sort direction: %s", dir)
			}
			specs = append(specs, sortSpec{k, dir == "desc"})
		}
	}
	for _, s := range specs {
		if !contains(glanceSortKeys, s.key) {
			return nil, fmt.Errorf("Invalid sort key: %s. It should be one of the following: %s", s.key, strings.Join(glanceSortKeys, ", "))
		}
	}
	// Glance always breaks ties by created_at and id, newest first.
	specs = append(specs, sortSpec{"created_at", true}, sortSpec{"id", true})
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

// inValues splits "in:a,b" (or a plain value) into the accepted values. Quoted items may hold commas.
func inValues(v string) []string {
	rest, ok := strings.CutPrefix(v, "in:")
	if !ok {
		return []string{v}
	}
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range rest {
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
	return append(out, cur.String())
}

// matchTime applies Glance's "op:timestamp" date filter (gt, gte, lt, lte, eq, neq).
func matchTime(t time.Time, filter string) (bool, error) {
	op, val, ok := strings.Cut(filter, ":")
	if !ok {
		return false, fmt.Errorf("Invalid date filter %q", filter)
	}
	ref, err := time.Parse(time.RFC3339, val)
	if err != nil {
		return false, fmt.Errorf("Invalid date filter %q", filter)
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
	return false, fmt.Errorf("Invalid operator %q", op)
}

// imageMatches applies every filter of the query. It returns an error for malformed filters.
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
	case "public", "private", "community", "shared":
		if img.Visibility != vis || !canSee(img, rc) {
			return false, nil
		}
		if vis == "shared" && !owned && !rc.isAdmin() {
			m := img.members[project]
			if m == nil || (memberStatus != "all" && m.status != memberStatus) {
				return false, nil
			}
		}
	default:
		return false, fmt.Errorf("Invalid visibility value: %s", vis)
	}
	hidden := false
	if h := q.Get("os_hidden"); h != "" {
		b, err := strconv.ParseBool(h)
		if err != nil {
			return false, fmt.Errorf("Invalid value for os_hidden: %s", h)
		}
		hidden = b
	}
	if img.Hidden != hidden {
		return false, nil
	}
	if v := q.Get("name"); v != "" && !contains(inValues(v), img.Name) {
		return false, nil
	}
	if v := q.Get("id"); v != "" && !contains(inValues(v), img.ID) {
		return false, nil
	}
	if v := q.Get("status"); v != "" && !contains(inValues(strings.ToLower(v)), img.Status) {
		return false, nil
	}
	if v := q.Get("owner"); v != "" && !contains(inValues(v), img.Owner) {
		return false, nil
	}
	if v := q.Get("container_format"); v != "" && !contains(inValues(v), img.ContainerFormat) {
		return false, nil
	}
	if v := q.Get("disk_format"); v != "" && !contains(inValues(v), img.DiskFormat) {
		return false, nil
	}
	if v := q.Get("protected"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("Invalid value for protected: %s", v)
		}
		if img.Protected != b {
			return false, nil
		}
	}
	for _, t := range q["tag"] {
		if !contains(img.Tags, t) {
			return false, nil
		}
	}
	for _, k := range []string{"size_min", "size_max"} {
		if v := q.Get(k); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return false, fmt.Errorf("Invalid value for %s: %s", k, v)
			}
			if img.Size < 0 || (k == "size_min" && img.Size < n) || (k == "size_max" && img.Size > n) {
				return false, nil
			}
		}
	}
	for k, t := range map[string]time.Time{"created_at": img.CreatedAt, "updated_at": img.UpdatedAt} {
		if v := q.Get(k); v != "" {
			ok, err := matchTime(t, v)
			if err != nil || !ok {
				return false, err
			}
		}
	}
	// Every other key is a property condition, as in Glance.
	for k, vals := range q {
		if glanceListReserved[k] {
			continue
		}
		pv, ok := img.Properties[k]
		if !ok && k == "os_glance_import_task" && img.importTask != "" {
			pv, ok = img.importTask, true
		}
		if !ok {
			return false, nil
		}
		for _, v := range vals {
			if !contains(inValues(v), pv) {
				return false, nil
			}
		}
	}
	return true, nil
}

func (c *Cloud) glanceListImages(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q := r.URL.Query()
	limit := 25
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			rc.fail(w, http.StatusBadRequest, "limit param must be an integer")
			return
		}
		limit = min(n, 1000)
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
				rc.fail(w, http.StatusBadRequest, "Invalid marker. Image %s could not be found.", marker)
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
