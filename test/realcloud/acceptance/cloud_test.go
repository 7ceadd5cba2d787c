package acceptance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// The clouds `make realcloud` writes (test/realcloud/README.md, "Contract").
const (
	cloudDemo    = "realcloud"
	cloudAdmin   = "realcloud-admin"
	cloudAlt     = "realcloud-alt"
	cloudAppCred = "realcloud-appcred"
)

// cloudEntry is the part of a clouds.yaml entry the tests use.
type cloudEntry struct {
	AuthType string `yaml:"auth_type"`
	Auth     struct {
		AuthURL                     string `yaml:"auth_url"`
		Username                    string `yaml:"username"`
		Password                    string `yaml:"password"`
		ProjectName                 string `yaml:"project_name"`
		UserDomainName              string `yaml:"user_domain_name"`
		ProjectDomainName           string `yaml:"project_domain_name"`
		ApplicationCredentialID     string `yaml:"application_credential_id"`
		ApplicationCredentialSecret string `yaml:"application_credential_secret"`
	} `yaml:"auth"`
	RegionName string `yaml:"region_name"`
	Interface  string `yaml:"interface"`
}

func loadClouds(path string) (map[string]*cloudEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Clouds map[string]*cloudEntry `yaml:"clouds"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, name := range []string{cloudDemo, cloudAdmin, cloudAlt, cloudAppCred} {
		if doc.Clouds[name] == nil {
			return nil, fmt.Errorf("%s has no cloud %q: run `make realcloud`", path, name)
		}
	}
	return doc.Clouds, nil
}

// loadEnvFile reads KEY=value lines (appcred.env).
func loadEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env, sc.Err()
}

// httpClient bounds every request the tests make themselves.
var httpClient = &http.Client{Timeout: 2 * time.Minute}

// reply is one HTTP exchange, kept whole for failure messages.
type reply struct {
	Method, URL string
	Status      int
	Header      http.Header
	Body        []byte
}

func (r *reply) String() string {
	b := string(r.Body)
	if len(b) > 500 {
		b = b[:500] + "…"
	}
	return fmt.Sprintf("%s %s -> %d %s", r.Method, r.URL, r.Status, b)
}

func (r *reply) decode(v any) error { return json.Unmarshal(r.Body, v) }

// send makes one request: body is nil, []byte (sent as octet-stream) or a value sent as JSON.
func send(method, u string, body any, header map[string]string) (*reply, error) {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/octet-stream"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &reply{Method: method, URL: u, Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// identity is one logged-in user of a clouds.yaml cloud, talking to Glance directly. Its token
// is renewed before it expires (the real cloud's tokens live 120 s).
type identity struct {
	cloud   string
	entry   *cloudEntry
	mu      sync.Mutex
	token   string
	expires time.Time
	Project string // project ID of the token
	User    string // user ID
	Glance  string // Glance base URL, without /v2
}

func newIdentity(cloud string, e *cloudEntry) (*identity, error) {
	id := &identity{cloud: cloud, entry: e}
	return id, id.login()
}

// tokenRequest is the POST /v3/auth/tokens body for a cloud entry.
func tokenRequest(e *cloudEntry) map[string]any {
	if e.AuthType == "v3applicationcredential" {
		return map[string]any{"auth": map[string]any{"identity": map[string]any{
			"methods": []string{"application_credential"},
			"application_credential": map[string]any{
				"id": e.Auth.ApplicationCredentialID, "secret": e.Auth.ApplicationCredentialSecret},
		}}}
	}
	return map[string]any{"auth": map[string]any{
		"identity": map[string]any{
			"methods": []string{"password"},
			"password": map[string]any{"user": map[string]any{
				"name": e.Auth.Username, "password": e.Auth.Password,
				"domain": map[string]any{"name": e.Auth.UserDomainName}}},
		},
		"scope": map[string]any{"project": map[string]any{
			"name": e.Auth.ProjectName, "domain": map[string]any{"name": e.Auth.ProjectDomainName}}},
	}}
}

// issueToken logs in and returns the token, its body and the reply.
func issueToken(e *cloudEntry) (string, *tokenBody, error) {
	r, err := send("POST", strings.TrimRight(e.Auth.AuthURL, "/")+"/auth/tokens", tokenRequest(e), nil)
	if err != nil {
		return "", nil, err
	}
	if r.Status != http.StatusCreated {
		return "", nil, fmt.Errorf("logging in: %s", r)
	}
	var tb tokenBody
	if err := r.decode(&tb); err != nil {
		return "", nil, fmt.Errorf("token body: %v", err)
	}
	return r.Header.Get("X-Subject-Token"), &tb, nil
}

type tokenBody struct {
	Token struct {
		ExpiresAt time.Time `json:"expires_at"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
		Project struct {
			ID string `json:"id"`
		} `json:"project"`
		Catalog []struct {
			Type      string `json:"type"`
			Endpoints []struct {
				Interface string `json:"interface"`
				Region    string `json:"region_id"`
				URL       string `json:"url"`
			} `json:"endpoints"`
		} `json:"catalog"`
	} `json:"token"`
}

func (tb *tokenBody) endpoint(typ, iface, region string) string {
	for _, svc := range tb.Token.Catalog {
		if svc.Type != typ {
			continue
		}
		for _, ep := range svc.Endpoints {
			if ep.Interface == iface && (region == "" || ep.Region == region) {
				return ep.URL
			}
		}
	}
	return ""
}

func (id *identity) login() error {
	tok, tb, err := issueToken(id.entry)
	if err != nil {
		return fmt.Errorf("cloud %s: %w", id.cloud, err)
	}
	iface := id.entry.Interface
	if iface == "" {
		iface = "public"
	}
	glance := tb.endpoint("image", iface, id.entry.RegionName)
	if glance == "" {
		return fmt.Errorf("cloud %s: no image endpoint in the catalog", id.cloud)
	}
	id.token, id.expires = tok, tb.Token.ExpiresAt
	id.Project, id.User = tb.Token.Project.ID, tb.Token.User.ID
	id.Glance = strings.TrimSuffix(strings.TrimRight(glance, "/"), "/v2")
	return nil
}

func (id *identity) validToken() (string, error) {
	id.mu.Lock()
	defer id.mu.Unlock()
	if time.Until(id.expires) < 30*time.Second {
		if err := id.login(); err != nil {
			return "", err
		}
	}
	return id.token, nil
}

// do sends a Glance request (path starts with /v2).
func (id *identity) do(method, path string, body any, header map[string]string) (*reply, error) {
	tok, err := id.validToken()
	if err != nil {
		return nil, err
	}
	h := map[string]string{"X-Auth-Token": tok}
	for k, v := range header {
		h[k] = v
	}
	return send(method, id.Glance+path, body, h)
}

// must is do that fails the test unless the status is one of want.
func (id *identity) must(t testing.TB, method, path string, body any, header map[string]string, want ...int) *reply {
	t.Helper()
	r, err := id.do(method, path, body, header)
	if err != nil {
		t.Fatalf("%s %s as %s: %v", method, path, id.cloud, err)
	}
	for _, w := range want {
		if r.Status == w {
			return r
		}
	}
	t.Fatalf("as %s: want HTTP %v, got %s", id.cloud, want, r)
	return nil
}

// image is the part of a Glance image the tests look at; custom properties stay in Extra.
type image struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Status          string   `json:"status"`
	Visibility      string   `json:"visibility"`
	Owner           string   `json:"owner"`
	Tags            []string `json:"tags"`
	DiskFormat      string   `json:"disk_format"`
	ContainerFormat string   `json:"container_format"`
	Size            *int64   `json:"size"`
	VirtualSize     *int64   `json:"virtual_size"`
	Checksum        string   `json:"checksum"`
	HashAlgo        string   `json:"os_hash_algo"`
	HashValue       string   `json:"os_hash_value"`
	MinDisk         int      `json:"min_disk"`
	MinRAM          int      `json:"min_ram"`
	Protected       bool     `json:"protected"`
	Hidden          bool     `json:"os_hidden"`
	CreatedAt       string   `json:"created_at"`
	Extra           map[string]any
}

func decodeImage(r *reply) (*image, error) {
	var img image
	if err := r.decode(&img); err != nil {
		return nil, fmt.Errorf("image JSON: %v in %s", err, r)
	}
	if err := r.decode(&img.Extra); err != nil {
		return nil, err
	}
	return &img, nil
}

// prop is a custom property as a string ("" when absent).
func (img *image) prop(k string) string {
	s, _ := img.Extra[k].(string)
	return s
}

func (id *identity) getImage(t testing.TB, imageID string) *image {
	t.Helper()
	img, err := decodeImage(id.must(t, "GET", "/v2/images/"+imageID, nil, nil, 200))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// createImage creates an image record (no data) with the given fields.
func (id *identity) createImage(t testing.TB, fields map[string]any) *image {
	t.Helper()
	img, err := decodeImage(id.must(t, "POST", "/v2/images", fields, nil, 201))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// upload sends data to a queued image and returns the active image.
func (id *identity) upload(t testing.TB, imageID string, data []byte) *image {
	t.Helper()
	id.must(t, "PUT", "/v2/images/"+imageID+"/file", data, nil, 204)
	return id.getImage(t, imageID)
}

// listImages reads every page of a listing (query without limit/marker).
func (id *identity) listImages(query url.Values) ([]*image, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("limit", "200")
	next := "/v2/images?" + q.Encode()
	var all []*image
	for pages := 0; next != "" && pages < 100; pages++ {
		r, err := id.do("GET", next, nil, nil)
		if err != nil {
			return nil, err
		}
		if r.Status != 200 {
			return nil, fmt.Errorf("listing images: %s", r)
		}
		var page struct {
			Images []json.RawMessage `json:"images"`
			Next   string            `json:"next"`
		}
		if err := r.decode(&page); err != nil {
			return nil, err
		}
		for _, raw := range page.Images {
			img, err := decodeImage(&reply{Body: raw})
			if err != nil {
				return nil, err
			}
			all = append(all, img)
		}
		next = page.Next
	}
	return all, nil
}

// imagesNamed lists, as this identity, the images with exactly this name (hidden ones too).
func (id *identity) imagesNamed(t testing.TB, name string) []*image {
	t.Helper()
	var out []*image
	for _, hidden := range []string{"", "true"} {
		// visibility=all: the default listing leaves community images out.
		q := url.Values{"name": {name}, "visibility": {"all"}}
		if hidden != "" {
			q.Set("os_hidden", hidden)
		}
		imgs, err := id.listImages(q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, imgs...)
	}
	return out
}

// deleteImage deletes an image, unprotecting it first if needed; a missing image is fine.
func (id *identity) deleteImage(imageID string) error {
	r, err := id.deleteRetrying(imageID)
	if err != nil {
		return err
	}
	if r.Status == 403 && strings.Contains(string(r.Body), "protected") {
		if _, err := id.patch(imageID, map[string]any{"op": "replace", "path": "/protected", "value": false}); err != nil {
			return err
		}
		if r, err = id.deleteRetrying(imageID); err != nil {
			return err
		}
	}
	if r.Status != 204 && r.Status != 404 {
		return fmt.Errorf("deleting image %s: %s", imageID, r)
	}
	return nil
}

// deleteRetrying sends DELETE again after a 5xx: Glance answers a delete that races
// its own bookkeeping on the image (an import task finishing) with a 500.
func (id *identity) deleteRetrying(imageID string) (*reply, error) {
	var r *reply
	var err error
	for wait := 250 * time.Millisecond; ; wait *= 2 {
		r, err = id.do("DELETE", "/v2/images/"+imageID, nil, nil)
		if err != nil || r.Status < 500 || wait > 4*time.Second {
			return r, err
		}
		time.Sleep(wait)
	}
}

func (id *identity) patch(imageID string, ops ...map[string]any) (*reply, error) {
	j, err := json.Marshal(ops)
	if err != nil {
		return nil, err
	}
	return id.do("PATCH", "/v2/images/"+imageID, j,
		map[string]string{"Content-Type": "application/openstack-images-v2.1-json-patch"})
}

// imagesWithPrefix lists, as this identity (admin sees every project), the images whose name
// starts with prefix, hidden ones included.
func (id *identity) imagesWithPrefix(prefix string) ([]*image, error) {
	var out []*image
	for _, q := range []url.Values{{"visibility": {"all"}}, {"visibility": {"all"}, "os_hidden": {"true"}}} {
		// Every status: a failed import leaves a queued image, an upload in progress a saving one.
		imgs, err := id.listImages(q)
		if err != nil {
			return nil, err
		}
		for _, img := range imgs {
			if strings.HasPrefix(img.Name, prefix) {
				out = append(out, img)
			}
		}
	}
	return out, nil
}

// sweep deletes, as admin, every image whose name starts with prefix.
func sweep(prefix string) error {
	admin := env.admin
	imgs, err := admin.imagesWithPrefix(prefix)
	if err != nil {
		return err
	}
	var errs []string
	for _, img := range imgs {
		if err := admin.deleteImage(img.ID); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("sweeping %q: %s", prefix, strings.Join(errs, "; "))
	}
	return nil
}
