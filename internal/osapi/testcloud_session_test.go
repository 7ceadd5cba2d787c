package osapi

import (
	"context"
	"testing"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// demoServices logs in to the test cloud as its demo user, in RegionOne.
func demoServices(t *testing.T, ctx context.Context, tc *testcloud.Cloud) *Services {
	t.Helper()
	sess, err := (&access.AccessConfig{IdentityEndpoint: tc.AuthURL(), Username: testcloud.DemoUser, Password: testcloud.DemoPassword,
		ProjectName: testcloud.DemoProject, UserDomainName: "Default", ProjectDomainName: "Default", Region: "RegionOne"}).Authenticate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return New(sess)
}
