package testcloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

func (c *Cloud) glanceRoutes() http.Handler {
	rt := newRouter(c)
	rt.public("GET /{$}", "image.versions", c.glanceVersions)
	rt.public("GET /versions", "image.versions", c.glanceVersions)
	rt.public("GET /v2/{$}", "image.versions", c.glanceVersions)
	rt.handle("GET /v2/images", "image.list", c.glanceListImages)
	rt.handle("POST /v2/images", "image.create", c.glanceCreateImage)
	rt.handle("GET /v2/images/{id}", "image.get", c.glanceGetImage)
	rt.handle("PATCH /v2/images/{id}", "image.update", c.glanceUpdateImage)
	rt.handle("DELETE /v2/images/{id}", "image.delete", c.glanceDeleteImage)
	rt.handle("PUT /v2/images/{id}/file", "image.upload", c.glanceUpload)
	rt.handle("GET /v2/images/{id}/file", "image.download", c.glanceDownload)
	rt.handle("PUT /v2/images/{id}/stage", "image.stage", c.glanceStage)
	rt.handle("POST /v2/images/{id}/import", "image.import", c.glanceImport)
	rt.handle("GET /v2/images/{id}/tasks", "image.tasks", c.glanceImageTasks)
	rt.handle("GET /v2/tasks/{id}", "image.task.get", c.glanceGetTask)
	rt.handle("PUT /v2/images/{id}/tags/{tag}", "image.tag.add", c.glanceAddTag)
	rt.handle("DELETE /v2/images/{id}/tags/{tag}", "image.tag.delete", c.glanceDeleteTag)
	rt.handle("POST /v2/images/{id}/actions/deactivate", "image.deactivate", c.glanceDeactivate)
	rt.handle("POST /v2/images/{id}/actions/reactivate", "image.reactivate", c.glanceReactivate)
	rt.handle("GET /v2/images/{id}/members", "image.member.list", c.glanceListMembers)
	rt.handle("POST /v2/images/{id}/members", "image.member.create", c.glanceCreateMember)
	rt.handle("GET /v2/images/{id}/members/{member}", "image.member.get", c.glanceGetMember)
	rt.handle("PUT /v2/images/{id}/members/{member}", "image.member.update", c.glanceUpdateMember)
	rt.handle("DELETE /v2/images/{id}/members/{member}", "image.member.delete", c.glanceDeleteMember)
	rt.handle("GET /v2/info/import", "image.info.import", c.glanceInfoImport)
	rt.handle("GET /v2/info/stores", "image.info.stores", c.glanceInfoStores)
	rt.handle("GET /v2/schemas/{name}", "image.schema", c.glanceSchema)
	return rt
}

func (c *Cloud) glanceVersions(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	// Glance 25 (Zed) without the cache API: v2.15 is current and v2.14 (cache) is not offered.
	var versions []any
	for minor := 15; minor >= 0; minor-- {
		if minor == 14 {
			continue
		}
		status := "SUPPORTED"
		if minor == 15 {
			status = "CURRENT"
		}
		versions = append(versions, map[string]any{
			"id": fmt.Sprintf("v2.%d", minor), "status": status,
			"links": []any{map[string]any{"rel": "self", "href": rc.prefix + "/v2/"}},
		})
	}
	status := http.StatusMultipleChoices
	if r.URL.Path != "/" {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{"versions": versions})
}

// lookupImage finds a visible image of the request's region or writes 404.
func (c *Cloud) lookupImage(w http.ResponseWriter, r *http.Request, rc *reqCtx) *image {
	id := r.PathValue("id")
	img := rc.reg.images[id]
	if img == nil || !canSee(img, rc) {
		rc.fail(w, http.StatusNotFound, "No image found with ID %s", id)
		return nil
	}
	// The request log shows which calls met an image its import task still held.
	rc.importTask = img.importTask
	return img
}

// lookupModifiableImage is lookupImage for a request that changes the image: it also answers 403
// ("You are not permitted to ACTION image ID.") when the caller may see but not modify it.
// Callers hold c.mu.
func (c *Cloud) lookupModifiableImage(w http.ResponseWriter, r *http.Request, rc *reqCtx, action string) *image {
	img := c.lookupImage(w, r, rc)
	if img == nil {
		return nil
	}
	if !canModify(img, rc) {
		rc.fail(w, http.StatusForbidden, "You are not permitted to %s image %s.", action, img.ID)
		return nil
	}
	return img
}

func (c *Cloud) glanceGetImage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.lookupImage(w, r, rc)
	if img == nil {
		return
	}
	writeJSON(w, http.StatusOK, img.json())
}

// checkSettable refuses keys users may not set, with Glance's status codes.
func checkSettable(key string) (int, string) {
	if strings.HasPrefix(key, "os_glance") {
		return http.StatusForbidden, fmt.Sprintf("Attribute '%s' is reserved.", key)
	}
	if glanceReadOnly[key] {
		return http.StatusForbidden, fmt.Sprintf("Attribute '%s' is read-only.", key)
	}
	return 0, ""
}

func (c *Cloud) glanceCreateImage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var raw any
	if err := decodeJSON(r, &raw); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	body, isObject := raw.(map[string]any)
	if !isObject {
		// Glance's create handler fails on any body that is not an object.
		rc.fail(w, http.StatusInternalServerError, "%v", errServerError)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := glanceNow()
	img := &image{Image: Image{
		ID: newUUID(), Status: "queued", Visibility: "shared", Owner: rc.projectID(), Region: rc.region,
		Properties: map[string]string{}, Tags: []string{}, Size: -1, CreatedAt: now, UpdatedAt: now,
	}, members: map[string]*member{}}
	for key, val := range body {
		if status, msg := checkSettable(key); status != 0 {
			rc.fail(w, status, "%s", msg)
			return
		}
		if status, msg := applyImageAttr(img, key, val, rc, true); status != 0 {
			rc.fail(w, status, "%s", msg)
			return
		}
	}
	if _, dup := rc.reg.images[img.ID]; dup {
		rc.fail(w, http.StatusConflict, "An image with identifier %s already exists", img.ID)
		return
	}
	if img.Visibility == "public" && !rc.isAdmin() {
		rc.fail(w, http.StatusForbidden, "You are not authorized to complete publicize_image action.")
		return
	}
	rc.reg.images[img.ID] = img
	w.Header().Set("Location", rc.prefix+"/v2/images/"+img.ID)
	w.Header().Set("OpenStack-image-import-methods", strings.Join(c.opts.ImportMethods, ","))
	// Glance lists its internal staging and tasks stores here too (not in /v2/info/stores).
	w.Header().Set("OpenStack-image-store-ids", strings.Join(append(append([]string{}, glanceStores...),
		"os_glance_staging_store", "os_glance_tasks_store"), ","))
	writeJSON(w, http.StatusCreated, img.json())
}

// applyImageAttr sets one attribute or property from a create body or a patch. It returns a status and
// message on error.
func applyImageAttr(img *image, key string, val any, rc *reqCtx, creating bool) (int, string) {
	str := func() (string, bool) { s, ok := val.(string); return s, ok }
	switch key {
	case "id":
		s, ok := str()
		if !creating {
			return http.StatusForbidden, "Attribute 'id' is read-only."
		}
		if !ok || len(s) != 36 {
			return http.StatusBadRequest, fmt.Sprintf("Invalid input for field/attribute id. Value: %v. %v is not a valid UUID", val, val)
		}
		img.ID = s
	case "name":
		if val == nil {
			img.Name = ""
			return 0, ""
		}
		s, ok := str()
		if !ok || len(s) > 255 {
			return http.StatusBadRequest, "Invalid input for field/attribute name."
		}
		img.Name = s
	case "visibility":
		s, ok := str()
		if !ok || !contains(validVisibilities, s) {
			return http.StatusBadRequest, fmt.Sprintf("Invalid input for field/attribute visibility. Value: %v.", val)
		}
		if s == "public" && !rc.isAdmin() && !creating {
			return http.StatusForbidden, "You are not authorized to complete publicize_image action."
		}
		img.Visibility = s
	case "container_format", "disk_format":
		s, ok := str()
		valid := validDiskFormats
		if key == "container_format" {
			valid = validContainerFormats
		}
		if val != nil && (!ok || !contains(valid, s)) {
			return http.StatusBadRequest, fmt.Sprintf("Invalid input for field/attribute %s. Value: %v.", key, val)
		}
		if !creating && img.Status != "queued" {
			return http.StatusForbidden, fmt.Sprintf("Attribute %s can be only replaced for a queued image.", key)
		}
		if key == "container_format" {
			img.ContainerFormat = s
		} else {
			img.DiskFormat = s
		}
	case "min_disk", "min_ram":
		f, ok := val.(float64)
		if !ok || f < 0 || f != float64(int(f)) {
			return http.StatusBadRequest, fmt.Sprintf("Invalid input for field/attribute %s. Value: %v.", key, val)
		}
		if key == "min_disk" {
			img.MinDisk = int(f)
		} else {
			img.MinRAM = int(f)
		}
	case "protected", "os_hidden":
		b, ok := val.(bool)
		if !ok {
			return http.StatusBadRequest, fmt.Sprintf("Invalid input for field/attribute %s. Value: %v.", key, val)
		}
		if key == "protected" {
			img.Protected = b
		} else {
			img.Hidden = b
		}
	case "tags":
		list, ok := val.([]any)
		if !ok {
			return http.StatusBadRequest, "Invalid input for field/attribute tags."
		}
		tags := []string{}
		for _, t := range list {
			s, ok := t.(string)
			if !ok || len(s) > 255 {
				return http.StatusBadRequest, "Invalid input for field/attribute tags."
			}
			if !contains(tags, s) {
				tags = append(tags, s)
			}
		}
		img.Tags = tags
	case "owner":
		s, _ := str()
		if !rc.isAdmin() && s != rc.projectID() {
			return http.StatusForbidden, "Attribute 'owner' is reserved."
		}
		img.Owner = s
	default:
		s, ok := str()
		if !ok {
			return http.StatusBadRequest, fmt.Sprintf("Invalid input for field/attribute %s. Value: %v. %v is not of type 'string'", key, val, val)
		}
		if len(key) > 255 {
			return http.StatusBadRequest, "Property name too long."
		}
		img.Properties[key] = s
	}
	return 0, ""
}

const jsonPatchType = "application/openstack-images-v2.1-json-patch"

func (c *Cloud) glanceUpdateImage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, jsonPatchType) && !strings.HasPrefix(ct, "application/openstack-images-v2.0-json-patch") {
		rc.fail(w, http.StatusUnsupportedMediaType, "Unsupported Content-Type")
		return
	}
	var ops []map[string]any
	if err := decodeJSON(r, &ops); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.lookupModifiableImage(w, r, rc, "modify")
	if img == nil {
		return
	}
	// Apply to a copy so that a failing operation leaves the image untouched, as Glance does.
	work := *img
	work.Properties = map[string]string{}
	for k, v := range img.Properties {
		work.Properties[k] = v
	}
	work.Tags = append([]string{}, img.Tags...)
	for _, op := range ops {
		name, _ := op["op"].(string)
		p, _ := op["path"].(string)
		key := strings.TrimPrefix(p, "/")
		if key == "locations" || strings.HasPrefix(key, "locations/") {
			// show_multiple_locations is off (the default): locations cannot be touched at all.
			verb := map[string]string{"add": "add", "remove": "remove"}[name]
			if verb == "" {
				rc.fail(w, http.StatusForbidden, "Cannot set locations to empty list.")
				return
			}
			rc.fail(w, http.StatusForbidden, "It's not allowed to %s locations if locations are invisible.", verb)
			return
		}
		if key == "" || strings.Contains(key, "/") {
			rc.fail(w, http.StatusBadRequest, "Invalid JSON pointer for this resource: '%s'", p)
			return
		}
		key = strings.ReplaceAll(strings.ReplaceAll(key, "~1", "/"), "~0", "~")
		if status, msg := checkSettable(key); status != 0 || key == "id" {
			if status == 0 {
				status, msg = http.StatusForbidden, "Attribute 'id' is read-only."
			}
			rc.fail(w, status, "%s", msg)
			return
		}
		switch name {
		case "add", "replace":
			val, ok := op["value"]
			if !ok {
				rc.fail(w, http.StatusBadRequest, "Operation objects must contain exactly one member named \"value\".")
				return
			}
			if name == "replace" && !glanceCoreAttrs[key] {
				if _, exists := work.Properties[key]; !exists {
					rc.fail(w, http.StatusConflict, "Property %s does not exist.", key)
					return
				}
			}
			if status, msg := applyImageAttr(&work, key, val, rc, false); status != 0 {
				rc.fail(w, status, "%s", msg)
				return
			}
		case "remove":
			if glanceCoreAttrs[key] {
				rc.fail(w, http.StatusForbidden, "Attribute '%s' is read-only.", key)
				return
			}
			if _, exists := work.Properties[key]; !exists {
				rc.fail(w, http.StatusConflict, "Property %s does not exist.", key)
				return
			}
			delete(work.Properties, key)
		default:
			rc.fail(w, http.StatusBadRequest, "Operation \"%s\" is not supported.", name)
			return
		}
	}
	work.touch()
	*img = work
	writeJSON(w, http.StatusOK, img.json())
}

func (c *Cloud) glanceDeleteImage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.lookupModifiableImage(w, r, rc, "delete")
	if img == nil {
		return
	}
	if img.Protected {
		rc.fail(w, http.StatusForbidden, "Image %s is protected and cannot be deleted.", img.ID)
		return
	}
	c.removeImage(rc.reg, img)
	w.WriteHeader(http.StatusNoContent)
}

// removeImage deletes an image and its data. Callers hold c.mu.
func (c *Cloud) removeImage(reg *region, img *image) {
	delete(reg.images, img.ID)
	img.Status = "deleted"
	img.uploadGen++
	removeData(img.dataPath)
	removeData(img.stagePath)
	img.staged = nil
}

func (c *Cloud) glanceAddTag(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.lookupModifiableImage(w, r, rc, "modify")
	if img == nil {
		return
	}
	tag := r.PathValue("tag")
	if len(tag) > 255 {
		rc.fail(w, http.StatusBadRequest, "Provided object does not match schema 'image': tag is longer than 255 characters")
		return
	}
	if !contains(img.Tags, tag) {
		img.Tags = append(img.Tags, tag)
		img.touch()
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *Cloud) glanceDeleteTag(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.lookupModifiableImage(w, r, rc, "modify")
	if img == nil {
		return
	}
	tag := r.PathValue("tag")
	for i, t := range img.Tags {
		if t == tag {
			img.Tags = append(img.Tags[:i], img.Tags[i+1:]...)
			img.touch()
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	rc.fail(w, http.StatusNotFound, "Tag %s not found.", tag)
}

func (c *Cloud) glanceDeactivate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.glanceSetActive(w, r, rc, false)
}

func (c *Cloud) glanceReactivate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.glanceSetActive(w, r, rc, true)
}

func (c *Cloud) glanceSetActive(w http.ResponseWriter, r *http.Request, rc *reqCtx, active bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.lookupImage(w, r, rc)
	if img == nil {
		return
	}
	// Zed's default policy lets the owner (de)activate, not only an admin.
	if !canModify(img, rc) {
		rc.fail(w, http.StatusForbidden, "You do not own this image")
		return
	}
	if img.Status != "deactivated" && img.Status != "active" {
		verb := map[bool]string{true: "reactivate", false: "deactivate"}[active]
		rc.fail(w, http.StatusForbidden, "Not allowed to %s image in status '%s'", verb, img.Status)
		return
	}
	if active {
		img.Status = "active"
	} else {
		img.Status = "deactivated"
	}
	img.touch()
	w.WriteHeader(http.StatusNoContent)
}

// glanceSchema serves the JSON schemas the glance CLI builds its models from.
func (c *Cloud) glanceSchema(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s, ok := glanceSchemas()[r.PathValue("name")]
	if !ok {
		rc.fail(w, http.StatusNotFound, "The resource could not be found.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s)
}
