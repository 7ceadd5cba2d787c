package full

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

// inventory is what a project owns, by kind ("server", "port", ...), as "id name" strings. Taken
// before and after a build, the difference is what the build left behind.
type inventory map[string][]string

// takeInventory lists, through the APIs, everything a build could leave in c's project: servers,
// ports (of servers: Neutron's own DHCP and router ports are not the build's), floating IPs,
// keypairs, security groups, images and volumes (with their status: a volume still there in any
// state is a leak).
func takeInventory(t *testing.T, ctx context.Context, c *cloud) inventory {
	t.Helper()
	inv := inventory{}
	add := func(kind, id, name string) { inv[kind] = append(inv[kind], id+" "+name) }

	sp, err := servers.List(c.compute, servers.ListOpts{}).AllPages(ctx)
	must(t, "listing servers", err)
	ss, err := servers.ExtractServers(sp)
	must(t, "reading servers", err)
	for _, s := range ss {
		add("server", s.ID, s.Name)
	}
	pp, err := ports.List(c.network, ports.ListOpts{ProjectID: c.projectID}).AllPages(ctx)
	must(t, "listing ports", err)
	ps, err := ports.ExtractPorts(pp)
	must(t, "reading ports", err)
	for _, p := range ps {
		if strings.HasPrefix(p.DeviceOwner, "network:") {
			continue
		}
		add("port", p.ID, p.Name+" owner="+p.DeviceOwner)
	}
	fp, err := floatingips.List(c.network, floatingips.ListOpts{ProjectID: c.projectID}).AllPages(ctx)
	must(t, "listing floating IPs", err)
	fs, err := floatingips.ExtractFloatingIPs(fp)
	must(t, "reading floating IPs", err)
	for _, f := range fs {
		add("floating_ip", f.ID, f.FloatingIP)
	}
	kp, err := keypairs.List(c.compute, nil).AllPages(ctx)
	must(t, "listing keypairs", err)
	ks, err := keypairs.ExtractKeyPairs(kp)
	must(t, "reading keypairs", err)
	for _, k := range ks {
		add("keypair", k.Name, "")
	}
	gp, err := groups.List(c.network, groups.ListOpts{ProjectID: c.projectID}).AllPages(ctx)
	must(t, "listing security groups", err)
	gs, err := groups.ExtractGroups(gp)
	must(t, "reading security groups", err)
	for _, g := range gs {
		add("security_group", g.ID, g.Name)
	}
	ip, err := images.List(c.image, images.ListOpts{Owner: c.projectID}).AllPages(ctx)
	must(t, "listing images", err)
	is, err := images.ExtractImages(ip)
	must(t, "reading images", err)
	for _, i := range is {
		add("image", i.ID, i.Name+" status="+string(i.Status))
	}
	if c.volume != nil {
		vp, err := volumes.List(c.volume, volumes.ListOpts{}).AllPages(ctx)
		must(t, "listing volumes", err)
		vs, err := volumes.ExtractVolumes(vp)
		must(t, "reading volumes", err)
		for _, v := range vs {
			add("volume", v.ID, v.Name+" status="+v.Status)
		}
	}
	for _, v := range inv {
		sort.Strings(v)
	}
	return inv
}

// leaksSince returns what is in now but was not in before, by kind, minus the names keep allows
// (for example the image a build is meant to produce).
func leaksSince(before, now inventory, keep func(kind, entry string) bool) map[string][]string {
	out := map[string][]string{}
	for kind, entries := range now {
		had := map[string]bool{}
		for _, e := range before[kind] {
			had[entryID(e)] = true
		}
		for _, e := range entries {
			if !had[entryID(e)] && (keep == nil || !keep(kind, e)) {
				out[kind] = append(out[kind], e)
			}
		}
	}
	return out
}

// assertNoLeaks fails the test when, 30 s after the build, c's project still holds something that
// was not in before (and that keep does not allow). The grace period is for Nova: a server whose
// status already reads DELETED (which is when a builder may stop waiting) stays listed for a moment.
func assertNoLeaks(t *testing.T, ctx context.Context, c *cloud, before inventory, keep func(kind, entry string) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		leaks := leaksSince(before, takeInventory(t, ctx, c), keep)
		if len(leaks) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s left behind: %v", what, leaks)
			return
		}
		time.Sleep(time.Second)
	}
}

// entryID is the identity of an inventory entry (its first word): a status change is no leak.
func entryID(e string) string { return strings.SplitN(e, " ", 2)[0] }

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
