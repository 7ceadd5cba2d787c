package access

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
)

// fakeKeystone accepts one set of credentials per method and serves a catalog
// whose image endpoints differ by region and interface.
type fakeKeystone struct {
	mu     sync.Mutex
	bodies []map[string]any
	issued int
}

func (k *fakeKeystone) handler(base func() string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		k.mu.Lock()
		k.bodies = append(k.bodies, body)
		k.issued++
		n := k.issued
		k.mu.Unlock()
		identity := body["auth"].(map[string]any)["identity"].(map[string]any)
		ok := false
		switch {
		case hasMethod(identity, "password"):
			user := identity["password"].(map[string]any)["user"].(map[string]any)
			ok = user["password"] == "right-password"
		case hasMethod(identity, "token"):
			ok = identity["token"].(map[string]any)["id"] == "right-token"
		case hasMethod(identity, "application_credential"):
			ok = identity["application_credential"].(map[string]any)["secret"] == "right-secret"
		}
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}`)
			return
		}
		// A token is scoped to the project the request names, else unscoped.
		var project map[string]any
		if scope, _ := body["auth"].(map[string]any)["scope"].(map[string]any); scope["project"] != nil {
			project = demoProject
		}
		k.writeToken(w, base(), fmt.Sprintf("tok-%d", n), http.StatusCreated, project)
	})
	// A bare token is validated rather than exchanged: right-token is scoped to
	// project demo, unscoped-token to nothing.
	mux.HandleFunc("GET /v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		switch tok := r.Header.Get("X-Subject-Token"); tok {
		case "right-token":
			k.writeToken(w, base(), tok, http.StatusOK, demoProject)
		case "unscoped-token":
			k.writeToken(w, base(), tok, http.StatusOK, nil)
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	// Service clients probe their endpoint for API versions.
	mux.HandleFunc("GET /image/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"versions":[{"id":"v2.16","status":"CURRENT","links":[{"rel":"self","href":"%s%sv2/"}]}]}`, base(), r.URL.Path)
	})
	return mux
}

// demoProject is the project of the fake Keystone's scoped tokens.
var demoProject = map[string]any{"id": "p-demo", "name": "demo", "domain": map[string]any{"id": "default", "name": "Default"}}

func (k *fakeKeystone) writeToken(w http.ResponseWriter, base, token string, status int, project map[string]any) {
	var endpoints []map[string]string
	for _, region := range []string{"RegionOne", "kz-ala-1"} {
		for _, iface := range []string{"public", "internal", "admin"} {
			endpoints = append(endpoints, map[string]string{
				"id": region + iface, "interface": iface, "region": region, "region_id": region,
				"url": base + "/image/" + region + "/" + iface,
			})
		}
	}
	w.Header().Set("X-Subject-Token", token)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	tok := map[string]any{
		"expires_at": "2099-01-01T00:00:00.000000Z",
		"catalog":    []any{map[string]any{"type": "image", "name": "glance", "id": "img", "endpoints": endpoints}},
		"user":       map[string]any{"id": "u1", "name": "demo"},
	}
	if project != nil {
		tok["project"] = project
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"token": tok})
}

func hasMethod(identity map[string]any, m string) bool {
	methods, _ := identity["methods"].([]any)
	for _, x := range methods {
		if x == m {
			return true
		}
	}
	return false
}

func startKeystone(t *testing.T, tlsServer bool) (*fakeKeystone, *httptest.Server) {
	t.Helper()
	k := &fakeKeystone{}
	var srv *httptest.Server
	h := k.handler(func() string { return srv.URL })
	if tlsServer {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	fakeEnv(t, map[string]string{})
	return k, srv
}

func TestAuthenticateMethodsAndEndpoints(t *testing.T) {
	k, srv := startKeystone(t, false)
	cases := []struct {
		name     string
		cfg      AccessConfig
		wantURL  string
		wantBody string
	}{
		{
			name:     "password, default public interface, first region",
			cfg:      AccessConfig{IdentityEndpoint: srv.URL + "/v3", Username: "demo", Password: "right-password", ProjectName: "demo"},
			wantURL:  "/image/RegionOne/public/",
			wantBody: `"password"`,
		},
		{
			name:     "token, region kz-ala-1, internal",
			cfg:      AccessConfig{IdentityEndpoint: srv.URL + "/v3", Token: "right-token", Region: "kz-ala-1", EndpointType: "internal"},
			wantURL:  "/image/kz-ala-1/internal/",
			wantBody: "", // validated with GET, no body
		},
		{
			name:     "application credential, admin",
			cfg:      AccessConfig{IdentityEndpoint: srv.URL + "/v3", ApplicationCredentialID: "ac", ApplicationCredentialSecret: "right-secret", EndpointType: "admin", Region: "RegionOne"},
			wantURL:  "/image/RegionOne/admin/",
			wantBody: `"application_credential"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sess, err := tc.cfg.Authenticate(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			img, err := openstack.NewImageV2(sess.Provider, sess.EndpointOpts())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(strings.TrimSuffix(img.Endpoint, "v2/"), tc.wantURL) {
				t.Errorf("image endpoint = %s, want suffix %s", img.Endpoint, tc.wantURL)
			}
			if tc.wantBody == "" {
				return
			}
			k.mu.Lock()
			last, _ := json.Marshal(k.bodies[len(k.bodies)-1])
			k.mu.Unlock()
			if !strings.Contains(string(last), tc.wantBody) {
				t.Errorf("auth body %s lacks %s", last, tc.wantBody)
			}
		})
	}
	// A catalog without the service says which service, interface and region.
	sess, err := (&AccessConfig{IdentityEndpoint: srv.URL + "/v3", Username: "demo", Password: "right-password"}).Authenticate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = openstack.NewComputeV2(sess.Provider, sess.EndpointOpts())
	if err == nil {
		t.Fatal("the catalog has no compute service, yet a compute client was made")
	}
	if err := sess.ServiceError("compute", err); !strings.Contains(err.Error(), "finding the compute endpoint (public interface, any region)") {
		t.Errorf("missing compute endpoint error = %v", err)
	}
}

// The session knows the project its token is scoped to, however it logged in:
// name checks and clean-up look only at that project's images.
func TestSessionKnowsTheTokensProject(t *testing.T) {
	_, srv := startKeystone(t, false)
	auth := srv.URL + "/v3"
	cases := []struct {
		name string
		cfg  AccessConfig
		want Project
	}{
		{"password with a project", AccessConfig{IdentityEndpoint: auth, Username: "demo", Password: "right-password", ProjectName: "demo"},
			Project{ID: "p-demo", Name: "demo", DomainID: "default"}},
		{"project-scoped token", AccessConfig{IdentityEndpoint: auth, Token: "right-token"},
			Project{ID: "p-demo", Name: "demo", DomainID: "default"}},
		{"unscoped token", AccessConfig{IdentityEndpoint: auth, Token: "unscoped-token"}, Project{}},
		{"password without a project", AccessConfig{IdentityEndpoint: auth, Username: "demo", Password: "right-password"}, Project{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sess, err := tc.cfg.Authenticate(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if sess.Project != tc.want {
				t.Errorf("Project = %+v, want %+v", sess.Project, tc.want)
			}
			if sess.UserName != "demo" || sess.UserID != "u1" {
				t.Errorf("user = %q (%s), want demo (u1)", sess.UserName, sess.UserID)
			}
		})
	}
}

func TestAuthenticateFailuresNameEndpointMethodAndReason(t *testing.T) {
	_, srv := startKeystone(t, false)
	cfg := AccessConfig{IdentityEndpoint: srv.URL + "/v3", Username: "demo", Password: "wrong-password-123", ProjectName: "demo"}
	_, err := cfg.Authenticate(context.Background())
	if err == nil {
		t.Fatal("wrong password accepted")
	}
	for _, want := range []string{srv.URL + "/v3", "password of user demo, project demo", "the credentials were rejected (HTTP 401)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "wrong-password-123") {
		t.Error("the error leaks the password")
	}

	unreachable := AccessConfig{IdentityEndpoint: "http://127.0.0.1:1/v3", Username: "demo", Password: "x"}
	_, err = unreachable.Authenticate(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot reach the endpoint") {
		t.Errorf("unreachable endpoint error = %v", err)
	}
}

func TestAuthenticateTLS(t *testing.T) {
	_, srv := startKeystone(t, true)
	base := AccessConfig{IdentityEndpoint: srv.URL + "/v3", Username: "demo", Password: "right-password"}

	if _, err := base.Authenticate(context.Background()); err == nil {
		t.Fatal("an unknown CA was trusted")
	}

	insecure := base
	insecure.Insecure = true
	if _, err := insecure.Authenticate(context.Background()); err != nil {
		t.Fatalf("insecure: %v", err)
	}

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	withCA := base
	withCA.CACertFile = caFile
	if _, err := withCA.Authenticate(context.Background()); err != nil {
		t.Fatalf("cacert: %v", err)
	}

	// The same CA from a clouds.yaml entry, as the openstack client reads it.
	clouds := fmt.Sprintf("clouds:\n  tls:\n    auth:\n      auth_url: %s/v3\n      username: demo\n      password: right-password\n    cacert: %s\n", srv.URL, caFile)
	env := writeClouds(t, clouds, "")
	fakeEnv(t, env)
	if _, err := (&AccessConfig{Cloud: "tls"}).Authenticate(context.Background()); err != nil {
		t.Fatalf("cacert from clouds.yaml: %v", err)
	}
	// verify: false in clouds.yaml
	clouds = fmt.Sprintf("clouds:\n  noverify:\n    auth:\n      auth_url: %s/v3\n      username: demo\n      password: right-password\n    verify: false\n", srv.URL)
	env = writeClouds(t, clouds, "")
	fakeEnv(t, env)
	if _, err := (&AccessConfig{Cloud: "noverify"}).Authenticate(context.Background()); err != nil {
		t.Fatalf("verify: false from clouds.yaml: %v", err)
	}
}

func TestRequestLogRedactsAndKeepsErrorBodies(t *testing.T) {
	_, srv := startKeystone(t, false)
	var buf bytes.Buffer
	log.SetOutput(&buf)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })

	cfg := AccessConfig{IdentityEndpoint: srv.URL + "/v3", Username: "demo", Password: "s3cret-pass"}
	_, _ = cfg.Authenticate(context.Background())
	out := buf.String()
	if !strings.Contains(out, "POST "+srv.URL+"/v3/auth/tokens -> 401") {
		t.Errorf("request line missing from log:\n%s", out)
	}
	if !strings.Contains(out, "requires authentication") {
		t.Errorf("error body missing from log:\n%s", out)
	}
	if strings.Contains(out, "s3cret-pass") {
		t.Errorf("password in log:\n%s", out)
	}
}

func TestRedaction(t *testing.T) {
	cases := map[string]string{
		"https://user:pw@mirror.example.com/f.qcow2":           "https://redacted@mirror.example.com/f.qcow2",
		"https://h/f?temp_url_sig=abc&temp_url_expires=1":      "https://h/f?temp_url_expires=1&temp_url_sig=redacted",
		"https://h/f?X-Amz-Signature=abc&X-Amz-Credential=def": "https://h/f?X-Amz-Credential=redacted&X-Amz-Signature=redacted",
		"https://h/plain.qcow2":                                "https://h/plain.qcow2",
	}
	for in, want := range cases {
		if got := RedactURLString(in); got != want {
			t.Errorf("RedactURLString(%q) = %q, want %q", in, got, want)
		}
	}
	body := `{"error":"x","password":"p\"w","token": "t1", "name":"keep"}`
	got := redactBody(body)
	if strings.Contains(got, `p\"w`) || strings.Contains(got, "t1") || !strings.Contains(got, "keep") {
		t.Errorf("redactBody = %s", got)
	}
}

func TestImageSizeHeaderBecomesContentLength(t *testing.T) {
	var gotLength int64
	var gotTE []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotLength, gotTE = r.ContentLength, r.TransferEncoding
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	client := http.Client{Transport: newTransport(nil)}

	// An io.Reader of unknown length is sent chunked ...
	req, _ := http.NewRequest(http.MethodPut, srv.URL, io.NopCloser(strings.NewReader("0123456789")))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if gotLength != -1 || len(gotTE) == 0 {
		t.Fatalf("baseline: length %d, transfer-encoding %v; want chunked", gotLength, gotTE)
	}
	// ... unless the image size header tells its length.
	req, _ = http.NewRequest(http.MethodPut, srv.URL, io.NopCloser(strings.NewReader("0123456789")))
	req.Header.Set(ImageSizeHeader, "10")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if gotLength != 10 || len(gotTE) != 0 {
		t.Errorf("with %s: length %d, transfer-encoding %v; want 10, none", ImageSizeHeader, gotLength, gotTE)
	}
}

func TestExpiredTokenIsRenewed(t *testing.T) {
	k, srv := startKeystone(t, false)
	sess, err := (&AccessConfig{IdentityEndpoint: srv.URL + "/v3", Username: "demo", Password: "right-password"}).Authenticate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// A service that declares the first token expired, as Keystone does after its lifetime.
	var seen []string
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("X-Auth-Token"))
		if r.Header.Get("X-Auth-Token") == "tok-1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer svc.Close()
	client := &gophercloudServiceClient{sess}
	if err := client.get(svc.URL); err != nil {
		t.Fatalf("call after expiry: %v", err)
	}
	if len(seen) != 2 || seen[0] != "tok-1" || seen[1] != "tok-2" {
		t.Errorf("tokens seen by the service = %v, want [tok-1 tok-2]", seen)
	}
	if k.issued != 2 {
		t.Errorf("tokens issued = %d, want 2", k.issued)
	}
}

func TestExpiredTokenLoginSaysItCannotBeRenewed(t *testing.T) {
	_, srv := startKeystone(t, false)
	sess, err := (&AccessConfig{IdentityEndpoint: srv.URL + "/v3", Token: "right-token"}).Authenticate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer svc.Close()
	err = (&gophercloudServiceClient{sess}).get(svc.URL)
	if err == nil || !strings.Contains(err.Error(), "a token login cannot be renewed") {
		t.Fatalf("error after the token expired = %v", err)
	}
}

// gophercloudServiceClient makes one raw authenticated GET through a session.
type gophercloudServiceClient struct{ s *Session }

func (c *gophercloudServiceClient) get(url string) error {
	sc := &gophercloud.ServiceClient{ProviderClient: c.s.Provider, Endpoint: url + "/"}
	var out map[string]any
	_, err := sc.Get(context.Background(), url, &out, nil)
	return err
}
