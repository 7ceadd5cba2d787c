package osapi

import (
	"context"
	"crypto/rsa"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// Nova is the compute service client.
type Nova struct {
	client func() (*gophercloud.ServiceClient, error)
	// glance finds a snapshot whose createImage reply was lost.
	glance *Glance
}

// FlavorID finds a flavor by ID or name with one list request (a GET by ID
// first would cost a 404 for every name).
func (n *Nova) FlavorID(ctx context.Context, nameOrID string) (string, error) {
	c, err := n.client()
	if err != nil {
		return "", err
	}
	var byName []string
	found := ""
	err = flavors.ListDetail(c, flavors.ListOpts{AccessType: flavors.AllAccess}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
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

func (n *Nova) CreateKeypair(ctx context.Context, name, publicKey string) error {
	c, err := n.client()
	if err != nil {
		return err
	}
	_, err = createRecovering(ctx, fmt.Sprintf("keypair %q", name), func(ctx context.Context) (string, error) {
		_, err := keypairs.Create(ctx, c, keypairs.CreateOpts{Name: name, PublicKey: publicKey}).Extract()
		return name, err
	}, func(ctx context.Context) ([]string, error) {
		// A keypair of this (build-unique) name holding this public key is the one
		// the lost call made.
		kp, err := keypairs.Get(ctx, c, name, nil).Extract()
		if IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(kp.PublicKey) != strings.TrimSpace(publicKey) {
			return nil, fmt.Errorf("keypair %q exists with another public key", name)
		}
		return []string{name}, nil
	})
	return err
}

// KeypairPublicKey returns the public key of the user's keypair of that name
// (a 404 error when there is none).
func (n *Nova) KeypairPublicKey(ctx context.Context, name string) (string, error) {
	c, err := n.client()
	if err != nil {
		return "", err
	}
	kp, err := keypairs.Get(ctx, c, name, nil).Extract()
	if err != nil {
		return "", err
	}
	return kp.PublicKey, nil
}

func (n *Nova) DeleteKeypair(ctx context.Context, name string) error {
	c, err := n.client()
	if err != nil {
		return err
	}
	return deleteOnce(ctx, func(ctx context.Context) error { return keypairs.Delete(ctx, c, name, nil).ExtractErr() })
}

func (n *Nova) CreateServer(ctx context.Context, spec ServerSpec) (string, error) {
	c, err := n.client()
	if err != nil {
		return "", err
	}
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
	var find func(context.Context) ([]string, error)
	if marker := spec.Metadata[MarkerProperty]; marker != "" {
		find = func(ctx context.Context) ([]string, error) { return n.ServersOfBuild(ctx, spec.Name, marker) }
	}
	return createRecovering(ctx, fmt.Sprintf("server %q", spec.Name), func(ctx context.Context) (string, error) {
		s, err := servers.Create(ctx, c, builder, nil).Extract()
		if err != nil {
			return "", err
		}
		return s.ID, nil
	}, find)
}

func (n *Nova) GetServer(ctx context.Context, id string) (*Server, error) {
	c, err := n.client()
	if err != nil {
		return nil, err
	}
	s, err := servers.Get(ctx, c, id).Extract()
	if err != nil {
		return nil, err
	}
	out := &Server{ID: s.ID, Status: s.Status, Fault: s.Fault.Message, TaskState: s.TaskState,
		AccessIPv4: s.AccessIPv4, AccessIPv6: s.AccessIPv6}
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

func (n *Nova) StopServer(ctx context.Context, id string) error {
	c, err := n.client()
	if err != nil {
		return err
	}
	return servers.Stop(ctx, c, id).ExtractErr()
}

func (n *Nova) DeleteServer(ctx context.Context, id string, force bool) error {
	c, err := n.client()
	if err != nil {
		return err
	}
	return deleteOnce(ctx, func(ctx context.Context) error {
		if force {
			return servers.ForceDelete(ctx, c, id).ExtractErr()
		}
		return servers.Delete(ctx, c, id).ExtractErr()
	})
}

func (n *Nova) ServersOfBuild(ctx context.Context, name, buildUUID string) ([]string, error) {
	c, err := n.client()
	if err != nil {
		return nil, err
	}
	// Nova matches name as a regular expression: anchor it, then compare exactly.
	pages, err := servers.List(c, servers.ListOpts{Name: "^" + regexp.QuoteMeta(name) + "$"}).AllPages(ctx)
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

func (n *Nova) CreateServerImage(ctx context.Context, serverID, name string, metadata map[string]string) (string, error) {
	c, err := n.client()
	if err != nil {
		return "", err
	}
	started := time.Now()
	var find func(context.Context) ([]string, error)
	if marker := metadata[MarkerProperty]; marker != "" && n.glance != nil {
		find = func(ctx context.Context) ([]string, error) { return n.glance.imagesMadeBy(ctx, marker, name, started) }
	}
	return createRecovering(ctx, fmt.Sprintf("image %q", name), func(ctx context.Context) (string, error) {
		return servers.CreateImage(ctx, c, serverID, servers.CreateImageOpts{Name: name, Metadata: metadata}).ExtractImageID()
	}, find)
}

func (n *Nova) ServerPassword(ctx context.Context, serverID string, key *rsa.PrivateKey) (string, error) {
	c, err := n.client()
	if err != nil {
		return "", err
	}
	return servers.GetPassword(ctx, c, serverID).ExtractPassword(key)
}
