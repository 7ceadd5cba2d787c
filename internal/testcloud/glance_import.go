package testcloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// importMethods are the import methods the test cloud implements; Options.ImportMethods enables some
// of them, as Glance's enabled_import_methods does (default: defaultImportMethods).
var importMethods = []string{"glance-direct", "web-download", "copy-image", methodGlanceDownload}

// defaultImportMethods are those of the Zed reference cloud, which lacks glance-download.
var defaultImportMethods = []string{"glance-direct", "web-download", "copy-image"}

// methodGlanceDownload pulls an image from another region of the same Keystone (Glance 2023.1+). It is
// offered with Options.GlanceDownload, or when Options.ImportMethods names it.
const methodGlanceDownload = "glance-download"

// taskFailedMessage is the message of a failed import task on Glance (its executor's generic one).
const taskFailedMessage = "Task failed due to Internal Error"

// task is a Glance api_image_import task.
type task struct {
	ID, ImageID, Owner, UserID string
	RequestID                  string // X-Openstack-Request-Id of the import call
	Status, Message            string
	Input                      map[string]any
	Result                     map[string]any
	Created, Updated, Expires  time.Time
}

// json renders the task as GET /v2/tasks/{id} shows it.
func (t *task) json() map[string]any {
	m := map[string]any{
		"id": t.ID, "type": "api_image_import", "status": t.Status, "owner": t.Owner, "message": t.Message,
		"input": t.Input, "result": nil, "created_at": isoTime(t.Created), "updated_at": isoTime(t.Updated),
		"image_id": t.ImageID, "user_id": t.UserID, "request_id": t.RequestID,
		"self": "/v2/tasks/" + t.ID, "schema": "/v2/schemas/task", "expires_at": nil,
	}
	if t.Result != nil {
		m["result"] = t.Result
	}
	if !t.Expires.IsZero() {
		m["expires_at"] = isoTime(t.Expires)
	}
	return m
}

// imageTaskJSON renders the task as GET /v2/images/{id}/tasks lists it: Glance's database record, with
// times in microseconds and no zone, the deleted fields, and no links.
func (t *task) imageTaskJSON() map[string]any {
	m := t.json()
	delete(m, "self")
	delete(m, "schema")
	m["created_at"], m["updated_at"] = cinderTime(t.Created), cinderTime(t.Updated)
	if !t.Expires.IsZero() {
		m["expires_at"] = cinderTime(t.Expires)
	}
	m["deleted_at"], m["deleted"] = nil, false
	return m
}

func (c *Cloud) glanceInfoImport(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	writeJSON(w, http.StatusOK, map[string]any{"import-methods": map[string]any{
		"description": "Import methods available.", "type": "array", "value": c.opts.ImportMethods,
	}})
}

func (c *Cloud) glanceInfoStores(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	stores := []any{
		map[string]any{"id": glanceStores[0], "description": "local file store", "default": "true"},
		map[string]any{"id": glanceStores[1], "description": "second local file store"},
	}
	writeJSON(w, http.StatusOK, map[string]any{"stores": stores})
}

// checkWebDownloadURI mirrors Glance's [import_filtering_opts]: scheme, host and port allow lists.
func (c *Cloud) checkWebDownloadURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("URI for web-download does not pass filtering: %s", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("URI for web-download does not pass filtering: %s", raw)
	}
	if !c.opts.AllowAnyWebDownloadHost && !contains(c.opts.WebDownloadAllowedHosts, u.Hostname()) {
		return fmt.Errorf("URI for web-download does not pass filtering: %s", raw)
	}
	if c.opts.AllowAnyWebDownloadPort {
		return nil
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	p, _ := strconv.Atoi(port)
	allowed := false
	for _, a := range c.opts.WebDownloadAllowedPorts {
		allowed = allowed || a == p
	}
	if !allowed {
		return fmt.Errorf("URI for web-download does not pass filtering: %s", raw)
	}
	return nil
}

type importRequest struct {
	Method struct {
		Name                   string  `json:"name"`
		URI                    string  `json:"uri"`
		GlanceImageID          *string `json:"glance_image_id"`
		GlanceRegion           *string `json:"glance_region"`
		GlanceServiceInterface *string `json:"glance_service_interface"`
	} `json:"method"`
	Stores               []string `json:"stores"`
	AllStores            *bool    `json:"all_stores"`
	AllStoresMustSucceed *bool    `json:"all_stores_must_succeed"`
}

func (c *Cloud) glanceImport(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var raw map[string]any // the task records the request as it came
	if err := decodeJSON(r, &raw); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	var req importRequest
	if b, err := json.Marshal(raw); err != nil || json.Unmarshal(b, &req) != nil {
		rc.fail(w, http.StatusBadRequest, "malformed import request")
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.lookupImage(w, r, rc)
	if img == nil {
		return
	}
	method := req.Method.Name
	if !contains(c.opts.ImportMethods, method) {
		rc.fail(w, http.StatusBadRequest, "Unknown import method name '%s'.", method)
		return
	}
	if method == "copy-image" && !rc.isAdmin() {
		rc.fail(w, http.StatusForbidden, "You are not authorized to complete copy_image action.")
		return
	}
	if !canModify(img, rc) {
		rc.fail(w, http.StatusForbidden, "You are not permitted to import image %s.", img.ID)
		return
	}
	if img.importTask != "" {
		rc.fail(w, http.StatusConflict, "New operation on image '%s' is not permitted as prior operation is still in progress", img.ID)
		return
	}
	for _, s := range req.Stores {
		if !contains(glanceStores, s) {
			rc.fail(w, http.StatusConflict, "Unknown store %s", s)
			return
		}
	}
	stores := req.Stores
	if req.AllStores != nil && *req.AllStores {
		stores = append([]string{}, glanceStores...)
	}
	switch method {
	case "copy-image":
		if img.Status != "active" {
			rc.fail(w, http.StatusConflict, "Image needs to be in 'active' state to copy it")
			return
		}
		var missing []string
		for _, s := range stores {
			if !contains(img.Stores, s) {
				missing = append(missing, s)
			}
		}
		if len(stores) == 0 || len(missing) == 0 {
			rc.fail(w, http.StatusBadRequest, "Image is already present at store '%s'", strings.Join(img.Stores, ","))
			return
		}
		stores = missing
	case "glance-direct":
		if img.Status != "uploading" || img.staged == nil {
			rc.fail(w, http.StatusConflict, "Image needs to be staged before an import can be started")
			return
		}
	case "web-download":
		if img.Status != "queued" {
			rc.fail(w, http.StatusConflict, "Image needs to be in 'queued' state to use 'web-download' method")
			return
		}
		if err := c.checkWebDownloadURI(req.Method.URI); err != nil {
			rc.fail(w, http.StatusBadRequest, "%v", err)
			return
		}
	case methodGlanceDownload:
		if img.Status != "queued" {
			rc.fail(w, http.StatusConflict, "Image needs to be in 'queued' state to use 'glance-download' method")
			return
		}
	}
	if method != "copy-image" && (img.ContainerFormat == "" || img.DiskFormat == "") {
		rc.fail(w, http.StatusConflict, "'container_format' and 'disk_format' must be set before import")
		return
	}
	var pull *glancePull
	if method == methodGlanceDownload {
		// Glance 2023.1 checks the request's remote image after the image's state, and records the
		// default interface in the task's copy of the request.
		m := req.Method
		switch {
		case m.GlanceRegion == nil:
			rc.fail(w, http.StatusBadRequest, "'glance_region' needs to be set for glance-download import method")
			return
		case m.GlanceImageID == nil:
			rc.fail(w, http.StatusBadRequest, "'glance_image_id' needs to be set for glance-download import method")
			return
		case !looksLikeUUID(*m.GlanceImageID):
			rc.fail(w, http.StatusBadRequest, "Remote image id does not look like a UUID: %s", *m.GlanceImageID)
			return
		}
		iface := "public"
		if m.GlanceServiceInterface != nil {
			iface = *m.GlanceServiceInterface
		} else if rm, ok := raw["method"].(map[string]any); ok {
			rm["glance_service_interface"] = iface
		}
		pull = &glancePull{region: *m.GlanceRegion, imageID: *m.GlanceImageID, iface: iface, caller: rc}
	}
	if len(stores) == 0 {
		stores = []string{glanceStores[0]}
	}
	action, msg := c.stateFault("image.import", rc.region)
	now := glanceNow()
	t := &task{ID: newUUID(), ImageID: img.ID, Owner: rc.projectID(), UserID: rc.tok.userID, Status: "pending",
		Created: now, Updated: now, RequestID: w.Header().Get("X-Openstack-Request-Id"),
		Input: map[string]any{"image_id": img.ID, "import_req": raw, "backend": stores}}
	rc.reg.tasks[t.ID] = t
	// The lock is taken synchronously; the status moves only when the task starts, so a client can still
	// read "queued" right after the 202, as on a real cloud.
	img.importTask = t.ID
	img.importing = strings.Join(stores, ",")
	img.failed = ""
	img.imported = true
	img.touch()
	job := importJob{reg: rc.reg, img: img, task: t, method: method, uri: req.Method.URI, stores: stores,
		action: action, message: msg, pull: pull}
	c.after(c.opts.ImageDelay/4, func() { c.startImport(job) })
	// Glance's 202 has an empty body labelled as HTML.
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

type importJob struct {
	reg             *region
	img             *image
	task            *task
	method, uri     string
	stores          []string
	action, message string
	pull            *glancePull // glance-download's remote image
}

// startImport moves the task to processing and runs the method. Called under c.mu.
func (c *Cloud) startImport(j importJob) {
	if j.reg.images[j.img.ID] != j.img {
		c.finishTask(j.task, "failure", "Image was deleted during import")
		return
	}
	j.task.Status, j.task.Updated = "processing", glanceNow()
	if j.method != "copy-image" {
		j.img.Status = "importing"
		j.img.touch()
	}
	if j.action == ActionHold {
		j.task.Message = "Copied 0 MiB"
		return // stays importing forever
	}
	c.goBackground(func(ctx context.Context) {
		var h hashedData
		var err error
		var dataPath string
		switch j.method {
		case "web-download":
			dataPath, h, err = c.webDownload(ctx, j.reg, j.img.ID, j.uri)
		case "glance-direct":
			dataPath, h, err = c.promoteStaged(j.reg, j.img)
		case methodGlanceDownload:
			dataPath, h, err = c.glanceDownloadData(ctx, j)
		case "copy-image":
			// Both stores share one file on disk; copying is bookkeeping.
		}
		if err == nil && j.method != "copy-image" {
			// Glance's image_decompression import plugin (enabled on the reference cloud) runs on
			// web-download and glance-direct data before it is stored.
			c.mu.Lock()
			containerFormat := j.img.ContainerFormat
			c.mu.Unlock()
			h, err = decompressImported(dataPath, containerFormat, h)
		}
		if err == nil && j.action != "" {
			err = errors.New(j.message)
		}
		select {
		case <-time.After(c.opts.ImageDelay):
		case <-ctx.Done():
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			return
		}
		c.completeImport(j, dataPath, h, err)
	})
}

// completeImport applies Glance's success and failure semantics. Called under c.mu.
func (c *Cloud) completeImport(j importJob, dataPath string, h hashedData, err error) {
	img := j.img
	if j.reg.images[img.ID] != img {
		if dataPath != "" {
			_ = os.Remove(dataPath)
		}
		c.finishTask(j.task, "failure", "Image was deleted during import")
		return
	}
	img.importTask, img.importing = "", ""
	img.touch()
	// A store that failed moves from os_glance_importing_to_stores to os_glance_failed_import.
	if err != nil {
		img.failed = strings.Join(j.stores, ",")
	}
	// Glance's task executor records "Task failed due to Internal Error" for every failure except its
	// upload errors; a fault injected through the control API keeps its own message.
	msg := taskFailedMessage
	if j.action != "" && j.message != "" {
		msg = j.message
	}
	switch {
	case err != nil && j.action == ActionKill:
		img.Status = "killed"
		c.cleanStaging(img)
		c.finishTask(j.task, "failure", msg)
	case err != nil && j.method == "copy-image":
		c.finishTask(j.task, "failure", msg)
	case err != nil:
		// Zed: back to queued, lock dropped, staging removed, the task records the error.
		// glance-download's metadata step is reverted too.
		if j.pull != nil && j.pull.before != nil {
			j.pull.revert(img)
		}
		img.Status = "queued"
		img.Size = -1
		c.cleanStaging(img)
		if dataPath != "" {
			_ = os.Remove(dataPath)
		}
		c.opts.Logf("testcloud: import of image %s failed: %v", img.ID, err)
		c.finishTask(j.task, "failure", msg)
	case j.method == "copy-image":
		for _, s := range j.stores {
			if !contains(img.Stores, s) {
				img.Stores = append(img.Stores, s)
			}
		}
		c.finishTask(j.task, "success", "Copied image to stores: "+strings.Join(j.stores, ","))
	default:
		markActive(img, dataPath, h, j.stores)
		img.stagePath, img.staged = "", nil
		// Like Glance, the image is active as soon as its data is stored, while the task still
		// holds the lock; the task succeeds and lets go a moment later.
		img.importTask = j.task.ID
		c.after(c.opts.ImportLockLinger, func() {
			if img.importTask == j.task.ID {
				img.importTask = ""
				img.touch()
			}
			j.task.Result = map[string]any{"image_id": img.ID}
			c.finishTask(j.task, "success", fmt.Sprintf("Copied %d MiB", h.size>>20))
		})
	}
}

func (c *Cloud) cleanStaging(img *image) {
	removeData(img.stagePath)
	img.stagePath, img.staged = "", nil
}

func (c *Cloud) finishTask(t *task, status, msg string) {
	now := glanceNow()
	t.Status, t.Message, t.Updated, t.Expires = status, msg, now, now.Add(48*time.Hour)
}

// promoteStaged moves staged data into the store. Discarded staged data has only its hashes, which
// were taken when it was staged.
func (c *Cloud) promoteStaged(reg *region, img *image) (string, hashedData, error) {
	c.mu.Lock()
	src, staged := img.stagePath, img.staged
	c.mu.Unlock()
	if staged == nil {
		return "", hashedData{}, errors.New("the staged data is gone")
	}
	if src == "" {
		return "", *staged, nil
	}
	dst := reg.imagePath(img.ID) + ".import"
	if err := os.Rename(src, dst); err != nil {
		return "", hashedData{}, fmt.Errorf("move staged data: %w", err)
	}
	h, err := hashFile(dst)
	if err != nil {
		_ = os.Remove(dst)
		return "", hashedData{}, err
	}
	final := reg.imagePath(img.ID)
	if err := os.Rename(dst, final); err != nil {
		return "", hashedData{}, fmt.Errorf("store imported data: %w", err)
	}
	return final, h, nil
}

// webDownload fetches uri for real, re-checking every redirect against the filter.
func (c *Cloud) webDownload(ctx context.Context, reg *region, id, uri string) (string, hashedData, error) {
	client := &http.Client{
		Timeout: 10 * time.Minute,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > 10 {
				return errors.New("too many redirects")
			}
			return c.checkWebDownloadURI(req.URL.String())
		},
		Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return "", hashedData{}, fmt.Errorf("web-download request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", hashedData{}, fmt.Errorf("web-download of %s: %w", uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", hashedData{}, fmt.Errorf("web-download of %s: HTTP %d", uri, resp.StatusCode)
	}
	if resp.ContentLength < 0 {
		// Glance's web-download converts Content-Length to a number and fails without one.
		return "", hashedData{}, fmt.Errorf("web-download of %s: the source sent no Content-Length", uri)
	}
	path, h, err := c.receiveData(reg.imagePath(id)+".download", resp.Body, true)
	if err != nil {
		return "", hashedData{}, fmt.Errorf("web-download of %s: %w", uri, err)
	}
	if resp.ContentLength >= 0 && resp.ContentLength != h.size {
		removeData(path)
		return "", hashedData{}, fmt.Errorf("web-download of %s: got %d bytes, Content-Length said %d", uri, h.size, resp.ContentLength)
	}
	if path == "" {
		return "", h, nil
	}
	final := reg.imagePath(id)
	if err := os.Rename(path, final); err != nil {
		return "", hashedData{}, fmt.Errorf("store downloaded data: %w", err)
	}
	return final, h, nil
}

func (c *Cloud) glanceImageTasks(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.lookupImage(w, r, rc)
	if img == nil {
		return
	}
	out := []any{}
	for _, t := range rc.reg.sortedTasks() {
		if t.ImageID == img.ID {
			out = append(out, t.imageTaskJSON())
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tasks": out})
}

func (c *Cloud) glanceGetTask(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !rc.isAdmin() {
		rc.fail(w, http.StatusForbidden, "You are not authorized to complete get_task action.")
		return
	}
	t := rc.reg.tasks[r.PathValue("id")]
	if t == nil {
		rc.fail(w, http.StatusNotFound, "Task with the given id %s not found", r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, t.json())
}
