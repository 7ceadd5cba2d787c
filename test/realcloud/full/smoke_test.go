package full

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"golang.org/x/crypto/ssh"

	"github.com/packer-glance/packer-plugin-glance/internal/osapi"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// TestAccFullCloudSmoke proves the profile end to end without Packer, as a member of a fresh project: a server
// boots from tiny-guest on "private" with a Nova keypair, answers SSH on its fixed IP and on a
// floating IP from "public", keeps a file written to /etc, stops through the ACPI power button
// (seconds, not Nova's 60 s timeout), is snapshotted, and a server booted from the snapshot has the
// file. Everything it made is deleted and checked gone through the APIs. Timings are logged.
func TestAccFullCloudSmoke(t *testing.T) {
	c := newIsolated(t).cloud
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	s := lookupSeed(t, ctx, c)
	allowSSHAndPing(t, ctx, c)
	before := takeInventory(t, ctx, c)
	timings := map[string]time.Duration{}
	phase := func(name string, start time.Time) { timings[name] = time.Since(start).Round(100 * time.Millisecond) }
	defer func() { t.Logf("TIMINGS %s", formatTimings(timings)) }()

	signer, pub := newSSHKey(t)
	keyName := uniqueName("rcfull-smoke")
	_, err := keypairs.Create(ctx, c.compute, keypairs.CreateOpts{Name: keyName, PublicKey: pub}).Extract()
	must(t, "creating keypair", err)
	t.Cleanup(func() { _ = keypairs.Delete(cleanupCtx(), c.compute, keyName, nil).ExtractErr() })

	marker := uniqueName("golden")
	srv1, ip1 := bootServer(t, ctx, c, s.imageID, s, keyName, signer, "1", timings)

	// Floating IP from "public", reached through the l3 agent's router.
	t0 := time.Now()
	pp, err := ports.List(c.network, ports.ListOpts{DeviceID: srv1}).AllPages(ctx)
	must(t, "listing the server's ports", err)
	plist, _ := ports.ExtractPorts(pp)
	if len(plist) != 1 {
		t.Fatalf("server %s has %d ports, want 1", srv1, len(plist))
	}
	fip, err := floatingips.Create(ctx, c.network, floatingips.CreateOpts{FloatingNetworkID: s.publicID, PortID: plist[0].ID}).Extract()
	must(t, "creating a floating IP on public", err)
	t.Cleanup(func() { _ = floatingips.Delete(cleanupCtx(), c.network, fip.ID).ExtractErr() })
	if err := waitSSH(ctx, fip.FloatingIP, signer, 90*time.Second); err != nil {
		t.Errorf("floating IP %s (fixed %s): %v", fip.FloatingIP, ip1, err)
	} else {
		phase("fip_ssh", t0)
		t.Logf("SSH through floating IP %s -> %s works", fip.FloatingIP, ip1)
	}
	must(t, "deleting the floating IP", floatingips.Delete(ctx, c.network, fip.ID).ExtractErr())

	out, err := sshRun(ip1, signer, fmt.Sprintf("echo %s > /etc/golden-marker && sync && cat /etc/golden-marker", marker))
	if err != nil || strings.TrimSpace(out) != marker {
		t.Fatalf("writing the marker over SSH: %v (output %q)", err, out)
	}

	t0 = time.Now()
	must(t, "stopping the server", servers.Stop(ctx, c.compute, srv1).ExtractErr())
	_, err = waitServer(ctx, c, srv1, "SHUTOFF", 3*time.Minute)
	must(t, "waiting for SHUTOFF", err)
	phase("stop", t0)

	t0 = time.Now()
	snapName := uniqueName("rcfull-smoke-snap")
	snapID, err := servers.CreateImage(ctx, c.compute, srv1, servers.CreateImageOpts{Name: snapName}).ExtractImageID()
	must(t, "creating the snapshot", err)
	t.Cleanup(func() { _ = images.Delete(cleanupCtx(), c.image, snapID).ExtractErr() })
	_, err = osapi.WaitForImage(ctx, func(ctx context.Context, id string) (*images.Image, error) {
		return images.Get(ctx, c.image, id).Extract()
	}, snapID, osapi.ImageWait{What: "snapshot " + snapName, Timeout: 5 * time.Minute, Backoff: pollFast})
	must(t, "waiting for the snapshot", err)
	phase("snapshot", t0)
	// Nova finishes the snapshot a moment after Glance shows it active; a server deleted before
	// that makes Nova delete the image.
	_, err = waitServer(ctx, c, srv1, "SHUTOFF", 2*time.Minute)
	must(t, "waiting for Nova to finish the snapshot", err)

	deleteServer(t, ctx, c, srv1, timings, "delete")

	_, ip2 := bootServer(t, ctx, c, snapID, s, keyName, signer, "2", timings)
	got, err := sshRun(ip2, signer, "cat /etc/golden-marker")
	if err != nil || strings.TrimSpace(got) != marker {
		t.Fatalf("server from the snapshot: /etc/golden-marker = %q (%v), want %q", got, err, marker)
	}
	t.Logf("server booted from snapshot %s reads the marker", snapID)

	// Clean up now (not only in t.Cleanup) so the leak check below sees the end state.
	for _, id := range serverIDs(t, ctx, c, keyName) {
		deleteServer(t, ctx, c, id, timings, "")
	}
	must(t, "deleting the snapshot", images.Delete(ctx, c.image, snapID).ExtractErr())
	must(t, "deleting the keypair", keypairs.Delete(ctx, c.compute, keyName, nil).ExtractErr())
	assertNoLeaks(t, ctx, c, before, nil, "the smoke test")
}

// bootServer boots one server on "private" and waits until SSH on its fixed IP works.
func bootServer(t *testing.T, ctx context.Context, c *cloud, imageID string, s seed, keyName string,
	signer ssh.Signer, label string, timings map[string]time.Duration) (string, string) {
	t.Helper()
	t0 := time.Now()
	opts := keypairs.CreateOptsExt{
		CreateOptsBuilder: servers.CreateOpts{
			Name: uniqueName("rcfull-smoke-" + label), ImageRef: imageID, FlavorRef: s.flavorID,
			Networks: []servers.Network{{UUID: s.privateID}},
		},
		KeyName: keyName,
	}
	srv, err := servers.Create(ctx, c.compute, opts, nil).Extract()
	must(t, "creating server "+label, err)
	t.Cleanup(func() {
		cctx := cleanupCtx()
		_ = servers.Delete(cctx, c.compute, srv.ID).ExtractErr()
		_ = waitServerGone(cctx, c, srv.ID, 2*time.Minute)
	})
	active, err := waitServer(ctx, c, srv.ID, "ACTIVE", 5*time.Minute)
	must(t, "waiting for server "+label, err)
	timings["active"+label] = time.Since(t0).Round(100 * time.Millisecond)
	ip := fixedIP(active, privateNet)
	if ip == "" {
		t.Fatalf("server %s has no address on %s: %v", srv.ID, privateNet, active.Addresses)
	}
	t1 := time.Now()
	if err := waitSSH(ctx, ip, signer, 3*time.Minute); err != nil {
		out, _ := servers.ShowConsoleOutput(ctx, c.compute, srv.ID, servers.ShowConsoleOutputOpts{Length: 40}).Extract()
		t.Fatalf("server %s: %v\nconsole:\n%s", srv.ID, err, out)
	}
	timings["ssh"+label] = time.Since(t1).Round(100 * time.Millisecond)
	t.Logf("server %s (%s) ACTIVE after %s, SSH %s later", label, ip, timings["active"+label], timings["ssh"+label])
	return srv.ID, ip
}

func deleteServer(t *testing.T, ctx context.Context, c *cloud, id string, timings map[string]time.Duration, phase string) {
	t.Helper()
	t0 := time.Now()
	must(t, "deleting server "+id, servers.Delete(ctx, c.compute, id).ExtractErr())
	must(t, "waiting for server "+id+" to go", waitServerGone(ctx, c, id, 3*time.Minute))
	if phase != "" {
		timings[phase] = time.Since(t0).Round(100 * time.Millisecond)
	}
}

// serverIDs lists the project's servers that use the keypair (this test's servers).
func serverIDs(t *testing.T, ctx context.Context, c *cloud, keyName string) []string {
	t.Helper()
	pages, err := servers.List(c.compute, servers.ListOpts{}).AllPages(ctx)
	must(t, "listing servers", err)
	all, _ := servers.ExtractServers(pages)
	var ids []string
	for _, s := range all {
		if s.KeyName == keyName {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// allowSSHAndPing opens tcp/22 and ICMP in the project's default security group (a new project's
// group admits nothing from outside).
func allowSSHAndPing(t *testing.T, ctx context.Context, c *cloud) {
	t.Helper()
	pages, err := groups.List(c.network, groups.ListOpts{Name: "default", ProjectID: c.projectID}).AllPages(ctx)
	must(t, "listing the default security group", err)
	gs, err := groups.ExtractGroups(pages)
	must(t, "reading security groups", err)
	if len(gs) != 1 {
		t.Fatalf("%d default security groups in project %s", len(gs), c.projectID)
	}
	for _, r := range []rules.CreateOpts{
		{Protocol: rules.ProtocolTCP, PortRangeMin: 22, PortRangeMax: 22},
		{Protocol: rules.ProtocolICMP},
	} {
		r.SecGroupID, r.Direction, r.EtherType, r.RemoteIPPrefix = gs[0].ID, rules.DirIngress, rules.EtherType4, "0.0.0.0/0"
		_, err := rules.Create(ctx, c.network, r).Extract()
		must(t, "adding a rule to the default security group", err)
	}
}

func cleanupCtx() context.Context {
	ctx, cancel := retry.CleanupContext()
	// The context lives as long as the cleanup call that uses it; its timer releases it.
	time.AfterFunc(5*time.Minute, cancel)
	return ctx
}

func formatTimings(m map[string]time.Duration) string {
	order := []string{"active1", "ssh1", "fip_ssh", "stop", "snapshot", "delete", "active2", "ssh2"}
	var parts []string
	for _, k := range order {
		if d, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%s", k, d))
		}
	}
	return strings.Join(parts, " ")
}
