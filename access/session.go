package access

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// Session is an authenticated connection to one cloud, region and interface. It
// renews its token by itself when the token expires (except for token logins,
// which have nothing to renew with). Every request made through it follows the
// one retry policy (internal/retry.Policy). Service clients are made from it by
// internal/osapi.
type Session struct {
	Provider *gophercloud.ProviderClient
	// Region is the region whose endpoints the service clients use ("" = first found).
	Region string
	// Interface is the catalog interface the service clients use.
	Interface string
	// Method says how the session logged in, for messages.
	Method string
	// Project is the project the token is scoped to; its ID is "" for an unscoped
	// or domain-scoped token.
	Project Project
	// UserID and UserName say who logged in.
	UserID, UserName string
	// Cloud is the clouds.yaml entry used, if any.
	Cloud string
	// caCert is the cacert the API trusts, which downloads trust too.
	caCert string
}

// Project names the project a token is scoped to.
type Project struct {
	ID, Name, DomainID string
}

// Authenticate resolves the settings, builds an HTTP client with the TLS options and
// request logging, and logs in to Keystone. Failures name the endpoint, the method
// and the reason; they never contain a secret.
func (c *AccessConfig) Authenticate(ctx context.Context) (*Session, error) {
	r, err := c.resolve()
	if err != nil {
		return nil, err
	}
	// Secrets from the environment and clouds.yaml are as secret as the template's.
	packersdk.LogSecretFilter.Set(r.Auth.Password, r.Auth.Token, r.Auth.ApplicationCredentialSecret)

	opts, err := r.authOptions()
	if err != nil {
		return nil, err
	}
	tlsConfig, err := r.tlsConfig()
	if err != nil {
		return nil, err
	}
	provider, err := openstack.NewClient(r.Auth.AuthURL)
	if err != nil {
		return nil, fmt.Errorf("identity endpoint %q: %w", r.Auth.AuthURL, err)
	}
	provider.HTTPClient = http.Client{Transport: newTransport(tlsConfig)}
	provider.UserAgent.Prepend("packer-plugin-glance")
	policy := &retry.Policy{Budget: c.APIRetryTimeout}
	policy.Install(provider)

	if err := openstack.Authenticate(ctx, provider, opts); err != nil {
		return nil, fmt.Errorf("authenticating at %s with %s: %s", r.Auth.AuthURL, r.describe(), explainAuthError(err))
	}
	policy.LoggedIn()
	if r.Method == methodToken {
		// A token cannot be renewed. When it expires mid-build, say so instead of
		// surfacing a bare 401 from whichever service noticed first.
		provider.ReauthFunc = func(context.Context) error {
			return errTokenExpired
		}
	}
	sess := &Session{Provider: provider, Region: r.Region, Interface: r.Interface, Method: r.describe(), Cloud: r.Cloud, caCert: r.CACert}
	sess.readScope()
	return sess, nil
}

// readScope records the project and user of the token, from the token's
// creation or, for a token login, from its validation.
func (s *Session) readScope() {
	res, ok := s.Provider.GetAuthResult().(interface {
		ExtractProject() (*tokens.Project, error)
		ExtractUser() (*tokens.User, error)
	})
	if !ok {
		return
	}
	if p, err := res.ExtractProject(); err == nil && p != nil {
		s.Project = Project{ID: p.ID, Name: p.Name, DomainID: p.Domain.ID}
	}
	if u, err := res.ExtractUser(); err == nil && u != nil {
		s.UserID, s.UserName = u.ID, u.Name
	}
}

// errTokenExpired explains a 401 after a token login: nothing can renew it.
var errTokenExpired = errors.New("the token given with token or OS_TOKEN has expired or was revoked, and a token login cannot be renewed: " +
	"for builds longer than a token lives, log in with a password or an application credential")

// authOptions turns the merged settings into gophercloud's options, choosing the
// scope the way the openstack client does: application credentials carry their own
// project; otherwise a project if one is named, else a domain, else none.
func (r *resolved) authOptions() (gophercloud.AuthOptions, error) {
	a := r.Auth
	defaultDomain := firstNonEmpty(a.DefaultDomain, "default")
	opts := gophercloud.AuthOptions{
		IdentityEndpoint: a.AuthURL,
		AllowReauth:      r.Method != methodToken,
	}
	userDomainID, userDomainName := domainFor(a.UserDomainID, a.UserDomainName, a.DomainID, a.DomainName, defaultDomain)
	switch r.Method {
	case methodToken:
		if a.Token == "" {
			return opts, errors.New("token authentication was chosen but no token is set (token, OS_TOKEN or the cloud entry's auth.token)")
		}
		opts.TokenID = a.Token
	case methodAppCred:
		if a.ApplicationCredentialSecret == "" {
			return opts, errors.New("application credential authentication needs a secret: set application_credential_secret or OS_APPLICATION_CREDENTIAL_SECRET")
		}
		if a.ApplicationCredentialID == "" && a.ApplicationCredentialName == "" {
			return opts, errors.New("application credential authentication needs application_credential_id or application_credential_name")
		}
		if a.ApplicationCredentialID == "" && a.Username == "" && a.UserID == "" {
			return opts, errors.New("application_credential_name needs username or user_id to find the credential (or use application_credential_id)")
		}
		opts.ApplicationCredentialID = a.ApplicationCredentialID
		opts.ApplicationCredentialName = a.ApplicationCredentialName
		opts.ApplicationCredentialSecret = a.ApplicationCredentialSecret
		if a.ApplicationCredentialID == "" {
			opts.Username, opts.UserID = a.Username, a.UserID
			if a.UserID == "" {
				opts.DomainID, opts.DomainName = userDomainID, userDomainName
			}
		}
		// An application credential is bound to its project: no scope is sent.
		return opts, nil
	default:
		if a.Username == "" && a.UserID == "" {
			return opts, errors.New("no credentials: set username (or user_id) and password, an application credential or a token, in the template, OS_* variables or clouds.yaml")
		}
		opts.Username, opts.UserID, opts.Password = a.Username, a.UserID, a.Password
		if a.UserID == "" {
			opts.DomainID, opts.DomainName = userDomainID, userDomainName
		}
	}

	scope := &gophercloud.AuthScope{}
	switch {
	case a.ProjectID != "":
		scope.ProjectID = a.ProjectID
	case a.ProjectName != "":
		scope.ProjectName = a.ProjectName
		scope.DomainID, scope.DomainName = domainFor(a.ProjectDomainID, a.ProjectDomainName, a.DomainID, a.DomainName, defaultDomain)
	case a.DomainID != "":
		scope.DomainID = a.DomainID
	case a.DomainName != "":
		scope.DomainName = a.DomainName
	default:
		scope = nil
	}
	opts.Scope = scope
	return opts, nil
}

// domainFor picks the domain of a user or project given by name: its own domain
// option (ID before name), else the generic domain option, else the default domain
// ID. Exactly one of the results is set, as Keystone wants.
func domainFor(specificID, specificName, genericID, genericName, fallbackID string) (id, name string) {
	switch {
	case specificID != "":
		return specificID, ""
	case specificName != "":
		return "", specificName
	case genericID != "":
		return genericID, ""
	case genericName != "":
		return "", genericName
	}
	return fallbackID, ""
}

// describe says how the session logs in, for error messages: method and identity,
// never a secret.
func (r *resolved) describe() string {
	a := r.Auth
	var who string
	switch r.Method {
	case methodToken:
		who = "a token"
	case methodAppCred:
		who = "application credential " + firstNonEmpty(a.ApplicationCredentialID, a.ApplicationCredentialName)
	default:
		who = "password of user " + firstNonEmpty(a.Username, a.UserID)
	}
	if p := firstNonEmpty(a.ProjectName, a.ProjectID); p != "" && r.Method != methodAppCred {
		who += ", project " + p
	}
	if r.Cloud != "" {
		who += " (cloud " + r.Cloud + ")"
	}
	return who
}

// explainAuthError turns gophercloud's authentication errors into a reason a user
// can act on.
func explainAuthError(err error) string {
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		switch code.Actual {
		case http.StatusUnauthorized:
			return "the credentials were rejected (HTTP 401)"
		case http.StatusForbidden:
			return "the user may not log in to that scope (HTTP 403)"
		case http.StatusNotFound:
			return "no Keystone v3 tokens API at that URL (HTTP 404): the URL usually ends in /v3"
		}
		return fmt.Sprintf("HTTP %d: %s", code.Actual, strings.TrimSpace(redactBody(string(code.Body))))
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return "cannot reach the endpoint: " + err.Error()
	}
	return err.Error()
}

func (r *resolved) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: r.Insecure} //nolint:gosec // the user asked for it
	if r.CACert != "" {
		pem, err := os.ReadFile(r.CACert)
		if err != nil {
			return nil, fmt.Errorf("reading CA certificates (cacert): %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cacert %s holds no PEM certificate", r.CACert)
		}
		cfg.RootCAs = pool
	}
	if (r.Cert == "") != (r.Key == "") {
		return nil, fmt.Errorf("a client certificate needs both cert and key (OS_CERT/OS_KEY or the cloud entry's cert/key)")
	}
	if r.Cert != "" {
		pair, err := tls.LoadX509KeyPair(r.Cert, r.Key)
		if err != nil {
			return nil, fmt.Errorf("loading client certificate %s and key %s: %w", r.Cert, r.Key, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// EndpointOpts is where service clients point: the session's region and interface.
func (s *Session) EndpointOpts() gophercloud.EndpointOpts {
	return gophercloud.EndpointOpts{Region: s.Region, Availability: gophercloud.Availability(s.Interface)}
}

// ServiceError explains a service missing from the catalog.
func (s *Session) ServiceError(service string, err error) error {
	region := s.Region
	if region == "" {
		region = "any region"
	}
	return fmt.Errorf("finding the %s endpoint (%s interface, %s) in the catalog: %w", service, s.Interface, region, err)
}

// CatalogRegion returns the region of the catalog endpoint at endpointURL: the
// session's region when one was set, else the one the token's catalog gives.
func (s *Session) CatalogRegion(endpointURL string) string {
	if s.Region != "" {
		return s.Region
	}
	withCatalog, ok := s.Provider.GetAuthResult().(interface {
		ExtractServiceCatalog() (*tokens.ServiceCatalog, error)
	})
	if !ok {
		return ""
	}
	catalog, err := withCatalog.ExtractServiceCatalog()
	if err != nil {
		return ""
	}
	for _, entry := range catalog.Entries {
		for _, ep := range entry.Endpoints {
			if gophercloud.NormalizeURL(ep.URL) == endpointURL {
				if ep.Region != "" {
					return ep.Region
				}
				return ep.RegionID
			}
		}
	}
	return ""
}

// dialTimeout bounds connection set-up only; transfers are bounded by contexts.
const dialTimeout = 30 * time.Second

// responseTimeout bounds the wait for an answer once a request (its body
// included) is sent: a service that takes the connection and never answers
// must not hang a step that has no deadline of its own. The slowest answer an
// API gives after its request is written (Nova's snapshot of a volume-backed
// server, Glance's last write of an upload) takes seconds to a minute or two.
// The call then counts as a timeout: retried, or looked for when it created.
var responseTimeout = 10 * time.Minute // tests shorten it
