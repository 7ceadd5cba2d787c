package full

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// isolatedCloudName is the clouds.yaml entry of a test's own project.
const isolatedCloudName = "isolated"

// isolated is a project and member user of its own for one test, so that the leak checks see
// only what this test's builds made: the demo project is shared with whoever else uses the cloud
// on this machine. The seed (tiny-guest, m1.tiny, the shared network private and the external
// network public) is visible to every project.
type isolated struct {
	*cloud
	cloudsYAML string
}

func newIsolated(t *testing.T) *isolated {
	t.Helper()
	admin := connectAs(t, cloudsYAML(t), adminCloud)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := uniqueName("rcfull")
	password := uniqueName("pw")
	p, err := projects.Create(ctx, admin.identity, projects.CreateOpts{Name: name, DomainID: "default",
		Description: "packer-plugin-glance test/realcloud/full: one test's project"}).Extract()
	must(t, "creating project "+name, err)
	u, err := users.Create(ctx, admin.identity, users.CreateOpts{Name: name, DomainID: "default",
		Password: password, DefaultProjectID: p.ID}).Extract()
	must(t, "creating user "+name, err)
	t.Cleanup(func() {
		cctx := cleanupCtx()
		// Keystone does not delete what a project owns: a failed test's images go first (its
		// leak check has already reported them).
		if pages, err := images.List(admin.image, images.ListOpts{Owner: p.ID}).AllPages(cctx); err == nil {
			imgs, _ := images.ExtractImages(pages)
			for _, img := range imgs {
				_ = images.Delete(cctx, admin.image, img.ID).ExtractErr()
			}
		}
		_ = users.Delete(cctx, admin.identity, u.ID).ExtractErr()
		_ = projects.Delete(cctx, admin.identity, p.ID).ExtractErr()
	})
	member := roleID(t, ctx, admin.identity, "member")
	must(t, "giving "+name+" the member role", roles.Assign(ctx, admin.identity, member,
		roles.AssignOpts{UserID: u.ID, ProjectID: p.ID}).ExtractErr())

	path := filepath.Join(t.TempDir(), "clouds.yaml")
	yaml := fmt.Sprintf(`clouds:
  %s:
    auth:
      auth_url: %s
      username: %s
      password: %s
      project_name: %s
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
`, isolatedCloudName, admin.identity.Endpoint, name, password, name)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return &isolated{cloud: connectAs(t, path, isolatedCloudName), cloudsYAML: path}
}

func roleID(t *testing.T, ctx context.Context, identity *gophercloud.ServiceClient, name string) string {
	t.Helper()
	pages, err := roles.List(identity, roles.ListOpts{Name: name}).AllPages(ctx)
	must(t, "listing roles", err)
	rs, err := roles.ExtractRoles(pages)
	must(t, "reading roles", err)
	if len(rs) != 1 {
		t.Fatalf("%d roles named %q", len(rs), name)
	}
	return rs[0].ID
}

// volumeClient is Cinder's v3 client on the session's provider (catalog type block-storage, then
// volumev3), or nil when the catalog has neither.
func volumeClient(provider *gophercloud.ProviderClient) *gophercloud.ServiceClient {
	c, err := openstack.NewBlockStorageV3(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		return nil
	}
	return c
}

// identityClient is Keystone's v3 client on the session's provider.
func identityClient(t *testing.T, provider *gophercloud.ProviderClient) *gophercloud.ServiceClient {
	t.Helper()
	c, err := openstack.NewIdentityV3(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
	must(t, "identity client", err)
	return c
}
