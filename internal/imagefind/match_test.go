package imagefind

import (
	"encoding/json"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

func TestClientSideMatchingOfNonStringProperties(t *testing.T) {
	// Glance returns properties set by other tools with JSON types of their own.
	var img images.Image
	body := `{"id": "i", "name": "n", "status": "active", "hw_cpu_cores": 4, "hw_vif_multiqueue_enabled": true,
		"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}`
	if err := json.Unmarshal([]byte(body), &img); err != nil {
		t.Fatal(err)
	}
	m, err := newMatcher(Filter{Properties: map[string]string{"hw_cpu_cores": "4", "hw_vif_multiqueue_enabled": "true"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if r := m.mismatch(&img); r != "" {
		t.Errorf("hw_cpu_cores=4 rejected by %s", r)
	}
	m, _ = newMatcher(Filter{Properties: map[string]string{"missing": ""}}, "")
	if r := m.mismatch(&img); r != `properties["missing"]` {
		t.Errorf("an absent property matched an empty value (%q)", r)
	}
}
