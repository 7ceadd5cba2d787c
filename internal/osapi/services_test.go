package osapi

import (
	"context"
	"testing"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// Glance and Neutron clients come from the catalog as it is: their first call
// is the real request, with no GET of the service's root before it.
func TestImageAndNetworkClientsSkipVersionDiscovery(t *testing.T) {
	tc, err := testcloud.Start(testcloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := demoServices(t, ctx, tc)
	tc.ResetRequests()
	if _, err := s.Glance().ImagesNamed(ctx, testcloud.BaseImageName, ""); err != nil {
		t.Fatalf("listing images: %v", err)
	}
	if _, err := s.Neutron().FindNetwork(ctx, "private"); err != nil {
		t.Fatalf("finding a network: %v", err)
	}
	var got []string
	for _, r := range tc.Requests() {
		got = append(got, r.Method+" "+r.Service+" "+r.Path)
	}
	if n := tc.CountRequests("image.versions") + tc.CountRequests("network.versions"); n != 0 || len(got) != 2 {
		t.Errorf("requests = %q, want one image list and one network list", got)
	}
}
