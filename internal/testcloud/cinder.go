package testcloud

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

type volume struct {
	ID, Name, Description, ProjectID string
	Size                             int
	Status                           string
	ImageID                          string
	Dir                              string // the volume's content: a folder, like a server disk
	AttachedTo                       string
	// AttachmentID and Attached describe the attachment while AttachedTo is set.
	AttachmentID            string
	Attached                time.Time
	Metadata, ImageMetadata map[string]string
	// Filled: the image's data is in. Cinder turns bootable to "true" and shows
	// volume_image_metadata only then, not while the volume is creating or downloading.
	Filled  bool
	Created time.Time
}

// attach records v as attached to server serverID. Callers hold c.mu.
func (v *volume) attach(serverID string) {
	v.Status, v.AttachedTo, v.AttachmentID, v.Attached = "in-use", serverID, newUUID(), time.Now()
}

// detach clears the attachment and makes v available again. Callers hold c.mu.
func (v *volume) detach() {
	v.Status, v.AttachedTo, v.AttachmentID = "available", "", ""
}

// newVolume creates the record and its folder path. Callers hold c.mu.
func (c *Cloud) newVolume(reg *region, projectID, name string, size int, img *image) *volume {
	v := &volume{ID: newUUID(), Name: name, ProjectID: projectID, Size: size, Status: "creating",
		Metadata: map[string]string{}, ImageMetadata: map[string]string{}, Created: time.Now()}
	v.Dir = filepath.Join(reg.dir, "volumes", v.ID)
	if img != nil {
		v.ImageID = img.ID
		for k, val := range img.Properties {
			if !skipSnapshotProp(k) {
				v.ImageMetadata[k] = val
			}
		}
		v.ImageMetadata["image_id"], v.ImageMetadata["image_name"] = img.ID, img.Name
		v.ImageMetadata["checksum"] = img.Checksum
		v.ImageMetadata["container_format"], v.ImageMetadata["disk_format"] = img.ContainerFormat, img.DiskFormat
		v.ImageMetadata["min_disk"], v.ImageMetadata["min_ram"] = strconv.Itoa(img.MinDisk), strconv.Itoa(img.MinRAM)
		v.ImageMetadata["size"] = strconv.FormatInt(img.Size, 10)
		// Cinder records that it did not verify an image signature (none of the images has one).
		v.ImageMetadata["signature_verified"] = "False"
	}
	reg.volumes[v.ID] = v
	return v
}

func (c *Cloud) removeVolume(reg *region, v *volume) {
	delete(reg.volumes, v.ID)
	dir := v.Dir
	c.goBackground(func(context.Context) { _ = os.RemoveAll(dir) })
}

func (c *Cloud) cinderRoutes() http.Handler {
	rt := newRouter(c)
	rt.public("GET /{$}", "volume.versions", c.cinderVersions)
	rt.public("GET /v3", "volume.versions", c.cinderVersions)
	rt.public("GET /v3/{$}", "volume.versions", c.cinderVersions)
	rt.handle("GET /v3/{project}/volumes", "volume.list", c.cinderListVolumes(false))
	rt.handle("GET /v3/{project}/volumes/detail", "volume.list", c.cinderListVolumes(true))
	rt.handle("POST /v3/{project}/volumes", "volume.create", c.cinderCreateVolume)
	rt.handle("GET /v3/{project}/volumes/{id}", "volume.get", c.cinderGetVolume)
	rt.handle("DELETE /v3/{project}/volumes/{id}", "volume.delete", c.cinderDeleteVolume)
	rt.handle("POST /v3/{project}/volumes/{id}/action", "volume.action", c.cinderVolumeAction)
	rt.handle("GET /v3/{project}/os-availability-zone", "volume.az.list", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		c.cinderOK(w, rc, http.StatusOK, map[string]any{"availabilityZoneInfo": []any{
			map[string]any{"zoneName": "nova", "zoneState": map[string]any{"available": true}}}})
	})
	rt.handle("GET /v3/{project}/types", "volume.type.list", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		t := defaultVolumeType()
		t["os-volume-type-access:is_public"] = true
		c.cinderOK(w, rc, http.StatusOK, map[string]any{"volume_types": []any{t}})
	})
	rt.handle("GET /v3/{project}/types/default", "volume.type.default", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		c.cinderOK(w, rc, http.StatusOK, map[string]any{"volume_type": defaultVolumeType()})
	})
	rt.handle("GET /v3/{project}/limits", "volume.limits", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		c.cinderOK(w, rc, http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{},
			"absolute": map[string]any{"maxTotalVolumes": 100, "maxTotalVolumeGigabytes": 10000, "totalVolumesUsed": 0}}})
	})
	return rt
}

// defaultVolumeType is the one volume type, Cinder's own default (its extra specs are hidden from
// non-admins, as Cinder's policy does).
func defaultVolumeType() map[string]any {
	return map[string]any{"id": defaultVolumeTypeID, "name": "__DEFAULT__", "description": "Default Volume Type",
		"is_public": true, "extra_specs": map[string]any{}}
}

// volumeTypeRecord is the volume type as upload-to-image answers it: the database record.
func volumeTypeRecord() map[string]any {
	t := defaultVolumeType()
	for k, v := range map[string]any{"created_at": "2026-01-01T00:00:00.000000", "updated_at": nil, "deleted": false,
		"deleted_at": nil, "qos_specs_id": nil} {
		t[k] = v
	}
	return t
}

const defaultVolumeTypeID = "5f0a3a4e-2c1b-4d8e-9f7a-6b5c4d3e2f10"

func (c *Cloud) cinderVersions(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	doc := map[string]any{
		"id": "v3.0", "status": "CURRENT", "version": cinderMaxVersion.String(), "min_version": cinderMinVersion.String(),
		"updated":     "2022-08-31T00:00:00Z",
		"links":       []any{map[string]any{"rel": "self", "href": rc.prefix + "/v3/"}},
		"media-types": []any{map[string]any{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}},
	}
	status := http.StatusOK
	if r.URL.Path == "/" {
		status = http.StatusMultipleChoices
	}
	writeJSON(w, status, map[string]any{"versions": []any{doc}})
}

func (c *Cloud) cinderOK(w http.ResponseWriter, rc *reqCtx, status int, body any) {
	setMicroversionHeaders(w, rc)
	if body == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, body)
}

func (c *Cloud) volumeJSON(rc *reqCtx, v *volume) map[string]any {
	attachments := []any{}
	if v.AttachedTo != "" {
		attachments = append(attachments, map[string]any{"server_id": v.AttachedTo, "attachment_id": v.AttachmentID,
			"attached_at": cinderTime(v.Attached), "volume_id": v.ID, "id": v.ID, "device": "/dev/vda", "host_name": nil})
	}
	md := map[string]string{}
	for k, val := range v.Metadata {
		md[k] = val
	}
	m := map[string]any{
		"id": v.ID, "name": v.Name, "description": nullIfEmpty(v.Description), "size": v.Size, "status": v.Status,
		"availability_zone": "nova", "bootable": strconv.FormatBool(v.ImageID != "" && v.Filled), "encrypted": false,
		"multiattach": false, "attachments": attachments, "metadata": md, "volume_type": "__DEFAULT__",
		"created_at": cinderTime(v.Created), "updated_at": nil, "user_id": rc.tok.userID,
		"os-vol-tenant-attr:tenant_id": v.ProjectID, "snapshot_id": nil, "source_volid": nil,
		"replication_status": nil, "consistencygroup_id": nil,
		"links": []any{map[string]any{"rel": "self", "href": rc.prefix + "/v3/" + v.ProjectID + "/volumes/" + v.ID}},
	}
	// Cinder's record has no update time until the scheduler first touches it.
	if v.Status != "creating" {
		m["updated_at"] = cinderTime(time.Now())
	}
	if len(v.ImageMetadata) > 0 && v.Filled {
		m["volume_image_metadata"] = v.ImageMetadata
	}
	return m
}

func (c *Cloud) lookupVolume(w http.ResponseWriter, r *http.Request, rc *reqCtx) *volume {
	v := rc.reg.volumes[r.PathValue("id")]
	if v == nil || (!rc.isAdmin() && v.ProjectID != rc.projectID()) {
		rc.fail(w, http.StatusNotFound, "Volume %s could not be found.", r.PathValue("id"))
		return nil
	}
	return v
}

func (c *Cloud) cinderListVolumes(detail bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		q := r.URL.Query()
		c.mu.Lock()
		defer c.mu.Unlock()
		var list []*volume
		all := rc.isAdmin() && q.Get("all_tenants") != ""
		for _, v := range rc.reg.volumes {
			if !all && v.ProjectID != rc.projectID() {
				continue
			}
			if n := q.Get("name"); n != "" && n != v.Name {
				continue
			}
			if s := q.Get("status"); s != "" && s != v.Status {
				continue
			}
			list = append(list, v)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Created.After(list[j].Created) })
		out := []any{}
		for _, v := range list {
			if detail {
				out = append(out, c.volumeJSON(rc, v))
			} else {
				out = append(out, map[string]any{"id": v.ID, "name": v.Name})
			}
		}
		c.cinderOK(w, rc, http.StatusOK, map[string]any{"volumes": out})
	}
}

func (c *Cloud) cinderGetVolume(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.lookupVolume(w, r, rc)
	if v == nil {
		return
	}
	c.cinderOK(w, rc, http.StatusOK, map[string]any{"volume": c.volumeJSON(rc, v)})
}

func (c *Cloud) cinderCreateVolume(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var req struct {
		Volume struct {
			Name        string            `json:"name"`
			Description string            `json:"description"`
			Size        int               `json:"size"`
			ImageRef    string            `json:"imageRef"`
			Metadata    map[string]string `json:"metadata"`
			AZ          string            `json:"availability_zone"`
		} `json:"volume"`
	}
	if err := decodeJSON(r, &req); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	in := req.Volume
	if in.Size <= 0 {
		rc.fail(w, http.StatusBadRequest, "Invalid input for field/attribute size. Value: %d. %d is less than the minimum of 1", in.Size, in.Size)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	reg := rc.reg
	var img *image
	if in.ImageRef != "" {
		img = reg.images[refID(in.ImageRef)]
		if img == nil || !canSee(img, rc) {
			rc.fail(w, http.StatusBadRequest, "Invalid image identifier or unable to access requested image.")
			return
		}
		if img.Status != "active" {
			rc.fail(w, http.StatusBadRequest, "Image %s is not active.", img.ID)
			return
		}
		if img.MinDisk > in.Size {
			rc.fail(w, http.StatusBadRequest, "Volume size %dGB cannot be smaller than the image minDisk size %dGB.", in.Size, img.MinDisk)
			return
		}
	}
	v := c.newVolume(reg, rc.projectID(), in.Name, in.Size, img)
	v.Description = in.Description
	for k, val := range in.Metadata {
		v.Metadata[k] = val
	}
	action, _ := c.stateFault("volume.create", rc.region)
	src := ""
	if img != nil {
		src = img.dataPath
	}
	dir := v.Dir
	c.goBackground(func(ctx context.Context) {
		var err error
		if src != "" {
			err = prepareDisk(dir, src)
		} else {
			err = os.MkdirAll(dir, 0o755)
		}
		select {
		case <-time.After(c.opts.VolumeDelay):
		case <-ctx.Done():
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if reg.volumes[v.ID] != v || v.Status != "creating" {
			return
		}
		switch {
		case action == ActionHold:
		case err != nil || action != "":
			v.Status = "error"
		default:
			v.Status, v.Filled = "available", true
		}
	})
	c.cinderOK(w, rc, http.StatusAccepted, map[string]any{"volume": c.volumeJSON(rc, v)})
}

func (c *Cloud) cinderDeleteVolume(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.lookupVolume(w, r, rc)
	if v == nil {
		return
	}
	switch v.Status {
	case "available", "error", "error_restoring", "error_extending", "error_managing":
	default:
		rc.fail(w, http.StatusBadRequest, "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.")
		return
	}
	action, _ := c.stateFault("volume.delete", rc.region)
	v.Status = "deleting"
	reg := rc.reg
	if action != ActionHold {
		c.after(c.opts.VolumeDelay, func() {
			if reg.volumes[v.ID] == v {
				c.removeVolume(reg, v)
			}
		})
	}
	c.cinderOK(w, rc, http.StatusAccepted, nil)
}

func (c *Cloud) cinderVolumeAction(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var body map[string]map[string]any
	if err := decodeJSON(r, &body); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	var name string
	var args map[string]any
	for k, v := range body {
		name, args = k, v
	}
	ops := map[string]string{"os-volume_upload_image": "volume.upload_image", "os-set_image_metadata": "volume.set_image_metadata",
		"os-reset_status": "volume.reset_status"}
	op, ok := ops[name]
	if !ok {
		rc.fail(w, http.StatusBadRequest, "There is no such action: %s", name)
		return
	}
	rc.op = op
	c.serveWithFaults(w, r, rc, func(w http.ResponseWriter) {
		c.mu.Lock()
		defer c.mu.Unlock()
		v := c.lookupVolume(w, r, rc)
		if v == nil {
			return
		}
		switch name {
		case "os-set_image_metadata":
			if v.Status != "available" && v.Status != "in-use" {
				rc.fail(w, http.StatusBadRequest, "Invalid volume: Volume %s status must be available or in-use, but current status is: %s.", v.ID, v.Status)
				return
			}
			md, _ := args["metadata"].(map[string]any)
			for k, val := range md {
				v.ImageMetadata[k] = fmt.Sprint(val)
			}
			c.cinderOK(w, rc, http.StatusOK, map[string]any{"metadata": v.ImageMetadata})
		case "os-reset_status":
			if !rc.isAdmin() {
				rc.fail(w, http.StatusForbidden, "Policy doesn't allow volume_extension:volume_admin_actions:reset_status to be performed.")
				return
			}
			if s, ok := args["status"].(string); ok {
				v.Status = s
			}
			c.cinderOK(w, rc, http.StatusAccepted, nil)
		case "os-volume_upload_image":
			c.uploadVolumeToImage(w, rc, v, args)
		}
	})
}

func (c *Cloud) uploadVolumeToImage(w http.ResponseWriter, rc *reqCtx, v *volume, args map[string]any) {
	str := func(k, def string) string {
		if s, ok := args[k].(string); ok && s != "" {
			return s
		}
		return def
	}
	// "force" would allow an in-use volume only where enable_force_upload is on; Cinder's default
	// (and the reference cloud) has it off, so only an available volume uploads.
	if v.Status != "available" {
		rc.fail(w, http.StatusBadRequest, "Invalid volume: Volume %s status must be available", v.ID)
		return
	}
	name := str("image_name", "")
	if name == "" {
		rc.fail(w, http.StatusBadRequest, "Invalid input for field/attribute image_name.")
		return
	}
	// visibility and protected count from microversion 3.1; without them Glance's default applies.
	visibility, protected := "shared", false
	if rc.micro.atLeast(3, 1) {
		visibility = str("visibility", "shared")
		protected = args["protected"] == true
	}
	if visibility == "public" && !rc.isAdmin() {
		rc.fail(w, http.StatusForbidden, "Policy doesn't allow volume_extension:volume_actions:upload_public to be performed.")
		return
	}
	props := map[string]string{}
	for k, val := range v.ImageMetadata {
		switch k {
		case "image_id", "image_name", "checksum", "container_format", "disk_format", "min_disk", "min_ram", "size":
		default:
			props[k] = val
		}
	}
	reg := rc.reg
	img := c.newSnapshotImage(reg, v.ProjectID, name, props)
	img.DiskFormat, img.ContainerFormat, img.Visibility = str("disk_format", "raw"), str("container_format", "bare"), visibility
	// Cinder passes neither the volume's size nor the source image's min_disk on: min_disk stays 0.
	img.Protected = protected
	prev := v.Status
	v.Status = "uploading"
	action, msg := c.stateFault("volume.upload_image", rc.region)
	c.runSnapshot(snapshotJob{reg: reg, img: img, dir: v.Dir, action: action, message: msg,
		onFinish: func(ok bool) {
			if v.Status == "uploading" {
				v.Status = prev
				if action == ActionError {
					v.Status = "error"
				}
			}
		}})
	c.cinderOK(w, rc, http.StatusAccepted, map[string]any{"os-volume_upload_image": map[string]any{
		"id": v.ID, "updated_at": cinderTime(time.Now()), "status": "uploading", "display_description": nullIfEmpty(v.Description),
		"size": v.Size, "volume_type": volumeTypeRecord(), "image_id": img.ID,
		"container_format": img.ContainerFormat, "disk_format": img.DiskFormat, "image_name": name,
		"protected": img.Protected, "visibility": visibility,
	}})
}

// nullIfEmpty is nil for "" (Cinder shows an unset description as null), else s.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
