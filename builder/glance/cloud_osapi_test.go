package glance

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/imagefind"
	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// adapterCloud connects the gophercloud adapter to an in-process test cloud, as a
// build does, so these tests check the real requests and their decoding.
func adapterCloud(t *testing.T) (*testcloud.Cloud, *Cloud, context.Context) {
	t.Helper()
	tc, err := testcloud.Start(testcloud.Options{
		ServerBootDelay: 20 * time.Millisecond, ServerStopDelay: 20 * time.Millisecond,
		ServerDeleteDelay: 20 * time.Millisecond, ImageDelay: 20 * time.Millisecond, VolumeDelay: 20 * time.Millisecond,
	})
	if err != nil {
		t.Skipf("the test cloud cannot start here: %v", err)
	}
	t.Cleanup(func() { tc.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	ac := access.AccessConfig{
		IdentityEndpoint: tc.AuthURL(), Username: testcloud.DemoUser, Password: testcloud.DemoPassword,
		ProjectName: testcloud.DemoProject, UserDomainName: "Default", ProjectDomainName: "Default", Region: "RegionOne",
	}
	sess, err := ac.Authenticate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newOSAPICloud(sess, access.DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tc, c, ctx
}

func TestAdapterLookups(t *testing.T) {
	_, c, ctx := adapterCloud(t)

	for _, in := range []string{"m1.small", "2"} {
		if id, err := c.Compute.FlavorID(ctx, in); err != nil || id != "2" {
			t.Errorf("FlavorID(%q) = %q, %v", in, id, err)
		}
	}
	if _, err := c.Compute.FlavorID(ctx, "m9.huge"); err == nil || !strings.Contains(err.Error(), `no flavor named or with ID "m9.huge"`) {
		t.Errorf("unknown flavor: %v", err)
	}

	pub, err := c.Network.FindNetwork(ctx, "public")
	if err != nil || !pub.External || pub.Name != "public" {
		t.Fatalf("FindNetwork(public) = %+v, %v", pub, err)
	}
	if byID, err := c.Network.FindNetwork(ctx, pub.ID); err != nil || byID.ID != pub.ID {
		t.Errorf("FindNetwork by ID = %+v, %v", byID, err)
	}
	if private, err := c.Network.FindNetwork(ctx, "private"); err != nil || private.External {
		t.Errorf("FindNetwork(private) = %+v, %v", private, err)
	}
	if _, err := c.Network.FindNetwork(ctx, "nope"); err == nil {
		t.Error("unknown network found")
	}
	subnets, err := c.Network.Subnets(ctx)
	if err != nil {
		t.Fatalf("Subnets: %v", err)
	}
	onPublic := 0
	for _, s := range subnets {
		if _, _, perr := net.ParseCIDR(s.CIDR); perr != nil || s.ID == "" || s.NetworkID == "" {
			t.Errorf("subnet %+v", s)
		}
		if s.NetworkID == pub.ID {
			onPublic++
		}
	}
	if len(subnets) < 2 || onPublic != 1 {
		t.Errorf("Subnets = %+v, want the private and public networks' subnets", subnets)
	}
	if id, err := c.Network.FindSecurityGroup(ctx, "default"); err != nil || id == "" {
		t.Errorf("FindSecurityGroup(default) = %q, %v", id, err)
	}

	found, err := c.Finder.Find(ctx, imagefind.Query{Filter: imagefind.Filter{Name: "Fedora-Cloud-Base-37-*"}})
	if err != nil || found.Name != "Fedora-Cloud-Base-37-1.7" {
		t.Errorf("Find = %v, %v", found, err)
	}
}

func TestAdapterServerLifecycle(t *testing.T) {
	tc, c, ctx := adapterCloud(t)
	var seed string
	for _, img := range tc.Images("RegionOne") {
		if img.Seeded && img.Name == "Fedora-Cloud-Base-37-1.7" {
			seed = img.ID
		}
	}
	pub, _ := c.Network.FindNetwork(ctx, "public")
	private, _ := c.Network.FindNetwork(ctx, "private")

	if err := c.Compute.CreateKeypair(ctx, "packer_t_keypair", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBJ6mHSyM1OF34sQ4kdZ8Ah1nCXx5Bd5pqUjjGdrfGVT t"); err != nil {
		t.Fatal(err)
	}
	id, err := c.Compute.CreateServer(ctx, ServerSpec{Name: "packer_t_server", ImageID: seed, FlavorID: "1",
		Networks: []string{private.ID}, KeyName: "packer_t_keypair", Metadata: map[string]string{"packer_build_uuid": "t"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := waitFor(t, ctx, c, id, "ACTIVE")
	// What cleanup uses to find a server whose create reply was lost: exact name and build.
	if ids, err := c.Compute.ServersOfBuild(ctx, "packer_t_server", "t"); err != nil || len(ids) != 1 || ids[0] != id {
		t.Errorf("ServersOfBuild = %v, %v; want [%s]", ids, err, id)
	}
	for _, q := range [][2]string{{"packer_t_server", "other-build"}, {"packer_t", "t"}, {"packer.t.server", "t"}} {
		if ids, err := c.Compute.ServersOfBuild(ctx, q[0], q[1]); err != nil || len(ids) != 0 {
			t.Errorf("ServersOfBuild(%q, %q) = %v, %v; want none", q[0], q[1], ids, err)
		}
	}
	if len(srv.Addresses) == 0 || srv.Addresses[0].Network != "private" || srv.Addresses[0].Version != 4 || srv.Addresses[0].Type != "fixed" {
		t.Errorf("addresses = %+v", srv.Addresses)
	}

	ports, err := c.Network.ServerPorts(ctx, id)
	if err != nil || len(ports) != 1 || ports[0].NetworkID != private.ID {
		t.Fatalf("ports = %+v, %v", ports, err)
	}
	fip, err := c.Network.CreateFloatingIP(ctx, pub.ID, ports[0].ID, "packer_t_floatingip")
	if err != nil || fip.PortID != ports[0].ID || fip.Address == "" {
		t.Fatalf("CreateFloatingIP = %+v, %v", fip, err)
	}
	if ids, err := c.Network.FloatingIPsDescribed(ctx, "packer_t_floatingip"); err != nil || len(ids) != 1 || ids[0] != fip.ID {
		t.Errorf("FloatingIPsDescribed = %v, %v; want [%s]", ids, err, fip.ID)
	}
	if ids, err := c.Network.FloatingIPsDescribed(ctx, "packer_u_floatingip"); err != nil || len(ids) != 0 {
		t.Errorf("FloatingIPsDescribed(other) = %v, %v", ids, err)
	}
	if byAddr, err := c.Network.FindFloatingIP(ctx, fip.Address); err != nil || byAddr.ID != fip.ID {
		t.Errorf("FindFloatingIP(address) = %+v, %v", byAddr, err)
	}
	if detached, err := c.Network.AssociateFloatingIP(ctx, fip.ID, ""); err != nil || detached.PortID != "" {
		t.Errorf("detach = %+v, %v", detached, err)
	}
	if free, err := c.Network.FreeFloatingIP(ctx, pub.ID); err != nil || free == nil || free.ID != fip.ID {
		t.Errorf("FreeFloatingIP = %+v, %v", free, err)
	}
	if err := c.Network.DeleteFloatingIP(ctx, fip.ID); err != nil {
		t.Error(err)
	}

	if err := c.Compute.StopServer(ctx, id); err != nil {
		t.Fatal(err)
	}
	err = c.Compute.StopServer(ctx, id)
	if err != nil && !osapi.IsConflict(err) {
		t.Errorf("second stop: %v (want nothing or a 409)", err)
	}
	waitFor(t, ctx, c, id, "SHUTOFF")
	imageID, err := c.Compute.CreateServerImage(ctx, id, "adapter-snapshot", nil)
	if err != nil || imageID == "" {
		t.Fatalf("CreateServerImage = %q, %v", imageID, err)
	}
	img, err := waitImageActive(ctx, c.Images, imageID, "snapshot", time.Minute, firstPollDelay, false, testUI())
	if err != nil {
		t.Fatal(err)
	}
	if img.Properties["os_distro"] != "fedora" {
		t.Errorf("snapshot properties = %v", img.Properties)
	}

	// One PATCH: an inherited property is replaced and a new one added.
	vis, tags, minDisk := "community", []string{"golden"}, 3
	if err := c.Images.UpdateImage(ctx, imageID, ImageUpdate{Visibility: &vis, Tags: &tags, MinDisk: &minDisk,
		Properties: map[string]string{"os_distro": "fedora-custom", "hw_disk_bus": "scsi"}}); err != nil {
		t.Fatal(err)
	}
	after, err := c.Images.GetImage(ctx, imageID)
	if err != nil || after.Visibility != "community" || after.MinDisk != 3 || after.Properties["os_distro"] != "fedora-custom" || after.Properties["hw_disk_bus"] != "scsi" || len(after.Tags) != 1 {
		t.Errorf("after PATCH: %+v, %v", after, err)
	}
	owned, err := c.Images.OwnedImagesNamed(ctx, "adapter-snapshot")
	if err != nil || len(owned) != 1 || owned[0].ID != imageID {
		t.Errorf("OwnedImagesNamed = %+v, %v", owned, err)
	}
	if owned, _ := c.Images.OwnedImagesNamed(ctx, "Fedora-Cloud-Base-37-1.7"); len(owned) != 0 {
		t.Errorf("an image of another project counted as the project's own: %+v", owned)
	}

	// Cleanup rides out a passing 5xx: each delete is answered 500 once, then retried.
	tc.AddFault(testcloud.Fault{Op: "server.delete", Status: 500, Times: 1})
	tc.AddFault(testcloud.Fault{Op: "keypair.delete", Status: 503, Times: 1})
	tc.AddFault(testcloud.Fault{Op: "image.delete", Status: 500, Times: 1})
	if err := c.Compute.DeleteServer(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	if err := c.Compute.DeleteKeypair(ctx, "packer_t_keypair"); err != nil {
		t.Error(err)
	}
	if err := c.Images.DeleteImage(ctx, imageID); err != nil {
		t.Error(err)
	}
	if _, err := c.Images.GetImage(ctx, imageID); !osapi.IsNotFound(err) {
		t.Errorf("image after its delete was retried: %v, want a 404", err)
	}
	if err := c.Compute.DeleteKeypair(ctx, "packer_t_keypair"); !osapi.IsNotFound(err) {
		t.Errorf("deleting a deleted keypair: %v, want a 404", err)
	}
}

// waitFor polls the adapter until the server has the status (the test's context
// bounds it).
func waitFor(t *testing.T, ctx context.Context, c *Cloud, id, status string) *Server {
	t.Helper()
	for {
		srv, err := c.Compute.GetServer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if srv.Status == status {
			return srv
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAdapterFindsWhatLostCreatesMade(t *testing.T) {
	tc, c, ctx := adapterCloud(t)
	sg, err := c.Network.CreateSecurityGroup(ctx, "packer_t_secgroup", "test")
	if err != nil {
		t.Fatal(err)
	}
	if ids, err := c.Network.SecurityGroupsNamed(ctx, "packer_t_secgroup"); err != nil || len(ids) != 1 || ids[0] != sg {
		t.Errorf("SecurityGroupsNamed = %v, %v; want [%s]", ids, err, sg)
	}
	if ids, err := c.Network.SecurityGroupsNamed(ctx, "packer_u_secgroup"); err != nil || len(ids) != 0 {
		t.Errorf("SecurityGroupsNamed(other) = %v, %v", ids, err)
	}
	if err := c.Network.DeleteSecurityGroup(ctx, sg); err != nil {
		t.Error(err)
	}

	var seed string
	for _, img := range tc.Images("RegionOne") {
		if img.Seeded {
			seed = img.ID
		}
	}
	vol, err := c.Volumes.CreateVolume(ctx, VolumeSpec{Name: "packer_t_volume", SizeGiB: 1, ImageID: seed,
		Metadata: map[string]string{"packer_build_uuid": "t"}})
	if err != nil {
		t.Fatal(err)
	}
	if ids, err := c.Volumes.VolumesOfBuild(ctx, "packer_t_volume", "t"); err != nil || len(ids) != 1 || ids[0] != vol {
		t.Errorf("VolumesOfBuild = %v, %v; want [%s]", ids, err, vol)
	}
	if ids, err := c.Volumes.VolumesOfBuild(ctx, "packer_t_volume", "other-build"); err != nil || len(ids) != 0 {
		t.Errorf("VolumesOfBuild(other build) = %v, %v", ids, err)
	}
	for {
		v, err := c.Volumes.GetVolume(ctx, vol)
		if err != nil {
			t.Fatal(err)
		}
		if v.Status == "available" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.Volumes.DeleteVolume(ctx, vol); err != nil {
		t.Error(err)
	}
}

// An administrator sees every project's "default" security group; like Nova,
// the name means the one of the session's project.
func TestAdapterSecurityGroupOfTheSessionProject(t *testing.T) {
	tc, _, ctx := adapterCloud(t) // the demo project's groups now exist
	ac := access.AccessConfig{
		IdentityEndpoint: tc.AuthURL(), Username: testcloud.AdminUser, Password: testcloud.AdminPassword,
		ProjectName: testcloud.AdminProject, UserDomainName: "Default", ProjectDomainName: "Default", Region: "RegionOne",
	}
	sess, err := ac.Authenticate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := newOSAPICloud(sess, access.DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := admin.Network.FindSecurityGroup(ctx, "default")
	if err != nil {
		t.Fatalf("FindSecurityGroup(default) as admin: %v", err)
	}
	if byID, err := admin.Network.FindSecurityGroup(ctx, id); err != nil || byID != id {
		t.Errorf("by ID: %q, %v", byID, err)
	}
	if _, err := admin.Network.FindSecurityGroup(ctx, "nope"); err == nil {
		t.Error("an unknown group was found")
	}
}

// A create call whose reply is lost (the operation happens, the answer is a 504
// or a 500) goes on with what it made, found by the build's marker, so the
// build does not fail for a proxy's timeout: each create here is answered with
// a lost reply once and must still return the one resource it made.
func TestAdapterGoesOnAfterLostReplies(t *testing.T) {
	saved := osapi.LostLookupPause
	osapi.LostLookupPause = 10 * time.Millisecond
	t.Cleanup(func() { osapi.LostLookupPause = saved })
	tc, c, ctx := adapterCloud(t)
	var seed string
	for _, img := range tc.Images("RegionOne") {
		if img.Seeded && img.Name == "Fedora-Cloud-Base-37-1.7" {
			seed = img.ID
		}
	}
	lose := func(op string, status int) {
		tc.AddFault(testcloud.Fault{Op: op, Action: testcloud.ActionLoseReply, Status: status, Times: 1})
	}
	marker := map[string]string{"packer_build_uuid": "lost"}
	private, _ := c.Network.FindNetwork(ctx, "private")
	pub, _ := c.Network.FindNetwork(ctx, "public")

	lose("keypair.create", 504)
	if err := c.Compute.CreateKeypair(ctx, "packer_lost_keypair", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBJ6mHSyM1OF34sQ4kdZ8Ah1nCXx5Bd5pqUjjGdrfGVT t"); err != nil {
		t.Errorf("keypair: %v", err)
	}
	lose("secgroup.create", 500)
	sg, err := c.Network.CreateSecurityGroup(ctx, "packer_lost_secgroup", "test")
	if ids, _ := c.Network.SecurityGroupsNamed(ctx, "packer_lost_secgroup"); err != nil || len(ids) != 1 || ids[0] != sg {
		t.Errorf("security group = %q, %v; groups of that name %v", sg, err, ids)
	}
	lose("secgroup_rule.create", 502)
	if err := c.Network.AllowIngress(ctx, sg, 22, "0.0.0.0/0"); err != nil {
		t.Errorf("rule: %v", err)
	}
	if n := tc.CountRequests("secgroup_rule.create"); n != 1 {
		t.Errorf("the rule was created %d times, want once (and found)", n)
	}
	lose("server.create", 504)
	id, err := c.Compute.CreateServer(ctx, ServerSpec{Name: "packer_lost_server", ImageID: seed, FlavorID: "1",
		Networks: []string{private.ID}, Metadata: marker})
	if ids, _ := c.Compute.ServersOfBuild(ctx, "packer_lost_server", "lost"); err != nil || len(ids) != 1 || ids[0] != id {
		t.Fatalf("server = %q, %v; servers of the build %v", id, err, ids)
	}
	waitFor(t, ctx, c, id, "ACTIVE")
	ports, _ := c.Network.ServerPorts(ctx, id)
	lose("floatingip.create", 504)
	fip, err := c.Network.CreateFloatingIP(ctx, pub.ID, ports[0].ID, "packer_lost_floatingip")
	if ids, _ := c.Network.FloatingIPsDescribed(ctx, "packer_lost_floatingip"); err != nil || len(ids) != 1 || fip.ID != ids[0] || fip.PortID != ports[0].ID {
		t.Errorf("floating IP = %+v, %v; addresses of the build %v", fip, err, ids)
	}
	lose("server.createImage", 504)
	imageID, err := c.Compute.CreateServerImage(ctx, id, "lost-snapshot", marker)
	if err != nil || imageID == "" {
		t.Fatalf("snapshot = %q, %v", imageID, err)
	}
	if owned, _ := c.Images.OwnedImagesNamed(ctx, "lost-snapshot"); len(owned) != 1 || owned[0].ID != imageID {
		t.Errorf("images named lost-snapshot: %+v, want only %s", owned, imageID)
	}
	lose("volume.create", 504)
	vol, err := c.Volumes.CreateVolume(ctx, VolumeSpec{Name: "packer_lost_volume", SizeGiB: 1, ImageID: seed, Metadata: marker})
	if ids, _ := c.Volumes.VolumesOfBuild(ctx, "packer_lost_volume", "lost"); err != nil || len(ids) != 1 || ids[0] != vol {
		t.Errorf("volume = %q, %v; volumes of the build %v", vol, err, ids)
	}
	// A refusal (4xx) is not a lost reply: nothing is looked for, nothing retried.
	tc.AddFault(testcloud.Fault{Op: "server.create", Status: 403, Times: 1})
	if _, err := c.Compute.CreateServer(ctx, ServerSpec{Name: "packer_refused_server", ImageID: seed, FlavorID: "1",
		Networks: []string{private.ID}, Metadata: marker}); !gophercloud.ResponseCodeIs(err, 403) {
		t.Errorf("refused create: %v, want the 403", err)
	}
	if ids, _ := c.Compute.ServersOfBuild(ctx, "packer_refused_server", "lost"); len(ids) != 0 {
		t.Errorf("a refused create was retried: %v", ids)
	}
}

// A create answered 5xx, which made nothing, is sent again while that goes on,
// up to osapi.CreateAttempts calls: a cloud that fails one call in five still
// gets its keypair made, one that fails them all fails the create.
func TestAdapterSendsAFailedCreateAgain(t *testing.T) {
	saved := osapi.LostLookupPause
	osapi.LostLookupPause = 10 * time.Millisecond
	t.Cleanup(func() { osapi.LostLookupPause = saved })
	tc, c, ctx := adapterCloud(t)
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBJ6mHSyM1OF34sQ4kdZ8Ah1nCXx5Bd5pqUjjGdrfGVT t"

	tc.AddFault(testcloud.Fault{Op: "keypair.create", Status: 502, Times: osapi.CreateAttempts - 1})
	if err := c.Compute.CreateKeypair(ctx, "packer_again_keypair", key); err != nil {
		t.Fatalf("keypair after %d failed calls: %v", osapi.CreateAttempts-1, err)
	}
	if n := tc.CountRequests("keypair.create"); n != osapi.CreateAttempts {
		t.Errorf("%d keypair.create calls, want %d", n, osapi.CreateAttempts)
	}

	tc.ClearFaults()
	tc.ResetRequests()
	tc.AddFault(testcloud.Fault{Op: "keypair.create", Status: 500})
	err := c.Compute.CreateKeypair(ctx, "packer_never_keypair", key)
	if !gophercloud.ResponseCodeIs(err, 500) || !strings.Contains(err.Error(), "5 attempts failed") {
		t.Errorf("a create that always fails: %v", err)
	}
	if n := tc.CountRequests("keypair.create"); n != osapi.CreateAttempts {
		t.Errorf("%d keypair.create calls, want %d", n, osapi.CreateAttempts)
	}
}
