package testcloud

import (
	"context"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// startCloud starts a fast cloud for one test and closes it at the end.
func startCloud(t *testing.T, opts Options) *Cloud {
	t.Helper()
	if opts.ServerBootDelay == 0 {
		opts.ServerBootDelay = 50 * time.Millisecond
	}
	opts.ServerStopDelay, opts.ServerDeleteDelay = orDur(opts.ServerStopDelay), orDur(opts.ServerDeleteDelay)
	opts.VolumeDelay, opts.ImageDelay = orDur(opts.VolumeDelay), orDur(opts.ImageDelay)
	c, err := Start(opts)
	if err != nil {
		t.Fatalf("start test cloud: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

func orDur(d time.Duration) time.Duration {
	if d == 0 {
		return 50 * time.Millisecond
	}
	return d
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// provider authenticates with a real gophercloud client.
func provider(t *testing.T, c *Cloud, user, password, project string) *gophercloud.ProviderClient {
	t.Helper()
	pc, err := openstack.AuthenticatedClient(testCtx(t), gophercloud.AuthOptions{
		IdentityEndpoint: c.AuthURL(), Username: user, Password: password, DomainName: "Default",
		TenantName: project, AllowReauth: true,
	})
	if err != nil {
		t.Fatalf("authenticate %s: %v", user, err)
	}
	return pc
}

func demoProvider(t *testing.T, c *Cloud) *gophercloud.ProviderClient {
	return provider(t, c, DemoUser, DemoPassword, DemoProject)
}

func adminProvider(t *testing.T, c *Cloud) *gophercloud.ProviderClient {
	return provider(t, c, AdminUser, AdminPassword, AdminProject)
}

func imageClient(t *testing.T, pc *gophercloud.ProviderClient, region string) *gophercloud.ServiceClient {
	t.Helper()
	sc, err := openstack.NewImageV2(pc, gophercloud.EndpointOpts{Region: region})
	if err != nil {
		t.Fatalf("image client: %v", err)
	}
	return sc
}

// waitFor polls cond until it holds; the test context bounds it, so no assertion depends on timing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx := testCtx(t)
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func waitImageStatus(t *testing.T, sc *gophercloud.ServiceClient, id string, statuses ...string) *images.Image {
	t.Helper()
	var img *images.Image
	waitFor(t, "image "+id+" in "+statuses[0], func() bool {
		var err error
		img, err = images.Get(testCtx(t), sc, id).Extract()
		if err != nil {
			t.Fatalf("get image: %v", err)
		}
		for _, s := range statuses {
			if string(img.Status) == s {
				return true
			}
		}
		return false
	})
	return img
}

func openstackAuth(c *Cloud) (*gophercloud.ProviderClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: c.AuthURL(),
		Username: DemoUser, Password: DemoPassword, DomainName: "Default", TenantName: DemoProject})
}

// tokenExpiry returns when an issued token expires (zero when unknown).
func (c *Cloud) tokenExpiry(id string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.ident.tokens[id]; t != nil {
		return t.expires
	}
	return time.Time{}
}
