// Package full holds the acceptance tests that need the "full" real-cloud profile (Nova, Neutron,
// Placement and libvirt from Debian's packages, `make realcloud PROFILE=full`): a real server boots
// from the tiny-guest image on a network the host reaches, is provisioned over SSH and snapshotted.
// They run only when REALCLOUD_FULL_CLOUDS_YAML names the profile's clouds.yaml
// (`make realcloud-full-test` sets it).
package full

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"golang.org/x/crypto/ssh"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

const (
	envCloudsYAML = "REALCLOUD_FULL_CLOUDS_YAML"
	adminCloud    = "realcloud-admin"
	guestImage    = "tiny-guest"
	guestFlavor   = "m1.tiny"
	privateNet    = "private"
	publicNet     = "public"
)

func TestMain(m *testing.M) {
	code := m.Run()
	acctest.Cleanup()
	os.Exit(code)
}

// cloudsYAML skips the test unless the full profile's clouds.yaml is named.
func cloudsYAML(t *testing.T) string {
	t.Helper()
	p := os.Getenv(envCloudsYAML)
	if p == "" {
		t.Skipf("%s is not set: run `make realcloud-full-test` (needs `make realcloud PROFILE=full`)", envCloudsYAML)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v", envCloudsYAML, err)
	}
	return p
}

// cloud is one authenticated user's view: service clients and the project it works in. volume is
// nil when the catalog has no block-storage endpoint.
type cloud struct {
	compute, network, image, identity, volume *gophercloud.ServiceClient
	projectID                                 string
	provider                                  *gophercloud.ProviderClient
}

// connectAs logs in as clouds.yaml entry name of the file path.
func connectAs(t *testing.T, path, name string) *cloud {
	t.Helper()
	t.Setenv("OS_CLIENT_CONFIG_FILE", path)
	ac := access.AccessConfig{Cloud: name}
	if _, errs := ac.Prepare(); len(errs) > 0 {
		t.Fatalf("access config for %s: %v", name, errors.Join(errs...))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sess, err := ac.Authenticate(ctx)
	if err != nil {
		t.Fatalf("authenticating as %s: %v", name, err)
	}
	c := &cloud{provider: sess.Provider}
	if c.compute, err = openstack.NewComputeV2(sess.Provider, sess.EndpointOpts()); err != nil {
		t.Fatal(err)
	}
	// 2.79: server fields as a current client sees them; stop, createImage and friends exist far earlier.
	c.compute.Microversion = "2.79"
	if c.network, err = openstack.NewNetworkV2(sess.Provider, sess.EndpointOpts()); err != nil {
		t.Fatal(err)
	}
	if c.image, err = openstack.NewImageV2(sess.Provider, sess.EndpointOpts()); err != nil {
		t.Fatal(err)
	}
	c.identity = identityClient(t, sess.Provider)
	c.volume = volumeClient(sess.Provider)
	res, ok := sess.Provider.GetAuthResult().(tokens.CreateResult)
	if !ok {
		t.Fatalf("unexpected auth result %T", sess.Provider.GetAuthResult())
	}
	project, err := res.ExtractProject()
	if err != nil || project == nil {
		t.Fatalf("no project in %s's token: %v", name, err)
	}
	c.projectID = project.ID
	return c
}

// seed holds the IDs of what the profile created: the guest image, the flavor, the networks.
type seed struct {
	imageID, flavorID, privateID, publicID string
}

func lookupSeed(t *testing.T, ctx context.Context, c *cloud) seed {
	t.Helper()
	var s seed
	pages, err := images.List(c.image, images.ListOpts{Name: guestImage}).AllPages(ctx)
	if err != nil {
		t.Fatalf("listing images named %s: %v", guestImage, err)
	}
	imgs, _ := images.ExtractImages(pages)
	if len(imgs) != 1 {
		t.Fatalf("want exactly one image %q, found %d", guestImage, len(imgs))
	}
	s.imageID = imgs[0].ID
	fpages, err := flavors.ListDetail(c.compute, nil).AllPages(ctx)
	if err != nil {
		t.Fatalf("listing flavors: %v", err)
	}
	fl, _ := flavors.ExtractFlavors(fpages)
	for _, f := range fl {
		if f.Name == guestFlavor {
			s.flavorID = f.ID
		}
	}
	if s.flavorID == "" {
		t.Fatalf("no flavor %q", guestFlavor)
	}
	for name, dst := range map[string]*string{privateNet: &s.privateID, publicNet: &s.publicID} {
		npages, err := networks.List(c.network, networks.ListOpts{Name: name}).AllPages(ctx)
		if err != nil {
			t.Fatalf("listing networks named %s: %v", name, err)
		}
		nets, _ := networks.ExtractNetworks(npages)
		if len(nets) != 1 {
			t.Fatalf("want exactly one network %q, found %d", name, len(nets))
		}
		*dst = nets[0].ID
	}
	return s
}

// uniqueName gives each test resource a recognisable, unique name.
func uniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// newSSHKey returns an ed25519 key pair: the signer for the client, the authorized_keys line for Nova.
func newSSHKey(t *testing.T) (ssh.Signer, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return signer, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
}

// sshRun runs one command as root on addr:22 and returns its combined output.
func sshRun(addr string, signer ssh.Signer, cmd string) (string, error) {
	cfg := &ssh.ClientConfig{
		User:            "root",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // a throwaway guest on a local bridge
		Timeout:         5 * time.Second,
	}
	client, err := ssh.Dial("tcp", net.JoinHostPort(addr, "22"), cfg)
	if err != nil {
		return "", err
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	out, err := sess.CombinedOutput(cmd)
	return string(out), err
}

// waitSSH polls until a command succeeds over SSH (the guest is up and has taken the key).
func waitSSH(ctx context.Context, addr string, signer ssh.Signer, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if _, err := sshRun(addr, signer, "true"); err == nil {
			return nil
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("no SSH to root@%s after %s: %v", addr, timeout, last)
}

// waitServer polls a server until it reaches status want with no task in progress; ERROR fails at
// once with Nova's fault.
func waitServer(ctx context.Context, c *cloud, id, want string, timeout time.Duration) (*servers.Server, error) {
	var srv *servers.Server
	err := retry.WaitFor(ctx, "server "+id+" "+want, timeout, pollFast, func(ctx context.Context) (bool, error) {
		s, err := servers.Get(ctx, c.compute, id).Extract()
		if err != nil {
			return false, err
		}
		srv = s
		if s.Status == "ERROR" {
			return false, fmt.Errorf("server %s went to ERROR: %s", id, s.Fault.Message)
		}
		return s.Status == want && s.TaskState == "", nil
	})
	return srv, err
}

// waitServerGone polls until the server is deleted (404).
func waitServerGone(ctx context.Context, c *cloud, id string, timeout time.Duration) error {
	return retry.WaitFor(ctx, "server "+id+" deleted", timeout, pollFast, func(ctx context.Context) (bool, error) {
		_, err := servers.Get(ctx, c.compute, id).Extract()
		if gophercloud.ResponseCodeIs(err, 404) {
			return true, nil
		}
		return false, err
	})
}

// fixedIP returns the server's first IPv4 address on the named network.
func fixedIP(s *servers.Server, network string) string {
	list, _ := s.Addresses[network].([]any)
	for _, a := range list {
		m, _ := a.(map[string]any)
		if addr, _ := m["addr"].(string); addr != "" && !strings.Contains(addr, ":") {
			if kind, _ := m["OS-EXT-IPS:type"].(string); kind == "" || kind == "fixed" {
				return addr
			}
		}
	}
	return ""
}

// pollFast polls at most every second: these waits are also timings the tests report.
var pollFast = retry.Backoff{Initial: 250 * time.Millisecond, Max: time.Second}
