// Package fakeglance is a small Keystone v3 + Glance v2 emulator on 127.0.0.1 for
// the import engine's tests, memory test, benchmark and end-to-end tests. It
// implements only the calls the import makes, with Glance's import semantics
// (lock property, failure back to queued, task messages), and it hashes image
// data instead of keeping it, so multi-GiB streams cost no memory.
package fakeglance

import (
	"crypto/md5" //nolint:gosec // Glance's legacy checksum is MD5
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// ProjectID is the project every token is scoped to.
const ProjectID = "0a1b2c3d4e5f4a5b8c9d0e1f2a3b4c5d"

// Options tune the emulator.
type Options struct {
	// ImportMethods advertised by /v2/info/import; nil means glance-direct and web-download.
	ImportMethods []string
	// KeepData keeps up to this many bytes of each image's data (for content checks).
	KeepData int64
	// WebDownloadFailure, when set, makes every web-download task fail with this message.
	WebDownloadFailure string
	// TaskDelay delays the start of import tasks.
	TaskDelay time.Duration
	// LockRelease is how long a successful import task keeps its lock
	// (os_glance_import_task) after the image turns active. Real Glance does the
	// same: the image is active once the first store has the data, and the task
	// drops the lock when it has finished everything else.
	LockRelease time.Duration
	// LoseCreateReplies makes the first n image creates happen but answer 504, as
	// a proxy that timed out would.
	LoseCreateReplies int
}

// Upload is what the emulator saw of one data request.
type Upload struct {
	ImageID          string
	Path             string // "file" or "stage"
	ContentLength    int64
	TransferEncoding []string
	SizeHeader       string
	Bytes            int64
	Completed        bool
}

// Cloud is a running emulator.
type Cloud struct {
	URL  string
	opts Options
	srv  *http.Server
	ln   net.Listener

	mu      sync.Mutex
	images  map[string]*image
	seq     int
	uploads []Upload
	raced   []string    // changes made to an image while its import task held it
	lost    int         // image creates whose reply was replaced by a 504
	started chan string // image IDs whose data transfer began
	wg      sync.WaitGroup
}

type image struct {
	fields  map[string]any
	data    []byte
	staged  *hashed
	tasks   []map[string]any
	members map[string]string
}

type hashed struct {
	size   int64
	sha512 string
	md5    string
	data   []byte
}

// Start runs an emulator on a free port of 127.0.0.1.
func Start(opts Options) (*Cloud, error) {
	if opts.ImportMethods == nil {
		opts.ImportMethods = []string{"glance-direct", "web-download"}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &Cloud{URL: "http://" + ln.Addr().String(), opts: opts, ln: ln, images: map[string]*image{}, started: make(chan string, 64)}
	c.srv = &http.Server{Handler: http.HandlerFunc(c.serve), ReadHeaderTimeout: 10 * time.Second}
	go c.srv.Serve(ln) //nolint:errcheck // ends with Close
	return c, nil
}

// Close stops the server and waits for running tasks.
func (c *Cloud) Close() {
	c.srv.Close()
	c.wg.Wait()
}

// WriteCloudsYAML writes a clouds.yaml with the cloud "fake" (region RegionOne).
func (c *Cloud) WriteCloudsYAML(path string) error {
	body := fmt.Sprintf(`clouds:
  fake:
    auth:
      auth_url: %s/v3
      username: demo
      password: secret-demo-password
      project_name: demo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
`, c.URL)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(body), 0o600)
}

// UploadStarted delivers the ID of each image whose data transfer begins.
func (c *Cloud) UploadStarted() <-chan string { return c.started }

// Images returns a copy of every image's fields.
func (c *Cloud) Images() []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, img := range c.images {
		out = append(out, copyMap(img.fields))
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["created_at"].(string) < out[j]["created_at"].(string) })
	return out
}

// ImageData returns the kept data of an image.
func (c *Cloud) ImageData(id string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if img := c.images[id]; img != nil {
		return append([]byte(nil), img.data...)
	}
	return nil
}

// Uploads lists the data requests seen so far.
func (c *Cloud) Uploads() []Upload {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Upload(nil), c.uploads...)
}

// Members returns the member statuses of an image.
func (c *Cloud) Members(id string) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]string{}
	if img := c.images[id]; img != nil {
		for k, v := range img.members {
			out[k] = v
		}
	}
	return out
}

// AddImage creates an active image directly (for name clashes).
func (c *Cloud) AddImage(name string, protected bool) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.newImage(map[string]any{"name": name, "disk_format": "qcow2", "container_format": "bare"})
	img.fields["status"] = "active"
	img.fields["protected"] = protected
	return img.fields["id"].(string)
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (c *Cloud) serve(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case p == "/v3/auth/tokens" && r.Method == http.MethodPost:
		c.token(w, r)
	case p == "/v3":
		writeJSON(w, 200, map[string]any{"version": map[string]any{"id": "v3.14", "status": "stable", "links": []any{map[string]any{"rel": "self", "href": c.URL + "/v3/"}}}})
	case p == "/image" || p == "/image/v2":
		// Version discovery, as Glance answers it.
		writeJSON(w, 300, map[string]any{"versions": []any{map[string]any{"id": "v2.16", "status": "CURRENT",
			"links": []any{map[string]any{"rel": "self", "href": c.URL + "/image/v2/"}}}}})
	case strings.HasPrefix(p, "/image/v2/"):
		if r.Header.Get("X-Auth-Token") != "fake-token" {
			writeJSON(w, 401, map[string]any{"error": "unauthorized"})
			return
		}
		c.glance(w, r, strings.Split(strings.TrimPrefix(p, "/image/v2/"), "/"))
	default:
		http.NotFound(w, r)
	}
}

func (c *Cloud) token(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Auth struct {
			Identity struct {
				Password struct {
					User struct {
						Name     string `json:"name"`
						Password string `json:"password"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
		} `json:"auth"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	if body.Auth.Identity.Password.User.Password != "secret-demo-password" {
		writeJSON(w, 401, map[string]any{"error": map[string]any{"code": 401, "message": "The request you have made requires authentication."}})
		return
	}
	endpoint := func(region string) map[string]any {
		return map[string]any{"id": "e-" + region, "interface": "public", "region": region, "region_id": region, "url": c.URL + "/image"}
	}
	w.Header().Set("X-Subject-Token", "fake-token")
	writeJSON(w, 201, map[string]any{"token": map[string]any{
		"methods":    []string{"password"},
		"expires_at": time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000000Z"),
		"issued_at":  time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"),
		"user":       map[string]any{"id": "u1", "name": "demo", "domain": map[string]any{"id": "default", "name": "Default"}},
		"project":    map[string]any{"id": ProjectID, "name": "demo", "domain": map[string]any{"id": "default", "name": "Default"}},
		"catalog": []any{
			map[string]any{"id": "s-image", "type": "image", "name": "glance", "endpoints": []any{endpoint("RegionOne"), endpoint("kz-ala-1")}},
		},
	}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func glanceError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"code": code, "title": http.StatusText(code), "message": msg})
}

var reserved = map[string]bool{"id": true, "status": true, "size": true, "checksum": true, "os_hash_algo": true, "os_hash_value": true, "created_at": true, "updated_at": true, "owner": true, "file": true, "schema": true, "self": true}

func (c *Cloud) newImage(fields map[string]any) *image {
	c.seq++
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", c.seq)
	now := time.Now().UTC().Add(time.Duration(c.seq) * time.Millisecond).Format(time.RFC3339Nano)
	f := map[string]any{
		"id": id, "status": "queued", "visibility": "shared", "protected": false, "os_hidden": false,
		"tags": []string{}, "min_disk": 0, "min_ram": 0, "size": nil, "virtual_size": nil, "checksum": nil,
		"os_hash_algo": nil, "os_hash_value": nil, "owner": ProjectID, "created_at": now, "updated_at": now,
		"file": "/v2/images/" + id + "/file", "schema": "/v2/schemas/image", "self": "/v2/images/" + id,
	}
	for k, v := range fields {
		if !reserved[k] {
			f[k] = v
		}
	}
	img := &image{fields: f, members: map[string]string{}}
	c.images[id] = img
	return img
}

func (c *Cloud) glance(w http.ResponseWriter, r *http.Request, parts []string) {
	switch {
	case len(parts) == 2 && parts[0] == "info" && parts[1] == "import":
		writeJSON(w, 200, map[string]any{"import-methods": map[string]any{"description": "Import methods available.", "type": "array", "value": c.opts.ImportMethods}})
	case len(parts) == 1 && parts[0] == "images" && r.Method == http.MethodGet:
		c.list(w, r)
	case len(parts) == 1 && parts[0] == "images" && r.Method == http.MethodPost:
		var fields map[string]any
		if err := json.NewDecoder(r.Body).Decode(&fields); err != nil {
			glanceError(w, 400, err.Error())
			return
		}
		for k := range fields {
			if strings.HasPrefix(k, "os_glance") {
				glanceError(w, 403, "Attribute '"+k+"' is reserved.")
				return
			}
		}
		c.mu.Lock()
		img := c.newImage(fields)
		out := copyMap(img.fields)
		lose := c.lost < c.opts.LoseCreateReplies
		if lose {
			c.lost++
		}
		c.mu.Unlock()
		if lose {
			glanceError(w, 504, "Gateway Timeout")
			return
		}
		w.Header().Set("OpenStack-image-import-methods", strings.Join(c.opts.ImportMethods, ","))
		writeJSON(w, 201, out)
	case len(parts) >= 2 && parts[0] == "images":
		c.mu.Lock()
		img := c.images[parts[1]]
		c.mu.Unlock()
		if img == nil {
			glanceError(w, 404, "No image found with ID "+parts[1])
			return
		}
		c.imageCall(w, r, img, parts[2:])
	default:
		glanceError(w, 404, "not found")
	}
}

func (c *Cloud) list(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	c.mu.Lock()
	var out []map[string]any
	for _, img := range c.images {
		if name == "" || img.fields["name"] == name {
			out = append(out, copyMap(img.fields))
		}
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i]["created_at"].(string) > out[j]["created_at"].(string) })
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, 200, map[string]any{"images": out, "schema": "/v2/schemas/images", "first": "/v2/images"})
}

// Raced lists the changes ("PATCH <id>", "DELETE <id>", ...) clients made to an
// image while its import task still held the lock. On real Glance such a change
// races the task's own database updates and can fail with a 500.
func (c *Cloud) Raced() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.raced...)
}

func (c *Cloud) imageCall(w http.ResponseWriter, r *http.Request, img *image, rest []string) {
	id := img.fields["id"].(string)
	if r.Method != http.MethodGet && !(len(rest) == 1 && (rest[0] == "file" || rest[0] == "stage" || rest[0] == "import")) {
		c.mu.Lock()
		if _, locked := img.fields["os_glance_import_task"]; locked {
			c.raced = append(c.raced, strings.TrimSpace(r.Method+" "+id+" "+strings.Join(rest, "/")))
		}
		c.mu.Unlock()
	}
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		c.mu.Lock()
		out := copyMap(img.fields)
		c.mu.Unlock()
		writeJSON(w, 200, out)
	case len(rest) == 0 && r.Method == http.MethodDelete:
		c.mu.Lock()
		defer c.mu.Unlock()
		if img.fields["protected"] == true {
			glanceError(w, 403, "Image "+id+" is protected and cannot be deleted.")
			return
		}
		delete(c.images, id)
		w.WriteHeader(204)
	case len(rest) == 0 && r.Method == http.MethodPatch:
		var ops []struct {
			Op    string `json:"op"`
			Path  string `json:"path"`
			Value any    `json:"value"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ops); err != nil {
			glanceError(w, 400, err.Error())
			return
		}
		c.mu.Lock()
		for _, op := range ops {
			key := strings.TrimPrefix(op.Path, "/")
			if op.Op == "remove" {
				delete(img.fields, key)
			} else {
				img.fields[key] = op.Value
			}
		}
		out := copyMap(img.fields)
		c.mu.Unlock()
		writeJSON(w, 200, out)
	case len(rest) == 1 && (rest[0] == "file" || rest[0] == "stage") && r.Method == http.MethodPut:
		c.receive(w, r, img, rest[0])
	case len(rest) == 1 && rest[0] == "import" && r.Method == http.MethodPost:
		c.startImport(w, r, img)
	case len(rest) == 1 && rest[0] == "tasks" && r.Method == http.MethodGet:
		c.mu.Lock()
		tasks := append([]map[string]any{}, img.tasks...)
		c.mu.Unlock()
		writeJSON(w, 200, map[string]any{"tasks": tasks})
	case len(rest) == 1 && rest[0] == "members" && r.Method == http.MethodPost:
		var body struct {
			Member string `json:"member"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		c.mu.Lock()
		if img.fields["visibility"] != "shared" {
			c.mu.Unlock()
			glanceError(w, 403, "Only shared images have members.")
			return
		}
		img.members[body.Member] = "pending"
		c.mu.Unlock()
		writeJSON(w, 200, map[string]any{"image_id": id, "member_id": body.Member, "status": "pending", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "schema": "/v2/schemas/member"})
	case len(rest) == 2 && rest[0] == "members" && r.Method == http.MethodPut:
		var body struct {
			Status string `json:"status"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		c.mu.Lock()
		img.members[rest[1]] = body.Status
		c.mu.Unlock()
		writeJSON(w, 200, map[string]any{"image_id": id, "member_id": rest[1], "status": body.Status, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "schema": "/v2/schemas/member"})
	default:
		glanceError(w, 405, "method not allowed")
	}
}

// consume reads a data stream, hashing it and keeping a bounded prefix.
func (c *Cloud) consume(r io.Reader) (*hashed, error) {
	h512, h5 := sha512.New(), md5.New() //nolint:gosec
	var kept []byte
	buf := make([]byte, 256<<10)
	var n int64
	for {
		k, err := r.Read(buf)
		if k > 0 {
			h512.Write(buf[:k])
			h5.Write(buf[:k])
			if room := c.opts.KeepData - int64(len(kept)); room > 0 {
				kept = append(kept, buf[:min(int64(k), room)]...)
			}
			n += int64(k)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return &hashed{size: n, sha512: hexSum(h512), md5: hexSum(h5), data: kept}, nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

func (c *Cloud) receive(w http.ResponseWriter, r *http.Request, img *image, kind string) {
	id := img.fields["id"].(string)
	c.mu.Lock()
	status := img.fields["status"]
	if status != "queued" {
		c.mu.Unlock()
		glanceError(w, 409, fmt.Sprintf("Image status transition from %s to saving is not allowed", status))
		return
	}
	if kind == "file" {
		img.fields["status"] = "saving"
	} else {
		img.fields["status"] = "uploading"
	}
	idx := len(c.uploads)
	c.uploads = append(c.uploads, Upload{ImageID: id, Path: kind, ContentLength: r.ContentLength, TransferEncoding: r.TransferEncoding, SizeHeader: r.Header.Get("X-Openstack-Image-Size")})
	c.mu.Unlock()
	select {
	case c.started <- id:
	default:
	}
	got, err := c.consume(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		// A broken upload puts a v2 image back to queued.
		if _, alive := c.images[id]; alive {
			img.fields["status"] = "queued"
		}
		c.uploads[idx].Bytes = -1
		glanceError(w, 400, "upload broke: "+err.Error())
		return
	}
	c.uploads[idx].Bytes, c.uploads[idx].Completed = got.size, true
	if _, alive := c.images[id]; !alive {
		glanceError(w, 404, "image deleted during upload")
		return
	}
	if kind == "stage" {
		img.staged = got
		w.WriteHeader(204)
		return
	}
	c.activate(img, got)
	w.WriteHeader(204)
}

func (c *Cloud) activate(img *image, got *hashed) {
	img.fields["status"] = "active"
	img.fields["size"] = got.size
	img.fields["checksum"] = got.md5
	img.fields["os_hash_algo"] = "sha512"
	img.fields["os_hash_value"] = got.sha512
	img.data = got.data
}

func (c *Cloud) startImport(w http.ResponseWriter, r *http.Request, img *image) {
	var body struct {
		Method struct {
			Name string `json:"name"`
			URI  string `json:"uri"`
		} `json:"method"`
		Stores               []string `json:"stores"`
		AllStoresMustSucceed *bool    `json:"all_stores_must_succeed"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		glanceError(w, 400, err.Error())
		return
	}
	if body.AllStoresMustSucceed != nil {
		glanceError(w, 400, "All_stores_must_succeed can only be set with enabled_backends")
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	status := img.fields["status"]
	if _, locked := img.fields["os_glance_import_task"]; locked {
		glanceError(w, 409, "New operation on image is not permitted as prior operation is still in progress")
		return
	}
	switch body.Method.Name {
	case "web-download":
		if status != "queued" {
			glanceError(w, 409, "Image needs to be in 'queued' state to use 'web-download' method")
			return
		}
	case "glance-direct":
		if status != "uploading" || img.staged == nil {
			glanceError(w, 409, "Image needs to be staged before 'glance-direct' method can be used")
			return
		}
	default:
		glanceError(w, 400, "Unknown import method name '"+body.Method.Name+"'.")
		return
	}
	taskID := fmt.Sprintf("task-%d", len(img.tasks)+1)
	img.fields["os_glance_import_task"] = taskID
	img.fields["status"] = "importing"
	if body.Method.Name == "web-download" {
		img.fields["status"] = "queued" // Glance leaves it queued until the task starts
	}
	img.tasks = append(img.tasks, map[string]any{"id": taskID, "type": "api_image_import", "status": "pending", "message": "", "created_at": time.Now().UTC().Format(time.RFC3339Nano)})
	id := img.fields["id"].(string)
	c.wg.Add(1)
	go c.runTask(id, taskID, body.Method.Name, body.Method.URI)
	w.WriteHeader(202)
}

func (c *Cloud) runTask(id, taskID, method, uri string) {
	defer c.wg.Done()
	time.Sleep(c.opts.TaskDelay)
	c.setImage(id, func(img *image) { img.fields["status"] = "importing"; c.task(img, taskID, "processing", "") })
	var got *hashed
	var err error
	switch method {
	case "web-download":
		if c.opts.WebDownloadFailure != "" {
			err = fmt.Errorf("%s", c.opts.WebDownloadFailure)
			break
		}
		var resp *http.Response
		resp, err = http.Get(uri) //nolint:gosec,noctx // the test's own server
		if err == nil {
			if resp.StatusCode != 200 {
				err = fmt.Errorf("HTTP %d from %s", resp.StatusCode, uri)
			} else {
				got, err = c.consume(resp.Body)
			}
			resp.Body.Close()
		}
	case "glance-direct":
		c.mu.Lock()
		if img := c.images[id]; img != nil {
			got = img.staged
		}
		c.mu.Unlock()
	}
	c.setImage(id, func(img *image) {
		delete(img.fields, "os_glance_import_task")
		if err != nil || got == nil {
			msg := "image data missing"
			if err != nil {
				msg = err.Error()
			}
			img.fields["status"] = "queued"
			c.task(img, taskID, "failure", "Error: "+msg)
			return
		}
		c.activate(img, got)
		if c.opts.LockRelease > 0 {
			img.fields["os_glance_import_task"] = taskID // active, but the task is not done yet
			return
		}
		c.task(img, taskID, "success", "Import complete")
	})
	if err == nil && got != nil && c.opts.LockRelease > 0 {
		time.Sleep(c.opts.LockRelease)
		c.setImage(id, func(img *image) {
			delete(img.fields, "os_glance_import_task")
			c.task(img, taskID, "success", "Import complete")
		})
	}
}

func (c *Cloud) setImage(id string, f func(*image)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if img := c.images[id]; img != nil {
		f(img)
	}
}

func (c *Cloud) task(img *image, id, status, msg string) {
	for _, t := range img.tasks {
		if t["id"] == id {
			t["status"] = status
			t["message"] = msg
		}
	}
}
