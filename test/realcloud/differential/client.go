package differential

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// httpClient has a hard per-request timeout: every wait in the suite is bounded. slowClient is
// for the deliberately slow upload that outlives a token.
var (
	httpClient = &http.Client{Timeout: 60 * time.Second}
	slowClient = &http.Client{Timeout: 6 * time.Minute}
)

// response is one HTTP exchange, kept whole so failures can show what the cloud said.
type response struct {
	Method, URL string
	Status      int
	Header      http.Header
	Body        []byte
}

// JSON decodes the body as an object (nil when it is not one).
func (r *response) JSON() map[string]any {
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return nil
	}
	return m
}

func (r *response) String() string {
	b := string(r.Body)
	if len(b) > 600 {
		b = b[:600] + "…"
	}
	return fmt.Sprintf("%s %s -> %d %s", r.Method, r.URL, r.Status, b)
}

// rawRequest sends one request. body may be nil, []byte/io.Reader (sent as is) or a value
// marshalled to JSON.
func rawRequest(method, url string, body any, header map[string]string) (*response, error) {
	return clientRequest(httpClient, method, url, body, header)
}

func clientRequest(client *http.Client, method, url string, body any, header map[string]string) (*response, error) {
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
		contentType = "application/octet-stream"
	case io.Reader:
		rd = b
		contentType = "application/octet-stream"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
		contentType = "application/json"
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &response{Method: method, URL: url, Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// session is an authenticated identity on one cloud: a token (renewed before it expires, because
// the real cloud issues 120 s tokens) and the image endpoint from the token's catalog.
type session struct {
	cloud     *cloudConfig
	mu        sync.Mutex
	token     string
	expires   time.Time
	tokenBody map[string]any
	ProjectID string
	UserID    string
	Image     string // Glance base URL, without /v2
	Volume    string // Cinder v3 URL with the project (…/v3/<project>), "" when the catalog has none
	Compute   string // Nova URL (…/v2.1), "" when the catalog has none
}

func newSession(t *testing.T, c *cloudConfig) *session {
	t.Helper()
	s := &session{cloud: c}
	if err := s.authenticate(); err != nil {
		t.Fatalf("cloud %s: %v", c.Name, err)
	}
	return s
}

// authBody is the POST /v3/auth/tokens document for a cloud entry.
func authBody(c *cloudConfig) map[string]any {
	if c.AuthType == "v3applicationcredential" || c.AppCredID != "" {
		return map[string]any{"auth": map[string]any{"identity": map[string]any{
			"methods":                []string{"application_credential"},
			"application_credential": map[string]any{"id": c.AppCredID, "secret": c.AppCredSecret},
		}}}
	}
	return passwordBody(c, c.Password)
}

func passwordBody(c *cloudConfig, password string) map[string]any {
	return map[string]any{"auth": map[string]any{
		"identity": map[string]any{
			"methods": []string{"password"},
			"password": map[string]any{"user": map[string]any{
				"name": c.Username, "domain": map[string]any{"name": c.UserDomain}, "password": password}},
		},
		"scope": map[string]any{"project": map[string]any{
			"name": c.ProjectName, "domain": map[string]any{"name": c.ProjectDomain}}},
	}}
}

func (s *session) authenticate() error {
	r, err := rawRequest("POST", s.cloud.AuthURL+"/auth/tokens", authBody(s.cloud), nil)
	if err != nil {
		return err
	}
	if r.Status != 201 {
		return fmt.Errorf("token: %s", r)
	}
	body := r.JSON()
	tok, _ := body["token"].(map[string]any)
	exp, err := time.Parse(time.RFC3339Nano, str(tok, "expires_at"))
	if err != nil {
		return fmt.Errorf("token expires_at: %v", err)
	}
	url := catalogURL(tok, "image", s.cloud.Interface, s.cloud.Region)
	if url == "" {
		return fmt.Errorf("no image endpoint (%s, region %q) in the catalog", s.cloud.Interface, s.cloud.Region)
	}
	url = strings.TrimSuffix(strings.TrimRight(url, "/"), "/v2")
	s.token, s.expires, s.tokenBody = r.Header.Get("X-Subject-Token"), exp, tok
	s.ProjectID = str(obj(tok, "project"), "id")
	s.UserID = str(obj(tok, "user"), "id")
	s.Image = url
	s.Volume = strings.TrimRight(catalogURL(tok, "block-storage", s.cloud.Interface, s.cloud.Region), "/")
	if s.Volume == "" {
		s.Volume = strings.TrimRight(catalogURL(tok, "volumev3", s.cloud.Interface, s.cloud.Region), "/")
	}
	s.Compute = strings.TrimRight(catalogURL(tok, "compute", s.cloud.Interface, s.cloud.Region), "/")
	return nil
}

// Token returns a token valid for at least 30 more seconds.
func (s *session) Token(t *testing.T) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Until(s.expires) < 30*time.Second {
		if err := s.authenticate(); err != nil {
			t.Fatalf("re-authenticate %s: %v", s.cloud.Name, err)
		}
	}
	return s.token
}

// Do sends a request to Glance (path starts with /v2) with the session's token.
func (s *session) Do(t *testing.T, method, path string, body any, header map[string]string) *response {
	t.Helper()
	h := map[string]string{"X-Auth-Token": s.Token(t)}
	for k, v := range header {
		h[k] = v
	}
	r, err := rawRequest(method, s.Image+path, body, h)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// DoURL sends a request to any absolute URL (another service, another region) with the session's token.
func (s *session) DoURL(t *testing.T, method, url string, body any, header map[string]string) *response {
	t.Helper()
	h := map[string]string{"X-Auth-Token": s.Token(t)}
	for k, v := range header {
		h[k] = v
	}
	r, err := rawRequest(method, url, body, h)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

// Patch sends a JSON-patch document with Glance's media type.
func (s *session) Patch(t *testing.T, path string, ops ...map[string]any) *response {
	t.Helper()
	j, _ := json.Marshal(ops)
	return s.Do(t, "PATCH", path, bytes.NewReader(j),
		map[string]string{"Content-Type": "application/openstack-images-v2.1-json-patch"})
}

func catalogURL(tok map[string]any, typ, iface, region string) string {
	cat, _ := tok["catalog"].([]any)
	for _, e := range cat {
		svc, _ := e.(map[string]any)
		if str(svc, "type") != typ {
			continue
		}
		eps, _ := svc["endpoints"].([]any)
		for _, x := range eps {
			ep, _ := x.(map[string]any)
			if str(ep, "interface") != iface {
				continue
			}
			if region != "" && str(ep, "region_id") != region && str(ep, "region") != region {
				continue
			}
			return str(ep, "url")
		}
	}
	return ""
}

// Small accessors for decoded JSON.
func obj(m map[string]any, k string) map[string]any {
	v, _ := m[k].(map[string]any)
	return v
}

func str(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

func list(m map[string]any, k string) []any {
	v, _ := m[k].([]any)
	return v
}

func strs(v []any) []string {
	out := make([]string, 0, len(v))
	for _, x := range v {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// expectStatus fails the test unless r has one of the codes.
func expectStatus(t *testing.T, r *response, codes ...int) {
	t.Helper()
	for _, c := range codes {
		if r.Status == c {
			return
		}
	}
	t.Fatalf("want HTTP %v, got %s", codes, r)
}

// checkStatus is expectStatus that does not stop the test.
func checkStatus(t *testing.T, r *response, codes ...int) bool {
	t.Helper()
	for _, c := range codes {
		if r.Status == c {
			return true
		}
	}
	t.Errorf("want HTTP %v, got %s", codes, r)
	return false
}

// field checks one top-level field of a JSON object against a wanted value (compared as JSON).
func field(t *testing.T, m map[string]any, key string, want any) {
	t.Helper()
	got, ok := m[key]
	if !ok {
		t.Errorf("field %q missing (want %v)", key, want)
		return
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Errorf("field %q = %s, want %s", key, gj, wj)
	}
}

// absent checks that a field is not in the object at all.
func absent(t *testing.T, m map[string]any, key string) {
	t.Helper()
	if v, ok := m[key]; ok {
		t.Errorf("field %q present (= %v), want it absent", key, v)
	}
}
