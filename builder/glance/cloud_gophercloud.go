package glance

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/members"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/external"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/pagination"

	glancecommon "github.com/packer-glance/packer-plugin-glance/common"
	"github.com/packer-glance/packer-plugin-glance/datasource/image"
	"github.com/packer-glance/packer-plugin-glance/internal/glanceimport"
)

// newGophercloudCloud builds the service clients once for the whole build.
// Cinder is optional: its client is only required when a volume is used.
func newGophercloudCloud(sess *glancecommon.Session, needVolumes, needOwnerNames bool) (*Cloud, error) {
	compute, err := sess.Compute()
	if err != nil {
		return nil, err
	}
	imageClient, err := sess.Image()
	if err != nil {
		return nil, err
	}
	// The data source's finder on the same image client (making a second one
	// would cost a second version discovery request).
	// Keystone is only asked when a filter names an owner, which may be a name.
	finder := image.Finder{Images: image.GlanceLister{Client: imageClient}}
	if needOwnerNames {
		if identity, err := openstack.NewIdentityV3(sess.Provider, gophercloud.EndpointOpts{
			Region: sess.Region, Availability: gophercloud.Availability(sess.Interface)}); err == nil {
			finder.Projects = image.KeystoneProjects{Client: identity}
		}
	}
	engine := glanceimport.NewGlance(imageClient)
	c := &Cloud{
		Finder: finder,
		Import: func(ctx context.Context, req glanceimport.Request) (*glanceimport.Result, error) {
			return glanceimport.Import(ctx, engine, req)
		},
		Compute: &novaClient{c: compute},
		Network: &neutronClient{make: sess.Network},
		Images:  &glanceClient{c: imageClient, project: projectID(sess.Provider)},
		Region:  sess.Region,
	}
	if needVolumes {
		block, err := sess.BlockStorage()
		if err != nil {
			return nil, err
		}
		c.Volumes = &cinderClient{c: block}
	}
	return c, nil
}

// projectID reads the project the token is scoped to, "" if unknown.
func projectID(p *gophercloud.ProviderClient) string {
	if r, ok := p.GetAuthResult().(tokens.CreateResult); ok {
		if project, err := r.ExtractProject(); err == nil && project != nil {
			return project.ID
		}
	}
	return ""
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// looksLikeID says whether a name-or-ID value should first be tried as an ID.
func looksLikeID(s string) bool { return uuidPattern.MatchString(s) }

// pickOne turns the result of a name lookup into one ID or a clear error.
func pickOne(kind, name string, ids []string) (string, error) {
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("no %s named or with ID %q", kind, name)
	case 1:
		return ids[0], nil
	default:
		return "", fmt.Errorf("%d %ss are named %q: use the ID of the one you mean (%s)", len(ids), kind, name, strings.Join(ids, ", "))
	}
}

// ---- Nova ----

type novaClient struct{ c *gophercloud.ServiceClient }

// FlavorID finds a flavor by ID or name with one list request (a GET by ID
// first would cost a 404 for every name).
func (n *novaClient) FlavorID(ctx context.Context, nameOrID string) (string, error) {
	var byName []string
	found := ""
	err := flavors.ListDetail(n.c, flavors.ListOpts{AccessType: flavors.AllAccess}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		list, err := flavors.ExtractFlavors(p)
		for _, f := range list {
			if f.ID == nameOrID {
				found = f.ID
				return false, nil
			}
			if f.Name == nameOrID {
				byName = append(byName, f.ID)
			}
		}
		return true, err
	})
	if err != nil {
		return "", err
	}
	if found != "" {
		return found, nil
	}
	return pickOne("flavor", nameOrID, byName)
}

func (n *novaClient) CreateKeypair(ctx context.Context, name, publicKey string) error {
	_, err := keypairs.Create(ctx, n.c, keypairs.CreateOpts{Name: name, PublicKey: publicKey}).Extract()
	return err
}

func (n *novaClient) DeleteKeypair(ctx context.Context, name string) error {
	return glancecommon.DeleteWithRetry(ctx, func() error { return keypairs.Delete(ctx, n.c, name, nil).ExtractErr() })
}

func (n *novaClient) CreateServer(ctx context.Context, spec ServerSpec) (string, error) {
	var nets []servers.Network
	for _, p := range spec.Ports {
		nets = append(nets, servers.Network{Port: p})
	}
	for _, id := range spec.Networks {
		nets = append(nets, servers.Network{UUID: id})
	}
	opts := servers.CreateOpts{
		Name:             spec.Name,
		ImageRef:         spec.ImageID,
		FlavorRef:        spec.FlavorID,
		SecurityGroups:   spec.SecurityGroups,
		AvailabilityZone: spec.AvailabilityZone,
		UserData:         spec.UserData,
		Metadata:         spec.Metadata,
	}
	if len(nets) > 0 {
		opts.Networks = nets
	}
	if spec.ConfigDrive {
		t := true
		opts.ConfigDrive = &t
	}
	if spec.VolumeID != "" {
		opts.ImageRef = ""
		opts.BlockDevice = []servers.BlockDevice{{
			SourceType:          servers.SourceVolume,
			DestinationType:     servers.DestinationVolume,
			UUID:                spec.VolumeID,
			BootIndex:           0,
			DeleteOnTermination: false,
		}}
	}
	var builder servers.CreateOptsBuilder = opts
	if spec.KeyName != "" {
		builder = keypairs.CreateOptsExt{CreateOptsBuilder: opts, KeyName: spec.KeyName}
	}
	s, err := servers.Create(ctx, n.c, builder, nil).Extract()
	if err != nil {
		return "", err
	}
	return s.ID, nil
}

func (n *novaClient) GetServer(ctx context.Context, id string) (*Server, error) {
	s, err := servers.Get(ctx, n.c, id).Extract()
	if err != nil {
		return nil, err
	}
	out := &Server{ID: s.ID, Status: s.Status, Fault: s.Fault.Message, AccessIPv4: s.AccessIPv4, AccessIPv6: s.AccessIPv6}
	names := make([]string, 0, len(s.Addresses))
	for name := range s.Addresses {
		names = append(names, name)
	}
	sort.Strings(names) // Go maps have no order; the step reorders by the template.
	for _, name := range names {
		list, _ := s.Addresses[name].([]any)
		for _, item := range list {
			m, _ := item.(map[string]any)
			a := Address{Network: name}
			a.Addr, _ = m["addr"].(string)
			a.Type, _ = m["OS-EXT-IPS:type"].(string)
			switch v := m["version"].(type) {
			case float64:
				a.Version = int(v)
			case int:
				a.Version = v
			}
			if a.Version == 0 && strings.Contains(a.Addr, ":") {
				a.Version = 6
			} else if a.Version == 0 {
				a.Version = 4
			}
			if a.Addr != "" {
				out.Addresses = append(out.Addresses, a)
			}
		}
	}
	return out, nil
}

func (n *novaClient) StopServer(ctx context.Context, id string) error {
	return servers.Stop(ctx, n.c, id).ExtractErr()
}

func (n *novaClient) DeleteServer(ctx context.Context, id string, force bool) error {
	return glancecommon.DeleteWithRetry(ctx, func() error {
		if force {
			return servers.ForceDelete(ctx, n.c, id).ExtractErr()
		}
		return servers.Delete(ctx, n.c, id).ExtractErr()
	})
}

func (n *novaClient) ServersOfBuild(ctx context.Context, name, buildUUID string) ([]string, error) {
	// Nova matches name as a regular expression: anchor it, then compare exactly.
	pages, err := servers.List(n.c, servers.ListOpts{Name: "^" + regexp.QuoteMeta(name) + "$"}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := servers.ExtractServers(pages)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, srv := range list {
		if srv.Name == name && srv.Metadata["packer_build_uuid"] == buildUUID {
			ids = append(ids, srv.ID)
		}
	}
	return ids, nil
}

func (n *novaClient) CreateServerImage(ctx context.Context, serverID, name string, metadata map[string]string) (string, error) {
	return servers.CreateImage(ctx, n.c, serverID, servers.CreateImageOpts{Name: name, Metadata: metadata}).ExtractImageID()
}

func (n *novaClient) ServerPassword(ctx context.Context, serverID string, key *rsa.PrivateKey) (string, error) {
	return servers.GetPassword(ctx, n.c, serverID).ExtractPassword(key)
}

// ---- Neutron ----

// neutronClient makes its service client on first use: creating one costs a
// version discovery request, and many builds never call Neutron.
type neutronClient struct {
	once sync.Once
	make func() (*gophercloud.ServiceClient, error)
	c    *gophercloud.ServiceClient
	err  error
}

func (n *neutronClient) client() (*gophercloud.ServiceClient, error) {
	n.once.Do(func() { n.c, n.err = n.make() })
	return n.c, n.err
}

type networkWithExternal struct {
	networks.Network
	external.NetworkExternalExt
}

func (n *neutronClient) FindNetwork(ctx context.Context, nameOrID string) (*NetworkInfo, error) {
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

func (n *neutronClient) FindPort(ctx context.Context, nameOrID string) (*PortInfo, error) {
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

func (n *neutronClient) FindSecurityGroup(ctx context.Context, nameOrID string) (string, error) {
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
	ids := make([]string, 0, len(list))
	for _, g := range list {
		ids = append(ids, g.ID)
	}
	return pickOne("security group", nameOrID, ids)
}

func (n *neutronClient) CreateSecurityGroup(ctx context.Context, name, description string) (string, error) {
	c, err := n.client()
	if err != nil {
		return "", err
	}
	g, err := groups.Create(ctx, c, groups.CreateOpts{Name: name, Description: description}).Extract()
	if err != nil {
		return "", err
	}
	return g.ID, nil
}

func (n *neutronClient) AllowIngress(ctx context.Context, groupID string, port int, cidr string) error {
	c, err := n.client()
	if err != nil {
		return err
	}
	ether := rules.EtherType4
	if strings.Contains(cidr, ":") {
		ether = rules.EtherType6
	}
	_, err = rules.Create(ctx, c, rules.CreateOpts{
		Direction:      rules.DirIngress,
		EtherType:      ether,
		SecGroupID:     groupID,
		Protocol:       rules.ProtocolTCP,
		PortRangeMin:   port,
		PortRangeMax:   port,
		RemoteIPPrefix: cidr,
	}).Extract()
	return err
}

func (n *neutronClient) DeleteSecurityGroup(ctx context.Context, id string) error {
	c, err := n.client()
	if err != nil {
		return err
	}
	return glancecommon.DeleteWithRetry(ctx, func() error { return groups.Delete(ctx, c, id).ExtractErr() })
}

func (n *neutronClient) SecurityGroupsNamed(ctx context.Context, name string) ([]string, error) {
	c, err := n.client()
	if err != nil {
		return nil, err
	}
	pages, err := groups.List(c, groups.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := groups.ExtractGroups(pages)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, g := range list {
		if g.Name == name {
			ids = append(ids, g.ID)
		}
	}
	return ids, nil
}

func (n *neutronClient) ServerPorts(ctx context.Context, serverID string) ([]PortInfo, error) {
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

func (n *neutronClient) listFloatingIPs(ctx context.Context, opts floatingips.ListOpts) ([]floatingips.FloatingIP, error) {
	c, err := n.client()
	if err != nil {
		return nil, err
	}
	pages, err := floatingips.List(c, opts).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	return floatingips.ExtractFloatingIPs(pages)
}

func (n *neutronClient) FindFloatingIP(ctx context.Context, addressOrID string) (*FloatingIP, error) {
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

func (n *neutronClient) FreeFloatingIP(ctx context.Context, networkID string) (*FloatingIP, error) {
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

func (n *neutronClient) CreateFloatingIP(ctx context.Context, networkID, portID, description string) (*FloatingIP, error) {
	c, err := n.client()
	if err != nil {
		return nil, err
	}
	f, err := floatingips.Create(ctx, c, floatingips.CreateOpts{FloatingNetworkID: networkID, PortID: portID, Description: description}).Extract()
	if err != nil {
		return nil, err
	}
	return toFloatingIP(f), nil
}

func (n *neutronClient) FloatingIPsDescribed(ctx context.Context, description string) ([]string, error) {
	c, err := n.client()
	if err != nil {
		return nil, err
	}
	pages, err := floatingips.List(c, floatingips.ListOpts{Description: description}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := floatingips.ExtractFloatingIPs(pages)
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

func (n *neutronClient) AssociateFloatingIP(ctx context.Context, id, portID string) (*FloatingIP, error) {
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

func (n *neutronClient) DeleteFloatingIP(ctx context.Context, id string) error {
	c, err := n.client()
	if err != nil {
		return err
	}
	return glancecommon.DeleteWithRetry(ctx, func() error { return floatingips.Delete(ctx, c, id).ExtractErr() })
}

// ---- Glance ----

type glanceClient struct {
	c       *gophercloud.ServiceClient
	project string
}

func toImage(img *images.Image) *Image {
	out := &Image{
		ID: img.ID, Name: img.Name, Status: string(img.Status), Visibility: string(img.Visibility),
		Owner: img.Owner, Tags: img.Tags, MinDisk: img.MinDiskGigabytes, MinRAM: img.MinRAMMegabytes,
		Protected: img.Protected, Hidden: img.Hidden, SizeBytes: img.SizeBytes, CreatedAt: img.CreatedAt,
		Properties: map[string]string{},
	}
	for k, v := range img.Properties {
		switch x := v.(type) {
		case string:
			out.Properties[k] = x
		case nil:
		default:
			out.Properties[k] = fmt.Sprint(x)
		}
	}
	return out
}

func (g *glanceClient) GetImage(ctx context.Context, id string) (*Image, error) {
	img, err := images.Get(ctx, g.c, id).Extract()
	if err != nil {
		return nil, err
	}
	return toImage(img), nil
}

func (g *glanceClient) list(ctx context.Context, q images.ListOptsBuilder) ([]images.Image, error) {
	pages, err := images.List(g.c, q).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	return images.ExtractImages(pages)
}

func (g *glanceClient) OwnedImagesNamed(ctx context.Context, name string) ([]Image, error) {
	list, err := g.list(ctx, images.ListOpts{Name: name, Owner: g.project})
	if err != nil {
		return nil, err
	}
	var out []Image
	for i := range list {
		// Without a known project the owner filter is empty: keep only exact names.
		if list[i].Name == name && (g.project == "" || list[i].Owner == g.project) {
			out = append(out, *toImage(&list[i]))
		}
	}
	return out, nil
}

func (g *glanceClient) UpdateImage(ctx context.Context, id string, u ImageUpdate) error {
	var patch images.UpdateOpts
	if u.Visibility != nil {
		patch = append(patch, images.UpdateVisibility{Visibility: images.ImageVisibility(*u.Visibility)})
	}
	if u.Tags != nil {
		patch = append(patch, images.ReplaceImageTags{NewTags: *u.Tags})
	}
	if u.MinDisk != nil {
		patch = append(patch, images.ReplaceImageMinDisk{NewMinDisk: *u.MinDisk})
	}
	if u.MinRAM != nil {
		patch = append(patch, images.ReplaceImageMinRam{NewMinRam: *u.MinRAM})
	}
	if u.Protected != nil {
		patch = append(patch, images.ReplaceImageProtected{NewProtected: *u.Protected})
	}
	if u.Hidden != nil {
		patch = append(patch, images.ReplaceImageHidden{NewHidden: *u.Hidden})
	}
	keys := make([]string, 0, len(u.Properties))
	for k := range u.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// With Glance's v2.1 JSON-patch media type, "add" also replaces an
		// inherited value, so one operation covers both cases.
		patch = append(patch, images.UpdateImageProperty{Op: images.AddOp, Name: k, Value: u.Properties[k]})
	}
	if len(patch) == 0 {
		return nil
	}
	_, err := images.Update(ctx, g.c, id, patch).Extract()
	return err
}

func (g *glanceClient) DeleteImage(ctx context.Context, id string) error {
	return glancecommon.DeleteWithRetry(ctx, func() error { return images.Delete(ctx, g.c, id).ExtractErr() })
}

func (g *glanceClient) AddMember(ctx context.Context, imageID, project string) error {
	_, err := members.Create(ctx, g.c, imageID, project).Extract()
	return err
}

func (g *glanceClient) AcceptMember(ctx context.Context, imageID, project string) error {
	_, err := members.Update(ctx, g.c, imageID, project, members.UpdateOpts{Status: "accepted"}).Extract()
	return err
}

// ---- Cinder ----

type cinderClient struct{ c *gophercloud.ServiceClient }

func (v *cinderClient) CreateVolume(ctx context.Context, spec VolumeSpec) (string, error) {
	vol, err := volumes.Create(ctx, v.c, volumes.CreateOpts{
		Name: spec.Name, Size: spec.SizeGiB, ImageID: spec.ImageID, VolumeType: spec.VolumeType,
		AvailabilityZone: spec.AvailabilityZone, Metadata: spec.Metadata,
	}, nil).Extract()
	if err != nil {
		return "", err
	}
	return vol.ID, nil
}

func (v *cinderClient) GetVolume(ctx context.Context, id string) (*Volume, error) {
	vol, err := volumes.Get(ctx, v.c, id).Extract()
	if err != nil {
		return nil, err
	}
	return &Volume{ID: vol.ID, Status: vol.Status}, nil
}

func (v *cinderClient) DeleteVolume(ctx context.Context, id string) error {
	return glancecommon.DeleteWithRetry(ctx, func() error { return volumes.Delete(ctx, v.c, id, nil).ExtractErr() })
}

func (v *cinderClient) VolumesOfBuild(ctx context.Context, name, buildUUID string) ([]string, error) {
	pages, err := volumes.List(v.c, volumes.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := volumes.ExtractVolumes(pages)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, vol := range list {
		if vol.Name == name && vol.Metadata["packer_build_uuid"] == buildUUID {
			ids = append(ids, vol.ID)
		}
	}
	return ids, nil
}

func (v *cinderClient) UploadToImage(ctx context.Context, volumeID, imageName, diskFormat string) (string, error) {
	img, err := volumes.UploadImage(ctx, v.c, volumeID, volumes.UploadImageOpts{
		ImageName: imageName, DiskFormat: diskFormat, ContainerFormat: "bare",
	}).Extract()
	if err != nil {
		return "", err
	}
	return img.ImageID, nil
}
