package differential

import (
	"strings"
	"testing"
)

// Response shapes the plugin's error handling and discovery rely on.

func TestGlanceVersions(t *testing.T) {
	demo, _ := setup(t)
	r, err := rawRequest("GET", demo.Image+"/", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Version discovery needs no token and answers 300 Multiple Choices.
	expectStatus(t, r, 300)
	current := ""
	for _, x := range list(r.JSON(), "versions") {
		v := x.(map[string]any)
		if str(v, "status") == "CURRENT" {
			current = str(v, "id")
		}
	}
	t.Logf("current Glance API version %s", current)
	if !strings.HasPrefix(current, "v2.") {
		t.Errorf("no CURRENT v2.x version: %s", r)
	}
}

func TestImageCreateHeaders(t *testing.T) {
	demo, _ := setup(t)
	r := demo.Do(t, "POST", "/v2/images", map[string]any{"name": name("headers")}, nil)
	expectStatus(t, r, 201)
	id := str(r.JSON(), "id")
	t.Cleanup(func() { deleteImage(t, id) })
	// Location is absolute.
	if loc := r.Header.Get("Location"); loc != demo.Image+"/v2/images/"+id {
		t.Errorf("Location = %q, want %s", loc, demo.Image+"/v2/images/"+id)
	}
	methods := strings.Split(r.Header.Get("OpenStack-Image-Import-Methods"), ",")
	for _, m := range []string{"glance-direct", "web-download", "copy-image"} {
		if !contains(methods, m) {
			t.Errorf("OpenStack-Image-Import-Methods = %v, want %s among them", methods, m)
		}
	}
	// The store ids header also names Glance's internal staging and tasks stores.
	if h := r.Header.Get("OpenStack-Image-Store-Ids"); h == "" {
		t.Error("no OpenStack-Image-Store-Ids header")
	} else {
		t.Logf("OpenStack-Image-Store-Ids: %s", h)
	}
	if r.Header.Get("X-Openstack-Request-Id") == "" {
		t.Error("no X-Openstack-Request-Id header")
	}
}

func TestGlanceErrorShape(t *testing.T) {
	demo, _ := setup(t)
	// With Accept: application/json, errors are a flat JSON object: message (with Glance's
	// "<br /><br />" separators), code as "NNN Reason" string, title.
	r := demo.Do(t, "GET", "/v2/images/00000000-0000-0000-0000-000000000000", nil, nil)
	expectStatus(t, r, 404)
	m := r.JSON()
	if m == nil {
		t.Fatalf("404 body is not JSON: %s", r)
	}
	field(t, m, "code", "404 Not Found")
	field(t, m, "title", "Not Found")
	if !strings.Contains(str(m, "message"), "00000000-0000-0000-0000-000000000000") {
		t.Errorf("message %q does not name the image", str(m, "message"))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestKeystoneErrorShape(t *testing.T) {
	setup(t)
	r, err := rawRequest("POST", cfg.demo.AuthURL+"/auth/tokens", passwordBody(cfg.demo, "wrong"), nil)
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, r, 401)
	// Keystone nests its error: {"error": {"code": 401 (a number), "message", "title"}}.
	e := obj(r.JSON(), "error")
	field(t, e, "code", 401)
	if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Keystone uri=") {
		t.Errorf("WWW-Authenticate = %q", h)
	}
}
