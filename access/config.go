//go:generate packer-sdc struct-markdown

// Package access is how every component of the plugin reaches an OpenStack cloud:
// the access options shared by the builder, the data source and the
// post-processor (AccessConfig), their resolution from the template, OS_*
// variables and clouds.yaml exactly as the openstack client does it, the
// authenticated Session with its TLS, logging and retry policy, the download
// client for image sources, and the redaction of secrets from logs.
package access

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// AccessConfig says how to reach an OpenStack cloud and who to be there. It reads
// the same sources as the `openstack` command-line client, in the same order: an
// option set here wins over the `OS_*` environment variable of the same meaning,
// which wins over the `clouds.yaml` entry chosen by `cloud` (or `OS_CLOUD`), with
// `secure.yaml` merged into that entry. So an existing `clouds.yaml` or `openrc`
// file works unchanged, and a template needs no credentials of its own.
//
// Nothing here touches the network while Packer validates a template: credentials
// are checked when the build, data source or post-processor runs.
type AccessConfig struct {
	// The name of an entry in `clouds.yaml` to take settings from. The file is looked
	// for where the `openstack` client looks: the path in `OS_CLIENT_CONFIG_FILE`, then
	// `./clouds.yaml`, `~/.config/openstack/clouds.yaml` and
	// `/etc/openstack/clouds.yaml`; `secure.yaml` next to it is merged in. Defaults to
	// `OS_CLOUD`.
	Cloud string `mapstructure:"cloud" required:"false"`
	// The Keystone (identity v3) URL, such as `https://keystone.example.com:5000/v3`.
	// Defaults to `OS_AUTH_URL`, then the cloud entry's `auth_url`.
	IdentityEndpoint string `mapstructure:"identity_endpoint" required:"false"`
	// The user name to log in with. Defaults to `OS_USERNAME`.
	Username string `mapstructure:"username" required:"false"`
	// The user ID to log in with, instead of `username`. Defaults to `OS_USER_ID`.
	UserID string `mapstructure:"user_id" required:"false"`
	// The user's password. Defaults to `OS_PASSWORD`. It is never written to logs.
	Password string `mapstructure:"password" required:"false"`
	// An existing Keystone token to use instead of a password or application
	// credential. Defaults to `OS_TOKEN` or `OS_AUTH_TOKEN`. A token cannot be renewed,
	// so a build must end before it expires. It is never written to logs.
	Token string `mapstructure:"token" required:"false"`
	// The ID of an application credential to log in with. Defaults to
	// `OS_APPLICATION_CREDENTIAL_ID`.
	ApplicationCredentialID string `mapstructure:"application_credential_id" required:"false"`
	// The name of an application credential to log in with; it also needs `username`
	// or `user_id`. Defaults to `OS_APPLICATION_CREDENTIAL_NAME`.
	ApplicationCredentialName string `mapstructure:"application_credential_name" required:"false"`
	// The secret of the application credential. Defaults to
	// `OS_APPLICATION_CREDENTIAL_SECRET`. It is never written to logs.
	ApplicationCredentialSecret string `mapstructure:"application_credential_secret" required:"false"`
	// The name of the project to work in. Defaults to `OS_PROJECT_NAME`.
	ProjectName string `mapstructure:"project_name" required:"false"`
	// The ID of the project to work in, instead of `project_name`. Defaults to
	// `OS_PROJECT_ID`.
	ProjectID string `mapstructure:"project_id" required:"false"`
	// Deprecated: use `project_name`. Accepted for templates written for the
	// `openstack` builder.
	TenantName string `mapstructure:"tenant_name" required:"false"`
	// Deprecated: use `project_id`. Accepted for templates written for the
	// `openstack` builder.
	TenantID string `mapstructure:"tenant_id" required:"false"`
	// The name of the domain the user belongs to. Defaults to `OS_USER_DOMAIN_NAME`,
	// then `domain_name`.
	UserDomainName string `mapstructure:"user_domain_name" required:"false"`
	// The ID of the domain the user belongs to. Defaults to `OS_USER_DOMAIN_ID`, then
	// `domain_id`.
	UserDomainID string `mapstructure:"user_domain_id" required:"false"`
	// The name of the domain the project belongs to. Defaults to
	// `OS_PROJECT_DOMAIN_NAME`, then `domain_name`.
	ProjectDomainName string `mapstructure:"project_domain_name" required:"false"`
	// The ID of the domain the project belongs to. Defaults to `OS_PROJECT_DOMAIN_ID`,
	// then `domain_id`.
	ProjectDomainID string `mapstructure:"project_domain_id" required:"false"`
	// A domain name used for both the user and the project when their own domain
	// options are not set; without a project it scopes the token to this domain.
	// Defaults to `OS_DOMAIN_NAME`.
	DomainName string `mapstructure:"domain_name" required:"false"`
	// A domain ID used for both the user and the project when their own domain
	// options are not set. Defaults to `OS_DOMAIN_ID`.
	DomainID string `mapstructure:"domain_id" required:"false"`
	// The region whose endpoints are used. Defaults to `OS_REGION_NAME`, then the
	// cloud entry's `region_name`; with none, the first endpoint of each service in
	// the catalog is used.
	Region string `mapstructure:"region" required:"false"`
	// Which endpoint interface of the catalog to call: `public`, `internal` or
	// `admin` (`publicURL`, `internalURL` and `adminURL` are accepted too). Defaults to
	// `OS_INTERFACE`, then the cloud entry's `interface`, then `public`.
	EndpointType string `mapstructure:"endpoint_type" required:"false"`
	// Skip verification of the API servers' TLS certificates. When false, `OS_INSECURE`
	// or the cloud entry's `verify: false` still apply. Defaults to `false`.
	Insecure bool `mapstructure:"insecure" required:"false"`
	// A PEM file of CA certificates to trust for the API servers. Defaults to
	// `OS_CACERT`, then the cloud entry's `cacert`.
	CACertFile string `mapstructure:"cacert" required:"false"`
	// A PEM client certificate for mutual TLS; needs `key`. Defaults to `OS_CERT`,
	// then the cloud entry's `cert`.
	ClientCertFile string `mapstructure:"cert" required:"false"`
	// The PEM private key of `cert`. Defaults to `OS_KEY`, then the cloud entry's
	// `key`.
	ClientKeyFile string `mapstructure:"key" required:"false"`
	// How long one OpenStack API call keeps retrying after a transient failure
	// (a 5xx or 429 answer, a broken connection, a lost reply, a 409 on a delete)
	// before the build gives up, for example `"5m"`. Only requests that are safe
	// to repeat are retried; no other 4xx answer ever is. Retries are logged with
	// `PACKER_LOG=1`. Defaults to `2m`, long enough to ride out a restarting
	// service.
	APIRetryTimeout time.Duration `mapstructure:"api_retry_timeout" required:"false"`
}

// Prepare checks the options as written in the template, fills aliases and
// registers every secret with the log filter. It makes no network call and reads no
// file beyond checking that the named TLS files exist.
func (c *AccessConfig) Prepare() (warnings []string, errs []error) {
	packersdk.LogSecretFilter.Set(c.Password, c.Token, c.ApplicationCredentialSecret)

	if c.TenantName != "" {
		warnings = append(warnings, "tenant_name is deprecated: use project_name")
		if c.ProjectName != "" && c.ProjectName != c.TenantName {
			errs = append(errs, fmt.Errorf("tenant_name and project_name name different projects (%q, %q): set only project_name", c.TenantName, c.ProjectName))
		}
		if c.ProjectName == "" {
			c.ProjectName = c.TenantName
		}
		c.TenantName = ""
	}
	if c.TenantID != "" {
		warnings = append(warnings, "tenant_id is deprecated: use project_id")
		if c.ProjectID != "" && c.ProjectID != c.TenantID {
			errs = append(errs, fmt.Errorf("tenant_id and project_id name different projects (%q, %q): set only project_id", c.TenantID, c.ProjectID))
		}
		if c.ProjectID == "" {
			c.ProjectID = c.TenantID
		}
		c.TenantID = ""
	}

	pairs := []struct{ a, b, aName, bName string }{
		{c.Username, c.UserID, "username", "user_id"},
		{c.ProjectName, c.ProjectID, "project_name", "project_id"},
		{c.UserDomainName, c.UserDomainID, "user_domain_name", "user_domain_id"},
		{c.ProjectDomainName, c.ProjectDomainID, "project_domain_name", "project_domain_id"},
		{c.DomainName, c.DomainID, "domain_name", "domain_id"},
		{c.ApplicationCredentialID, c.ApplicationCredentialName, "application_credential_id", "application_credential_name"},
	}
	for _, p := range pairs {
		if p.a != "" && p.b != "" {
			errs = append(errs, fmt.Errorf("%s and %s are both set: set only one of them", p.aName, p.bName))
		}
	}

	appCred := c.ApplicationCredentialID != "" || c.ApplicationCredentialName != ""
	switch {
	case c.Token != "" && c.Password != "":
		errs = append(errs, fmt.Errorf("token and password are both set: authenticate with one method only"))
	case c.Token != "" && appCred:
		errs = append(errs, fmt.Errorf("token and application_credential_id/application_credential_name are both set: authenticate with one method only"))
	case c.Password != "" && appCred:
		errs = append(errs, fmt.Errorf("password and application_credential_id/application_credential_name are both set: authenticate with one method only"))
	}
	// An application credential's ID (or name and user) may live in clouds.yaml or
	// OS_* while its secret comes from a sensitive template variable, so what is
	// missing here is only known when the sources are merged at run time.
	if c.ApplicationCredentialSecret != "" && (c.Token != "" || c.Password != "") {
		errs = append(errs, fmt.Errorf("application_credential_secret and %s are both set: authenticate with one method only", map[bool]string{true: "token", false: "password"}[c.Token != ""]))
	}

	if c.IdentityEndpoint != "" {
		if u, err := url.Parse(c.IdentityEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("identity_endpoint %q is not an http or https URL", c.IdentityEndpoint))
		}
	}

	if c.EndpointType != "" {
		normal, ok := normalizeInterface(c.EndpointType)
		if !ok {
			errs = append(errs, fmt.Errorf("endpoint_type %q is not one of public, internal or admin", c.EndpointType))
		} else {
			c.EndpointType = normal
		}
	}

	if (c.ClientCertFile == "") != (c.ClientKeyFile == "") {
		errs = append(errs, fmt.Errorf("cert and key must be set together for mutual TLS: only %s is set", map[bool]string{true: "cert", false: "key"}[c.ClientCertFile != ""]))
	}
	if c.APIRetryTimeout < 0 {
		errs = append(errs, fmt.Errorf("api_retry_timeout must be a positive duration, not %s", c.APIRetryTimeout))
	}
	for _, f := range []struct{ path, name string }{{c.CACertFile, "cacert"}, {c.ClientCertFile, "cert"}, {c.ClientKeyFile, "key"}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
		}
	}
	return warnings, errs
}

// normalizeInterface maps the spellings the openstack client accepts for an
// endpoint interface to the catalog's own names.
func normalizeInterface(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "public", "publicurl":
		return "public", true
	case "internal", "internalurl":
		return "internal", true
	case "admin", "adminurl":
		return "admin", true
	}
	return "", false
}
