package testcloud

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// bootPlan says where a new server's disk comes from.
type bootPlan struct {
	imageID     string // image to unpack (local disk, or into a new volume)
	imagePath   string // its data file
	volume      *volume
	newVolume   bool // the volume was created for this server from imageID
	deleteOnEnd bool
}

func (c *Cloud) planBoot(reg *region, rc *reqCtx, imageRef string, bdms []bdmV2, fl *flavor) (bootPlan, int, string) {
	var root *bdmV2
	for i := range bdms {
		if fmt.Sprint(bdms[i].BootIndex) == "0" {
			root = &bdms[i]
		}
	}
	imageOK := func(id string) (*image, int, string) {
		img := reg.images[id]
		if img == nil || !canSee(img, rc) {
			return nil, http.StatusBadRequest, fmt.Sprintf("Image %s could not be found.", id)
		}
		if img.Status != "active" {
			return nil, http.StatusBadRequest, fmt.Sprintf("Image %s is not active.", id)
		}
		return img, 0, ""
	}
	if root == nil || root.DestinationType == "local" || root.DestinationType == "" {
		id := imageRef
		if root != nil && root.SourceType == "image" {
			id = root.UUID
		}
		if id == "" {
			return bootPlan{}, http.StatusBadRequest, "Block Device Mapping is Invalid: You specified more local devices than the limit allows"
		}
		img, status, msg := imageOK(refID(id))
		if status != 0 {
			return bootPlan{}, status, msg
		}
		if img.MinDisk > fl.Disk && fl.Disk > 0 {
			return bootPlan{}, http.StatusBadRequest, fmt.Sprintf("Flavor's disk is too small for requested image. Flavor disk is %d bytes, image is %d bytes.", fl.Disk<<30, img.MinDisk<<30)
		}
		return bootPlan{imageID: img.ID, imagePath: img.dataPath}, 0, ""
	}
	switch root.SourceType {
	case "volume":
		v := reg.volumes[root.UUID]
		if v == nil || (!rc.isAdmin() && v.ProjectID != rc.projectID()) {
			return bootPlan{}, http.StatusBadRequest, fmt.Sprintf("Block Device Mapping is Invalid: failed to get volume %s.", root.UUID)
		}
		if v.Status != "available" {
			return bootPlan{}, http.StatusBadRequest, fmt.Sprintf("Block Device Mapping is Invalid: Volume %s status must be available, but current status is: %s.", v.ID, v.Status)
		}
		return bootPlan{volume: v, imageID: v.ImageID, deleteOnEnd: root.DeleteOnTermination}, 0, ""
	case "image":
		img, status, msg := imageOK(root.UUID)
		if status != 0 {
			return bootPlan{}, status, msg
		}
		size := root.VolumeSize
		if size == 0 {
			size = max(fl.Disk, img.MinDisk, 1)
		}
		v := c.newVolume(reg, rc.projectID(), "", size, img)
		v.Status = "creating"
		return bootPlan{volume: v, imageID: img.ID, imagePath: img.dataPath, newVolume: true,
			deleteOnEnd: root.DeleteOnTermination}, 0, ""
	}
	return bootPlan{}, http.StatusBadRequest, "Block Device Mapping is Invalid: unsupported source_type " + root.SourceType
}

// bootServer prepares the disk in the background, then moves BUILD -> ACTIVE after the boot delay
// (or ERROR, or nowhere, when a fault says so). Callers hold c.mu.
func (c *Cloud) bootServer(reg *region, s *server, plan bootPlan) {
	action, msg := c.stateFault("server.create", reg.name)
	if plan.volume != nil {
		s.BootVolume, s.DeleteVolumeOnTermination = plan.volume.ID, plan.deleteOnEnd
		s.Disk = plan.volume.Dir
		plan.volume.attach(s.ID)
		if plan.newVolume {
			plan.volume.Filled = true
		}
	} else {
		s.Disk = filepath.Join(reg.dir, "disks", s.ID)
	}
	needUnpack := plan.volume == nil || plan.newVolume
	disk, src := s.Disk, plan.imagePath
	c.goBackground(func(ctx context.Context) {
		var err error
		if needUnpack {
			err = prepareDisk(disk, src)
		}
		select {
		case <-time.After(c.opts.ServerBootDelay):
		case <-ctx.Done():
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed || s.Gone || s.Status != "BUILD" || s.TaskState == "deleting" {
			return
		}
		switch {
		case err != nil:
			c.serverToError(s, "Build of instance "+s.ID+" aborted: "+err.Error())
		case action == ActionError || action == ActionFail || action == ActionKill:
			c.serverToError(s, msg)
		case action == ActionHold:
			s.setState("BUILD", "building", "spawning", powerNoState)
		default:
			s.setState("ACTIVE", "active", "", powerRunning)
		}
	})
}

// prepareDisk fills a server or volume folder from an image's disk archive. Data that is not an archive
// (e.g. a random qcow2 uploaded by a test) yields the minimal busybox root instead.
func prepareDisk(dir, imagePath string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create disk: %w", err)
	}
	if imagePath != "" {
		f, err := os.Open(imagePath)
		if err == nil {
			err = extractDiskArchive(f, dir)
			f.Close()
			if err == nil {
				return nil
			}
			if !strings.HasPrefix(err.Error(), "not a disk archive") {
				return err
			}
		}
	}
	return buildMinimalRoot(dir)
}

// deleteServer starts the deletion: the server answers with task_state deleting, then 404 after the
// delete delay. Callers hold c.mu.
func (c *Cloud) deleteServer(reg *region, s *server, regionName string) {
	action, _ := c.stateFault("server.delete", regionName)
	s.TaskState, s.Updated = "deleting", time.Now()
	c.ssh.disconnectServer(s.ID)
	if action == ActionHold {
		return
	}
	c.after(c.opts.ServerDeleteDelay, func() { c.finishServerDelete(reg, s) })
}

func (c *Cloud) finishServerDelete(reg *region, s *server) {
	if s.Gone {
		return
	}
	s.Gone = true
	for _, pid := range s.Ports {
		p := reg.ports[pid]
		if p == nil {
			continue
		}
		if p.auto {
			c.deletePort(reg, p)
		} else {
			p.DeviceID, p.DeviceOwner = "", ""
		}
	}
	if v := reg.volumes[s.BootVolume]; v != nil {
		v.detach()
		if s.DeleteVolumeOnTermination {
			c.removeVolume(reg, v)
		}
	} else if s.Disk != "" {
		disk := s.Disk
		c.goBackground(func(context.Context) { _ = os.RemoveAll(disk) })
	}
	delete(reg.servers, s.ID)
}

func (c *Cloud) novaServerAction(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var body map[string]any
	if err := decodeJSON(r, &body); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	var name string
	for k := range body {
		name = k
	}
	// Each action gets its own operation name for faults and the log.
	ops := map[string]string{"os-stop": "server.stop", "os-start": "server.start", "createImage": "server.createImage",
		"forceDelete": "server.forceDelete", "reboot": "server.reboot", "os-getConsoleOutput": "server.console"}
	op, ok := ops[name]
	if !ok {
		rc.fail(w, http.StatusBadRequest, "There is no such action: %s", name)
		return
	}
	rc.op = op
	c.serveWithFaults(w, r, rc, func(w http.ResponseWriter) {
		c.mu.Lock()
		defer c.mu.Unlock()
		s := c.lookupServer(w, r, rc)
		if s == nil {
			return
		}
		switch name {
		case "os-stop":
			c.stopServer(w, rc, s)
		case "os-start":
			c.startServer(w, rc, s)
		case "reboot":
			if s.Status != "ACTIVE" && s.Status != "SHUTOFF" {
				rc.fail(w, http.StatusConflict, "Cannot 'reboot' instance %s while it is in vm_state %s", s.ID, s.VMState)
				return
			}
			c.ssh.disconnectServer(s.ID)
			s.setState("ACTIVE", "active", "", powerRunning)
			c.novaOK(w, rc, http.StatusAccepted, nil)
		case "forceDelete":
			c.deleteServer(rc.reg, s, rc.region)
			c.novaOK(w, rc, http.StatusAccepted, nil)
		case "os-getConsoleOutput":
			c.novaOK(w, rc, http.StatusOK, map[string]any{"output": "testcloud console of " + s.Name + "\n"})
		case "createImage":
			args, _ := body[name].(map[string]any)
			c.createServerImage(w, rc, s, args)
		}
	})
}

func (c *Cloud) stopServer(w http.ResponseWriter, rc *reqCtx, s *server) {
	if s.Status != "ACTIVE" || s.TaskState != "" {
		rc.fail(w, http.StatusConflict, "Cannot 'stop' instance %s while it is in vm_state %s", s.ID, s.VMState)
		return
	}
	action, msg := c.stateFault("server.stop", rc.region)
	s.TaskState, s.Updated = "powering-off", time.Now()
	c.ssh.disconnectServer(s.ID)
	if action != ActionHold {
		c.after(c.opts.ServerStopDelay, func() {
			if s.Gone || s.TaskState != "powering-off" {
				return
			}
			if action != "" {
				c.serverToError(s, msg)
				return
			}
			s.setState("SHUTOFF", "stopped", "", powerShutdown)
		})
	}
	c.novaOK(w, rc, http.StatusAccepted, nil)
}

func (c *Cloud) startServer(w http.ResponseWriter, rc *reqCtx, s *server) {
	if s.Status != "SHUTOFF" || s.TaskState != "" {
		rc.fail(w, http.StatusConflict, "Cannot 'start' instance %s while it is in vm_state %s", s.ID, s.VMState)
		return
	}
	action, msg := c.stateFault("server.start", rc.region)
	s.TaskState, s.Updated = "powering-on", time.Now()
	if action != ActionHold {
		c.after(c.opts.ServerStopDelay, func() {
			if s.Gone || s.TaskState != "powering-on" {
				return
			}
			if action != "" {
				c.serverToError(s, msg)
				return
			}
			s.setState("ACTIVE", "active", "", powerRunning)
		})
	}
	c.novaOK(w, rc, http.StatusAccepted, nil)
}
