package testcloud

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

func TestKeystoneWrongPasswordIs401(t *testing.T) {
	c := startCloud(t, Options{})
	_, err := openstack.AuthenticatedClient(testCtx(t), gophercloud.AuthOptions{
		IdentityEndpoint: c.AuthURL(), Username: DemoUser, Password: "wrong", DomainName: "Default", TenantName: DemoProject,
	})
	if !gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
		t.Fatalf("want 401, got %v", err)
	}
}

func TestKeystoneApplicationCredentialAndCatalog(t *testing.T) {
	c := startCloud(t, Options{})
	id, secret, err := c.CreateApplicationCredential(DemoUser, "ci")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := openstack.AuthenticatedClient(testCtx(t), gophercloud.AuthOptions{
		IdentityEndpoint: c.AuthURL(), ApplicationCredentialID: id, ApplicationCredentialSecret: secret,
	})
	if err != nil {
		t.Fatalf("app credential auth: %v", err)
	}
	for _, region := range []string{"RegionOne", "kz-ala-1"} {
		for _, avail := range []gophercloud.Availability{gophercloud.AvailabilityPublic, gophercloud.AvailabilityInternal, gophercloud.AvailabilityAdmin} {
			sc, err := openstack.NewImageV2(pc, gophercloud.EndpointOpts{Region: region, Availability: avail})
			if err != nil {
				t.Fatalf("image endpoint %s/%s: %v", region, avail, err)
			}
			if !strings.Contains(sc.Endpoint, "/"+region+"/"+string(avail)+"/image/") {
				t.Errorf("endpoint %q does not show region and interface", sc.Endpoint)
			}
			if _, err := images.List(sc, images.ListOpts{}).AllPages(testCtx(t)); err != nil {
				t.Fatalf("list images: %v", err)
			}
		}
	}
	seen := map[string]bool{}
	for _, r := range c.Requests() {
		if r.Op == "image.list" {
			seen[r.Region+"/"+r.Interface] = true
		}
	}
	if len(seen) != 6 {
		t.Errorf("request log saw %v, want 6 region/interface pairs", seen)
	}
}

func TestKeystoneTokenExpiryForcesReauth(t *testing.T) {
	c := startCloud(t, Options{TokenLifetime: time.Hour})
	pc := demoProvider(t, c)
	sc := imageClient(t, pc, "RegionOne")
	c.ExpireTokens()
	if _, err := images.List(sc, images.ListOpts{}).AllPages(testCtx(t)); err != nil {
		t.Fatalf("list after expiry should re-authenticate: %v", err)
	}
	if n := c.CountRequests("identity.token.create"); n != 2 {
		t.Errorf("token requests = %d, want 2 (initial + re-auth)", n)
	}
}
