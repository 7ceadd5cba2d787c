package glance

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
)

// openstackBuilderOptions are the options of HashiCorp's openstack builder
// (v1.1.4) by HCL type; source_image_filter's nested options are checked apart.
var openstackBuilderOptions = map[cty.Type]string{
	cty.String: `
		application_credential_id application_credential_name application_credential_secret
		availability_zone cacert cert cloud communicator domain_id domain_name endpoint_type
		external_source_image_format external_source_image_url flavor floating_ip floating_ip_network
		floating_ip_pool identity_endpoint image_disk_format image_name image_visibility
		instance_floating_ip_net instance_name key openstack_provider packer_build_name packer_builder_type
		packer_core_version packer_on_error password pause_before_connecting region source_image
		source_image_name ssh_bastion_certificate_file ssh_bastion_host ssh_bastion_password
		ssh_bastion_private_key_file ssh_bastion_username ssh_certificate_file ssh_file_transfer_method
		ssh_host ssh_interface ssh_ip_version ssh_keep_alive_interval ssh_keypair_name ssh_password
		ssh_private_key_file ssh_proxy_host ssh_proxy_password ssh_proxy_username ssh_read_write_timeout
		ssh_timeout ssh_username ssh_wait_timeout temporary_key_pair_name temporary_key_pair_type tenant_id
		tenant_name token user_data user_data_file user_id username volume_availability_zone volume_name
		volume_type winrm_host winrm_password winrm_timeout winrm_username`,
	cty.Bool: `
		config_drive force_delete image_auto_accept_members insecure packer_debug packer_force
		rackconnect_wait reuse_ips skip_create_image ssh_agent_auth ssh_bastion_agent_auth
		ssh_bastion_interactive ssh_clear_authorized_keys ssh_disable_agent_forwarding ssh_pty
		use_blockstorage_volume use_floating_ip winrm_insecure winrm_no_proxy winrm_use_ntlm winrm_use_ssl`,
	cty.Number: `
		image_creation_wait image_min_disk ssh_bastion_port ssh_handshake_attempts ssh_port ssh_proxy_port
		temporary_key_pair_bits volume_size winrm_port`,
	cty.List(cty.String): `
		image_members image_tags network_discovery_cidrs networks packer_sensitive_variables ports
		security_groups ssh_ciphers ssh_key_exchange_algorithms ssh_local_tunnels ssh_remote_tunnels`,
	cty.List(cty.Number): `
		ssh_private_key ssh_public_key`,
	cty.Map(cty.String): `
		external_source_image_properties instance_metadata metadata packer_user_variables`,
}

// The README promises that a template for the openstack builder moves over with
// its option names kept: every one of them is in this builder's schema, with the
// same type.
func TestSchemaHasEveryOpenstackBuilderOption(t *testing.T) {
	spec := new(Builder).ConfigSpec()
	n := 0
	for typ, names := range openstackBuilderOptions {
		for _, name := range strings.Fields(names) {
			n++
			attr, ok := spec[name].(*hcldec.AttrSpec)
			switch {
			case !ok:
				t.Errorf("option %s of the openstack builder is not in the schema", name)
			case !attr.Type.Equals(typ):
				t.Errorf("option %s is %s here, %s in the openstack builder", name, attr.Type.FriendlyName(), typ.FriendlyName())
			}
		}
	}
	if n != 118 {
		t.Errorf("checked %d options, want the openstack builder's 118 top-level attributes", n)
	}
	filter, ok := spec["source_image_filter"].(*hcldec.BlockSpec)
	if !ok {
		t.Fatal("no source_image_filter block")
	}
	inner := filter.Nested.(hcldec.ObjectSpec)
	if a, ok := inner["most_recent"].(*hcldec.AttrSpec); !ok || !a.Type.Equals(cty.Bool) {
		t.Error("source_image_filter.most_recent is missing or not a bool")
	}
	filters, ok := inner["filters"].(*hcldec.BlockSpec)
	if !ok {
		t.Fatal("no source_image_filter.filters block")
	}
	for name, typ := range map[string]cty.Type{
		"name": cty.String, "owner": cty.String, "visibility": cty.String,
		"tags": cty.List(cty.String), "properties": cty.Map(cty.String),
	} {
		a, ok := filters.Nested.(hcldec.ObjectSpec)[name].(*hcldec.AttrSpec)
		if !ok || !a.Type.Equals(typ) {
			t.Errorf("source_image_filter.filters.%s is missing or not %s", name, typ.FriendlyName())
		}
	}
}
