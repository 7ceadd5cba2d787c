package testcloud

import (
	"fmt"
	"os"
	"strings"
)

// CloudsYAML renders a clouds.yaml with four clouds: testcloud (user demo, member of project demo),
// testcloud-admin (user admin, project admin), testcloud-alt (user alt, member of project alt: the
// other side of image sharing) and testcloud-appcred (an application credential of demo). All work for
// gophercloud's clientconfig and for the openstack and glance CLIs.
func (c *Cloud) CloudsYAML() string {
	var b strings.Builder
	b.WriteString("# Written by the packer-plugin-glance test cloud. See docs/testcloud.md.\nclouds:\n")
	tail := func() {
		fmt.Fprintf(&b, "    region_name: %s\n", c.opts.Regions[0])
		fmt.Fprintf(&b, "    interface: public\n")
		fmt.Fprintf(&b, "    identity_api_version: 3\n")
	}
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
		tail()
	}
	entry("testcloud", DemoUser, DemoPassword, DemoProject)
	entry("testcloud-admin", AdminUser, AdminPassword, AdminProject)
	entry("testcloud-alt", AltUser, AltPassword, AltProject)
	c.mu.Lock()
	ac := c.ident.demoAppCred
	c.mu.Unlock()
	b.WriteString("  testcloud-appcred:\n    auth_type: v3applicationcredential\n    auth:\n")
	fmt.Fprintf(&b, "      auth_url: %s\n", c.AuthURL())
	fmt.Fprintf(&b, "      application_credential_id: %s\n", ac.ID)
	fmt.Fprintf(&b, "      application_credential_secret: %s\n", ac.Secret)
	tail()
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
