package osapi

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
)

// Keystone is the identity service client. It resolves project names: first
// with the project list (usually admin only), then among the projects the user
// has a role on.
type Keystone struct {
	client func() (*gophercloud.ServiceClient, error)
}

// ProjectID implements ProjectResolver. A value that names no visible project
// is returned unchanged, to be used as an ID.
func (k *Keystone) ProjectID(ctx context.Context, nameOrID string) (string, error) {
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

func (k *Keystone) byName(ctx context.Context, name string) ([]projects.Project, error) {
	c, err := k.client()
	if err != nil {
		return nil, err
	}
	pages, err := projects.List(c, projects.ListOpts{Name: name}).AllPages(ctx)
	if err == nil {
		all, err := projects.ExtractProjects(pages)
		if err != nil {
			return nil, err
		}
		return withName(all, name), nil
	}
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) && !gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
		return nil, fmt.Errorf("looking the project up in Keystone: %s", DescribeAPIError(err))
	}
	// Users who may not list projects may still list their own.
	log.Printf("[DEBUG] keystone: may not list projects (%v); looking among the user's own", err)
	pages, err = projects.ListAvailable(c).AllPages(ctx)
	if err != nil {
		log.Printf("[DEBUG] keystone: cannot list the user's projects either (%v): owner is taken as a project ID", err)
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
