package testcloud

import (
	"encoding/base64"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
)

func (c *Cloud) novaRoutes() http.Handler {
	rt := newRouter(c)
	rt.public("GET /{$}", "compute.versions", c.novaVersions)
	rt.public("GET /v2.1", "compute.version", c.novaVersion)
	rt.public("GET /v2.1/{$}", "compute.version", c.novaVersion)
	rt.handle("GET /v2.1/flavors", "flavor.list", c.novaListFlavors(false))
	rt.handle("GET /v2.1/flavors/detail", "flavor.list", c.novaListFlavors(true))
	rt.handle("GET /v2.1/flavors/{id}", "flavor.get", c.novaGetFlavor)
	rt.handle("GET /v2.1/flavors/{id}/os-extra_specs", "flavor.extra_specs", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		writeJSON(w, http.StatusOK, map[string]any{"extra_specs": map[string]any{}})
	})
	rt.handle("GET /v2.1/servers", "server.list", c.novaListServers(false))
	rt.handle("GET /v2.1/servers/detail", "server.list", c.novaListServers(true))
	rt.handle("POST /v2.1/servers", "server.create", c.novaCreateServer)
	rt.handle("GET /v2.1/servers/{id}", "server.get", c.novaGetServer)
	rt.handle("DELETE /v2.1/servers/{id}", "server.delete", c.novaDeleteServer)
	rt.handle("POST /v2.1/servers/{id}/action", "server.action", c.novaServerAction)
	rt.handle("GET /v2.1/servers/{id}/ips", "server.addresses", c.novaServerIPs)
	rt.handle("GET /v2.1/servers/{id}/metadata", "server.metadata.get", c.novaServerMetadata)
	rt.handle("PUT /v2.1/servers/{id}/metadata", "server.metadata.set", c.novaServerMetadata)
	rt.handle("POST /v2.1/servers/{id}/metadata", "server.metadata.update", c.novaServerMetadata)
	rt.handle("GET /v2.1/servers/{id}/os-server-password", "server.getPassword", c.novaGetPassword)
	rt.handle("GET /v2.1/servers/{id}/os-interface", "server.interface.list", c.novaListInterfaces)
	rt.handle("POST /v2.1/servers/{id}/os-interface", "server.interface.attach", c.novaAttachInterface)
	rt.handle("DELETE /v2.1/servers/{id}/os-interface/{port}", "server.interface.detach", c.novaDetachInterface)
	rt.handle("GET /v2.1/servers/{id}/os-security-groups", "server.secgroups", c.novaServerSecGroups)
	rt.handle("GET /v2.1/servers/{id}/os-volume_attachments", "server.volumes", c.novaServerVolumes)
	rt.handle("GET /v2.1/os-keypairs", "keypair.list", c.novaListKeypairs)
	rt.handle("POST /v2.1/os-keypairs", "keypair.create", c.novaCreateKeypair)
	rt.handle("GET /v2.1/os-keypairs/{name}", "keypair.get", c.novaGetKeypair)
	rt.handle("DELETE /v2.1/os-keypairs/{name}", "keypair.delete", c.novaDeleteKeypair)
	rt.handle("GET /v2.1/os-availability-zone", "az.list", c.novaAZ)
	rt.handle("GET /v2.1/os-availability-zone/detail", "az.list", c.novaAZ)
	rt.handle("GET /v2.1/limits", "compute.limits", c.novaLimits)
	return rt
}

func (c *Cloud) novaVersionDoc(rc *reqCtx) map[string]any {
	return map[string]any{
		"id": "v2.1", "status": "CURRENT", "version": novaMaxVersion.String(), "min_version": novaMinVersion.String(),
		"updated": "2013-07-23T11:33:21Z",
		"links":   []any{map[string]any{"rel": "self", "href": rc.prefix + "/v2.1/"}},
		"media-types": []any{map[string]any{"base": "application/json",
			"type": "application/vnd.openstack.compute+json;version=2.1"}},
	}
}

func (c *Cloud) novaVersions(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	writeJSON(w, http.StatusOK, map[string]any{"versions": []any{c.novaVersionDoc(rc)}})
}

func (c *Cloud) novaVersion(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	writeJSON(w, http.StatusOK, map[string]any{"version": c.novaVersionDoc(rc)})
}

func (c *Cloud) novaOK(w http.ResponseWriter, rc *reqCtx, status int, body any) {
	setMicroversionHeaders(w, rc)
	if body == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, body)
}

func (c *Cloud) flavorJSON(rc *reqCtx, f *flavor, detail bool) map[string]any {
	m := map[string]any{"id": f.ID, "name": f.Name, "links": []any{
		map[string]any{"rel": "self", "href": rc.prefix + "/v2.1/flavors/" + f.ID},
		map[string]any{"rel": "bookmark", "href": rc.prefix + "/flavors/" + f.ID}}}
	if detail {
		m["vcpus"], m["ram"], m["disk"] = f.VCPUs, f.RAM, f.Disk
		m["OS-FLV-EXT-DATA:ephemeral"], m["OS-FLV-DISABLED:disabled"] = 0, false
		m["os-flavor-access:is_public"], m["rxtx_factor"] = true, 1.0
		m["swap"] = ""
		if rc.micro.atLeast(2, 75) {
			m["swap"] = 0
		}
		if rc.micro.atLeast(2, 55) {
			m["description"] = nil
		}
		if rc.micro.atLeast(2, 61) {
			m["extra_specs"] = map[string]any{}
		}
	}
	return m
}

func (reg *region) sortedFlavors() []*flavor {
	out := make([]*flavor, 0, len(reg.flavors))
	for _, f := range reg.flavors {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (c *Cloud) novaListFlavors(detail bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		c.mu.Lock()
		defer c.mu.Unlock()
		out := []any{}
		for _, f := range rc.reg.sortedFlavors() {
			out = append(out, c.flavorJSON(rc, f, detail))
		}
		c.novaOK(w, rc, http.StatusOK, map[string]any{"flavors": out})
	}
}

func (c *Cloud) novaGetFlavor(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := rc.reg.flavors[r.PathValue("id")]
	if f == nil {
		rc.fail(w, http.StatusNotFound, "Flavor %s could not be found.", r.PathValue("id"))
		return
	}
	c.novaOK(w, rc, http.StatusOK, map[string]any{"flavor": c.flavorJSON(rc, f, true)})
}

func (c *Cloud) novaAZ(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.novaOK(w, rc, http.StatusOK, map[string]any{"availabilityZoneInfo": []any{
		map[string]any{"zoneName": "nova", "zoneState": map[string]any{"available": true}, "hosts": nil}}})
}

func (c *Cloud) novaLimits(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.novaOK(w, rc, http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": map[string]any{
		"maxTotalInstances": 100, "maxTotalCores": 200, "maxTotalRAMSize": 512000, "maxTotalKeypairs": 100,
		"totalInstancesUsed": 0, "totalCoresUsed": 0, "totalRAMUsed": 0, "maxServerMeta": 128,
	}}})
}

// lookupServer finds a visible, not yet vanished server or writes 404.
func (c *Cloud) lookupServer(w http.ResponseWriter, r *http.Request, rc *reqCtx) *server {
	s := rc.reg.servers[r.PathValue("id")]
	if s == nil || s.Gone || (!rc.isAdmin() && s.ProjectID != rc.projectID()) {
		rc.fail(w, http.StatusNotFound, "Instance %s could not be found.", r.PathValue("id"))
		return nil
	}
	return s
}

func (c *Cloud) serverJSON(rc *reqCtx, reg *region, s *server) map[string]any {
	addresses := map[string]any{}
	for _, pid := range s.Ports {
		p := reg.ports[pid]
		if p == nil {
			continue
		}
		netName := p.NetworkID
		if n := reg.networks[p.NetworkID]; n != nil {
			netName = n.Name
		}
		list, _ := addresses[netName].([]any)
		list = append(list, map[string]any{"version": 4, "addr": p.IP, "OS-EXT-IPS:type": "fixed",
			"OS-EXT-IPS-MAC:mac_addr": p.MAC})
		for _, f := range reg.sortedFIPs() {
			if f.PortID == p.ID {
				list = append(list, map[string]any{"version": 4, "addr": f.IP, "OS-EXT-IPS:type": "floating",
					"OS-EXT-IPS-MAC:mac_addr": p.MAC})
			}
		}
		addresses[netName] = list
	}
	var img any = ""
	if s.ImageID != "" && s.BootVolume == "" {
		img = map[string]any{"id": s.ImageID, "links": []any{map[string]any{"rel": "bookmark", "href": rc.prefix + "/images/" + s.ImageID}}}
	}
	var flv any = map[string]any{"id": s.FlavorID, "links": []any{map[string]any{"rel": "bookmark", "href": rc.prefix + "/flavors/" + s.FlavorID}}}
	if rc.micro.atLeast(2, 47) {
		if f := reg.flavors[s.FlavorID]; f != nil {
			flv = map[string]any{"original_name": f.Name, "vcpus": f.VCPUs, "ram": f.RAM, "disk": f.Disk,
				"ephemeral": 0, "swap": 0, "extra_specs": map[string]any{}}
		}
	}
	sgs := []any{}
	for _, name := range s.SecGroups {
		sgs = append(sgs, map[string]any{"name": name})
	}
	vols := []any{}
	if s.BootVolume != "" {
		vols = append(vols, map[string]any{"id": s.BootVolume, "delete_on_termination": s.DeleteVolumeOnTermination})
	}
	var task any
	if s.TaskState != "" {
		task = s.TaskState
	}
	var launched any
	if s.Status != "BUILD" {
		launched = s.Created.UTC().Format("2006-01-02T15:04:05.000000")
	}
	metadata := map[string]string{}
	for k, v := range s.Metadata {
		metadata[k] = v
	}
	m := map[string]any{
		"id": s.ID, "name": s.Name, "status": s.Status, "tenant_id": s.ProjectID, "user_id": s.UserID,
		"metadata": metadata, "hostId": "testcloud-" + reg.name, "image": img, "flavor": flv,
		"created": novaTime(s.Created), "updated": novaTime(s.Updated), "addresses": addresses,
		"accessIPv4": "", "accessIPv6": "", "progress": 0, "OS-DCF:diskConfig": "MANUAL",
		"OS-EXT-AZ:availability_zone": s.AZ, "config_drive": map[bool]string{true: "True", false: ""}[s.ConfigDrive],
		"key_name": nilIfEmpty(s.KeyName), "OS-SRV-USG:launched_at": launched, "OS-SRV-USG:terminated_at": nil,
		"security_groups": sgs, "OS-EXT-STS:task_state": task, "OS-EXT-STS:vm_state": s.VMState,
		"OS-EXT-STS:power_state": s.PowerState, "os-extended-volumes:volumes_attached": vols,
		"links": []any{map[string]any{"rel": "self", "href": rc.prefix + "/v2.1/servers/" + s.ID},
			map[string]any{"rel": "bookmark", "href": rc.prefix + "/servers/" + s.ID}},
	}
	if s.Fault != nil {
		m["fault"] = map[string]any{"code": s.Fault.Code, "message": s.Fault.Message, "created": novaTime(s.Fault.Created)}
	}
	if rc.micro.atLeast(2, 9) {
		m["locked"] = false
	}
	if rc.micro.atLeast(2, 19) {
		m["description"] = nil
	}
	if rc.micro.atLeast(2, 26) {
		m["tags"] = []string{}
	}
	return m
}

func (reg *region) sortedFIPs() []*floatingIP {
	out := make([]*floatingIP, 0, len(reg.fips))
	for _, f := range reg.fips {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

func (c *Cloud) novaGetServer(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.lookupServer(w, r, rc)
	if s == nil {
		return
	}
	c.novaOK(w, rc, http.StatusOK, map[string]any{"server": c.serverJSON(rc, rc.reg, s)})
}

func (c *Cloud) novaListServers(detail bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		q := r.URL.Query()
		var nameRE *regexp.Regexp
		if v := q.Get("name"); v != "" {
			re, err := regexp.Compile(v)
			if err != nil {
				rc.fail(w, http.StatusBadRequest, "Invalid name filter: %v", err)
				return
			}
			nameRE = re
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		all := rc.isAdmin() && (q.Get("all_tenants") == "1" || strings.EqualFold(q.Get("all_tenants"), "true"))
		var list []*server
		for _, s := range rc.reg.servers {
			if s.Gone || (!all && s.ProjectID != rc.projectID()) {
				continue
			}
			if nameRE != nil && !nameRE.MatchString(s.Name) {
				continue
			}
			if v := q.Get("status"); v != "" && !strings.EqualFold(v, s.Status) {
				continue
			}
			if v := q.Get("image"); v != "" && v != s.ImageID {
				continue
			}
			if v := q.Get("flavor"); v != "" && v != s.FlavorID {
				continue
			}
			list = append(list, s)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Created.After(list[j].Created) })
		out := []any{}
		for _, s := range list {
			if detail {
				out = append(out, c.serverJSON(rc, rc.reg, s))
			} else {
				out = append(out, map[string]any{"id": s.ID, "name": s.Name, "links": []any{
					map[string]any{"rel": "self", "href": rc.prefix + "/v2.1/servers/" + s.ID}}})
			}
		}
		c.novaOK(w, rc, http.StatusOK, map[string]any{"servers": out})
	}
}

// refID accepts an ID or a URL ending in the ID, as Nova does for imageRef and flavorRef.
func refID(v string) string {
	if strings.Contains(v, "/") {
		return path.Base(v)
	}
	return v
}

type bdmV2 struct {
	BootIndex           any    `json:"boot_index"`
	UUID                string `json:"uuid"`
	SourceType          string `json:"source_type"`
	DestinationType     string `json:"destination_type"`
	VolumeSize          int    `json:"volume_size"`
	DeleteOnTermination bool   `json:"delete_on_termination"`
}

type createServerRequest struct {
	Server struct {
		Name             string                  `json:"name"`
		ImageRef         string                  `json:"imageRef"`
		FlavorRef        string                  `json:"flavorRef"`
		Networks         any                     `json:"networks"`
		SecurityGroups   []struct{ Name string } `json:"security_groups"`
		KeyName          string                  `json:"key_name"`
		UserData         string                  `json:"user_data"`
		ConfigDrive      any                     `json:"config_drive"`
		Metadata         map[string]string       `json:"metadata"`
		AvailabilityZone string                  `json:"availability_zone"`
		AdminPass        string                  `json:"adminPass"`
		BDM              []bdmV2                 `json:"block_device_mapping_v2"`
	} `json:"server"`
}

func (c *Cloud) novaCreateServer(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var req createServerRequest
	if err := decodeJSON(r, &req); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	in := req.Server
	if in.Name == "" {
		rc.fail(w, http.StatusBadRequest, "Invalid input for field/attribute name.")
		return
	}
	if in.UserData != "" {
		if _, err := base64.StdEncoding.DecodeString(in.UserData); err != nil {
			rc.fail(w, http.StatusBadRequest, "Invalid input for field/attribute user_data. Value: must be base64.")
			return
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	reg := rc.reg
	fl := reg.flavors[refID(in.FlavorRef)]
	if fl == nil {
		rc.fail(w, http.StatusBadRequest, "Flavor %s could not be found.", in.FlavorRef)
		return
	}
	if in.KeyName != "" && reg.keypairs[rc.tok.userID+"/"+in.KeyName] == nil {
		rc.fail(w, http.StatusBadRequest, "Invalid key_name provided.")
		return
	}
	az := in.AvailabilityZone
	if az == "" {
		az = "nova"
	} else if az != "nova" {
		rc.fail(w, http.StatusBadRequest, "The requested availability zone is not available")
		return
	}
	plan, status, msg := c.planBoot(reg, rc, in.ImageRef, in.BDM, fl)
	if status != 0 {
		rc.fail(w, status, "%s", msg)
		return
	}
	nets, status, msg := c.resolveServerNetworks(reg, rc, in.Networks)
	if status != 0 {
		rc.fail(w, status, "%s", msg)
		return
	}
	sgNames := []string{}
	var sgIDs []string
	for _, g := range in.SecurityGroups {
		found := false
		for _, sg := range reg.secgroups {
			if (sg.Name == g.Name || sg.ID == g.Name) && (sg.ProjectID == rc.projectID() || rc.isAdmin()) {
				sgNames, sgIDs, found = append(sgNames, sg.Name), append(sgIDs, sg.ID), true
				break
			}
		}
		if !found {
			rc.fail(w, http.StatusBadRequest, "Security group %s not found for project %s.", g.Name, rc.projectID())
			return
		}
	}
	if len(in.SecurityGroups) == 0 {
		if g := reg.defaultSecGroup(rc.projectID()); g != nil {
			sgNames, sgIDs = []string{"default"}, []string{g.ID}
		}
	}
	now := time.Now()
	s := &server{ID: newUUID(), Name: in.Name, ProjectID: rc.projectID(), UserID: rc.tok.userID,
		FlavorID: fl.ID, ImageID: plan.imageID, KeyName: in.KeyName, UserData: in.UserData, AZ: az,
		ConfigDrive: in.ConfigDrive == true || in.ConfigDrive == "true" || in.ConfigDrive == "True",
		Metadata:    map[string]string{}, SecGroups: sgNames, Created: now, Updated: now,
		AdminPass: in.AdminPass}
	if s.AdminPass == "" {
		s.AdminPass = newHexID()[:12]
	}
	if k := reg.keypairs[rc.tok.userID+"/"+in.KeyName]; k != nil && in.KeyName != "" {
		s.authKey = k.key
	}
	for k, v := range in.Metadata {
		s.Metadata[k] = v
	}
	for _, n := range nets {
		if n.port != nil {
			if n.port.DeviceID != "" {
				c.rollbackPorts(reg, s)
				rc.fail(w, http.StatusConflict, "Port %s is still in use.", n.port.ID)
				return
			}
			n.port.DeviceID, n.port.DeviceOwner = s.ID, "compute:"+az
			s.Ports = append(s.Ports, n.port.ID)
			continue
		}
		p, err := c.createPort(reg, n.net, rc.projectID(), "", sgIDs)
		if err != nil {
			c.rollbackPorts(reg, s)
			rc.fail(w, http.StatusInternalServerError, "Failed to allocate the network(s): %v", err)
			return
		}
		p.DeviceID, p.DeviceOwner, p.auto = s.ID, "compute:"+az, true
		s.Ports = append(s.Ports, p.ID)
	}
	s.setState("BUILD", "building", "scheduling", powerNoState)
	reg.servers[s.ID] = s
	c.bootServer(reg, s, plan)
	c.novaOK(w, rc, http.StatusAccepted, map[string]any{"server": map[string]any{
		"id": s.ID, "adminPass": s.AdminPass, "OS-DCF:diskConfig": "MANUAL",
		"security_groups": func() []any {
			out := []any{}
			for _, n := range sgNames {
				out = append(out, map[string]any{"name": n})
			}
			return out
		}(),
		"links": []any{map[string]any{"rel": "self", "href": rc.prefix + "/v2.1/servers/" + s.ID},
			map[string]any{"rel": "bookmark", "href": rc.prefix + "/servers/" + s.ID}},
	}})
}

// rollbackPorts detaches or deletes the ports a failed create already set up. Callers hold c.mu.
func (c *Cloud) rollbackPorts(reg *region, s *server) {
	for _, pid := range s.Ports {
		if p := reg.ports[pid]; p != nil {
			if p.auto {
				c.deletePort(reg, p)
			} else {
				p.DeviceID, p.DeviceOwner = "", ""
			}
		}
	}
	s.Ports = nil
}

type serverNet struct {
	net  *network
	port *port
}

func (c *Cloud) resolveServerNetworks(reg *region, rc *reqCtx, raw any) ([]serverNet, int, string) {
	visible := func(n *network) bool {
		return n != nil && !n.External && (n.Shared || rc.isAdmin() || n.ProjectID == rc.projectID())
	}
	switch v := raw.(type) {
	case nil, string:
		if v == "none" {
			return nil, 0, ""
		}
		var candidates []*network
		for _, n := range reg.networks {
			if visible(n) {
				candidates = append(candidates, n)
			}
		}
		if len(candidates) == 0 {
			return nil, http.StatusBadRequest, "No valid network found"
		}
		if len(candidates) > 1 {
			if p := reg.networkByName("private"); visible(p) {
				return []serverNet{{net: p}}, 0, ""
			}
			return nil, http.StatusConflict, "Multiple possible networks found, use a Network ID to be more specific."
		}
		return []serverNet{{net: candidates[0]}}, 0, ""
	case []any:
		var out []serverNet
		for _, item := range v {
			m, _ := item.(map[string]any)
			if pid, _ := m["port"].(string); pid != "" {
				p := reg.ports[pid]
				if p == nil || (!rc.isAdmin() && p.ProjectID != rc.projectID()) {
					return nil, http.StatusBadRequest, "Port " + pid + " could not be found."
				}
				out = append(out, serverNet{port: p})
				continue
			}
			nid, _ := m["uuid"].(string)
			n := reg.networks[nid]
			if !visible(n) {
				return nil, http.StatusBadRequest, "Network " + nid + " could not be found."
			}
			out = append(out, serverNet{net: n})
		}
		return out, 0, ""
	}
	return nil, http.StatusBadRequest, "Invalid input for field/attribute networks."
}

func (c *Cloud) novaDeleteServer(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.lookupServer(w, r, rc)
	if s == nil {
		return
	}
	c.deleteServer(rc.reg, s, rc.region)
	c.novaOK(w, rc, http.StatusNoContent, nil)
}

func (c *Cloud) novaGetPassword(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lookupServer(w, r, rc) == nil {
		return
	}
	// Linux guests never post an encrypted password.
	c.novaOK(w, rc, http.StatusOK, map[string]any{"password": ""})
}

func (c *Cloud) novaServerSecGroups(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.lookupServer(w, r, rc)
	if s == nil {
		return
	}
	out := []any{}
	for _, name := range s.SecGroups {
		for _, g := range rc.reg.secgroups {
			if g.Name == name && g.ProjectID == s.ProjectID {
				out = append(out, map[string]any{"id": g.ID, "name": g.Name, "description": g.Description,
					"tenant_id": g.ProjectID, "rules": []any{}})
			}
		}
	}
	c.novaOK(w, rc, http.StatusOK, map[string]any{"security_groups": out})
}

func (c *Cloud) novaServerVolumes(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.lookupServer(w, r, rc)
	if s == nil {
		return
	}
	out := []any{}
	if s.BootVolume != "" {
		// tag (2.70) and delete_on_termination (2.79) are shown from those microversions on.
		att := map[string]any{"id": s.BootVolume, "volumeId": s.BootVolume, "serverId": s.ID, "device": "/dev/vda"}
		if rc.micro.atLeast(2, 70) {
			att["tag"] = nil
		}
		if rc.micro.atLeast(2, 79) {
			att["delete_on_termination"] = s.DeleteVolumeOnTermination
		}
		out = append(out, att)
	}
	c.novaOK(w, rc, http.StatusOK, map[string]any{"volumeAttachments": out})
}

func (c *Cloud) novaServerIPs(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.lookupServer(w, r, rc)
	if s == nil {
		return
	}
	c.novaOK(w, rc, http.StatusOK, map[string]any{"addresses": c.serverJSON(rc, rc.reg, s)["addresses"]})
}

// novaServerMetadata reads (GET), replaces (PUT) or merges (POST) server metadata.
func (c *Cloud) novaServerMetadata(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var body struct {
		Metadata map[string]string `json:"metadata"`
	}
	if r.Method != http.MethodGet {
		if err := decodeJSON(r, &body); err != nil {
			rc.fail(w, http.StatusBadRequest, "%v", err)
			return
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.lookupServer(w, r, rc)
	if s == nil {
		return
	}
	if r.Method == http.MethodPut {
		s.Metadata = map[string]string{}
	}
	for k, v := range body.Metadata {
		s.Metadata[k] = v
	}
	out := map[string]string{}
	for k, v := range s.Metadata {
		out[k] = v
	}
	c.novaOK(w, rc, http.StatusOK, map[string]any{"metadata": out})
}
