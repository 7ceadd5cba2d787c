package osapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

func serviceClient(srv *httptest.Server, resourceBase string) *gophercloud.ServiceClient {
	return &gophercloud.ServiceClient{
		ProviderClient: &gophercloud.ProviderClient{},
		Endpoint:       srv.URL + "/",
		ResourceBase:   srv.URL + resourceBase,
	}
}

// A Glance stand-in serving three pages through next links.
func TestGlanceListImagesFollowsNextLinksAndSendsTheQuery(t *testing.T) {
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		queries = append(queries, r.URL.RawQuery)
		page := r.URL.Query().Get("marker")
		next := map[string]string{"": "m1", "m1": "m2", "m2": ""}[page]
		body := fmt.Sprintf(`{"images":[{"id":"img-%s","name":"n","status":"active","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","size":1}]`, page)
		if next != "" {
			q := r.URL.Query()
			q.Set("marker", next)
			body += fmt.Sprintf(`,"next":"/v2/images?%s"`, q.Encode())
		}
		fmt.Fprint(w, body+"}")
	}))
	defer srv.Close()

	var ids []string
	err := NewGlance(serviceClient(srv, "/v2/"), "").ListImages(context.Background(),
		ImageQuery{Name: "debian:12", Properties: map[string]string{"k": "a&b"}, Limit: 1},
		func(imgs []images.Image) bool {
			for _, i := range imgs {
				ids = append(ids, i.ID)
			}
			return true
		})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != "img-,img-m1,img-m2" {
		t.Errorf("pages read: %v", ids)
	}
	if !strings.Contains(queries[0], "name=in%3A%22debian%3A12%22") || !strings.Contains(queries[0], "k=a%26b") {
		t.Errorf("first query %q", queries[0])
	}
	if !strings.Contains(queries[2], "k=a%26b") {
		t.Errorf("filters lost on the third page: %q", queries[2])
	}
}

func TestGlanceListImagesStopsWhenAsked(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		calls++
		fmt.Fprint(w, `{"images":[{"id":"a","size":1}],"next":"/v2/images?marker=a"}`)
	}))
	defer srv.Close()
	err := NewGlance(serviceClient(srv, "/v2/"), "").ListImages(context.Background(), ImageQuery{},
		func([]images.Image) bool { return false })
	if err != nil || calls != 1 {
		t.Errorf("err %v after %d calls, want 1 call", err, calls)
	}
}

func TestGlanceListImagesErrorsNameEndpointAndStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"message": "Invalid sort key: owner"}`)
	}))
	defer srv.Close()
	err := NewGlance(serviceClient(srv, "/v2/"), "").ListImages(context.Background(), ImageQuery{Sort: "owner"},
		func([]images.Image) bool { return true })
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{srv.URL + "/v2/images", "GET", "HTTP 400 Bad Request", "Invalid sort key: owner"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestCompactBodyFlattensGlanceHTMLErrors(t *testing.T) {
	html := "<html>\n <head>\n  <title>400 Bad Request</title>\n </head>\n <body>\n  <h1>400 Bad Request</h1>\n  Invalid sort key: owner<br /><br />\n\n </body>\n</html>"
	if got := compactBody(html); got != "400 Bad Request Invalid sort key: owner" {
		t.Errorf("compactBody = %q", got)
	}
	// A JSON error is its message, with webob's line breaks gone and its own text kept.
	if got := compactBody(`{"code": "400 Bad Request", "message":
  "a <b> c<br /><br />\n\n"}`); got != "a <b> c" {
		t.Errorf("Glance's JSON message: %q", got)
	}
	if got := compactBody(`{"itemNotFound": {"code": 404, "message": "Flavor m9 could not be found."}}`); got != "Flavor m9 could not be found." {
		t.Errorf("Nova's JSON message: %q", got)
	}
	if got := compactBody(`{"unexpected": true}`); got != `{"unexpected": true}` {
		t.Errorf("a body with no message changed: %q", got)
	}
}

func keystone(t *testing.T, listStatus int, projectsJSON, availableJSON string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v3/projects":
			if listStatus != http.StatusOK {
				w.WriteHeader(listStatus)
				fmt.Fprint(w, `{"error": {"message": "forbidden"}}`)
				return
			}
			fmt.Fprintf(w, `{"projects": %s, "links": {}}`, projectsJSON)
		case "/v3/auth/projects":
			fmt.Fprintf(w, `{"projects": %s, "links": {}}`, availableJSON)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestKeystoneResolvesProjectNames(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name               string
		status             int
		listed, available  string
		owner, want, error string
	}{
		{"admin lists by name", 200, `[{"id":"p1","name":"admin","domain_id":"default"}]`, `[]`, "admin", "p1", ""},
		{"no such name: an ID", 200, `[]`, `[]`, "0123abcd", "0123abcd", ""},
		{"forbidden: own projects", 403, ``, `[{"id":"p2","name":"demo"},{"id":"p3","name":"other"}]`, "demo", "p2", ""},
		{"forbidden and not own: an ID", 403, ``, `[{"id":"p2","name":"demo"}]`, "p-public", "p-public", ""},
		{"same name in two domains", 200, `[{"id":"a","name":"x","domain_id":"d1"},{"id":"b","name":"x","domain_id":"d2"}]`, `[]`, "x", "", "2 projects are named"},
		{"server error", 500, ``, `[]`, "x", "", "HTTP 500"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := keystone(t, tc.status, tc.listed, tc.available)
			got, err := keystoneOn(serviceClient(srv, "/v3/")).ProjectID(ctx, tc.owner)
			if tc.error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.error) {
					t.Fatalf("err = %v, want %q", err, tc.error)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ProjectID(%q) = %q, %v; want %q", tc.owner, got, err, tc.want)
			}
		})
	}
}

func keystoneOn(c *gophercloud.ServiceClient) *Keystone {
	return &Keystone{client: func() (*gophercloud.ServiceClient, error) { return c, nil }}
}
