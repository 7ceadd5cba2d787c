package osapi

import (
	"context"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// A PATCH that removes a property is applied but its reply is lost: the retry
// finds the property gone (Glance: 409) and the update still succeeds, with
// every other change of the patch in place.
func TestUpdateImageLostReplyWithRemovals(t *testing.T) {
	tc, err := testcloud.Start(testcloud.Options{NoSeed: true})
	if err != nil {
		t.Skipf("the test cloud cannot start here: %v", err)
	}
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g := demoServices(t, ctx, tc).Glance()
	img, err := g.CreateImage(ctx, images.CreateOpts{Name: "patched", DiskFormat: "raw", ContainerFormat: "bare",
		Properties: map[string]string{"instance_uuid": "x", "user_id": "y"}})
	if err != nil {
		t.Fatal(err)
	}
	tc.AddFault(testcloud.Fault{Op: "image.update", Action: testcloud.ActionLoseReply, Times: 1})
	patch := images.UpdateOpts{
		images.UpdateImageProperty{Op: images.AddOp, Name: "os_distro", Value: "debian"},
		images.UpdateImageProperty{Op: images.RemoveOp, Name: "instance_uuid"},
		images.UpdateImageProperty{Op: images.RemoveOp, Name: "user_id"},
	}
	if err := g.UpdateImage(ctx, img.ID, patch); err != nil {
		t.Fatalf("update with a lost reply: %v", err)
	}
	got, err := g.GetImage(ctx, img.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, uuid := got.Properties["instance_uuid"]
	_, user := got.Properties["user_id"]
	if got.Properties["os_distro"] != "debian" || uuid || user {
		t.Errorf("properties after the update: %v", got.Properties)
	}
	if n := tc.CountRequests("image.update"); n != 3 {
		t.Errorf("%d PATCH requests, want 3 (lost, refused 409, sent again without the removals)", n)
	}
}
