package access

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gophercloud/utils/v2/openstack/clientconfig"
	"gopkg.in/yaml.v3"
)

// Auth methods, named as clouds.yaml's auth_type names them.
const (
	methodPassword = "password"
	methodToken    = "token"
	methodAppCred  = "v3applicationcredential"
)

// resolved is the outcome of layering template options over OS_* variables over a
// clouds.yaml entry: everything needed to authenticate, with its origin dropped.
type resolved struct {
	Cloud     string // clouds.yaml entry used, if any
	Method    string
	Auth      clientconfig.AuthInfo
	Region    string
	Interface string
	Insecure  bool
	CACert    string
	Cert      string
	Key       string
}

// layer is one source of settings: the template, the environment or clouds.yaml.
type layer struct {
	auth     clientconfig.AuthInfo
	authType string
	region   string
	iface    string
	insecure *bool
	cacert   string
	cert     string
	key      string
}

// getenv is swapped in tests; it reads the process environment otherwise.
var getenv = os.Getenv

// resolve merges the three sources the way the openstack client does: a template
// option wins over the OS_* variable, which wins over the clouds.yaml entry. The
// auth method is that of the highest source that names credentials, and the other
// methods' credentials are dropped so a stray OS_PASSWORD cannot mix into an
// application-credential login.
func (c *AccessConfig) resolve() (*resolved, error) {
	tmpl := c.templateLayer()
	env, err := envLayer()
	if err != nil {
		return nil, err
	}

	r := &resolved{Cloud: firstNonEmpty(c.Cloud, getenv("OS_CLOUD"))}
	var file layer
	if r.Cloud != "" {
		region := firstNonEmpty(tmpl.region, env.region)
		entry, err := clientconfig.GetCloudFromYAML(&clientconfig.ClientOpts{Cloud: r.Cloud, RegionName: region, YAMLOpts: cliYAMLFiles{}})
		if err != nil {
			return nil, fmt.Errorf("reading cloud %q from clouds.yaml (OS_CLIENT_CONFIG_FILE=%q): %w", r.Cloud, getenv("OS_CLIENT_CONFIG_FILE"), err)
		}
		file = cloudLayer(entry)
	}

	layers := []layer{tmpl, env, file} // highest precedence first
	r.Method = methodOf(tmpl, env, file)
	r.Auth = mergeAuth(layers)
	r.Region = pick(layers, func(l layer) string { return l.region })
	r.Interface = pick(layers, func(l layer) string { return l.iface })
	r.CACert = pick(layers, func(l layer) string { return l.cacert })
	r.Cert = pick(layers, func(l layer) string { return l.cert })
	r.Key = pick(layers, func(l layer) string { return l.key })
	for _, l := range layers {
		if l.insecure != nil {
			r.Insecure = *l.insecure
			break
		}
	}

	if r.Interface == "" {
		r.Interface = "public"
	}
	normal, ok := normalizeInterface(r.Interface)
	if !ok {
		return nil, fmt.Errorf("endpoint interface %q (from OS_INTERFACE or clouds.yaml) is not one of public, internal or admin", r.Interface)
	}
	r.Interface = normal

	switch r.Method {
	case methodToken:
		r.Auth.Password, r.Auth.ApplicationCredentialID, r.Auth.ApplicationCredentialName, r.Auth.ApplicationCredentialSecret = "", "", "", ""
	case methodAppCred:
		r.Auth.Password, r.Auth.Token = "", ""
	default:
		r.Auth.Token, r.Auth.ApplicationCredentialID, r.Auth.ApplicationCredentialName, r.Auth.ApplicationCredentialSecret = "", "", "", ""
	}
	if r.Auth.AuthURL == "" {
		return nil, fmt.Errorf("no identity endpoint: set identity_endpoint or cloud in the template, or OS_AUTH_URL or OS_CLOUD in the environment")
	}
	return r, nil
}

func (c *AccessConfig) templateLayer() layer {
	l := layer{
		auth: clientconfig.AuthInfo{
			AuthURL:                     c.IdentityEndpoint,
			Username:                    c.Username,
			UserID:                      c.UserID,
			Password:                    c.Password,
			Token:                       c.Token,
			ApplicationCredentialID:     c.ApplicationCredentialID,
			ApplicationCredentialName:   c.ApplicationCredentialName,
			ApplicationCredentialSecret: c.ApplicationCredentialSecret,
			ProjectName:                 firstNonEmpty(c.ProjectName, c.TenantName),
			ProjectID:                   firstNonEmpty(c.ProjectID, c.TenantID),
			UserDomainName:              c.UserDomainName,
			UserDomainID:                c.UserDomainID,
			ProjectDomainName:           c.ProjectDomainName,
			ProjectDomainID:             c.ProjectDomainID,
			DomainName:                  c.DomainName,
			DomainID:                    c.DomainID,
		},
		region: c.Region,
		iface:  c.EndpointType,
		cacert: c.CACertFile,
		cert:   c.ClientCertFile,
		key:    c.ClientKeyFile,
	}
	if c.Insecure {
		t := true
		l.insecure = &t
	}
	return l
}

func envLayer() (layer, error) {
	l := layer{
		auth: clientconfig.AuthInfo{
			AuthURL:                     getenv("OS_AUTH_URL"),
			Username:                    getenv("OS_USERNAME"),
			UserID:                      getenv("OS_USER_ID"),
			Password:                    getenv("OS_PASSWORD"),
			Token:                       firstNonEmpty(getenv("OS_TOKEN"), getenv("OS_AUTH_TOKEN")),
			ApplicationCredentialID:     getenv("OS_APPLICATION_CREDENTIAL_ID"),
			ApplicationCredentialName:   getenv("OS_APPLICATION_CREDENTIAL_NAME"),
			ApplicationCredentialSecret: getenv("OS_APPLICATION_CREDENTIAL_SECRET"),
			ProjectName:                 firstNonEmpty(getenv("OS_PROJECT_NAME"), getenv("OS_TENANT_NAME")),
			ProjectID:                   firstNonEmpty(getenv("OS_PROJECT_ID"), getenv("OS_TENANT_ID")),
			UserDomainName:              getenv("OS_USER_DOMAIN_NAME"),
			UserDomainID:                getenv("OS_USER_DOMAIN_ID"),
			ProjectDomainName:           getenv("OS_PROJECT_DOMAIN_NAME"),
			ProjectDomainID:             getenv("OS_PROJECT_DOMAIN_ID"),
			DomainName:                  getenv("OS_DOMAIN_NAME"),
			DomainID:                    getenv("OS_DOMAIN_ID"),
			DefaultDomain:               getenv("OS_DEFAULT_DOMAIN"),
		},
		authType: getenv("OS_AUTH_TYPE"),
		region:   getenv("OS_REGION_NAME"),
		iface:    firstNonEmpty(getenv("OS_INTERFACE"), getenv("OS_ENDPOINT_TYPE")),
		cacert:   getenv("OS_CACERT"),
		cert:     getenv("OS_CERT"),
		key:      getenv("OS_KEY"),
	}
	if v := getenv("OS_INSECURE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return l, fmt.Errorf("OS_INSECURE=%q is not a boolean", v)
		}
		l.insecure = &b
	}
	return l, nil
}

func cloudLayer(entry *clientconfig.Cloud) layer {
	l := layer{
		authType: string(entry.AuthType),
		region:   entry.RegionName,
		iface:    firstNonEmpty(entry.EndpointType, entry.Interface),
		cacert:   entry.CACertFile,
		cert:     entry.ClientCertFile,
		key:      entry.ClientKeyFile,
	}
	if entry.AuthInfo != nil {
		l.auth = *entry.AuthInfo
	}
	if entry.Verify != nil {
		insecure := !*entry.Verify
		l.insecure = &insecure
	}
	return l
}

// methodOf chooses the auth method as the openstack client does. Credentials
// written in the template decide first; then an explicit auth_type (OS_AUTH_TYPE,
// then the cloud entry's); then the credentials found in the environment, then in
// clouds.yaml. So a stray OS_PASSWORD does not turn an application-credential cloud
// entry into a password login.
func methodOf(tmpl, env, file layer) string {
	if m := credentialMethod(tmpl.auth); m != "" {
		return m
	}
	for _, l := range []layer{env, file} {
		if m := authTypeMethod(l.authType); m != "" {
			return m
		}
	}
	for _, l := range []layer{env, file} {
		if m := credentialMethod(l.auth); m != "" {
			return m
		}
	}
	return methodPassword
}

func authTypeMethod(authType string) string {
	switch t := strings.ToLower(authType); {
	case strings.Contains(t, "applicationcredential"):
		return methodAppCred
	case strings.Contains(t, "token"):
		return methodToken
	case strings.Contains(t, "password"):
		return methodPassword
	}
	return ""
}

func credentialMethod(a clientconfig.AuthInfo) string {
	switch {
	case a.Token != "":
		return methodToken
	case a.ApplicationCredentialID != "" || a.ApplicationCredentialName != "" || a.ApplicationCredentialSecret != "":
		return methodAppCred
	case a.Password != "":
		return methodPassword
	}
	return ""
}

// mergeAuth takes each auth field from the highest layer that sets it. Fields that
// come in name/ID pairs are taken as a pair, so a user_id from the template is not
// combined with an OS_USERNAME from the environment.
func mergeAuth(layers []layer) clientconfig.AuthInfo {
	var out clientconfig.AuthInfo
	str := func(get func(*clientconfig.AuthInfo) string) string {
		for i := range layers {
			if v := get(&layers[i].auth); v != "" {
				return v
			}
		}
		return ""
	}
	pair := func(a, b func(*clientconfig.AuthInfo) string) (string, string) {
		for i := range layers {
			x, y := a(&layers[i].auth), b(&layers[i].auth)
			if x != "" || y != "" {
				return x, y
			}
		}
		return "", ""
	}
	out.AuthURL = str(func(a *clientconfig.AuthInfo) string { return a.AuthURL })
	out.Password = str(func(a *clientconfig.AuthInfo) string { return a.Password })
	out.Token = str(func(a *clientconfig.AuthInfo) string { return a.Token })
	out.ApplicationCredentialSecret = str(func(a *clientconfig.AuthInfo) string { return a.ApplicationCredentialSecret })
	out.DefaultDomain = str(func(a *clientconfig.AuthInfo) string { return a.DefaultDomain })
	out.Username, out.UserID = pair(
		func(a *clientconfig.AuthInfo) string { return a.Username },
		func(a *clientconfig.AuthInfo) string { return a.UserID })
	out.ApplicationCredentialName, out.ApplicationCredentialID = pair(
		func(a *clientconfig.AuthInfo) string { return a.ApplicationCredentialName },
		func(a *clientconfig.AuthInfo) string { return a.ApplicationCredentialID })
	out.ProjectName, out.ProjectID = pair(
		func(a *clientconfig.AuthInfo) string { return a.ProjectName },
		func(a *clientconfig.AuthInfo) string { return a.ProjectID })
	out.UserDomainName, out.UserDomainID = pair(
		func(a *clientconfig.AuthInfo) string { return a.UserDomainName },
		func(a *clientconfig.AuthInfo) string { return a.UserDomainID })
	out.ProjectDomainName, out.ProjectDomainID = pair(
		func(a *clientconfig.AuthInfo) string { return a.ProjectDomainName },
		func(a *clientconfig.AuthInfo) string { return a.ProjectDomainID })
	out.DomainName, out.DomainID = pair(
		func(a *clientconfig.AuthInfo) string { return a.DomainName },
		func(a *clientconfig.AuthInfo) string { return a.DomainID })
	return out
}

func pick(layers []layer, get func(layer) string) string {
	for _, l := range layers {
		if v := get(l); v != "" {
			return v
		}
	}
	return ""
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// cliYAMLFiles finds clouds.yaml, secure.yaml and clouds-public.yaml where the
// openstack client does. clientconfig's defaults already honour
// OS_CLIENT_CONFIG_FILE; this adds OS_CLIENT_SECURE_FILE for secure.yaml.
type cliYAMLFiles struct{}

func (cliYAMLFiles) LoadCloudsYAML() (map[string]clientconfig.Cloud, error) {
	return clientconfig.LoadCloudsYAML()
}

func (cliYAMLFiles) LoadSecureCloudsYAML() (map[string]clientconfig.Cloud, error) {
	path := getenv("OS_CLIENT_SECURE_FILE")
	if path == "" {
		return clientconfig.LoadSecureCloudsYAML()
	}
	content, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return clientconfig.LoadSecureCloudsYAML()
	}
	if err != nil {
		return nil, fmt.Errorf("reading OS_CLIENT_SECURE_FILE: %w", err)
	}
	var secure clientconfig.Clouds
	if err := yaml.Unmarshal(content, &secure); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return secure.Clouds, nil
}

func (cliYAMLFiles) LoadPublicCloudsYAML() (map[string]clientconfig.Cloud, error) {
	return clientconfig.LoadPublicCloudsYAML()
}
