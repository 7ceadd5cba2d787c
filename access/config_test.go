package access

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/utils/v2/openstack/clientconfig"
)

// fakeEnv replaces the process environment seen by resolve for one test.
func fakeEnv(t *testing.T, vars map[string]string) {
	t.Helper()
	old := getenv
	getenv = func(k string) string { return vars[k] }
	t.Cleanup(func() { getenv = old })
}

func TestPrepareConflicts(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(existing, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		cfg     AccessConfig
		wantErr []string // each must appear in some error; none = no error expected
	}{
		{name: "empty is fine (settings may come from the environment)", cfg: AccessConfig{}},
		{name: "password login", cfg: AccessConfig{Username: "u", Password: "pw-0451-test", ProjectName: "demo"}},
		{name: "token and password", cfg: AccessConfig{Token: "tok-0451-test", Password: "pw-0451-test"}, wantErr: []string{"token and password are both set"}},
		{name: "token and application credential", cfg: AccessConfig{Token: "tok-0451-test", ApplicationCredentialID: "i", ApplicationCredentialSecret: "sec-0451-test"}, wantErr: []string{"token and application_credential_id"}},
		{name: "password and application credential", cfg: AccessConfig{Password: "pw-0451-test", ApplicationCredentialID: "i", ApplicationCredentialSecret: "sec-0451-test"}, wantErr: []string{"password and application_credential_id"}},
		{name: "secret alone (the ID may come from clouds.yaml or OS_*)", cfg: AccessConfig{ApplicationCredentialSecret: "sec-0451-test"}},
		{name: "credential name alone (the user may come from clouds.yaml or OS_*)", cfg: AccessConfig{ApplicationCredentialName: "n", ApplicationCredentialSecret: "sec-0451-test"}},
		{name: "secret and password", cfg: AccessConfig{ApplicationCredentialSecret: "sec-0451-test", Password: "pw-0451-test"}, wantErr: []string{"application_credential_secret and password are both set"}},
		{name: "secret and token", cfg: AccessConfig{ApplicationCredentialSecret: "sec-0451-test", Token: "tok-0451-test"}, wantErr: []string{"application_credential_secret and token are both set"}},
		{name: "credential id and name", cfg: AccessConfig{ApplicationCredentialID: "i", ApplicationCredentialName: "n", Username: "u", ApplicationCredentialSecret: "sec-0451-test"}, wantErr: []string{"application_credential_id and application_credential_name are both set"}},
		{name: "username and user_id", cfg: AccessConfig{Username: "u", UserID: "id"}, wantErr: []string{"username and user_id are both set"}},
		{name: "project name and id", cfg: AccessConfig{ProjectName: "p", ProjectID: "id"}, wantErr: []string{"project_name and project_id are both set"}},
		{name: "user domain name and id", cfg: AccessConfig{UserDomainName: "d", UserDomainID: "id"}, wantErr: []string{"user_domain_name and user_domain_id"}},
		{name: "project domain name and id", cfg: AccessConfig{ProjectDomainName: "d", ProjectDomainID: "id"}, wantErr: []string{"project_domain_name and project_domain_id"}},
		{name: "domain name and id", cfg: AccessConfig{DomainName: "d", DomainID: "id"}, wantErr: []string{"domain_name and domain_id"}},
		{name: "unknown endpoint type", cfg: AccessConfig{EndpointType: "private"}, wantErr: []string{`endpoint_type "private" is not one of public, internal or admin`}},
		{name: "cert without key", cfg: AccessConfig{ClientCertFile: existing}, wantErr: []string{"cert and key must be set together", "only cert is set"}},
		{name: "key without cert", cfg: AccessConfig{ClientKeyFile: existing}, wantErr: []string{"only key is set"}},
		{name: "missing cacert file", cfg: AccessConfig{CACertFile: filepath.Join(dir, "nope.pem")}, wantErr: []string{"cacert:", "no such file"}},
		{name: "identity endpoint not a URL", cfg: AccessConfig{IdentityEndpoint: "keystone:5000"}, wantErr: []string{`identity_endpoint "keystone:5000" is not an http or https URL`}},
		{name: "tenant and project differ", cfg: AccessConfig{TenantName: "a", ProjectName: "b"}, wantErr: []string{"tenant_name and project_name name different projects"}},
		{name: "tenant id and project id differ", cfg: AccessConfig{TenantID: "a", ProjectID: "b"}, wantErr: []string{"tenant_id and project_id name different projects"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			_, errs := cfg.Prepare()
			joined := joinErrs(errs)
			if len(tc.wantErr) == 0 && len(errs) > 0 {
				t.Fatalf("unexpected errors: %s", joined)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(joined, want) {
					t.Errorf("errors %q do not contain %q", joined, want)
				}
			}
		})
	}
}

func joinErrs(errs []error) string {
	var parts []string
	for _, e := range errs {
		parts = append(parts, e.Error())
	}
	return strings.Join(parts, "; ")
}

func TestPrepareAliasesAndNormalisation(t *testing.T) {
	cfg := AccessConfig{TenantName: "demo", TenantID: "", EndpointType: "internalURL"}
	warnings, errs := cfg.Prepare()
	if len(errs) > 0 {
		t.Fatal(joinErrs(errs))
	}
	if cfg.ProjectName != "demo" || cfg.TenantName != "" {
		t.Errorf("tenant_name not moved to project_name: %+v", cfg)
	}
	if cfg.EndpointType != "internal" {
		t.Errorf("endpoint_type = %q, want internal", cfg.EndpointType)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "tenant_name is deprecated") {
		t.Errorf("warnings = %v", warnings)
	}

	cfg = AccessConfig{TenantID: "p1"}
	warnings, _ = cfg.Prepare()
	if cfg.ProjectID != "p1" || len(warnings) != 1 || !strings.Contains(warnings[0], "tenant_id is deprecated") {
		t.Errorf("tenant_id alias: cfg=%+v warnings=%v", cfg, warnings)
	}
}

// writeClouds writes clouds.yaml (and optionally secure.yaml) into a folder and
// points OS_CLIENT_CONFIG_FILE at it, as users do.
func writeClouds(t *testing.T, clouds, secure string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "clouds.yaml")
	if err := os.WriteFile(path, []byte(clouds), 0o600); err != nil {
		t.Fatal(err)
	}
	// clientconfig finds secure.yaml through OS_CLIENT_SECURE_FILE or the working folder.
	env := map[string]string{"OS_CLIENT_CONFIG_FILE": path}
	t.Setenv("OS_CLIENT_CONFIG_FILE", path)
	if secure != "" {
		sp := filepath.Join(dir, "secure.yaml")
		if err := os.WriteFile(sp, []byte(secure), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("OS_CLIENT_SECURE_FILE", sp)
		env["OS_CLIENT_SECURE_FILE"] = sp
	} else {
		t.Setenv("OS_CLIENT_SECURE_FILE", filepath.Join(dir, "absent-secure.yaml"))
	}
	return env
}

const cloudsYAML = `
clouds:
  mycloud:
    auth:
      auth_url: https://keystone.example.com/v3
      username: yaml-user
      project_name: yaml-project
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: internal
    verify: false
    cacert: /etc/ssl/yaml-ca.pem
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example.com/v3
      application_credential_id: ac-id
      application_credential_secret: ac-secret
    region_name: kz-ala-1
  tokencloud:
    auth_type: token
    auth:
      auth_url: https://keystone.example.com/v3
      token: yaml-token
      project_id: p-123
`

func TestResolveLayers(t *testing.T) {
	cases := []struct {
		name  string
		cfg   AccessConfig
		env   map[string]string
		check func(t *testing.T, r *resolved)
		err   string
	}{
		{
			name: "clouds.yaml merged with secure.yaml",
			cfg:  AccessConfig{Cloud: "mycloud"},
			check: func(t *testing.T, r *resolved) {
				expect(t, "method", r.Method, methodPassword)
				expect(t, "password from secure.yaml", r.Auth.Password, "secure-pass")
				expect(t, "username", r.Auth.Username, "yaml-user")
				expect(t, "region", r.Region, "RegionOne")
				expect(t, "interface", r.Interface, "internal")
				expect(t, "cacert", r.CACert, "/etc/ssl/yaml-ca.pem")
				if !r.Insecure {
					t.Error("verify: false in clouds.yaml should make the session insecure")
				}
			},
		},
		{
			name: "OS_CLOUD picks the entry; OS_* wins over clouds.yaml; template wins over OS_*",
			cfg:  AccessConfig{Region: "tmpl-region"},
			env:  map[string]string{"OS_CLOUD": "mycloud", "OS_USERNAME": "env-user", "OS_REGION_NAME": "env-region", "OS_INTERFACE": "admin", "OS_CACERT": "/env/ca.pem"},
			check: func(t *testing.T, r *resolved) {
				expect(t, "cloud", r.Cloud, "mycloud")
				expect(t, "username", r.Auth.Username, "env-user")
				expect(t, "region", r.Region, "tmpl-region")
				expect(t, "interface", r.Interface, "admin")
				expect(t, "cacert", r.CACert, "/env/ca.pem")
				expect(t, "project (from yaml)", r.Auth.ProjectName, "yaml-project")
			},
		},
		{
			name: "template insecure and TLS files win",
			cfg:  AccessConfig{Cloud: "appcred", Insecure: true, CACertFile: "/t/ca.pem", ClientCertFile: "/t/c.pem", ClientKeyFile: "/t/k.pem"},
			check: func(t *testing.T, r *resolved) {
				if !r.Insecure {
					t.Error("insecure not applied")
				}
				expect(t, "cacert", r.CACert, "/t/ca.pem")
				expect(t, "cert", r.Cert, "/t/c.pem")
				expect(t, "key", r.Key, "/t/k.pem")
			},
		},
		{
			name: "OS_INSECURE and OS_CERT/OS_KEY",
			cfg:  AccessConfig{IdentityEndpoint: "https://k/v3", Username: "u", Password: "pw-0451-test"},
			env:  map[string]string{"OS_INSECURE": "true", "OS_CERT": "/e/c.pem", "OS_KEY": "/e/k.pem"},
			check: func(t *testing.T, r *resolved) {
				if !r.Insecure {
					t.Error("OS_INSECURE ignored")
				}
				expect(t, "cert", r.Cert, "/e/c.pem")
				expect(t, "key", r.Key, "/e/k.pem")
				expect(t, "interface default", r.Interface, "public")
			},
		},
		{
			name: "bad OS_INSECURE",
			cfg:  AccessConfig{IdentityEndpoint: "https://k/v3"},
			env:  map[string]string{"OS_INSECURE": "maybe"},
			err:  `OS_INSECURE="maybe" is not a boolean`,
		},
		{
			name: "application credential from clouds.yaml drops an OS_PASSWORD",
			cfg:  AccessConfig{Cloud: "appcred"},
			env:  map[string]string{"OS_PASSWORD": "stray"},
			check: func(t *testing.T, r *resolved) {
				expect(t, "method", r.Method, methodAppCred)
				expect(t, "password dropped", r.Auth.Password, "")
			},
		},
		{
			name: "OS_AUTH_TYPE outranks the cloud entry's auth_type",
			cfg:  AccessConfig{Cloud: "appcred", Username: "u"},
			env:  map[string]string{"OS_AUTH_TYPE": "password", "OS_PASSWORD": "pw"},
			check: func(t *testing.T, r *resolved) {
				expect(t, "method", r.Method, methodPassword)
				expect(t, "secret dropped", r.Auth.ApplicationCredentialSecret, "")
			},
		},
		{
			name: "application credential from clouds.yaml",
			cfg:  AccessConfig{Cloud: "appcred"},
			check: func(t *testing.T, r *resolved) {
				expect(t, "method", r.Method, methodAppCred)
				expect(t, "id", r.Auth.ApplicationCredentialID, "ac-id")
				expect(t, "secret", r.Auth.ApplicationCredentialSecret, "ac-secret")
				expect(t, "region", r.Region, "kz-ala-1")
			},
		},
		{
			name: "template application credential outranks clouds.yaml password",
			cfg:  AccessConfig{Cloud: "mycloud", ApplicationCredentialID: "t-ac", ApplicationCredentialSecret: "t-secret"},
			check: func(t *testing.T, r *resolved) {
				expect(t, "method", r.Method, methodAppCred)
				expect(t, "password dropped", r.Auth.Password, "")
			},
		},
		{
			name: "application credential ID from OS_*, secret from the template",
			cfg:  AccessConfig{ApplicationCredentialSecret: "t-secret"},
			env:  map[string]string{"OS_AUTH_URL": "https://k/v3", "OS_APPLICATION_CREDENTIAL_ID": "env-ac"},
			check: func(t *testing.T, r *resolved) {
				expect(t, "method", r.Method, methodAppCred)
				expect(t, "id", r.Auth.ApplicationCredentialID, "env-ac")
				expect(t, "secret", r.Auth.ApplicationCredentialSecret, "t-secret")
			},
		},
		{
			name: "token from clouds.yaml auth_type",
			cfg:  AccessConfig{Cloud: "tokencloud"},
			check: func(t *testing.T, r *resolved) {
				expect(t, "method", r.Method, methodToken)
				expect(t, "token", r.Auth.Token, "yaml-token")
			},
		},
		{
			name: "OS_AUTH_TOKEN alone",
			env:  map[string]string{"OS_AUTH_URL": "https://k/v3", "OS_AUTH_TOKEN": "env-token", "OS_PASSWORD": "pw"},
			check: func(t *testing.T, r *resolved) {
				expect(t, "method", r.Method, methodToken)
				expect(t, "password dropped", r.Auth.Password, "")
			},
		},
		{
			name: "env only, project by tenant alias",
			env:  map[string]string{"OS_AUTH_URL": "https://k/v3", "OS_USERNAME": "u", "OS_PASSWORD": "p", "OS_TENANT_NAME": "legacy", "OS_ENDPOINT_TYPE": "internalURL"},
			check: func(t *testing.T, r *resolved) {
				expect(t, "project", r.Auth.ProjectName, "legacy")
				expect(t, "interface", r.Interface, "internal")
			},
		},
		{
			name: "user_id in the template is not mixed with OS_USERNAME",
			cfg:  AccessConfig{UserID: "uid-1"},
			env:  map[string]string{"OS_AUTH_URL": "https://k/v3", "OS_USERNAME": "env-user", "OS_PASSWORD": "p"},
			check: func(t *testing.T, r *resolved) {
				expect(t, "user id", r.Auth.UserID, "uid-1")
				expect(t, "username", r.Auth.Username, "")
			},
		},
		{
			name: "no endpoint anywhere",
			cfg:  AccessConfig{Username: "u", Password: "pw-0451-test"},
			err:  "no identity endpoint",
		},
		{
			name: "unknown cloud",
			cfg:  AccessConfig{Cloud: "nope"},
			err:  `reading cloud "nope" from clouds.yaml`,
		},
		{
			name: "bad OS_INTERFACE",
			cfg:  AccessConfig{IdentityEndpoint: "https://k/v3"},
			env:  map[string]string{"OS_INTERFACE": "sideways"},
			err:  `endpoint interface "sideways"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fileEnv := writeClouds(t, cloudsYAML, "clouds:\n  mycloud:\n    auth:\n      password: secure-pass\n")
			env := map[string]string{}
			for k, v := range fileEnv {
				env[k] = v
			}
			for k, v := range tc.env {
				env[k] = v
			}
			fakeEnv(t, env)
			// clientconfig reads OS_CLOUD itself only when no name is passed; we always pass one.
			r, err := tc.cfg.resolve()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r)
		})
	}
}

func expect(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func TestAuthOptionsPerMethod(t *testing.T) {
	cases := []struct {
		name  string
		r     resolved
		check func(t *testing.T, o gophercloud.AuthOptions)
		err   string
	}{
		{
			name: "password with project and domains by name",
			r: resolved{Method: methodPassword, Auth: authInfo(func(a *authFields) {
				a.Username, a.Password, a.ProjectName, a.UserDomainName, a.ProjectDomainName = "u", "p", "demo", "Users", "Projects"
			})},
			check: func(t *testing.T, o gophercloud.AuthOptions) {
				expect(t, "user", o.Username, "u")
				expect(t, "user domain", o.DomainName, "Users")
				expect(t, "scope project", o.Scope.ProjectName, "demo")
				expect(t, "scope domain", o.Scope.DomainName, "Projects")
				if !o.AllowReauth {
					t.Error("re-authentication must be on for password logins")
				}
			},
		},
		{
			name: "generic domain_id fills both domains",
			r: resolved{Method: methodPassword, Auth: authInfo(func(a *authFields) {
				a.Username, a.Password, a.ProjectName, a.DomainID = "u", "p", "demo", "dom-1"
			})},
			check: func(t *testing.T, o gophercloud.AuthOptions) {
				expect(t, "user domain", o.DomainID, "dom-1")
				expect(t, "scope domain", o.Scope.DomainID, "dom-1")
			},
		},
		{
			name: "names without any domain fall back to the default domain",
			r: resolved{Method: methodPassword, Auth: authInfo(func(a *authFields) {
				a.Username, a.Password, a.ProjectName = "u", "p", "demo"
			})},
			check: func(t *testing.T, o gophercloud.AuthOptions) {
				expect(t, "user domain", o.DomainID, "default")
				expect(t, "scope domain", o.Scope.DomainID, "default")
			},
		},
		{
			name: "project id needs no domain; user id needs none either",
			r: resolved{Method: methodPassword, Auth: authInfo(func(a *authFields) {
				a.UserID, a.Password, a.ProjectID = "uid", "p", "pid"
			})},
			check: func(t *testing.T, o gophercloud.AuthOptions) {
				expect(t, "user id", o.UserID, "uid")
				expect(t, "user domain", o.DomainID+o.DomainName, "")
				expect(t, "project", o.Scope.ProjectID, "pid")
				expect(t, "scope domain", o.Scope.DomainID+o.Scope.DomainName, "")
			},
		},
		{
			name: "domain-scoped without project",
			r: resolved{Method: methodPassword, Auth: authInfo(func(a *authFields) {
				a.Username, a.Password, a.DomainName = "u", "p", "Ops"
			})},
			check: func(t *testing.T, o gophercloud.AuthOptions) {
				expect(t, "scope domain", o.Scope.DomainName, "Ops")
			},
		},
		{
			name: "unscoped",
			r:    resolved{Method: methodPassword, Auth: authInfo(func(a *authFields) { a.Username, a.Password = "u", "pw-0451-test" })},
			check: func(t *testing.T, o gophercloud.AuthOptions) {
				if o.Scope != nil {
					t.Errorf("scope = %+v, want none", o.Scope)
				}
			},
		},
		{
			name: "token",
			r:    resolved{Method: methodToken, Auth: authInfo(func(a *authFields) { a.Token, a.ProjectID = "tok", "pid" })},
			check: func(t *testing.T, o gophercloud.AuthOptions) {
				expect(t, "token", o.TokenID, "tok")
				expect(t, "project", o.Scope.ProjectID, "pid")
				if o.AllowReauth {
					t.Error("a token cannot be renewed: re-authentication must be off")
				}
			},
		},
		{
			name: "application credential by id sends no scope",
			r: resolved{Method: methodAppCred, Auth: authInfo(func(a *authFields) {
				a.ApplicationCredentialID, a.ApplicationCredentialSecret, a.ProjectName = "ac", "s", "ignored"
			})},
			check: func(t *testing.T, o gophercloud.AuthOptions) {
				expect(t, "id", o.ApplicationCredentialID, "ac")
				if o.Scope != nil {
					t.Errorf("scope = %+v, want none", o.Scope)
				}
				if !o.AllowReauth {
					t.Error("re-authentication must be on")
				}
			},
		},
		{
			name: "application credential by name carries the user and domain",
			r: resolved{Method: methodAppCred, Auth: authInfo(func(a *authFields) {
				a.ApplicationCredentialName, a.ApplicationCredentialSecret, a.Username, a.UserDomainName = "acn", "s", "u", "Users"
			})},
			check: func(t *testing.T, o gophercloud.AuthOptions) {
				expect(t, "name", o.ApplicationCredentialName, "acn")
				expect(t, "user", o.Username, "u")
				expect(t, "domain", o.DomainName, "Users")
			},
		},
		{name: "token method without token", r: resolved{Method: methodToken}, err: "no token is set"},
		{name: "app cred by name without a user", r: resolved{Method: methodAppCred, Auth: authInfo(func(a *authFields) { a.ApplicationCredentialName, a.ApplicationCredentialSecret = "n", "s" })}, err: "needs username or user_id"},
		{name: "app cred without secret", r: resolved{Method: methodAppCred, Auth: authInfo(func(a *authFields) { a.ApplicationCredentialID = "x" })}, err: "needs a secret"},
		{name: "password without user", r: resolved{Method: methodPassword, Auth: authInfo(func(a *authFields) { a.Password = "p" })}, err: "no credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.Auth.AuthURL = "https://k/v3"
			o, err := tc.r.authOptions()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// gophercloud must accept what we built.
			// (on a copy: gophercloud fills in Scope as it goes)
			probe := o
			scope, err := probe.ToTokenV3ScopeMap()
			if err != nil {
				t.Fatalf("gophercloud rejects the scope: %v", err)
			}
			if _, err := probe.ToTokenV3CreateMap(scope); err != nil {
				t.Fatalf("gophercloud rejects the options: %v", err)
			}
			tc.check(t, o)
		})
	}
}

type authFields = clientconfig.AuthInfo

func authInfo(set func(*authFields)) clientconfig.AuthInfo {
	var a authFields
	set(&a)
	return a
}
