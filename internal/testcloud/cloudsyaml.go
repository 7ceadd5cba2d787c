package testcloud

import (
	"fmt"
	"os"
	"strings"
)

// CloudsYAML renders a clouds.yaml with two clouds: testcloud (user demo, member of project demo) and
// testcloud-admin (user admin, project admin). Both work for gophercloud's clientconfig and for the
// openstack and glance CLIs.
func (c *Cloud) CloudsYAML() string {
	var b strings.Builder
	b.WriteString("# Written by the packer-plugin-glance test cloud. See docs/testcloud.md.\nclouds:\n")
	entry := func(name, user, password, project string) {
		fmt.Fprintf(&b, "  %s:\n", name)
		fmt.Fprintf(&b, "    auth:\n")
		fmt.Fprintf(&b, "      auth_url: %s\n", c.AuthURL())
		fmt.Fprintf(&b, "      username: %s\n", user)
		fmt.Fprintf(&b, "      password: %s\n", password)
		fmt.Fprintf(&b, "      project_name: %s\n", project)
		fmt.Fprintf(&b, "      user_domain_name: %s\n", DefaultDomainName)
		fmt.Fprintf(&b, "      project_domain_name: %s\n", DefaultDomainName)
		fmt.Fprintf(&b, "    auth_type: password\n")
		fmt.Fprintf(&b, "    region_name: %s\n", c.opts.Regions[0])
		fmt.Fprintf(&b, "    interface: public\n")
		fmt.Fprintf(&b, "    identity_api_version: 3\n")
	}
	entry("testcloud", DemoUser, DemoPassword, DemoProject)
	entry("testcloud-admin", AdminUser, AdminPassword, AdminProject)
	return b.String()
}

// WriteCloudsYAML writes CloudsYAML to path (mode 0600, it holds passwords).
func (c *Cloud) WriteCloudsYAML(path string) error {
	if err := os.WriteFile(path, []byte(c.CloudsYAML()), 0o600); err != nil {
		return fmt.Errorf("testcloud: write clouds.yaml: %w", err)
	}
	return nil
}

// Env returns OS_* variables for the demo user, for tools that do not read clouds.yaml.
func (c *Cloud) Env() []string {
	return []string{
		"OS_AUTH_URL=" + c.AuthURL(), "OS_USERNAME=" + DemoUser, "OS_PASSWORD=" + DemoPassword,
		"OS_PROJECT_NAME=" + DemoProject, "OS_USER_DOMAIN_NAME=" + DefaultDomainName,
		"OS_PROJECT_DOMAIN_NAME=" + DefaultDomainName, "OS_REGION_NAME=" + c.opts.Regions[0],
		"OS_INTERFACE=public", "OS_IDENTITY_API_VERSION=3", "OS_AUTH_TYPE=password",
	}
}
