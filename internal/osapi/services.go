// Package osapi holds one client per OpenStack service (Glance, Nova, Neutron,
// Cinder, Keystone), built from an access.Session and shared by the builder,
// the import engine, the post-processor and the data source. Each client is
// the only place that knows its service's quirks and how to find what a create
// call whose reply was lost has made; every request follows the session's one
// retry policy (internal/retry.Policy). Components keep small interfaces of
// their own over these clients, so their steps stay testable on fakes.
package osapi

import (
	"sync"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/packer-glance/packer-plugin-glance/access"
)

// Services makes each service client of one session and region on first use:
// a client costs a catalog lookup and sometimes a version discovery request, and
// many runs never call some services.
type Services struct {
	sess   *access.Session
	region string

	image, compute, network, volume, identity lazy
}

// New returns the services of the session's own region.
func New(sess *access.Session) *Services {
	return &Services{sess: sess, region: sess.Region}
}

// InRegion returns the services of another region of the same cloud and
// credentials.
func InRegion(sess *access.Session, region string) *Services {
	return &Services{sess: sess, region: region}
}

// Session is the session the services use.
func (s *Services) Session() *access.Session { return s.sess }

// Region is the region the clients point at ("" = the catalog's first).
func (s *Services) Region() string { return s.region }

func (s *Services) endpoint() gophercloud.EndpointOpts {
	eo := s.sess.EndpointOpts()
	eo.Region = s.region
	return eo
}

// lazy makes one service client once.
type lazy struct {
	once sync.Once
	c    *gophercloud.ServiceClient
	err  error
}

func (l *lazy) get(make func() (*gophercloud.ServiceClient, error)) (*gophercloud.ServiceClient, error) {
	l.once.Do(func() { l.c, l.err = make() })
	return l.c, l.err
}

func (s *Services) serviceError(service string, err error) error {
	if s.region == s.sess.Region {
		return s.sess.ServiceError(service, err)
	}
	inRegion := *s.sess
	inRegion.Region = s.region
	return inRegion.ServiceError(service, err)
}

func (s *Services) imageClient() (*gophercloud.ServiceClient, error) {
	return s.image.get(func() (*gophercloud.ServiceClient, error) {
		c, err := s.unversioned("image", "v2/")
		if err != nil {
			return nil, s.serviceError("image", err)
		}
		return c, nil
	})
}

func (s *Services) computeClient() (*gophercloud.ServiceClient, error) {
	return s.compute.get(func() (*gophercloud.ServiceClient, error) {
		c, err := openstack.NewComputeV2(s.sess.Provider, s.endpoint())
		if err != nil {
			return nil, s.serviceError("compute", err)
		}
		return c, nil
	})
}

func (s *Services) networkClient() (*gophercloud.ServiceClient, error) {
	return s.network.get(func() (*gophercloud.ServiceClient, error) {
		c, err := s.unversioned("network", "v2.0/")
		if err != nil {
			return nil, s.serviceError("network", err)
		}
		return c, nil
	})
}

// unversioned makes the client of a service with a single API version (Glance
// v2, Neutron v2.0) from its catalog endpoint, as gophercloud's NewImageV2 and
// NewNetworkV2 do, but without their version discovery: a GET of the
// endpoint's root on every run, which can only confirm the one version these
// services have had for years.
func (s *Services) unversioned(clientType, version string) (*gophercloud.ServiceClient, error) {
	eo := s.endpoint()
	eo.ApplyDefaults(clientType)
	eo.Version = 0 // 0: take the catalog's endpoint as it is
	url, err := s.sess.Provider.EndpointLocator(eo)
	if err != nil {
		return nil, err
	}
	return &gophercloud.ServiceClient{ProviderClient: s.sess.Provider, Endpoint: url, Type: clientType, ResourceBase: url + version}, nil
}

// volumeClient accepts the catalog types block-storage, volumev3 and volume.
func (s *Services) volumeClient() (*gophercloud.ServiceClient, error) {
	return s.volume.get(func() (*gophercloud.ServiceClient, error) {
		c, err := openstack.NewBlockStorageV3(s.sess.Provider, s.endpoint())
		if err != nil {
			return nil, s.serviceError("block-storage", err)
		}
		return c, nil
	})
}

func (s *Services) identityClient() (*gophercloud.ServiceClient, error) {
	return s.identity.get(func() (*gophercloud.ServiceClient, error) {
		c, err := openstack.NewIdentityV3(s.sess.Provider, s.endpoint())
		if err != nil {
			return nil, s.serviceError("identity", err)
		}
		return c, nil
	})
}

// Glance returns the image service client.
func (s *Services) Glance() *Glance {
	return &Glance{client: s.imageClient, project: s.sess.Project.ID}
}

// Nova returns the compute service client.
func (s *Services) Nova() *Nova { return &Nova{client: s.computeClient, glance: s.Glance()} }

// Neutron returns the network service client.
func (s *Services) Neutron() *Neutron {
	return &Neutron{client: s.networkClient, project: s.sess.Project.ID}
}

// Cinder returns the block storage service client.
func (s *Services) Cinder() *Cinder { return &Cinder{client: s.volumeClient, glance: s.Glance()} }

// Keystone returns the identity service client.
func (s *Services) Keystone() *Keystone { return &Keystone{client: s.identityClient} }
