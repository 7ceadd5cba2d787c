package testcloud

import (
	"net/http"
	"sort"
	"time"
)

func memberJSON(imageID, projectID string, m *member) map[string]any {
	return map[string]any{"image_id": imageID, "member_id": projectID, "status": m.status,
		"created_at": isoTime(m.created), "updated_at": isoTime(m.updated), "schema": "/v2/schemas/member"}
}

func (c *Cloud) glanceListMembers(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.lookupImage(w, r, rc)
	if img == nil {
		return
	}
	if img.Visibility != "shared" {
		rc.fail(w, http.StatusForbidden, "Only shared images have members.")
		return
	}
	ids := make([]string, 0, len(img.members))
	for id := range img.members {
		if canModify(img, rc) || id == rc.projectID() {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	out := []any{}
	for _, id := range ids {
		out = append(out, memberJSON(img.ID, id, img.members[id]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": out, "schema": "/v2/schemas/members"})
}

func (c *Cloud) glanceCreateMember(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var req struct {
		Member string `json:"member"`
	}
	if err := decodeJSON(r, &req); err != nil || req.Member == "" {
		rc.fail(w, http.StatusBadRequest, "Member to be added not specified")
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.lookupModifiableImage(w, r, rc, "add members to")
	if img == nil {
		return
	}
	if img.Visibility != "shared" {
		rc.fail(w, http.StatusForbidden, "Only shared images have members.")
		return
	}
	if _, dup := img.members[req.Member]; dup {
		rc.fail(w, http.StatusConflict, "Member %s already exists for image %s.", req.Member, img.ID)
		return
	}
	now := time.Now()
	m := &member{status: "pending", created: now, updated: now}
	img.members[req.Member] = m
	writeJSON(w, http.StatusOK, memberJSON(img.ID, req.Member, m))
}

func (c *Cloud) glanceGetMember(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.lookupImage(w, r, rc)
	if img == nil {
		return
	}
	id := r.PathValue("member")
	m := img.members[id]
	if m == nil || (!canModify(img, rc) && id != rc.projectID()) {
		rc.fail(w, http.StatusNotFound, "%s is not a member of image %s", id, img.ID)
		return
	}
	writeJSON(w, http.StatusOK, memberJSON(img.ID, id, m))
}

func (c *Cloud) glanceUpdateMember(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var req struct {
		Status string `json:"status"`
	}
	if err := decodeJSON(r, &req); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	if req.Status == "" {
		rc.fail(w, http.StatusBadRequest, "Status not specified")
		return
	}
	if req.Status != "accepted" && req.Status != "rejected" && req.Status != "pending" {
		rc.fail(w, http.StatusBadRequest, "Invalid status: %s", req.Status)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.lookupImage(w, r, rc)
	if img == nil {
		return
	}
	id := r.PathValue("member")
	m := img.members[id]
	if m == nil {
		rc.fail(w, http.StatusNotFound, "%s is not a member of image %s", id, img.ID)
		return
	}
	if id != rc.projectID() && !rc.isAdmin() {
		rc.fail(w, http.StatusForbidden, "You are not permitted to modify 'status' on this image member.")
		return
	}
	m.status, m.updated = req.Status, time.Now()
	writeJSON(w, http.StatusOK, memberJSON(img.ID, id, m))
}

func (c *Cloud) glanceDeleteMember(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.lookupImage(w, r, rc)
	if img == nil {
		return
	}
	id := r.PathValue("member")
	if img.Visibility != "shared" {
		// Members stay recorded when an image stops being shared, but cannot be managed.
		rc.fail(w, http.StatusForbidden, "Not allowed to delete members for image %s.", img.ID)
		return
	}
	if img.members[id] == nil {
		rc.fail(w, http.StatusNotFound, "%s is not a member of image %s", id, img.ID)
		return
	}
	if !canModify(img, rc) {
		rc.fail(w, http.StatusForbidden, "You are not permitted to remove members of image %s.", img.ID)
		return
	}
	delete(img.members, id)
	w.WriteHeader(http.StatusNoContent)
}

// ShareImage adds projectName as an accepted (or pending) member of image id, for test setup.
func (c *Cloud) ShareImage(id, projectName string, accepted bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, img := c.findImage(id)
	p := c.ident.projectByName(projectName)
	if img == nil || p == nil {
		return errNotFound("image or project", id+"/"+projectName)
	}
	status := "pending"
	if accepted {
		status = "accepted"
	}
	now := time.Now()
	img.Visibility = "shared"
	img.members[p.ID] = &member{status: status, created: now, updated: now}
	return nil
}
