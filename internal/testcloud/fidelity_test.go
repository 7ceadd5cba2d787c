package testcloud

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Behaviour found by the differential suite against real Glance 25 and Keystone 22 (see
// test/realcloud/FACTS.md), checked here without a real cloud.

// rawCall sends one request with a token and returns status, headers and body.
func rawCall(t *testing.T, method, url, token string, body io.Reader, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func jsonBody(t *testing.T, v any) io.Reader {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

var jsonHeaders = map[string]string{"Content-Type": "application/json", "Accept": "application/json"}

// glanceFixture is a demo token and the RegionOne public image endpoint.
func glanceFixture(t *testing.T, c *Cloud) (token, base string) {
	pc := demoProvider(t, c)
	return pc.Token(), strings.TrimRight(imageClient(t, pc, "RegionOne").Endpoint, "/")
}

func createRaw(t *testing.T, token, base string, body map[string]any) map[string]any {
	t.Helper()
	st, _, b := rawCall(t, "POST", base+"/v2/images", token, jsonBody(t, body), jsonHeaders)
	if st != 201 {
		t.Fatalf("create: %d %s", st, b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func getRaw(t *testing.T, token, base, id string) map[string]any {
	t.Helper()
	st, _, b := rawCall(t, "GET", base+"/v2/images/"+id, token, nil, jsonHeaders)
	if st != 200 {
		t.Fatalf("get: %d %s", st, b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func TestGlanceErrorsFollowAccept(t *testing.T) {
	c := startCloud(t, Options{})
	token, base := glanceFixture(t, c)
	st, h, b := rawCall(t, "GET", base+"/v2/images/nope", token, nil, map[string]string{"Accept": "application/json"})
	var m map[string]any
	if st != 404 || json.Unmarshal(b, &m) != nil || m["code"] != "404 Not Found" || m["title"] != "Not Found" ||
		!strings.Contains(m["message"].(string), "nope<br /><br />") {
		t.Errorf("JSON error: %d %s %s", st, h.Get("Content-Type"), b)
	}
	st, h, b = rawCall(t, "GET", base+"/v2/images/nope", token, nil, nil)
	if st != 404 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(string(b), "<h1>404 Not Found</h1>") {
		t.Errorf("HTML error: %d %s %s", st, h.Get("Content-Type"), b)
	}
	st, h, _ = rawCall(t, "GET", base+"/v2/images", "bad", nil, nil)
	if st != 401 || h.Get("WWW-Authenticate") != `Keystone uri="`+c.baseURL+`/identity"` {
		t.Errorf("401: %d %q", st, h.Get("WWW-Authenticate"))
	}
}

func TestGlanceListFiltersLikeGlanceDatabase(t *testing.T) {
	c := startCloud(t, Options{})
	token, base := glanceFixture(t, c)
	createRaw(t, token, base, map[string]any{"name": "a", "grp": "g", "val": "in:x,y", "min_ram": 64})
	createRaw(t, token, base, map[string]any{"name": "b", "grp": "g", "val": "x"})
	list := func(query string) (int, string) {
		st, _, b := rawCall(t, "GET", base+"/v2/images?grp=g&"+query, token, nil, jsonHeaders)
		var m struct{ Images []struct{ Name string } }
		_ = json.Unmarshal(b, &m)
		var names []string
		for _, img := range m.Images {
			names = append(names, img.Name)
		}
		return st, strings.Join(names, ",")
	}
	cases := []struct {
		query, names string
		status       int
	}{
		{"val=" + url.QueryEscape("in:x,y"), "a", 200},
		{"val=x", "b", 200},
		{"name=eq:a", "a", 200},
		{"name=in:a,b&sort=name:asc", "a,b", 200},
		{"name=a:x", "", 400},
		{"status=queued:x", "", 400},
		{"owner=in:" + c.ProjectID(DemoProject), "", 200},
		{"owner=" + c.ProjectID(DemoProject) + "&sort=name:asc", "a,b", 200},
		{"min_ram=64", "a", 200},
		{"min_ram_min=1", "a", 200},
		{"min_ram_min=x", "", 400},
		{"val_min=1", "", 500},
		{"os_hidden=1", "", 400},
		{"protected=True", "", 400},
		{"member_status=maybe", "", 400},
		{"created_at=yesterday", "", 400},
	}
	for _, tc := range cases {
		st, names := list(tc.query)
		if st != tc.status || (st == 200 && names != tc.names) {
			t.Errorf("%s: %d %q, want %d %q", tc.query, st, names, tc.status, tc.names)
		}
	}
}

func TestGlanceSortTieBreakFollowsTheOnlyDirection(t *testing.T) {
	c := startCloud(t, Options{})
	token, base := glanceFixture(t, c)
	for i := 0; i < 4; i++ {
		createRaw(t, token, base, map[string]any{"name": "same", "grp": "t"})
	}
	ids := func(query string) []string {
		_, _, b := rawCall(t, "GET", base+"/v2/images?grp=t&"+query, token, nil, jsonHeaders)
		var m struct {
			Images []struct {
				ID        string `json:"id"`
				CreatedAt string `json:"created_at"`
			}
		}
		_ = json.Unmarshal(b, &m)
		var out []string
		for _, img := range m.Images {
			out = append(out, img.CreatedAt+" "+img.ID)
		}
		return out
	}
	sorted := func(keys []string, desc bool) bool {
		for i := 1; i < len(keys); i++ {
			if (keys[i-1] < keys[i]) == desc {
				return false
			}
		}
		return len(keys) == 4
	}
	if k := ids("sort=name:asc"); !sorted(k, false) {
		t.Errorf("sort=name:asc: ties not ascending: %v", k)
	}
	if k := ids("sort=name:asc,status:asc"); !sorted(k, true) {
		t.Errorf("two directions: ties not descending: %v", k)
	}
	if k := ids(""); !sorted(k, true) {
		t.Errorf("default: not descending: %v", k)
	}
}

// qcow2Header is the start of a qcow2 file of the given virtual size (enough for the inspector).
func qcow2Header(size uint64) []byte {
	b := make([]byte, 1024)
	copy(b, "QFI\xfb")
	binary.BigEndian.PutUint32(b[4:], 3)
	binary.BigEndian.PutUint64(b[24:], size)
	return b
}

func TestGlanceVirtualSizeAndGzipImport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		switch r.URL.Path {
		case "/disk.qcow2.gz":
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write(qcow2Header(1 << 30))
			_ = zw.Close()
			body = buf.Bytes()
		case "/chunked":
			w.(http.Flusher).Flush() // no Content-Length
			_, _ = w.Write([]byte("data"))
			return
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	port, _ := strconv.Atoi(srv.URL[strings.LastIndex(srv.URL, ":")+1:])
	c := startCloud(t, Options{WebDownloadAllowedPorts: []int{port}})
	token, base := glanceFixture(t, c)
	upload := func(format string, data []byte) map[string]any {
		img := createRaw(t, token, base, map[string]any{"name": "vs-" + format, "disk_format": format, "container_format": "bare"})
		st, _, b := rawCall(t, "PUT", base+"/v2/images/"+img["id"].(string)+"/file", token, bytes.NewReader(data),
			map[string]string{"Content-Type": "application/octet-stream"})
		if st != 204 {
			t.Fatalf("upload %s: %d %s", format, st, b)
		}
		return getRaw(t, token, base, img["id"].(string))
	}
	if got := upload("qcow2", qcow2Header(64<<20))["virtual_size"]; got != float64(64<<20) {
		t.Errorf("qcow2 virtual_size %v", got)
	}
	if got := upload("raw", make([]byte, 1000))["virtual_size"]; got != float64(1000) {
		t.Errorf("raw virtual_size %v", got)
	}
	if got := upload("vmdk", make([]byte, 1000))["virtual_size"]; got != nil {
		t.Errorf("vmdk virtual_size %v, want null (not inspected)", got)
	}

	webDownload := func(path string) string {
		img := createRaw(t, token, base, map[string]any{"name": "web", "disk_format": "qcow2", "container_format": "bare"})
		id := img["id"].(string)
		st, _, b := rawCall(t, "POST", base+"/v2/images/"+id+"/import", token,
			jsonBody(t, map[string]any{"method": map[string]any{"name": "web-download", "uri": srv.URL + path}}), jsonHeaders)
		if st != 202 {
			t.Fatalf("import: %d %s", st, b)
		}
		waitFor(t, "import of "+path+" to settle", func() bool {
			m := getRaw(t, token, base, id)
			_, locked := m["os_glance_import_task"]
			return !locked && (m["status"] == "active" || m["status"] == "queued")
		})
		return id
	}
	m := getRaw(t, token, base, webDownload("/disk.qcow2.gz"))
	if m["status"] != "active" || m["size"] != float64(1024) || m["virtual_size"] != float64(1<<30) ||
		m["os_glance_failed_import"] != "" || m["os_glance_importing_to_stores"] != "" {
		t.Errorf("gzip web-download: %v", m)
	}
	m = getRaw(t, token, base, webDownload("/chunked"))
	if m["status"] != "queued" || m["os_glance_failed_import"] != "file1" {
		t.Errorf("web-download without Content-Length: %v", m)
	}
}

func TestKeystoneTokenFromTokenAndAllowExpired(t *testing.T) {
	c := startCloud(t, Options{TokenLifetime: 2 * time.Second})
	auth := c.AuthURL() + "/auth/tokens"
	issue := func(body map[string]any) (int, string, map[string]any) {
		st, h, b := rawCall(t, "POST", auth, "", jsonBody(t, body), jsonHeaders)
		var m struct{ Token map[string]any }
		_ = json.Unmarshal(b, &m)
		return st, h.Get("X-Subject-Token"), m.Token
	}
	st, first, tok := issue(map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": DemoUser, "domain": map[string]any{"name": "Default"}, "password": DemoPassword}}},
		"scope": map[string]any{"project": map[string]any{"name": DemoProject, "domain": map[string]any{"name": "Default"}}}}})
	if st != 201 {
		t.Fatalf("password: %d", st)
	}
	st, _, tok2 := issue(map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"token"}, "token": map[string]any{"id": first}},
		"scope":    map[string]any{"project": map[string]any{"id": c.ProjectID(DemoProject)}}}})
	if st != 201 || tok2["expires_at"] != tok["expires_at"] {
		t.Errorf("token from token: %d expires %v, want %v", st, tok2["expires_at"], tok["expires_at"])
	}
	if b, _ := json.Marshal(tok2["methods"]); string(b) != `["password","token"]` {
		t.Errorf("methods %s", b)
	}
	admin := adminProvider(t, c) // re-authenticates by itself when its own token expires
	waitFor(t, "the demo token to expire", func() bool { return time.Now().After(c.tokenExpiry(first)) })
	validate := func(query string) int {
		if err := admin.Reauthenticate(testCtx(t), ""); err != nil {
			t.Fatal(err)
		}
		st, _, _ := rawCall(t, "GET", auth+query, admin.Token(), nil, map[string]string{"X-Subject-Token": first})
		return st
	}
	if st := validate(""); st != 404 {
		t.Errorf("expired token validated: %d, want 404", st)
	}
	if st := validate("?allow_expired=1"); st != 200 {
		t.Errorf("expired token with allow_expired: %d, want 200", st)
	}
}
