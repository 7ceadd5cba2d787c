package differential

import (
	"net/url"
	"sort"
	"strings"
	"testing"
)

// Glance image listings: filters, sorting, paging, os_hidden.

func listNames(t *testing.T, s *session, query string) ([]string, map[string]any) {
	t.Helper()
	r := s.Do(t, "GET", "/v2/images?"+query, nil, nil)
	expectStatus(t, r, 200)
	m := r.JSON()
	var names []string
	for _, x := range list(m, "images") {
		names = append(names, str(x.(map[string]any), "name"))
	}
	return names, m
}

// checkListedNames lists GET /v2/images?query and fails unless the names, in any order, are exactly
// want, each written without the "prefix-" every image of the test carries.
func checkListedNames(t *testing.T, s *session, prefix, query string, want ...string) {
	t.Helper()
	got, _ := listNames(t, s, query)
	full := make([]string, len(want))
	for i, w := range want {
		full[i] = prefix + "-" + w
	}
	sort.Strings(got)
	sort.Strings(full)
	if strings.Join(got, ",") != strings.Join(full, ",") {
		t.Errorf("GET /v2/images?%s: names %v, want %v", query, got, full)
	}
}

func TestImageList(t *testing.T) {
	demo, _ := setup(t)
	p := name("list")
	// Three images with distinct names, tags, visibility and one custom property to filter on.
	mk := func(suffix string, extra map[string]any) string {
		body := map[string]any{"name": p + "-" + suffix, "disk_format": "raw", "container_format": "bare"}
		for k, v := range extra {
			body[k] = v
		}
		return str(createImage(t, demo, body), "id")
	}
	mk("a", map[string]any{"visibility": "private", "tags": []string{"red", "round"}, "diff_group": p})
	mk("b", map[string]any{"visibility": "shared", "tags": []string{"red"}, "diff_group": p})
	mk("c", map[string]any{"visibility": "private", "tags": []string{"blue"}, "diff_group": p})
	hidden := mk("hidden", map[string]any{"visibility": "private", "os_hidden": true, "diff_group": p})
	_ = hidden
	group := "diff_group=" + url.QueryEscape(p)

	check := func(t *testing.T, query string, want ...string) {
		t.Helper()
		checkListedNames(t, demo, p, query, want...)
	}

	t.Run("property filter", func(t *testing.T) { check(t, group, "a", "b", "c") })
	t.Run("name exact", func(t *testing.T) { check(t, "name="+url.QueryEscape(p+"-b"), "b") })
	t.Run("name in", func(t *testing.T) {
		check(t, "name="+url.QueryEscape("in:"+p+"-a,"+p+"-c"), "a", "c")
	})
	t.Run("name in quoted", func(t *testing.T) {
		check(t, "name="+url.QueryEscape(`in:"`+p+`-a","`+p+`-b"`), "a", "b")
	})
	t.Run("name is not a prefix match", func(t *testing.T) { check(t, "name="+url.QueryEscape(p)) })
	t.Run("tag", func(t *testing.T) { check(t, group+"&tag=red", "a", "b") })
	t.Run("two tags are AND", func(t *testing.T) { check(t, group+"&tag=red&tag=round", "a") })
	t.Run("visibility private", func(t *testing.T) { check(t, group+"&visibility=private", "a", "c") })
	t.Run("visibility shared", func(t *testing.T) { check(t, group+"&visibility=shared", "b") })
	t.Run("status queued", func(t *testing.T) { check(t, group+"&status=queued", "a", "b", "c") })
	t.Run("status active", func(t *testing.T) { check(t, group+"&status=active") })
	t.Run("os_hidden", func(t *testing.T) { check(t, group+"&os_hidden=true", "hidden") })
	t.Run("hidden image by id", func(t *testing.T) {
		// Hidden from lists only: GET by id still works.
		field(t, getImage(t, demo, hidden), "os_hidden", true)
	})
	t.Run("unknown status", func(t *testing.T) {
		// Not validated: an unknown status simply matches nothing.
		r := demo.Do(t, "GET", "/v2/images?status=sleeping", nil, nil)
		if checkStatus(t, r, 200) && len(list(r.JSON(), "images")) != 0 {
			t.Errorf("status=sleeping listed images: %s", r)
		}
	})
	t.Run("bad visibility", func(t *testing.T) {
		checkStatus(t, demo.Do(t, "GET", "/v2/images?visibility=everyone", nil, nil), 400)
	})

	t.Run("sort", func(t *testing.T) {
		got, _ := listNames(t, demo, group+"&sort=name:desc")
		if strings.Join(got, ",") != p+"-c,"+p+"-b,"+p+"-a" {
			t.Errorf("sort=name:desc: %v", got)
		}
		got, _ = listNames(t, demo, group+"&sort_key=name&sort_dir=asc")
		if strings.Join(got, ",") != p+"-a,"+p+"-b,"+p+"-c" {
			t.Errorf("sort_key=name&sort_dir=asc: %v", got)
		}
		checkStatus(t, demo.Do(t, "GET", "/v2/images?sort=nosuchkey:asc", nil, nil), 400)
	})

	t.Run("paging", func(t *testing.T) {
		names, m := listNames(t, demo, group+"&sort=name:asc&limit=2")
		if strings.Join(names, ",") != p+"-a,"+p+"-b" {
			t.Fatalf("first page %v", names)
		}
		field(t, m, "schema", "/v2/schemas/images")
		first := str(m, "first")
		if !strings.HasPrefix(first, "/v2/images?") {
			t.Errorf("first = %q, want /v2/images?…", first)
		}
		next := str(m, "next")
		if !strings.HasPrefix(next, "/v2/images?") || !strings.Contains(next, "marker=") {
			t.Fatalf("next = %q, want a /v2/images?… link with marker=", next)
		}
		t.Logf("first=%s next=%s", first, next)
		r := demo.Do(t, "GET", next, nil, nil)
		expectStatus(t, r, 200)
		m2 := r.JSON()
		var names2 []string
		for _, x := range list(m2, "images") {
			names2 = append(names2, str(x.(map[string]any), "name"))
		}
		if strings.Join(names2, ",") != p+"-c" {
			t.Errorf("second page %v, want [%s-c]", names2, p)
		}
		// Last page (fewer than limit): no next link.
		absent(t, m2, "next")
		checkStatus(t, demo.Do(t, "GET", "/v2/images?marker=00000000-0000-0000-0000-000000000000", nil, nil), 400)
		checkStatus(t, demo.Do(t, "GET", "/v2/images?limit=-1", nil, nil), 400)
	})
}

// Community images appear in a default listing only for their owner, admins included; visibility=community
// and visibility=all show them to everyone.
func TestImageListCommunity(t *testing.T) {
	demo, admin := setup(t)
	n := name("community")
	createImage(t, demo, map[string]any{"name": n, "visibility": "community"})
	q := "name=" + url.QueryEscape(n)
	for _, c := range []struct {
		who   string
		s     *session
		query string
		want  int
	}{
		{"owner", demo, q, 1},
		{"admin", admin, q, 0},
		{"admin", admin, q + "&member_status=all", 0},
		{"admin", admin, q + "&visibility=community", 1},
		{"admin", admin, q + "&visibility=all", 1},
	} {
		if got, _ := listNames(t, c.s, c.query); len(got) != c.want {
			t.Errorf("%s: GET /v2/images?%s: %v, want %d image(s)", c.who, c.query, got, c.want)
		}
	}
	if cfg.alt != nil {
		alt := newSession(t, cfg.alt)
		if got, _ := listNames(t, alt, q); len(got) != 0 {
			t.Errorf("another project lists a community image by default: %v", got)
		}
		if got, _ := listNames(t, alt, q+"&visibility=community"); len(got) != 1 {
			t.Errorf("another project: visibility=community: %v", got)
		}
	}
}
