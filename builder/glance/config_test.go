package glance

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/packer-plugin-sdk/common"
)

// minimal is the smallest valid template: a source, a flavor, an SSH user and a
// name. Tests add or override keys.
func minimal() map[string]interface{} {
	return map[string]interface{}{
		"source_image": "7a2c5f0e-4c63-4f3e-9b57-1b0b0d1e6f01",
		"flavor":       "m1.small",
		"ssh_username": "fedora",
		"image_name":   "golden",
		// Keep AccessConfig from reading the developer's environment into errors.
		"identity_endpoint": "http://127.0.0.1:5000/v3",
	}
}

func with(kv ...interface{}) map[string]interface{} {
	m := minimal()
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
			continue
		}
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func prepare(t *testing.T, raw map[string]interface{}) (*Config, []string, error) {
	t.Helper()
	var b Builder
	vars, warns, err := b.Prepare(raw)
	if err == nil && !reflect.DeepEqual(vars, generatedVariables) {
		t.Fatalf("generated variables = %v, want %v", vars, generatedVariables)
	}
	return &b.config, warns, err
}

func TestPrepareDefaults(t *testing.T) {
	c, warns, err := prepare(t, minimal())
	if err != nil {
		t.Fatalf("minimal template rejected: %v", err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	checks := []struct {
		name      string
		got, want interface{}
	}{
		{"state_timeout", c.StateTimeout, 10 * time.Minute},
		{"image_timeout", c.ImageTimeout, 60 * time.Minute},
		{"shutdown_timeout", c.ShutdownTimeout, 5 * time.Minute},
		{"stop_before_snapshot", c.StopFirst(), true},
		{"image_visibility", c.ImageVisibility, "private"},
		{"temporary_key_pair_type", c.Comm.SSHTemporaryKeyPairType, "ed25519"},
		{"communicator", c.Comm.Type, "ssh"},
		{"ssh_port", c.Comm.SSHPort, 22},
		{"image_disk_format", c.ImageDiskFormat, ""},
		{"image_force", c.ImageForce, false},
		{"external_source_image_format", c.ExternalSourceImageFormat, ""},
		{"temporary_security_group_source_cidrs", len(c.TemporarySecurityGroupSourceCIDRs), 0},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestPrepareDerivedDefaults(t *testing.T) {
	tests := []struct {
		name  string
		raw   map[string]interface{}
		check func(*Config) (got, want interface{})
	}{
		{"shared when members are set", with("image_members", []string{"p1"}),
			func(c *Config) (interface{}, interface{}) { return c.ImageVisibility, "shared" }},
		{"qcow2 for external images", with("source_image", nil, "external_source_image_url", "https://example.com/a.qcow2"),
			func(c *Config) (interface{}, interface{}) { return c.ExternalSourceImageFormat, "qcow2" }},
		{"raw for volume uploads", with("use_blockstorage_volume", true),
			func(c *Config) (interface{}, interface{}) { return c.ImageDiskFormat, "raw" }},
		{"volume AZ from availability_zone", with("use_blockstorage_volume", true, "availability_zone", "az1"),
			func(c *Config) (interface{}, interface{}) { return c.VolumeAvailabilityZone, "az1" }},
		{"temporary group opens to the world by default", with("temporary_security_group", true),
			func(c *Config) (interface{}, interface{}) {
				return c.TemporarySecurityGroupSourceCIDRs, []string{"0.0.0.0/0"}
			}},
		{"temporary group opens IPv6 when SSH uses it", with("temporary_security_group", true, "ssh_ip_version", "6"),
			func(c *Config) (interface{}, interface{}) {
				return c.TemporarySecurityGroupSourceCIDRs, []string{"::/0"}
			}},
		{"rsa key for winrm", with("ssh_username", nil, "communicator", "winrm", "winrm_username", "Administrator"),
			func(c *Config) (interface{}, interface{}) { return c.Comm.SSHTemporaryKeyPairType, "rsa" }},
		{"metadata is an alias of image_properties", with("metadata", map[string]string{"os_distro": "fedora"}, "image_properties", map[string]string{"os_version": "37"}),
			func(c *Config) (interface{}, interface{}) {
				return c.ImageProperties, map[string]string{"os_distro": "fedora", "os_version": "37"}
			}},
		{"floating_ip_pool fills floating_ip_network", with("floating_ip_pool", "public"),
			func(c *Config) (interface{}, interface{}) { return c.FloatingIPNetwork, "public" }},
		{"packer -force sets image_force", with(common.ForceConfigKey, true),
			func(c *Config) (interface{}, interface{}) { return c.ImageForce, true }},
		{"stop_before_snapshot can be turned off", with("stop_before_snapshot", false),
			func(c *Config) (interface{}, interface{}) { return c.StopFirst(), false }},
		{"timeouts parse", with("state_timeout", "2m", "image_timeout", "3h"),
			func(c *Config) (interface{}, interface{}) {
				return []time.Duration{c.StateTimeout, c.ImageTimeout}, []time.Duration{2 * time.Minute, 3 * time.Hour}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := prepare(t, tt.raw)
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if got, want := tt.check(c); !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestPrepareAccepts(t *testing.T) {
	userData := filepath.Join(t.TempDir(), "cloud-init.yaml")
	if err := os.WriteFile(userData, []byte("#cloud-config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]map[string]interface{}{
		"source_image_name":   with("source_image", nil, "source_image_name", "Fedora-Cloud-Base-37-1.7"),
		"source_image_filter": with("source_image", nil, "source_image_filter", map[string]interface{}{"filters": map[string]interface{}{"name": "Fedora-*", "owner": "p", "tags": []string{"golden"}, "visibility": "public", "properties": map[string]string{"os_distro": "fedora"}}, "most_recent": true}),
		"external source":     with("source_image", nil, "external_source_image_url", "https://example.com/x.raw", "external_source_image_format", "raw", "external_source_image_properties", map[string]string{"hw_disk_bus": "scsi"}),
		"every server option": with("availability_zone", "nova", "networks", []string{"private", "2b1d7c3e-0000-4000-8000-000000000001"}, "ports", []string{"p1"}, "security_groups", []string{"default"}, "user_data", "#!/bin/sh", "config_drive", true, "instance_name", "builder", "instance_metadata", map[string]string{"team": "platform"}, "force_delete", true, "ssh_interface", "private", "ssh_ip_version", "6"),
		"user_data_file":      with("user_data_file", userData),
		"floating ip":         with("floating_ip", "203.0.113.7", "instance_floating_ip_net", "private"),
		"reuse ips":           with("floating_ip_network", "public", "reuse_ips", true),
		"reuse any free ip":   with("reuse_ips", true),
		"temporary group":     with("temporary_security_group", true, "temporary_security_group_source_cidrs", []string{"203.0.113.0/24", "2001:db8::/32"}),
		"volume":              with("use_blockstorage_volume", true, "volume_name", "v", "volume_type", "ssd", "volume_size", 20, "volume_availability_zone", "az2", "image_disk_format", "qcow2"),
		"image options":       with("image_visibility", "shared", "image_properties", map[string]string{"os_distro": "fedora", "hw_scsi_model": "virtio-scsi"}, "image_tags", []string{"golden", "ci"}, "image_members", []string{"p2"}, "image_auto_accept_members", true, "image_min_disk", 10, "image_min_ram", 512, "image_protected", true, "image_hidden", true, "image_force", true),
		"skip image":          with("skip_create_image", true),
		"shutdown command":    with("shutdown_command", "sudo poweroff", "shutdown_timeout", "1m"),
		"winrm with password": with("ssh_username", nil, "communicator", "winrm", "winrm_username", "Administrator", "winrm_password", "test-winrm-secret"),
		"ssh password":        with("ssh_password", "test-ssh-secret"),
		"keypair with agent":  with("ssh_keypair_name", "mine", "ssh_agent_auth", true),
		"communicator none":   with("ssh_username", nil, "communicator", "none"),
	}
	for name, raw := range tests {
		t.Run(name, func(t *testing.T) {
			if _, _, err := prepare(t, raw); err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}
}

func TestPrepareRejects(t *testing.T) {
	tests := []struct {
		name string
		raw  map[string]interface{}
		want string // every error must name the option(s)
	}{
		{"no source", with("source_image", nil), "no source image"},
		{"two sources", with("source_image_name", "x"), "source_image and source_image_name"},
		{"filter and url", with("source_image", nil, "external_source_image_url", "https://e/x", "source_image_filter", map[string]interface{}{"filters": map[string]interface{}{"name": "x"}}), "source_image_filter and external_source_image_url"},
		{"bad filter visibility", with("source_image", nil, "source_image_filter", map[string]interface{}{"filters": map[string]interface{}{"visibility": "protected"}}), "source_image_filter.filters.visibility"},
		{"bad filter regex", with("source_image", nil, "source_image_filter", map[string]interface{}{"filters": map[string]interface{}{"name_regex": "("}}), "source_image_filter.filters.name_regex"},
		{"name and regex", with("source_image", nil, "source_image_filter", map[string]interface{}{"filters": map[string]interface{}{"name": "a", "name_regex": "b"}}), "source_image_filter.filters."},
		{"url not http", with("source_image", nil, "external_source_image_url", "file:///tmp/x"), "external_source_image_url"},
		{"bad external format", with("source_image", nil, "external_source_image_url", "https://e/x", "external_source_image_format", "zip"), "external_source_image_format"},
		{"no flavor", with("flavor", nil), "flavor"},
		{"missing user data file", with("user_data_file", "/nonexistent/file"), "user_data_file"},
		{"long metadata value", with("instance_metadata", map[string]string{"k": strings.Repeat("v", 256)}), "instance_metadata"},
		{"empty network", with("networks", []string{""}), "networks"},
		{"duplicate port", with("ports", []string{"a", "a"}), "ports"},
		{"temp group with groups", with("temporary_security_group", true, "security_groups", []string{"default"}), "temporary_security_group and security_groups"},
		{"temp group without communicator", with("ssh_username", nil, "communicator", "none", "temporary_security_group", true), "temporary_security_group"},
		{"cidrs without temp group", with("temporary_security_group_source_cidrs", []string{"10.0.0.0/8"}), "temporary_security_group_source_cidrs"},
		{"bad cidr", with("temporary_security_group", true, "temporary_security_group_source_cidrs", []string{"10.0.0.1"}), "temporary_security_group_source_cidrs"},
		{"ip version", with("ssh_ip_version", "5"), "ssh_ip_version"},
		{"use_floating_ip without a network", with("use_floating_ip", true), "use_floating_ip = true needs floating_ip_network"},
		{"bad discovery cidr", with("network_discovery_cidrs", []string{"10.0.0.1"}), "network_discovery_cidrs"},
		{"empty discovery cidr", with("network_discovery_cidrs", []string{""}), "network_discovery_cidrs has an empty entry"},
		{"drop and set the same property", with("image_properties", map[string]string{"user_id": "u"}, "drop_image_properties", []string{"user_id"}), "drop_image_properties and image_properties both name \"user_id\""},
		{"drop a reserved property", with("drop_image_properties", []string{"os_glance_import_task"}), "drop_image_properties"},
		{"drop an image field", with("drop_image_properties", []string{"name"}), "image field"},
		{"drop twice", with("drop_image_properties", []string{"user_id", "user_id"}), "drop_image_properties lists"},
		{"drop the build marker", with("drop_image_properties", []string{"packer_build_uuid"}), "packer_build_uuid marks the image"},
		{"negative volume", with("use_blockstorage_volume", true, "volume_size", -1), "volume_size"},
		{"disk format without volume", with("image_disk_format", "qcow2"), "image_disk_format"},
		{"bad disk format", with("use_blockstorage_volume", true, "image_disk_format", "iso"), "image_disk_format"},
		{"negative timeout", with("state_timeout", "-1m"), "state_timeout"},
		{"shutdown timeout without command", with("shutdown_timeout", "1m"), "shutdown_timeout"},
		{"shutdown command without stop", with("shutdown_command", "poweroff", "stop_before_snapshot", false), "shutdown_command"},
		{"running snapshot of a volume", with("use_blockstorage_volume", true, "stop_before_snapshot", false), "stop_before_snapshot"},
		{"no image name", with("image_name", nil), "image_name"},
		{"bad visibility", with("image_visibility", "protected"), "image_visibility"},
		{"members on private", with("image_visibility", "private", "image_members", []string{"p"}), "image_members"},
		{"auto accept without members", with("image_auto_accept_members", true), "image_auto_accept_members"},
		{"properties disagree", with("metadata", map[string]string{"a": "1"}, "image_properties", map[string]string{"a": "2"}), "image_properties and metadata"},
		{"reserved property", with("image_properties", map[string]string{"os_glance_import_task": "x"}), "reserved"},
		{"field as property", with("image_properties", map[string]string{"visibility": "public"}), "image field"},
		{"negative min disk", with("image_min_disk", -1), "image_min_disk"},
		{"negative min ram", with("image_min_ram", -1), "image_min_ram"},
		{"force without image", with("skip_create_image", true, "image_force", true), "image_force"},
		{"no ssh user", with("ssh_username", nil), "ssh_username"},
		{"winrm ed25519", with("ssh_username", nil, "communicator", "winrm", "winrm_username", "A", "temporary_key_pair_type", "ed25519"), "temporary_key_pair_type"},
		{"keypair without key", with("ssh_keypair_name", "mine"), "ssh_keypair_name"},
		{"winrm keypair without password", with("ssh_username", nil, "communicator", "winrm", "winrm_username", "A", "ssh_keypair_name", "mine"), "ssh_keypair_name"},
		{"access config", with("endpoint_type", "sideways"), "endpoint_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := prepare(t, tt.raw)
			if err == nil {
				t.Fatal("accepted, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestPrepareAccumulatesErrors(t *testing.T) {
	_, _, err := prepare(t, with("flavor", nil, "image_name", nil, "ssh_ip_version", "9"))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"flavor", "image_name", "ssh_ip_version"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q misses %q", err, want)
		}
	}
}

func TestPrepareWarnsOnDeprecations(t *testing.T) {
	_, warns, err := prepare(t, with("floating_ip_pool", "public", "tenant_name", "demo"))
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(warns, "\n")
	for _, want := range []string{"floating_ip_pool", "tenant_name"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings %q miss %q", joined, want)
		}
	}
}

func TestPrepareMakesNoNetworkCall(t *testing.T) {
	// A documentation address nobody answers on: any attempt to authenticate in
	// Prepare would fail (or hang until the test times out).
	raw := with("identity_endpoint", "http://192.0.2.1:5000/v3", "username", "u", "password", "test-os-secret")
	if _, _, err := prepare(t, raw); err != nil {
		t.Fatal(err)
	}
}

// Options of the openstack builder are accepted; the three that do nothing here
// say so in a deprecation warning.
func TestPrepareAcceptsOpenstackBuilderOptions(t *testing.T) {
	c, warns, err := prepare(t, with(
		"network_discovery_cidrs", []string{"10.0.0.0/8", "2001:db8::/32"},
		"use_floating_ip", true, "floating_ip_pool", "public",
		"rackconnect_wait", true, "openstack_provider", "rackspace", "image_creation_wait", 30,
		"image_visibility", "Public", "metadata", map[string]string{"os_distro": "fedora"}))
	if err != nil {
		t.Fatalf("rejected: %v", err)
	}
	if !reflect.DeepEqual(c.NetworkDiscoveryCIDRs, []string{"10.0.0.0/8", "2001:db8::/32"}) || !c.UseFloatingIP || c.FloatingIPNetwork != "public" {
		t.Errorf("decoded %v %v %q", c.NetworkDiscoveryCIDRs, c.UseFloatingIP, c.FloatingIPNetwork)
	}
	if c.ImageVisibility != "public" {
		t.Errorf("image_visibility = %q, want it normalised to public", c.ImageVisibility)
	}
	joined := strings.Join(warns, "\n")
	for _, want := range []string{"rackconnect_wait is deprecated and does nothing here", "openstack_provider is deprecated and does nothing here",
		"image_creation_wait is deprecated and does nothing here", "floating_ip_pool is deprecated"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings miss %q:\n%s", want, joined)
		}
	}
	// Set to their zero values, the deprecated options say nothing.
	_, warns, err = prepare(t, with("rackconnect_wait", false, "openstack_provider", "", "image_creation_wait", 0))
	if err != nil || len(warns) != 0 {
		t.Errorf("zero values: warnings %v, error %v", warns, err)
	}
}

// Where the openstack builder let one option win over another without a word,
// this builder does the same and warns.
func TestPrepareIgnoresWithAWarning(t *testing.T) {
	userData := filepath.Join(t.TempDir(), "cloud-init.yaml")
	if err := os.WriteFile(userData, []byte("#cloud-config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		raw   map[string]interface{}
		warn  string
		check func(*Config) bool
	}{
		{"floating_ip wins over floating_ip_network", with("floating_ip", "203.0.113.7", "floating_ip_network", "public"),
			"floating_ip_network is ignored", func(c *Config) bool { return c.FloatingIP == "203.0.113.7" && c.FloatingIPNetwork == "" }},
		{"floating_ip wins over floating_ip_pool", with("floating_ip", "203.0.113.7", "floating_ip_pool", "public"),
			"floating_ip_network is ignored", func(c *Config) bool { return c.FloatingIPNetwork == "" }},
		{"floating_ip wins over reuse_ips", with("floating_ip", "203.0.113.7", "reuse_ips", true),
			"reuse_ips is ignored", func(c *Config) bool { return !c.ReuseIPs }},
		{"floating_ip_network wins over floating_ip_pool", with("floating_ip_pool", "a", "floating_ip_network", "b"),
			`floating_ip_pool "a" is ignored`, func(c *Config) bool { return c.FloatingIPNetwork == "b" }},
		{"user_data_file wins over user_data", with("user_data", "#!/bin/sh", "user_data_file", userData),
			"user_data is ignored", func(c *Config) bool { return c.UserData == "" && c.UserDataFile == userData }},
		{"volume options without a volume", with("volume_size", 10, "volume_type", "ssd", "volume_name", "v", "volume_availability_zone", "az"),
			"volume_size is ignored without use_blockstorage_volume", func(c *Config) bool {
				return c.VolumeSize == 0 && c.VolumeType == "" && c.VolumeName == "" && c.VolumeAvailabilityZone == ""
			}},
		{"instance_floating_ip_net without a floating IP", with("instance_floating_ip_net", "private"),
			"instance_floating_ip_net is ignored", func(c *Config) bool { return c.InstanceFloatingIPNet == "" }},
		{"discovery with networks", with("networks", []string{"private"}, "network_discovery_cidrs", []string{"10.0.0.0/8"}),
			"network_discovery_cidrs is ignored", func(c *Config) bool { return c.NetworkDiscoveryCIDRs == nil }},
		{"most_recent without filters", with("source_image_filter", map[string]interface{}{"most_recent": true}),
			"most_recent is ignored", func(c *Config) bool { return !c.SourceImageFilter.MostRecent }},
		{"external format without a URL", with("external_source_image_format", "raw"),
			"external_source_image_format is ignored", func(c *Config) bool { return c.ExternalSourceImageFormat == "" }},
		{"external properties without a URL", with("external_source_image_properties", map[string]string{"a": "b"}),
			"external_source_image_properties is ignored", func(c *Config) bool { return c.ExternalSourceImageProperties == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warns, err := prepare(t, tt.raw)
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !strings.Contains(strings.Join(warns, "\n"), tt.warn) {
				t.Errorf("warnings %q miss %q", warns, tt.warn)
			}
			if !tt.check(c) {
				t.Errorf("the ignored option is still in effect: %+v", c.RunConfig)
			}
		})
	}
}

func TestPrepareFloatingIPIntent(t *testing.T) {
	for name, raw := range map[string]map[string]interface{}{
		"with a network":       with("use_floating_ip", true, "floating_ip_network", "public"),
		"with a pool":          with("use_floating_ip", true, "floating_ip_pool", "public"),
		"with an address":      with("use_floating_ip", true, "floating_ip", "203.0.113.7"),
		"reusing any free one": with("use_floating_ip", true, "reuse_ips", true),
		"false with a network": with("use_floating_ip", false, "floating_ip_network", "public"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := prepare(t, raw); err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}
}

func TestPrepareDropImageProperties(t *testing.T) {
	c, _, err := prepare(t, minimal())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"instance_uuid", "user_id", "owner_user_name", "owner_project_name", "owner_id", "boot_roles", "image_location", "image_state"}
	if !reflect.DeepEqual(c.DropImageProperties, want) {
		t.Errorf("default drop_image_properties = %v, want %v", c.DropImageProperties, want)
	}
	c, _, err = prepare(t, with("drop_image_properties", []string{}))
	if err != nil || c.DropImageProperties == nil || len(c.DropImageProperties) != 0 {
		t.Errorf("drop_image_properties = [] became %#v (%v); want an empty list that keeps everything", c.DropImageProperties, err)
	}
	c, _, err = prepare(t, with("drop_image_properties", []string{"boot_roles", "custom"}))
	if err != nil || !reflect.DeepEqual(c.DropImageProperties, []string{"boot_roles", "custom"}) {
		t.Errorf("drop_image_properties = %v, %v", c.DropImageProperties, err)
	}
	// A default key the template sets itself is kept, not refused.
	if _, _, err := prepare(t, with("image_properties", map[string]string{"owner_id": "team-a"})); err != nil {
		t.Errorf("image_properties naming a default drop key: %v", err)
	}
}

// Through HCL, as Packer passes it: an unset list is null (the default list),
// an empty one keeps every property.
func TestPrepareDropImagePropertiesFromHCL(t *testing.T) {
	for body, want := range map[string][]string{
		``:                                       DefaultDropImageProperties,
		`drop_image_properties = []`:             {},
		`drop_image_properties = ["boot_roles"]`: {"boot_roles"},
	} {
		src := `source_image = "7a2c5f0e-4c63-4f3e-9b57-1b0b0d1e6f01"
flavor = "m1.small"
ssh_username = "fedora"
image_name = "golden"
identity_endpoint = "http://127.0.0.1:5000/v3"
` + body
		f, diags := hclparse.NewParser().ParseHCL([]byte(src), "t.hcl")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		var b Builder
		val, diags := hcldec.Decode(f.Body, b.ConfigSpec(), nil)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if _, _, err := b.Prepare(val); err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		if got := b.config.DropImageProperties; got == nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: drop_image_properties = %#v, want %#v", body, got, want)
		}
	}
}

// Source CIDRs are kept in Neutron's form, so a rule whose create reply was
// lost is found by what it allows.
func TestPrepareNormalisesSourceCIDRs(t *testing.T) {
	c, _, err := prepare(t, with("temporary_security_group", true, "temporary_security_group_source_cidrs", []string{"203.0.113.5/24", "2001:db8::1/32"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.TemporarySecurityGroupSourceCIDRs; len(got) != 2 || got[0] != "203.0.113.0/24" || got[1] != "2001:db8::/32" {
		t.Errorf("source CIDRs = %v", got)
	}
}
