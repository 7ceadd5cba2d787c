package imagefind

import (
	"encoding/json"
	"reflect"
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

func TestListRequestKeepsAmbiguousFiltersOnTheClient(t *testing.T) {
	m, err := newMatcher(Filter{
		Name:       `x:"y"`,
		Properties: map[string]string{"ram_min": "1", "cpu_max": "2", "limit": "3", "marker": "4", "os_distro": "ok"},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	r := m.listRequest(Query{})
	if r.Name != "" {
		t.Errorf("unsendable name sent as %q", r.Name)
	}
	if !reflect.DeepEqual(r.Properties, map[string]string{"os_distro": "ok"}) {
		t.Errorf("properties sent: %v", r.Properties)
	}
	if r.Limit != DefaultPageSize || r.Status != "active" {
		t.Errorf("limit %d, status %q", r.Limit, r.Status)
	}
}
