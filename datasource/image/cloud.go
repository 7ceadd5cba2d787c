package image

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"regexp"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/pagination"

	glancecommon "github.com/packer-glance/packer-plugin-glance/common"
)

// NewFinder returns a Finder on an authenticated session: Glance for the
// images and, when the catalog has one, Keystone for owner names.
func NewFinder(sess *glancecommon.Session) (*Finder, error) {
	imageClient, err := sess.Image()
	if err != nil {
		return nil, err
	}
	fd := &Finder{Images: GlanceLister{Client: imageClient}}
	identity, err := openstack.NewIdentityV3(sess.Provider, gophercloud.EndpointOpts{
		Region: sess.Region, Availability: gophercloud.Availability(sess.Interface)})
	if err != nil {
		log.Printf("[DEBUG] glance-image: no identity endpoint (%v): owner is taken as a project ID", err)
	} else {
		fd.Projects = KeystoneProjects{Client: identity}
	}
	return fd, nil
}

// GlanceLister lists images with gophercloud, following Glance's next links.
type GlanceLister struct {
	Client *gophercloud.ServiceClient
}

// ListImages implements Lister.
func (g GlanceLister) ListImages(ctx context.Context, req ListRequest, page func([]images.Image) bool) error {
	err := images.List(g.Client, req).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		imgs, err := images.ExtractImages(p)
		if err != nil {
			return false, err
		}
		return page(imgs), nil
	})
	if err != nil {
		var code gophercloud.ErrUnexpectedResponseCode
		if errors.As(err, &code) {
			return fmt.Errorf("listing Glance images: %s", describeAPIError(err))
		}
		return fmt.Errorf("listing Glance images at %s: %w", glancecommon.RedactURLString(g.Client.ResourceBaseURL()+"images"), err)
	}
	return nil
}

// describeAPIError names the request and the HTTP status of an OpenStack
// error, with the start of the response body.
func describeAPIError(err error) string {
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		body := compactBody(string(code.Body))
		if len(body) > 500 {
			body = body[:500] + "..."
		}
		return fmt.Sprintf("%s %s: HTTP %d %s: %s", code.Method, glancecommon.RedactURLString(code.URL),
			code.Actual, http.StatusText(code.Actual), body)
	}
	return err.Error()
}

// htmlTag matches the markup of the HTML error pages Glance (webob) returns.
var (
	htmlTag  = regexp.MustCompile(`<[^>]*>`)
	htmlHead = regexp.MustCompile(`(?is)<head>.*?</head>`)
)

// compactBody turns an error body into one line: HTML markup dropped,
// whitespace collapsed.
func compactBody(body string) string {
	if strings.Contains(body, "<html") || strings.Contains(body, "<body") {
		body = htmlHead.ReplaceAllString(body, " ")
		body = htmlTag.ReplaceAllString(body, " ")
	}
	return strings.Join(strings.Fields(body), " ")
}

// KeystoneProjects resolves project names with Keystone: first the project
// list (usually admin only), then the projects the user has a role on.
type KeystoneProjects struct {
	Client *gophercloud.ServiceClient
}

// ProjectID implements ProjectResolver. A value that names no visible project
// is returned unchanged, to be used as an ID.
func (k KeystoneProjects) ProjectID(ctx context.Context, nameOrID string) (string, error) {
	found, err := k.byName(ctx, nameOrID)
	if err != nil {
		return "", err
	}
	switch len(found) {
	case 0:
		return nameOrID, nil
	case 1:
		return found[0].ID, nil
	}
	var ids []string
	for _, p := range found {
		ids = append(ids, fmt.Sprintf("%s (domain %s)", p.ID, p.DomainID))
	}
	return "", fmt.Errorf("%d projects are named %q: %s; set owner to a project ID", len(found), nameOrID, strings.Join(ids, ", "))
}

func (k KeystoneProjects) byName(ctx context.Context, name string) ([]projects.Project, error) {
	pages, err := projects.List(k.Client, projects.ListOpts{Name: name}).AllPages(ctx)
	if err == nil {
		all, err := projects.ExtractProjects(pages)
		if err != nil {
			return nil, err
		}
		return withName(all, name), nil
	}
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) && !gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
		return nil, fmt.Errorf("looking the project up in Keystone: %s", describeAPIError(err))
	}
	// Users who may not list projects may still list their own.
	log.Printf("[DEBUG] glance-image: may not list projects (%v); looking among the user's own", err)
	pages, err = projects.ListAvailable(k.Client).AllPages(ctx)
	if err != nil {
		log.Printf("[DEBUG] glance-image: cannot list the user's projects either (%v): owner is taken as a project ID", err)
		return nil, nil
	}
	all, err := projects.ExtractProjects(pages)
	if err != nil {
		return nil, err
	}
	return withName(all, name), nil
}

func withName(all []projects.Project, name string) []projects.Project {
	var out []projects.Project
	for _, p := range all {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// serviceRegion returns the region of the catalog endpoint a client uses: the
// session's region when one was set, else the one found in the token's catalog.
func serviceRegion(sess *glancecommon.Session, client *gophercloud.ServiceClient) string {
	if sess.Region != "" {
		return sess.Region
	}
	withCatalog, ok := sess.Provider.GetAuthResult().(interface {
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
			if gophercloud.NormalizeURL(ep.URL) == client.Endpoint {
				if ep.Region != "" {
					return ep.Region
				}
				return ep.RegionID
			}
		}
	}
	return ""
}
