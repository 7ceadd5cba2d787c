package osapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/external"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// Neutron is the network service client.
type Neutron struct {
	client func() (*gophercloud.ServiceClient, error)
	// project is the ID of the session's project ("" when unknown).
	project string
}

type networkWithExternal struct {
	networks.Network
	external.NetworkExternalExt
}

func (n *Neutron) FindNetwork(ctx context.Context, nameOrID string) (*NetworkInfo, error) {
	c, err := n.client()
	if err != nil {
		return nil, err
	}
	var list []networkWithExternal
	query := func(opts networks.ListOpts) error {
		pages, err := networks.List(c, opts).AllPages(ctx)
		if err != nil {
			return err
		}
		return networks.ExtractNetworksInto(pages, &list)
	}
	if looksLikeID(nameOrID) {
		if err := query(networks.ListOpts{ID: nameOrID}); err != nil {
			return nil, err
		}
	}
	if len(list) == 0 {
		if err := query(networks.ListOpts{Name: nameOrID}); err != nil {
			return nil, err
		}
	}
	ids := make([]string, 0, len(list))
	for _, nw := range list {
		ids = append(ids, nw.ID)
	}
	id, err := pickOne("network", nameOrID, ids)
	if err != nil {
		return nil, err
	}
	for _, nw := range list {
		if nw.ID == id {
			return &NetworkInfo{ID: nw.ID, Name: nw.Name, External: nw.External}, nil
		}
	}
	return nil, errors.New("unreachable")
}

func (n *Neutron) FindPort(ctx context.Context, nameOrID string) (*PortInfo, error) {
	c, err := n.client()
	if err != nil {
		return nil, err
	}
	var list []ports.Port
	query := func(opts ports.ListOpts) error {
		pages, err := ports.List(c, opts).AllPages(ctx)
		if err != nil {
			return err
		}
		list, err = ports.ExtractPorts(pages)
		return err
	}
	if looksLikeID(nameOrID) {
		if err := query(ports.ListOpts{ID: nameOrID}); err != nil {
			return nil, err
		}
	}
	if len(list) == 0 {
		if err := query(ports.ListOpts{Name: nameOrID}); err != nil {
			return nil, err
		}
	}
	ids := make([]string, 0, len(list))
	for _, p := range list {
		ids = append(ids, p.ID)
	}
	id, err := pickOne("port", nameOrID, ids)
	if err != nil {
		return nil, err
	}
	for _, p := range list {
		if p.ID == id {
			return &PortInfo{ID: p.ID, NetworkID: p.NetworkID}, nil
		}
	}
	return nil, errors.New("unreachable")
}

// Subnets lists every subnet the project can see, in Neutron's order.
func (n *Neutron) Subnets(ctx context.Context) ([]SubnetInfo, error) {
	c, err := n.client()
	if err != nil {
		return nil, err
	}
	pages, err := subnets.List(c, subnets.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := subnets.ExtractSubnets(pages)
	if err != nil {
		return nil, err
	}
	out := make([]SubnetInfo, 0, len(list))
	for _, s := range list {
		out = append(out, SubnetInfo{ID: s.ID, NetworkID: s.NetworkID, CIDR: s.CIDR})
	}
	return out, nil
}

func (n *Neutron) FindSecurityGroup(ctx context.Context, nameOrID string) (string, error) {
	c, err := n.client()
	if err != nil {
		return "", err
	}
	var list []groups.SecGroup
	query := func(opts groups.ListOpts) error {
		pages, err := groups.List(c, opts).AllPages(ctx)
		if err != nil {
			return err
		}
		list, err = groups.ExtractGroups(pages)
		return err
	}
	if looksLikeID(nameOrID) {
		if err := query(groups.ListOpts{ID: nameOrID}); err != nil {
			return "", err
		}
	}
	if len(list) == 0 {
		if err := query(groups.ListOpts{Name: nameOrID}); err != nil {
			return "", err
		}
	}
	// An administrator sees every project's groups, and each project has a
	// "default": like Nova, a name means the group of the session's project.
	if len(list) > 1 && n.project != "" {
		own := slices.DeleteFunc(slices.Clone(list), func(g groups.SecGroup) bool { return g.ProjectID != n.project })
		if len(own) > 0 {
			list = own
		}
	}
	ids := make([]string, 0, len(list))
	for _, g := range list {
		ids = append(ids, g.ID)
	}
	return pickOne("security group", nameOrID, ids)
}

func (n *Neutron) CreateSecurityGroup(ctx context.Context, name, description string) (string, error) {
	c, err := n.client()
	if err != nil {
		return "", err
	}
	// The builder's group names hold its build UUID: a group of that name is
	// the one a lost call made.
	return createRecovering(ctx, fmt.Sprintf("security group %q", name), func(ctx context.Context) (string, error) {
		g, err := groups.Create(ctx, c, groups.CreateOpts{Name: name, Description: description}).Extract()
		if err != nil {
			return "", err
		}
		return g.ID, nil
	}, func(ctx context.Context) ([]string, error) { return n.SecurityGroupsNamed(ctx, name) })
}

func (n *Neutron) AllowIngress(ctx context.Context, groupID string, port int, cidr string) error {
	c, err := n.client()
	if err != nil {
		return err
	}
	ether := rules.EtherType4
	if strings.Contains(cidr, ":") {
		ether = rules.EtherType6
	}
	opts := rules.CreateOpts{
		Direction:      rules.DirIngress,
		EtherType:      ether,
		SecGroupID:     groupID,
		Protocol:       rules.ProtocolTCP,
		PortRangeMin:   port,
		PortRangeMax:   port,
		RemoteIPPrefix: cidr,
	}
	// A rule is told by what it allows: one in the group that allows this is
	// the one a lost call made.
	_, err = createRecovering(ctx, fmt.Sprintf("security group rule for TCP port %d from %s", port, cidr), func(ctx context.Context) (string, error) {
		r, err := rules.Create(ctx, c, opts).Extract()
		if err != nil {
			return "", err
		}
		return r.ID, nil
	}, func(ctx context.Context) ([]string, error) {
		pages, err := rules.List(c, rules.ListOpts{SecGroupID: groupID, Direction: string(rules.DirIngress), EtherType: string(ether),
			Protocol: string(rules.ProtocolTCP), PortRangeMin: port, PortRangeMax: port, RemoteIPPrefix: cidr}).AllPages(ctx)
		if err != nil {
			return nil, err
		}
		list, err := rules.ExtractRules(pages)
		if err != nil {
			return nil, err
		}
		ids := make([]string, 0, len(list))
		for _, r := range list {
			ids = append(ids, r.ID)
		}
		return ids, nil
	})
	return err
}

func (n *Neutron) DeleteSecurityGroup(ctx context.Context, id string) error {
	c, err := n.client()
	if err != nil {
		return err
	}
	return deleteOnce(ctx, func(ctx context.Context) error { return groups.Delete(ctx, c, id).ExtractErr() })
}

func (n *Neutron) SecurityGroupsNamed(ctx context.Context, name string) ([]string, error) {
	c, err := n.client()
	if err != nil {
		return nil, err
	}
	// Only the session project's groups: an administrator sees every project's.
	pages, err := groups.List(c, groups.ListOpts{Name: name, ProjectID: n.project}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := groups.ExtractGroups(pages)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, g := range list {
		if g.Name == name && (n.project == "" || g.ProjectID == n.project) {
			ids = append(ids, g.ID)
		}
	}
	return ids, nil
}

func (n *Neutron) ServerPorts(ctx context.Context, serverID string) ([]PortInfo, error) {
	c, err := n.client()
	if err != nil {
		return nil, err
	}
	pages, err := ports.List(c, ports.ListOpts{DeviceID: serverID}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := ports.ExtractPorts(pages)
	if err != nil {
		return nil, err
	}
	out := make([]PortInfo, 0, len(list))
	for _, p := range list {
		out = append(out, PortInfo{ID: p.ID, NetworkID: p.NetworkID})
	}
	return out, nil
}

func toFloatingIP(f *floatingips.FloatingIP) *FloatingIP {
	return &FloatingIP{ID: f.ID, Address: f.FloatingIP, NetworkID: f.FloatingNetworkID, PortID: f.PortID}
}

// listFloatingIPs lists the session project's floating IPs: an administrator
// sees every project's, and the builder must never take, attach, detach or
// delete another project's address.
func (n *Neutron) listFloatingIPs(ctx context.Context, opts floatingips.ListOpts) ([]floatingips.FloatingIP, error) {
	c, err := n.client()
	if err != nil {
		return nil, err
	}
	opts.ProjectID = n.project
	pages, err := floatingips.List(c, opts).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := floatingips.ExtractFloatingIPs(pages)
	if err != nil || n.project == "" {
		return list, err
	}
	return slices.DeleteFunc(list, func(f floatingips.FloatingIP) bool { return f.ProjectID != n.project }), nil
}

func (n *Neutron) FindFloatingIP(ctx context.Context, addressOrID string) (*FloatingIP, error) {
	opts := floatingips.ListOpts{FloatingIP: addressOrID}
	if looksLikeID(addressOrID) {
		opts = floatingips.ListOpts{ID: addressOrID}
	}
	list, err := n.listFloatingIPs(ctx, opts)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("no floating IP with address or ID %q in the project", addressOrID)
	}
	return toFloatingIP(&list[0]), nil
}

func (n *Neutron) FreeFloatingIP(ctx context.Context, networkID string) (*FloatingIP, error) {
	list, err := n.listFloatingIPs(ctx, floatingips.ListOpts{FloatingNetworkID: networkID, Status: "DOWN"})
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].PortID == "" {
			return toFloatingIP(&list[i]), nil
		}
	}
	return nil, nil
}

func (n *Neutron) CreateFloatingIP(ctx context.Context, networkID, portID, description string) (*FloatingIP, error) {
	c, err := n.client()
	if err != nil {
		return nil, err
	}
	// The builder's descriptions hold its build UUID: an address with this one
	// is the one a lost call made.
	return createRecovering(ctx, fmt.Sprintf("floating IP %q", description), func(ctx context.Context) (*FloatingIP, error) {
		f, err := floatingips.Create(ctx, c, floatingips.CreateOpts{FloatingNetworkID: networkID, PortID: portID, Description: description}).Extract()
		if err != nil {
			return nil, err
		}
		return toFloatingIP(f), nil
	}, func(ctx context.Context) ([]*FloatingIP, error) {
		list, err := n.listFloatingIPs(ctx, floatingips.ListOpts{Description: description})
		if err != nil {
			return nil, err
		}
		var out []*FloatingIP
		for i := range list {
			if list[i].Description == description {
				out = append(out, toFloatingIP(&list[i]))
			}
		}
		return out, nil
	})
}

func (n *Neutron) FloatingIPsDescribed(ctx context.Context, description string) ([]string, error) {
	list, err := n.listFloatingIPs(ctx, floatingips.ListOpts{Description: description})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, f := range list {
		if f.Description == description {
			ids = append(ids, f.ID)
		}
	}
	return ids, nil
}

func (n *Neutron) AssociateFloatingIP(ctx context.Context, id, portID string) (*FloatingIP, error) {
	c, err := n.client()
	if err != nil {
		return nil, err
	}
	p := portID
	f, err := floatingips.Update(ctx, c, id, floatingips.UpdateOpts{PortID: &p}).Extract()
	if err != nil {
		return nil, err
	}
	return toFloatingIP(f), nil
}

func (n *Neutron) DeleteFloatingIP(ctx context.Context, id string) error {
	c, err := n.client()
	if err != nil {
		return err
	}
	return deleteOnce(ctx, func(ctx context.Context) error { return floatingips.Delete(ctx, c, id).ExtractErr() })
}
