package differential

import (
	"net/url"
	"strings"
	"testing"
)

// Glance images: create, get, JSON-patch updates, protection, reserved properties, visibility.

func TestInfoImport(t *testing.T) {
	demo, _ := setup(t)
	// Zed requires a token here (later releases made discovery anonymous).
	r, err := rawRequest("GET", demo.Image+"/v2/info/import", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkStatus(t, r, 401)

	r = demo.Do(t, "GET", "/v2/info/import", nil, nil)
	expectStatus(t, r, 200)
	methods := obj(r.JSON(), "import-methods")
	field(t, methods, "type", "array")
	got := strs(list(methods, "value"))
	for _, m := range []string{"glance-direct", "web-download", "copy-image"} {
		if !contains(got, m) {
			t.Errorf("import-methods.value = %v, want %s among them", got, m)
		}
	}
}

func TestInfoStores(t *testing.T) {
	demo, _ := setup(t)
	r := demo.Do(t, "GET", "/v2/info/stores", nil, nil)
	expectStatus(t, r, 200)
	stores := list(r.JSON(), "stores")
	if len(stores) == 0 {
		t.Fatalf("no stores: %s", r)
	}
	def := 0
	for _, x := range stores {
		st := x.(map[string]any)
		if str(st, "id") == "" {
			t.Errorf("store without id: %v", st)
		}
		// "default" is the STRING "true", and only on the default store.
		if v, ok := st["default"]; ok {
			if v != "true" {
				t.Errorf("store %s: default = %#v, want the string \"true\"", str(st, "id"), v)
			}
			def++
		}
	}
	if def != 1 {
		t.Errorf("%d default stores, want 1: %s", def, r)
	}
}

func TestImageCreateGet(t *testing.T) {
	demo, _ := setup(t)
	img := createImage(t, demo, map[string]any{
		"name": name("create"), "disk_format": "qcow2", "container_format": "bare",
		"visibility": "private", "min_disk": 1, "min_ram": 64, "tags": []string{"b", "a"},
		"os_distro": "debian", "diff_prop": "value 1",
	})
	id := str(img, "id")
	if len(id) != 36 {
		t.Errorf("id %q is not a UUID", id)
	}
	for _, m := range []map[string]any{img, getImage(t, demo, id)} {
		field(t, m, "name", name("create"))
		field(t, m, "status", "queued")
		field(t, m, "visibility", "private")
		field(t, m, "owner", demo.ProjectID)
		field(t, m, "protected", false)
		field(t, m, "os_hidden", false)
		field(t, m, "min_disk", 1)
		field(t, m, "min_ram", 64)
		field(t, m, "disk_format", "qcow2")
		field(t, m, "container_format", "bare")
		field(t, m, "size", nil)
		field(t, m, "virtual_size", nil)
		field(t, m, "checksum", nil)
		field(t, m, "os_hash_algo", nil)
		field(t, m, "os_hash_value", nil)
		field(t, m, "os_distro", "debian")
		field(t, m, "diff_prop", "value 1")
		field(t, m, "self", "/v2/images/"+id)
		field(t, m, "file", "/v2/images/"+id+"/file")
		field(t, m, "schema", "/v2/schemas/image")
		absent(t, m, "locations")
		absent(t, m, "direct_url")
		absent(t, m, "stores")
		if tags := strs(list(m, "tags")); len(tags) != 2 || !contains(tags, "a") || !contains(tags, "b") {
			t.Errorf("tags = %v, want a and b", tags)
		}
		for _, k := range []string{"created_at", "updated_at"} {
			if !strings.HasSuffix(str(m, k), "Z") {
				t.Errorf("%s = %q, want UTC with Z", k, str(m, k))
			}
		}
	}

	// No visibility given: "shared" (the default since Rocky).
	img2 := createImage(t, demo, map[string]any{"name": name("default-vis")})
	field(t, img2, "visibility", "shared")
	field(t, img2, "disk_format", nil)
	field(t, img2, "container_format", nil)
	field(t, img2, "min_disk", 0)
	field(t, img2, "min_ram", 0)
	field(t, img2, "tags", []string{})

	// Unknown id: 404.
	r := demo.Do(t, "GET", "/v2/images/00000000-0000-0000-0000-000000000000", nil, nil)
	checkStatus(t, r, 404)
}

func TestImageCreateInvalid(t *testing.T) {
	demo, _ := setup(t)
	cases := []struct {
		name string
		body map[string]any
		want int
	}{
		{"reserved os_glance_ property", map[string]any{"name": name("bad"), "os_glance_foo": "x"}, 403},
		{"unknown disk_format", map[string]any{"name": name("bad"), "disk_format": "floppy"}, 400},
		{"non-string property", map[string]any{"name": name("bad"), "diff_num": 5}, 400},
		{"bad visibility", map[string]any{"name": name("bad"), "visibility": "everyone"}, 400},
		{"read-only status", map[string]any{"name": name("bad"), "status": "active"}, 403},
		{"public as member", map[string]any{"name": name("bad"), "visibility": "public"}, 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := demo.Do(t, "POST", "/v2/images", c.body, nil)
			if r.Status == 201 {
				deleteImage(t, str(r.JSON(), "id"))
			}
			checkStatus(t, r, c.want)
		})
	}
}

func TestImagePatch(t *testing.T) {
	demo, admin := setup(t)
	img := createImage(t, demo, map[string]any{"name": name("patch"), "disk_format": "raw",
		"container_format": "bare", "visibility": "private", "tags": []string{"one"}, "diff_a": "1"})
	id := str(img, "id")
	path := "/v2/images/" + id
	op := func(o, p string, v any) map[string]any {
		m := map[string]any{"op": o, "path": p}
		if o != "remove" {
			m["value"] = v
		}
		return m
	}

	r := demo.Patch(t, path,
		op("replace", "/name", name("patched")),
		op("add", "/diff_b", "2"),
		op("replace", "/diff_a", "one"),
		op("replace", "/tags", []string{"one", "two"}),
		op("replace", "/min_disk", 2),
		op("replace", "/min_ram", 128),
		op("replace", "/os_hidden", true),
		op("replace", "/visibility", "shared"),
	)
	expectStatus(t, r, 200)
	m := r.JSON()
	field(t, m, "name", name("patched"))
	field(t, m, "diff_a", "one")
	field(t, m, "diff_b", "2")
	field(t, m, "min_disk", 2)
	field(t, m, "min_ram", 128)
	field(t, m, "os_hidden", true)
	field(t, m, "visibility", "shared")
	if tags := strs(list(m, "tags")); len(tags) != 2 || !contains(tags, "one") || !contains(tags, "two") {
		t.Errorf("tags = %v, want one and two", tags)
	}

	t.Run("tags are not a JSON-patch array", func(t *testing.T) {
		// Glance takes /tags only whole: appending with /tags/- is 400 "Invalid JSON pointer".
		r := demo.Patch(t, path, op("add", "/tags/-", "three"))
		checkStatus(t, r, 400)
	})
	t.Run("remove property", func(t *testing.T) {
		r := demo.Patch(t, path, op("remove", "/diff_b", nil))
		expectStatus(t, r, 200)
		absent(t, r.JSON(), "diff_b")
		// Removing what is not there is a conflict.
		checkStatus(t, demo.Patch(t, path, op("remove", "/diff_b", nil)), 409)
	})
	t.Run("replace tags", func(t *testing.T) {
		r := demo.Patch(t, path, op("replace", "/tags", []string{"x", "y", "x"}))
		expectStatus(t, r, 200)
		if tags := strs(list(r.JSON(), "tags")); len(tags) != 2 {
			t.Errorf("tags = %v, want x and y once each", tags)
		}
	})
	t.Run("tag endpoints", func(t *testing.T) {
		checkStatus(t, demo.Do(t, "PUT", path+"/tags/z", nil, nil), 204)
		checkStatus(t, demo.Do(t, "PUT", path+"/tags/z", nil, nil), 204)
		checkStatus(t, demo.Do(t, "DELETE", path+"/tags/z", nil, nil), 204)
		checkStatus(t, demo.Do(t, "DELETE", path+"/tags/z", nil, nil), 404)
	})
	t.Run("reserved os_glance_ property", func(t *testing.T) {
		checkStatus(t, demo.Patch(t, path, op("add", "/os_glance_diff", "x")), 403)
		checkStatus(t, admin.Patch(t, path, op("add", "/os_glance_diff", "x")), 403)
	})
	t.Run("read-only attributes", func(t *testing.T) {
		for _, p := range []string{"/status", "/size", "/checksum", "/id", "/os_hash_value"} {
			r := demo.Patch(t, path, op("replace", p, "x"))
			checkStatus(t, r, 403)
		}
	})
	t.Run("locations are invisible", func(t *testing.T) {
		// show_multiple_locations is off: no location may be added or removed.
		checkStatus(t, demo.Patch(t, path, op("add", "/locations/-", map[string]any{"url": "http://127.0.0.1/x", "metadata": map[string]any{}})), 403)
		checkStatus(t, demo.Patch(t, path, op("remove", "/locations/0", nil)), 403)
	})
	t.Run("tag length", func(t *testing.T) {
		checkStatus(t, demo.Do(t, "PUT", path+"/tags/"+strings.Repeat("t", 255), nil, nil), 204)
		checkStatus(t, demo.Do(t, "PUT", path+"/tags/"+strings.Repeat("t", 256), nil, nil), 400)
		checkStatus(t, demo.Do(t, "DELETE", path+"/tags/"+strings.Repeat("t", 255), nil, nil), 204)
	})
	t.Run("wrong content type", func(t *testing.T) {
		r := demo.Do(t, "PATCH", path, []map[string]any{op("replace", "/name", "x")}, nil)
		checkStatus(t, r, 415)
	})
	t.Run("community and private", func(t *testing.T) {
		for _, v := range []string{"community", "private", "shared"} {
			r := demo.Patch(t, path, op("replace", "/visibility", v))
			if checkStatus(t, r, 200) {
				field(t, r.JSON(), "visibility", v)
			}
		}
	})
	t.Run("public as member", func(t *testing.T) {
		r := demo.Patch(t, path, op("replace", "/visibility", "public"))
		checkStatus(t, r, 403)
		field(t, getImage(t, demo, id), "visibility", "shared")
	})
	t.Run("public as admin", func(t *testing.T) {
		r := admin.Patch(t, path, op("replace", "/visibility", "public"))
		if checkStatus(t, r, 200) {
			field(t, r.JSON(), "visibility", "public")
		}
	})
}

func TestImageProtected(t *testing.T) {
	demo, _ := setup(t)
	img := createImage(t, demo, map[string]any{"name": name("protected"), "protected": true})
	id := str(img, "id")
	field(t, img, "protected", true)
	checkStatus(t, demo.Do(t, "DELETE", "/v2/images/"+id, nil, nil), 403)
	r := demo.Patch(t, "/v2/images/"+id, map[string]any{"op": "replace", "path": "/protected", "value": false})
	expectStatus(t, r, 200)
	field(t, r.JSON(), "protected", false)
	checkStatus(t, demo.Do(t, "DELETE", "/v2/images/"+id, nil, nil), 204)
	checkStatus(t, demo.Do(t, "GET", "/v2/images/"+id, nil, nil), 404)
	checkStatus(t, demo.Do(t, "DELETE", "/v2/images/"+id, nil, nil), 404)
}

func TestImageOtherProjectInvisible(t *testing.T) {
	demo, admin := setup(t)
	// An admin's private image is invisible to the member: 404, not 403.
	img := createImage(t, admin, map[string]any{"name": name("admin-private"), "visibility": "private"})
	checkStatus(t, demo.Do(t, "GET", "/v2/images/"+str(img, "id"), nil, nil), 404)
	checkStatus(t, demo.Do(t, "DELETE", "/v2/images/"+str(img, "id"), nil, nil), 404)
	r := demo.Do(t, "GET", "/v2/images?name="+url.QueryEscape(name("admin-private")), nil, nil)
	expectStatus(t, r, 200)
	if n := len(list(r.JSON(), "images")); n != 0 {
		t.Errorf("member lists %d of the admin's private images", n)
	}
}

func TestImageDeactivate(t *testing.T) {
	demo, _ := setup(t)
	img := createImage(t, demo, map[string]any{"name": name("deactivate"), "disk_format": "raw", "container_format": "bare"})
	id := str(img, "id")
	act := func(s *session, action string) *response {
		return s.Do(t, "POST", "/v2/images/"+id+"/actions/"+action, nil, nil)
	}
	// Only active (or deactivated) images change; the owner may do it (Zed's default policy).
	checkStatus(t, act(demo, "deactivate"), 403)
	checkStatus(t, act(demo, "reactivate"), 403)
	expectStatus(t, demo.Do(t, "PUT", "/v2/images/"+id+"/file", payload(1000, 11), nil), 204)
	checkStatus(t, act(demo, "reactivate"), 204) // already active: fine
	if cfg.alt != nil {
		// Another project cannot see a shared image it is no member of.
		checkStatus(t, act(newSession(t, cfg.alt), "deactivate"), 404)
	}
	checkStatus(t, act(demo, "deactivate"), 204)
	checkStatus(t, act(demo, "deactivate"), 204)
	field(t, getImage(t, demo, id), "status", "deactivated")
	// No data for anyone but an admin while deactivated.
	checkStatus(t, demo.Do(t, "GET", "/v2/images/"+id+"/file", nil, nil), 403)
	checkStatus(t, act(demo, "reactivate"), 204)
	field(t, getImage(t, demo, id), "status", "active")
}
