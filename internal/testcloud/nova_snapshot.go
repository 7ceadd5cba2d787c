package testcloud

import (
	"context"
	"net/http"
	"os"
	"strings"
	"time"
)

// snapshotJob archives a folder into a new Glance image asynchronously: queued -> saving -> active.
type snapshotJob struct {
	reg      *region
	img      *image
	dir      string
	action   string
	message  string
	onFinish func(ok bool) // runs under c.mu when the image reaches a final state
	// serverDeleted, for a Nova snapshot, says whether the server's deletion has started. Nova
	// clears the server's task_state a moment after the image turns active; a server deleted in
	// that window makes the snapshot's last update fail, and Nova's delete_image_on_error then
	// deletes the image although it is active. Volume uploads have no such window.
	serverDeleted func() bool
}

// newSnapshotImage creates the queued image record that a snapshot or volume upload fills.
// Callers hold c.mu.
func (c *Cloud) newSnapshotImage(reg *region, owner, name string, props map[string]string) *image {
	now := glanceNow()
	img := &image{Image: Image{
		ID: newUUID(), Name: name, Status: "queued", Visibility: "private", Owner: owner, Region: reg.name,
		ContainerFormat: "bare", DiskFormat: "qcow2", Properties: map[string]string{}, Tags: []string{},
		Size: -1, CreatedAt: now, UpdatedAt: now,
	}, members: map[string]*member{}}
	for k, v := range props {
		img.Properties[k] = v
	}
	reg.images[img.ID] = img
	return img
}

// runSnapshot archives j.dir into the image. Callers hold c.mu.
func (c *Cloud) runSnapshot(j snapshotJob) {
	c.goBackground(func(ctx context.Context) {
		tmp := j.reg.imagePath(j.img.ID) + ".snapshot"
		err := writeArchiveFile(j.dir, tmp)
		var h hashedData
		if err == nil {
			h, err = hashFile(tmp)
		}
		c.mu.Lock()
		if j.reg.images[j.img.ID] == j.img && j.img.Status == "queued" {
			j.img.Status = "saving"
			j.img.touch()
		}
		c.mu.Unlock()
		select {
		case <-time.After(c.opts.ImageDelay):
		case <-ctx.Done():
			_ = os.Remove(tmp)
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			return
		}
		img := j.img
		if j.reg.images[img.ID] != img {
			_ = os.Remove(tmp)
			j.onFinish(false)
			return
		}
		switch {
		case j.action == ActionHold:
			_ = os.Remove(tmp)
			j.onFinish(true) // the server is free again; the image stays in saving forever
		case err != nil || j.action == ActionFail:
			// Nova deletes the image of a failed snapshot.
			_ = os.Remove(tmp)
			c.removeImage(j.reg, img)
			j.onFinish(false)
		case j.action == ActionKill || j.action == ActionError:
			_ = os.Remove(tmp)
			img.Status = "killed"
			img.touch()
			j.onFinish(false)
		default:
			final := j.reg.imagePath(img.ID)
			if rerr := os.Rename(tmp, final); rerr != nil {
				c.removeImage(j.reg, img)
				j.onFinish(false)
				return
			}
			markActive(img, final, h, []string{glanceStores[0]})
			if j.serverDeleted == nil {
				j.onFinish(true)
				return
			}
			c.after(c.opts.SnapshotFinishDelay, func() { c.finishSnapshot(j) })
		}
	})
}

// finishSnapshot is Nova's last step of a snapshot, after the image is active: it clears the
// server's task_state, or, when the server was deleted meanwhile, deletes the image. (Nova deletes
// it when the deletion finished first; the test cloud does so whenever it started, the stricter.)
// Callers hold c.mu.
func (c *Cloud) finishSnapshot(j snapshotJob) {
	if j.serverDeleted() {
		if j.reg.images[j.img.ID] == j.img {
			c.opts.Logf("testcloud: server deleted before its snapshot finished: Nova deletes image %s", j.img.ID)
			c.removeImage(j.reg, j.img)
		}
		j.onFinish(false)
		return
	}
	j.onFinish(true)
}

// Properties Nova never copies from the base image into a snapshot.
func skipSnapshotProp(k string) bool {
	return strings.HasPrefix(k, "os_glance") || k == "image_type" || k == "instance_uuid" || k == "base_image_ref"
}

func (c *Cloud) createServerImage(w http.ResponseWriter, rc *reqCtx, s *server, args map[string]any) {
	name, _ := args["name"].(string)
	if strings.TrimSpace(name) == "" {
		rc.fail(w, http.StatusBadRequest, "Invalid input for field/attribute name. Value: %v.", args["name"])
		return
	}
	if (s.Status != "ACTIVE" && s.Status != "SHUTOFF") || s.TaskState != "" {
		state := s.TaskState
		if state == "" {
			state = s.VMState
		}
		rc.fail(w, http.StatusConflict, "Cannot 'createImage' instance %s while it is in task_state %s", s.ID, state)
		return
	}
	reg := rc.reg
	props := map[string]string{}
	base := reg.images[s.ImageID]
	if base != nil {
		for k, v := range base.Properties {
			if !skipSnapshotProp(k) {
				props[k] = v
			}
		}
	}
	if md, ok := args["metadata"].(map[string]any); ok {
		for k, v := range md {
			if sv, ok := v.(string); ok {
				props[k] = sv
			}
		}
	}
	u := c.ident.users[s.UserID]
	props["image_type"] = "snapshot"
	props["instance_uuid"] = s.ID
	props["base_image_ref"] = s.ImageID
	props["owner_project_name"] = c.ident.projectName(s.ProjectID)
	if u != nil {
		props["owner_user_name"] = u.Name
	}
	props["user_id"] = s.UserID
	props["boot_roles"] = strings.Join(rc.tok.roles, ",")
	img := c.newSnapshotImage(reg, s.ProjectID, name, props)
	if base != nil {
		img.DiskFormat, img.ContainerFormat, img.MinRAM = base.DiskFormat, base.ContainerFormat, base.MinRAM
		img.MinDisk = base.MinDisk
	}
	if f := reg.flavors[s.FlavorID]; f != nil && f.Disk > img.MinDisk {
		img.MinDisk = f.Disk
	}
	action, msg := c.stateFault("server.createImage", rc.region)
	s.TaskState, s.Updated = "image_uploading", time.Now()
	c.runSnapshot(snapshotJob{reg: reg, img: img, dir: s.Disk, action: action, message: msg,
		serverDeleted: func() bool { return s.Gone || s.TaskState == "deleting" },
		onFinish: func(ok bool) {
			if s.TaskState == "image_uploading" {
				s.TaskState = ""
			}
			if action == ActionError && !s.Gone {
				c.serverToError(s, msg)
			}
		}})
	if rc.micro.atLeast(2, 45) {
		c.novaOK(w, rc, http.StatusAccepted, map[string]any{"image_id": img.ID})
		return
	}
	w.Header().Set("Location", c.serviceURL(rc.region, "public", "image")+"/v2/images/"+img.ID)
	c.novaOK(w, rc, http.StatusAccepted, nil)
}
