package acctest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// The tests act as other people on the test cloud: a colleague who makes an
// image while a build runs, another project that owns an image of the same
// name. They log in on their own, with gophercloud, never through the plugin.

// User is someone who logs in to a test cloud's Keystone (domain Default).
type User struct {
	AuthURL, Name, Password string
	// Project is the project to scope to; "" asks for an unscoped token.
	Project string
}

// Token returns a new Keystone token of u, scoped to u.Project or unscoped.
func (u User) Token(t testing.TB) string {
	t.Helper()
	var scope any = "unscoped"
	if u.Project != "" {
		scope = map[string]any{"project": map[string]any{"name": u.Project, "domain": map[string]any{"name": "Default"}}}
	}
	body, _ := json.Marshal(map[string]any{"auth": map[string]any{
		"identity": map[string]any{
			"methods":  []string{"password"},
			"password": map[string]any{"user": map[string]any{"name": u.Name, "password": u.Password, "domain": map[string]any{"name": "Default"}}},
		},
		"scope": scope,
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.AuthURL+"/auth/tokens?nocatalog", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("token for %s: %v", u.Name, err)
	}
	resp.Body.Close()
	tok := resp.Header.Get("X-Subject-Token")
	if resp.StatusCode != http.StatusCreated || tok == "" {
		t.Fatalf("token for %s in %q: HTTP %d", u.Name, u.Project, resp.StatusCode)
	}
	return tok
}

// Images returns a Glance client of u in the cloud's first region.
func (u User) Images(t testing.TB) *gophercloud.ServiceClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: u.AuthURL, Username: u.Name, Password: u.Password, DomainName: "Default",
		Scope: &gophercloud.AuthScope{ProjectName: u.Project, DomainName: "Default"},
	})
	if err != nil {
		t.Fatalf("logging in as %s: %v", u.Name, err)
	}
	c, err := openstack.NewImageV2(provider, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// CreateImage makes an active image of a few bytes with the client's
// credentials, protected when asked, and returns its ID.
func CreateImage(t testing.TB, c *gophercloud.ServiceClient, name string, protected bool) string {
	t.Helper()
	id, err := MakeImage(c, name, protected)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// MakeImage is CreateImage for other goroutines than the test's: it returns
// the error.
func MakeImage(c *gophercloud.ServiceClient, name string, protected bool) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vis := images.ImageVisibilityPrivate
	img, err := images.Create(ctx, c, images.CreateOpts{Name: name, ContainerFormat: "bare", DiskFormat: "raw", Visibility: &vis, Protected: &protected}).Extract()
	if err != nil {
		return "", fmt.Errorf("creating image %q: %w", name, err)
	}
	if err := imagedata.Upload(ctx, c, img.ID, bytes.NewReader([]byte("someone else's image"))).ExtractErr(); err != nil {
		return img.ID, fmt.Errorf("uploading image %q: %w", name, err)
	}
	return img.ID, nil
}

// ImageTasks returns the raw records of an image's tasks
// (GET /v2/images/{id}/tasks), as Glance keeps them.
func ImageTasks(t testing.TB, c *gophercloud.ServiceClient, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := c.Request(ctx, http.MethodGet, c.ServiceURL("images", id, "tasks"), &gophercloud.RequestOpts{OkCodes: []int{200}, KeepResponseBody: true})
	if err != nil {
		t.Fatalf("tasks of image %s: %v", id, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// Touched lists the requests in the test cloud's log that changed or deleted
// image id, as "METHOD path -> status": every DELETE and PATCH of it, and every
// POST or PUT below it (tags, members, actions, imports) except its data upload.
func Touched(c *testcloud.Cloud, id string) []string {
	var out []string
	for _, r := range c.Requests() {
		if !strings.Contains(r.Path+"/", "/images/"+id+"/") {
			continue
		}
		switch {
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
		case r.Method == http.MethodPut && strings.HasSuffix(r.Path, "/"+id+"/file"):
		default:
			out = append(out, fmt.Sprintf("%s %s -> %d", r.Method, r.Path, r.Status))
		}
	}
	return out
}

// AdminPublicImage makes an active public image of the test cloud's admin
// project: one every project sees in its lists, but none but admin may change
// or retire.
func AdminPublicImage(t testing.TB, c *testcloud.Cloud, name, diskFormat string, data []byte, props map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: c.AuthURL(), Username: "admin", Password: "admin-secret", DomainName: "Default", TenantName: "admin",
	})
	if err != nil {
		t.Fatal(err)
	}
	glance, err := openstack.NewImageV2(provider, gophercloud.EndpointOpts{Region: c.DefaultRegion()})
	if err != nil {
		t.Fatal(err)
	}
	public := images.ImageVisibilityPublic
	img, err := images.Create(ctx, glance, images.CreateOpts{Name: name, Visibility: &public, ContainerFormat: "bare", DiskFormat: diskFormat, Properties: props}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if err := imagedata.Upload(ctx, glance, img.ID, bytes.NewReader(data)).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	return img.ID
}
