package glance

import (
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// openstackTemplate is a template written for HashiCorp's openstack builder: the
// five options this builder used to refuse, the behaviours that changed (a
// visibility in capitals, user_data with user_data_file, volume_size without a
// volume, a pool instead of a network) and the image options under their
// openstack names. %d is the test cloud's SSH port; %s the discovery ranges.
const openstackTemplate = `
packer {
  required_plugins {
    openstack = {
      version = ">= 1.1.4"
      source  = "github.com/hashicorp/openstack"
    }
  }
}

source "openstack" "migrated" {
  flavor = "m1.tiny"
  source_image_filter {
    filters {
      name       = "Fedora-Cloud-Base-37-1.7"
      visibility = "public"
      properties = { os_distro = "fedora" }
    }
    most_recent = true
  }

  network_discovery_cidrs = [%s]
  use_floating_ip         = true
  floating_ip_pool        = "public"
  security_groups         = ["default"]
  rackconnect_wait        = false
  openstack_provider      = "openstack"
  image_creation_wait     = 5

  user_data         = "#cloud-config\n# from user_data\n"
  user_data_file    = "cloud-init.yaml"
  volume_size       = 1
  instance_metadata = { team = "platform" }

  ssh_username = "fedora"
  ssh_port     = %d
  ssh_timeout  = "1m"

  image_name       = "golden-migrated"
  image_visibility = "Public"
  image_tags       = ["golden"]
  image_min_disk   = 1
  metadata         = { os_require_quiesce = "yes" }
}

build {
  sources = ["source.openstack.migrated"]
  provisioner "shell" {
    inline = ["echo migrated | sudo tee /etc/marker"]
  }
}
`

// migrate makes exactly the change docs/builders/glance.mdx asks for: the
// source type, and this plugin in required_plugins instead of the openstack one.
func migrate(t *testing.T, template string) string {
	t.Helper()
	out := strings.NewReplacer(
		`source "openstack"`, `source "glance"`,
		`"source.openstack.`, `"source.glance.`,
		`openstack = {`, `glance = {`,
		`">= 1.1.4"`, `">= 0.1.0"`,
		`"github.com/hashicorp/openstack"`, fmt.Sprintf("%q", acctest.SourceAddress),
	).Replace(template)
	before, after := strings.Split(template, "\n"), strings.Split(out, "\n")
	changed := 0
	for i := range before {
		if before[i] != after[i] {
			changed++
		}
	}
	if changed != 5 {
		t.Fatalf("the migration changed %d lines, want 5 (source, sources, and three of required_plugins)", changed)
	}
	return out
}

// A template for the openstack builder builds here with only the source type
// (and required_plugins) changed. The image has no bookkeeping about the
// temporary server, and records where it came from.
func TestAccOpenstackTemplateBuildsUnchanged(t *testing.T) {
	c, env := accCloud(t, testcloud.Options{})
	// The admin project may publish an image; the discovery ranges cover the
	// test cloud's private subnets (127.64-159.0.0/16) and none of its public
	// ones (127.160-254.0.0/16).
	env = append(env, "OS_CLOUD=testcloud-admin")
	cidrs := []string{"127.64.0.0/10", "127.128.0.0/11"}
	template := migrate(t, fmt.Sprintf(openstackTemplate, `"`+strings.Join(cidrs, `", "`)+`"`, c.SSHPort()))

	dir := t.TempDir()
	acctest.WriteFile(t, dir, "t.pkr.hcl", template)
	acctest.WriteFile(t, dir, "cloud-init.yaml", "#cloud-config\n# from user_data_file\n")

	// The server is gone once the build ends: watch it while it runs.
	var (
		mu   sync.Mutex
		seen []testcloud.Server
	)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			for _, s := range c.Servers() {
				if len(s.FloatingIPs) > 0 {
					mu.Lock()
					seen = append(seen[:0], s)
					mu.Unlock()
				}
			}
		}
	}()
	res := acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"build", "-color=false", "."}, Env: env, Timeout: 5 * time.Minute})
	close(done)
	mustSucceed(t, res)

	for _, want := range []string{
		"openstack_provider is deprecated and does nothing here",
		"image_creation_wait is deprecated and does nothing here",
		"floating_ip_pool is deprecated",
		"user_data is ignored",
		"volume_size is ignored without use_blockstorage_volume",
		"found by network_discovery_cidrs",
	} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("the output does not say %q", want)
		}
	}

	mu.Lock()
	if len(seen) != 1 {
		t.Errorf("never saw the server with its floating IP")
	} else {
		s := seen[0]
		userData, _ := base64.StdEncoding.DecodeString(s.UserData)
		if !strings.Contains(string(userData), "from user_data_file") {
			t.Errorf("user data = %q, want the file's", userData)
		}
		for _, ip := range s.FixedIPs {
			if !withinAny(ip, cidrs) {
				t.Errorf("fixed IP %s is not on the network network_discovery_cidrs points at", ip)
			}
		}
		if s.Metadata["team"] != "platform" {
			t.Errorf("server metadata = %v", s.Metadata)
		}
	}
	mu.Unlock()

	img := onlyImage(t, c, "golden-migrated")
	if img.Visibility != "public" || img.MinDisk < 1 || strings.Join(img.Tags, ",") != "golden" {
		t.Errorf("image: visibility %s, min_disk %d, tags %v", img.Visibility, img.MinDisk, img.Tags)
	}
	if data, _ := c.ImageFileContent(img.ID, "/etc/marker"); strings.TrimSpace(string(data)) != "migrated" {
		t.Errorf("/etc/marker = %q", data)
	}
	checkCleanProperties(t, c, img, "migrated")
	noTempLeaks(t, c)
}

// checkCleanProperties checks a snapshot of the seeded Fedora image: none of
// the default drop_image_properties, and provenance instead.
func checkCleanProperties(t *testing.T, c *testcloud.Cloud, img testcloud.Image, buildName string) {
	t.Helper()
	for _, k := range DefaultDropImageProperties {
		if v, ok := img.Properties[k]; ok {
			t.Errorf("property %s = %q is still on the image", k, v)
		}
	}
	var src testcloud.Image
	for _, i := range c.Images(c.DefaultRegion()) {
		if i.Name == "Fedora-Cloud-Base-37-1.7" {
			src = i
		}
	}
	for k, want := range map[string]string{
		"source_image_id": src.ID, "base_image_ref": src.ID, "source_image_name": src.Name,
		"packer_build_name": buildName, "os_distro": "fedora", "image_type": "image",
	} {
		if got := img.Properties[k]; got != want {
			t.Errorf("property %s = %q, want %q", k, got, want)
		}
	}
}

func withinAny(ip string, cidrs []string) bool {
	addr := net.ParseIP(ip)
	for _, cidr := range cidrs {
		if _, n, err := net.ParseCIDR(cidr); err == nil && addr != nil && n.Contains(addr) {
			return true
		}
	}
	return false
}
