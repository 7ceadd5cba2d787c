package differential

import (
	"strings"
	"testing"
)

// Two regions in one Keystone: the real cloud runs a second Glance as region kz-ala-1 (stage
// glancekz), the test cloud has the same region. DIFF_SECOND_REGION names it; the test is skipped
// when the catalog has no image endpoint there.

func TestRegionsAreSeparate(t *testing.T) {
	demo, _ := setup(t)
	second := env("DIFF_SECOND_REGION", "kz-ala-1")
	demo.Token(t) // fresh token body
	demo.mu.Lock()
	tok := demo.tokenBody
	demo.mu.Unlock()
	other := strings.TrimSuffix(strings.TrimRight(catalogURL(tok, "image", demo.cloud.Interface, second), "/"), "/v2")
	if other == "" {
		t.Skipf("no image endpoint in region %s", second)
	}
	if other == demo.Image {
		t.Fatalf("regions %s and %s share the image endpoint %s", demo.cloud.Region, second, other)
	}
	// A client naming no region takes the catalog's first image endpoint: it must be the default region's.
	if first := strings.TrimSuffix(strings.TrimRight(catalogURL(tok, "image", demo.cloud.Interface, ""), "/"), "/v2"); first != demo.Image {
		t.Errorf("the first %s image endpoint of the catalog is %s, want region %s's %s", demo.cloud.Interface, first, demo.cloud.Region, demo.Image)
	}

	do := func(method, base, path string, body any) *response {
		t.Helper()
		return demo.DoURL(t, method, base+path, body, nil)
	}
	n := name("region")
	r := do("POST", other, "/v2/images", map[string]any{"name": n, "disk_format": "raw", "container_format": "bare"})
	expectStatus(t, r, 201)
	id := str(r.JSON(), "id")
	t.Cleanup(func() { do("DELETE", other, "/v2/images/"+id, nil) })
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, other+"/") {
		t.Errorf("Location %q is not on the %s endpoint %s", loc, second, other)
	}
	expectStatus(t, do("GET", other, "/v2/images/"+id, nil), 200)

	// The default region's Glance knows nothing of it.
	checkStatus(t, demo.Do(t, "GET", "/v2/images/"+id, nil, nil), 404)
	r = demo.Do(t, "GET", "/v2/images?name="+n, nil, nil)
	expectStatus(t, r, 200)
	if imgs := list(r.JSON(), "images"); len(imgs) != 0 {
		t.Errorf("region %s lists the %s image: %s", demo.cloud.Region, second, r)
	}
	expectStatus(t, do("DELETE", other, "/v2/images/"+id, nil), 204)
}
