package differential

import (
	"net/url"
	"testing"
)

// Listing filters as Glance's database layer builds them: operators ("in:", "eq:") only on name, id,
// status, container_format and disk_format; owner, numeric columns and properties compared exactly;
// KEY_min/KEY_max ranges; strict booleans. Verified against real Glance 25 before being written down.

func TestImageListFilterSemantics(t *testing.T) {
	demo, _ := setup(t)
	p := name("filters")
	group := "diff_group=" + url.QueryEscape(p)
	mk := func(suffix string, extra map[string]any) string {
		body := map[string]any{"name": p + "-" + suffix, "disk_format": "raw", "container_format": "bare",
			"visibility": "private", "diff_group": p}
		for k, v := range extra {
			body[k] = v
		}
		return str(createImage(t, demo, body), "id")
	}
	mk("a", map[string]any{"diff_val": "in:x,y", "min_ram": 64})
	idB := mk("b", map[string]any{"diff_val": "x"})
	data := payload(4096, 9)
	expectStatus(t, demo.Do(t, "PUT", "/v2/images/"+idB+"/file", data, nil), 204)

	check := func(t *testing.T, query string, want ...string) {
		t.Helper()
		checkListedNames(t, demo, p, query, want...)
	}
	status := func(t *testing.T, query string, want int) {
		t.Helper()
		checkStatus(t, demo.Do(t, "GET", "/v2/images?"+query, nil, nil), want)
	}

	t.Run("property value is exact, in: included", func(t *testing.T) {
		check(t, group+"&diff_val="+url.QueryEscape("in:x,y"), "a")
		check(t, group+"&diff_val=x", "b")
		check(t, group+"&diff_val=y")
	})
	t.Run("name eq operator", func(t *testing.T) { check(t, group+"&name="+url.QueryEscape("eq:"+p+"-a"), "a") })
	t.Run("unknown operator on name, status and formats", func(t *testing.T) {
		// The value is split at its first colon: what comes before must be in or eq.
		status(t, "name="+url.QueryEscape(p+"-a:x"), 400)
		status(t, "name="+url.QueryEscape("neq:"+p+"-a"), 400)
		status(t, "status="+url.QueryEscape("queued:x"), 400)
		status(t, "disk_format="+url.QueryEscape("raw:x"), 400)
		status(t, "name="+url.QueryEscape(`in:"`+p+`-a`), 400) // unclosed quote
	})
	t.Run("status in", func(t *testing.T) { check(t, group+"&status="+url.QueryEscape("in:active,saving"), "b") })
	t.Run("owner is exact", func(t *testing.T) {
		check(t, group+"&owner="+demo.ProjectID, "a", "b")
		check(t, group+"&owner="+url.QueryEscape("in:"+demo.ProjectID))
	})
	t.Run("numeric columns and ranges", func(t *testing.T) {
		check(t, group+"&min_ram=64", "a")
		check(t, group+"&min_ram_min=64", "a")
		check(t, group+"&min_ram_max=0", "b")
		check(t, group+"&size_min=4096&size_max=4096", "b")
		check(t, group+"&size_min=1", "b") // no data: size is null, outside every range
		status(t, group+"&min_ram_min=x", 400)
		// A range on something that is not an image column fails in Glance's database layer.
		status(t, group+"&diff_val_min=1", 500)
	})
	t.Run("checksum", func(t *testing.T) {
		check(t, group+"&checksum="+md5hex(data), "b")
		check(t, group+"&os_hash_value="+sha512hex(data), "b")
	})
	t.Run("times", func(t *testing.T) {
		check(t, group+"&created_at="+url.QueryEscape("gt:2000-01-01T00:00:00Z"), "a", "b")
		check(t, group+"&created_at="+url.QueryEscape("lt:2000-01-01T00:00:00Z"))
		status(t, group+"&created_at=yesterday", 400)
	})
	t.Run("strict values", func(t *testing.T) {
		status(t, "os_hidden=1", 400)
		status(t, "os_hidden=True", 200) // lower-cased first
		status(t, "protected=True", 400)
		check(t, group+"&protected=false", "a", "b")
		status(t, "member_status=bogus", 400)
		status(t, "limit=x", 400)
		status(t, "sort=name:up", 400)
		status(t, "sort_key=name&sort_key=status&sort_dir=asc&sort_dir=desc&sort_dir=asc", 400)
	})
}

// Glance keeps times to the second and breaks ties with created_at and id, in the direction of the only
// sort direction given (desc when none, or when several are given).
func TestImageListTieBreak(t *testing.T) {
	demo, _ := setup(t)
	p := name("ties")
	group := "diff_group=" + url.QueryEscape(p)
	for i := 0; i < 4; i++ {
		createImage(t, demo, map[string]any{"name": p, "visibility": "private", "diff_group": p})
	}
	type row struct{ created, id string }
	list := func(t *testing.T, query string) []row {
		t.Helper()
		_, m := listNames(t, demo, group+"&"+query)
		var out []row
		for _, x := range list(m, "images") {
			img := x.(map[string]any)
			c := str(img, "created_at")
			if len(c) != len("2006-01-02T15:04:05Z") {
				t.Errorf("created_at %q is not to the second", c)
			}
			out = append(out, row{c, str(img, "id")})
		}
		if len(out) != 4 {
			t.Fatalf("%s: %d images, want 4", query, len(out))
		}
		return out
	}
	ordered := func(t *testing.T, query string, desc bool) {
		t.Helper()
		rows := list(t, query)
		for i := 1; i < len(rows); i++ {
			a, b := rows[i-1], rows[i]
			less := a.created < b.created || (a.created == b.created && a.id < b.id)
			if a == b || less == desc {
				t.Errorf("%s: order %v, want (created_at, id) %s", query, rows, map[bool]string{true: "descending", false: "ascending"}[desc])
				return
			}
		}
	}
	t.Run("default", func(t *testing.T) { ordered(t, "", true) })
	t.Run("created_at asc", func(t *testing.T) { ordered(t, "sort=created_at:asc", false) })
	t.Run("name asc, one direction", func(t *testing.T) { ordered(t, "sort=name:asc", false) })
	t.Run("classic name asc", func(t *testing.T) { ordered(t, "sort_key=name&sort_dir=asc", false) })
	t.Run("two directions", func(t *testing.T) { ordered(t, "sort=name:asc,status:asc", true) })
	t.Run("sort_dir alone", func(t *testing.T) { ordered(t, "sort_dir=asc", false) })
}
