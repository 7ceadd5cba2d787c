package testcloud

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

func (c *Cloud) neutronRoutes() http.Handler {
	rt := newRouter(c)
	rt.public("GET /{$}", "network.versions", c.neutronVersions)
	rt.handle("GET /v2.0/extensions", "network.extensions", c.neutronExtensions)
	rt.handle("GET /v2.0/networks", "network.list", c.neutronList("networks"))
	rt.handle("GET /v2.0/networks/{id}", "network.get", c.neutronGet("network"))
	rt.handle("POST /v2.0/networks", "network.create", c.neutronCreateNetwork)
	rt.handle("DELETE /v2.0/networks/{id}", "network.delete", c.neutronDelete("network"))
	rt.handle("GET /v2.0/subnets", "subnet.list", c.neutronList("subnets"))
	rt.handle("GET /v2.0/subnets/{id}", "subnet.get", c.neutronGet("subnet"))
	rt.handle("GET /v2.0/ports", "port.list", c.neutronList("ports"))
	rt.handle("GET /v2.0/ports/{id}", "port.get", c.neutronGet("port"))
	rt.handle("POST /v2.0/ports", "port.create", c.neutronCreatePort)
	rt.handle("PUT /v2.0/ports/{id}", "port.update", c.neutronUpdatePort)
	rt.handle("DELETE /v2.0/ports/{id}", "port.delete", c.neutronDelete("port"))
	rt.handle("GET /v2.0/floatingips", "floatingip.list", c.neutronList("floatingips"))
	rt.handle("GET /v2.0/floatingips/{id}", "floatingip.get", c.neutronGet("floatingip"))
	rt.handle("POST /v2.0/floatingips", "floatingip.create", c.neutronCreateFIP)
	rt.handle("PUT /v2.0/floatingips/{id}", "floatingip.update", c.neutronUpdateFIP)
	rt.handle("DELETE /v2.0/floatingips/{id}", "floatingip.delete", c.neutronDelete("floatingip"))
	rt.handle("GET /v2.0/security-groups", "secgroup.list", c.neutronList("security_groups"))
	rt.handle("GET /v2.0/security-groups/{id}", "secgroup.get", c.neutronGet("security_group"))
	rt.handle("POST /v2.0/security-groups", "secgroup.create", c.neutronCreateSecGroup)
	rt.handle("DELETE /v2.0/security-groups/{id}", "secgroup.delete", c.neutronDelete("security_group"))
	rt.handle("GET /v2.0/security-group-rules", "secgroup_rule.list", c.neutronList("security_group_rules"))
	rt.handle("GET /v2.0/security-group-rules/{id}", "secgroup_rule.get", c.neutronGet("security_group_rule"))
	rt.handle("POST /v2.0/security-group-rules", "secgroup_rule.create", c.neutronCreateRule)
	rt.handle("DELETE /v2.0/security-group-rules/{id}", "secgroup_rule.delete", c.neutronDelete("security_group_rule"))
	rt.handle("GET /v2.0/routers", "router.list", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		writeJSON(w, http.StatusOK, map[string]any{"routers": []any{}})
	})
	return rt
}

func (c *Cloud) neutronVersions(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	writeJSON(w, http.StatusOK, map[string]any{"versions": []any{map[string]any{
		"id": "v2.0", "status": "CURRENT",
		"links": []any{map[string]any{"rel": "self", "href": rc.prefix + "/v2.0/"}},
	}}})
}

func (c *Cloud) neutronExtensions(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var out []any
	for _, a := range []string{"external-net", "router", "security-group", "port-security", "binding",
		"standard-attr-description", "standard-attr-tag", "project-id", "ext-gw-mode", "quotas", "extra_dhcp_opt"} {
		out = append(out, map[string]any{"alias": a, "name": a, "description": a, "updated": "2013-01-01T00:00:00-00:00", "links": []any{}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"extensions": out})
}

func neutronTimes(m map[string]any, t time.Time) map[string]any {
	m["created_at"], m["updated_at"], m["revision_number"] = isoTime(t), isoTime(t), 1
	m["tags"] = []string{}
	return m
}

func (c *Cloud) networkJSON(reg *region, n *network) map[string]any {
	return neutronTimes(map[string]any{
		"id": n.ID, "name": n.Name, "tenant_id": n.ProjectID, "project_id": n.ProjectID, "admin_state_up": true,
		"status": "ACTIVE", "shared": n.Shared, "router:external": n.External, "subnets": append([]string{}, n.Subnets...),
		"mtu": 1500, "port_security_enabled": true, "description": "", "availability_zones": []string{"nova"},
		"provider:network_type": map[bool]string{true: "flat", false: "vxlan"}[n.External],
	}, n.Created)
}

func (c *Cloud) subnetJSON(s *subnet) map[string]any {
	return neutronTimes(map[string]any{
		"id": s.ID, "name": s.Name, "network_id": s.NetworkID, "tenant_id": s.ProjectID, "project_id": s.ProjectID,
		"cidr": s.cidr(), "gateway_ip": s.gateway(), "ip_version": 4, "enable_dhcp": true,
		"allocation_pools": []any{map[string]any{"start": s.Prefix + ".0.2", "end": s.Prefix + ".255.251"}},
		"dns_nameservers":  []string{}, "host_routes": []any{}, "description": "", "subnetpool_id": nil,
		"ipv6_ra_mode": nil, "ipv6_address_mode": nil,
	}, s.Created)
}

func (c *Cloud) portJSON(p *port) map[string]any {
	status := "DOWN"
	if p.DeviceID != "" {
		status = "ACTIVE"
	}
	return neutronTimes(map[string]any{
		"id": p.ID, "name": p.Name, "network_id": p.NetworkID, "tenant_id": p.ProjectID, "project_id": p.ProjectID,
		"mac_address": p.MAC, "fixed_ips": []any{map[string]any{"subnet_id": p.SubnetID, "ip_address": p.IP}},
		"device_id": p.DeviceID, "device_owner": p.DeviceOwner, "status": status, "admin_state_up": true,
		"security_groups": append([]string{}, p.SecGroups...), "port_security_enabled": true,
		"allowed_address_pairs": []any{}, "extra_dhcp_opts": []any{}, "description": "",
		"binding:vnic_type": "normal", "binding:host_id": "", "dns_name": "",
	}, p.Created)
}

func (c *Cloud) fipJSON(reg *region, f *floatingIP) map[string]any {
	var portID, fixed, router any
	status := "DOWN"
	if p := reg.ports[f.PortID]; p != nil {
		portID, fixed, status, router = p.ID, p.IP, "ACTIVE", "router-"+reg.name
	}
	return neutronTimes(map[string]any{
		"id": f.ID, "tenant_id": f.ProjectID, "project_id": f.ProjectID, "floating_network_id": f.NetworkID,
		"floating_ip_address": f.IP, "port_id": portID, "fixed_ip_address": fixed, "router_id": router,
		"status": status, "description": f.Description, "port_details": nil, "dns_name": "", "dns_domain": "",
	}, f.Created)
}

func (c *Cloud) secGroupJSON(reg *region, g *secGroup) map[string]any {
	rules := []any{}
	for _, r := range sortedRules(reg) {
		if r.GroupID == g.ID {
			rules = append(rules, c.ruleJSON(r))
		}
	}
	return neutronTimes(map[string]any{
		"id": g.ID, "name": g.Name, "description": g.Description, "tenant_id": g.ProjectID,
		"project_id": g.ProjectID, "security_group_rules": rules, "stateful": true,
	}, g.Created)
}

func sortedRules(reg *region) []*secRule {
	out := make([]*secRule, 0, len(reg.rules))
	for _, r := range reg.rules {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (c *Cloud) ruleJSON(r *secRule) map[string]any {
	var min, max, proto, prefix, rg any
	if r.PortMin != nil {
		min = *r.PortMin
	}
	if r.PortMax != nil {
		max = *r.PortMax
	}
	if r.Protocol != "" {
		proto = r.Protocol
	}
	if r.RemoteIPPrefix != "" {
		prefix = r.RemoteIPPrefix
	}
	if r.RemoteGroupID != "" {
		rg = r.RemoteGroupID
	}
	return neutronTimes(map[string]any{
		"id": r.ID, "security_group_id": r.GroupID, "tenant_id": r.ProjectID, "project_id": r.ProjectID,
		"direction": r.Direction, "ethertype": r.EtherType, "protocol": proto, "port_range_min": min,
		"port_range_max": max, "remote_ip_prefix": prefix, "remote_group_id": rg, "description": r.Description,
	}, r.Created)
}

// neutronObjects renders every object of a collection visible to the caller.
func (c *Cloud) neutronObjects(reg *region, collection string, rc *reqCtx) []map[string]any {
	var out []map[string]any
	visible := func(owner string, shared bool) bool {
		return shared || rc.isAdmin() || owner == rc.projectID()
	}
	switch collection {
	case "networks":
		for _, n := range reg.networks {
			if visible(n.ProjectID, n.Shared || n.External) {
				out = append(out, c.networkJSON(reg, n))
			}
		}
	case "subnets":
		for _, s := range reg.subnets {
			n := reg.networks[s.NetworkID]
			if visible(s.ProjectID, n != nil && (n.Shared || n.External)) {
				out = append(out, c.subnetJSON(s))
			}
		}
	case "ports":
		for _, p := range reg.ports {
			if visible(p.ProjectID, false) {
				out = append(out, c.portJSON(p))
			}
		}
	case "floatingips":
		for _, f := range reg.fips {
			if visible(f.ProjectID, false) {
				out = append(out, c.fipJSON(reg, f))
			}
		}
	case "security_groups":
		for _, g := range reg.secgroups {
			if visible(g.ProjectID, false) {
				out = append(out, c.secGroupJSON(reg, g))
			}
		}
	case "security_group_rules":
		for _, r := range reg.rules {
			if visible(r.ProjectID, false) {
				out = append(out, c.ruleJSON(r))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		ci, cj := out[i]["created_at"].(string), out[j]["created_at"].(string)
		if ci != cj {
			return ci < cj
		}
		return out[i]["id"].(string) < out[j]["id"].(string)
	})
	return out
}

// matchesNeutronFilters compares query parameters with the rendered fields, as Neutron filters on any
// attribute. fixed_ips=ip_address=X and fixed_ips=subnet_id=X are understood too.
func matchesNeutronFilters(obj map[string]any, q url.Values) bool {
	for k, vals := range q {
		switch k {
		case "fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse":
			continue
		case "fixed_ips":
			ips, _ := obj["fixed_ips"].([]any)
			for _, v := range vals {
				fk, fv, _ := strings.Cut(v, "=")
				found := false
				for _, ip := range ips {
					m := ip.(map[string]any)
					found = found || fmt.Sprint(m[fk]) == fv
				}
				if !found {
					return false
				}
			}
			continue
		}
		field, ok := obj[k]
		if !ok {
			return false
		}
		got := fmt.Sprint(field)
		if field == nil {
			got = ""
		}
		match := false
		for _, v := range vals {
			if strings.EqualFold(got, v) {
				match = true
			}
		}
		if !match {
			return false
		}
	}
	return true
}

func (c *Cloud) neutronList(collection string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		c.mu.Lock()
		defer c.mu.Unlock()
		q := r.URL.Query()
		out := []any{}
		for _, obj := range c.neutronObjects(rc.reg, collection, rc) {
			if matchesNeutronFilters(obj, q) {
				out = append(out, obj)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{collection: out})
	}
}

// neutronFind returns the rendered object of a kind by ID when the caller may see it.
func (c *Cloud) neutronFind(reg *region, kind, id string, rc *reqCtx) map[string]any {
	for _, obj := range c.neutronObjects(reg, kind+"s", rc) {
		if obj["id"] == id {
			return obj
		}
	}
	return nil
}

var neutronNotFound = map[string]string{
	"network": "Network", "subnet": "Subnet", "port": "Port", "floatingip": "Floating IP",
	"security_group": "Security group", "security_group_rule": "Security group rule",
}

func (c *Cloud) neutronGet(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		c.mu.Lock()
		defer c.mu.Unlock()
		obj := c.neutronFind(rc.reg, kind, r.PathValue("id"), rc)
		if obj == nil {
			rc.fail(w, http.StatusNotFound, "%s %s could not be found.", neutronNotFound[kind], r.PathValue("id"))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{kind: obj})
	}
}

func (c *Cloud) neutronDelete(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		c.mu.Lock()
		defer c.mu.Unlock()
		id := r.PathValue("id")
		reg := rc.reg
		if c.neutronFind(reg, kind, id, rc) == nil {
			rc.fail(w, http.StatusNotFound, "%s %s could not be found.", neutronNotFound[kind], id)
			return
		}
		switch kind {
		case "network":
			for _, p := range reg.ports {
				if p.NetworkID == id {
					rc.fail(w, http.StatusConflict, "Unable to complete operation on network %s. There are one or more ports still in use on the network.", id)
					return
				}
			}
			for _, s := range reg.networks[id].Subnets {
				delete(reg.subnets, s)
			}
			delete(reg.networks, id)
		case "port":
			// Neutron lets users delete a server's port; the server simply loses that interface.
			c.deletePort(reg, reg.ports[id])
		case "floatingip":
			f := reg.fips[id]
			c.ssh.release(f.IP)
			delete(reg.fips, id)
		case "security_group":
			g := reg.secgroups[id]
			if g.Name == "default" && !rc.isAdmin() {
				rc.fail(w, http.StatusConflict, "Insufficient rights for removing default security group.")
				return
			}
			for _, p := range reg.ports {
				if contains(p.SecGroups, id) {
					rc.fail(w, http.StatusConflict, "Security Group %s in use.", id)
					return
				}
			}
			for rid, rule := range reg.rules {
				if rule.GroupID == id {
					delete(reg.rules, rid)
				}
			}
			delete(reg.secgroups, id)
		case "security_group_rule":
			delete(reg.rules, id)
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (c *Cloud) neutronCreateNetwork(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var req struct {
		Network struct {
			Name     string `json:"name"`
			Shared   bool   `json:"shared"`
			External bool   `json:"router:external"`
		} `json:"network"`
	}
	if err := decodeJSON(r, &req); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if (req.Network.Shared || req.Network.External) && !rc.isAdmin() {
		rc.fail(w, http.StatusForbidden, "(rule:create_network and rule:create_network:shared) is disallowed by policy")
		return
	}
	now := time.Now()
	n := &network{ID: newUUID(), Name: req.Network.Name, ProjectID: rc.projectID(), Shared: req.Network.Shared,
		External: req.Network.External, Created: now}
	// Every network gets one loopback subnet right away so that ports on it are reachable.
	s := &subnet{ID: newUUID(), Name: n.Name + "-subnet", NetworkID: n.ID, ProjectID: n.ProjectID,
		Prefix: fmt.Sprintf("127.%d", randomOctet(64, 254)), next: 8, Created: now}
	n.Subnets = []string{s.ID}
	rc.reg.networks[n.ID], rc.reg.subnets[s.ID] = n, s
	writeJSON(w, http.StatusCreated, map[string]any{"network": c.networkJSON(rc.reg, n)})
}

func (c *Cloud) neutronCreatePort(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var req struct {
		Port struct {
			Name      string   `json:"name"`
			NetworkID string   `json:"network_id"`
			SecGroups []string `json:"security_groups"`
			DeviceID  string   `json:"device_id"`
			Owner     string   `json:"device_owner"`
		} `json:"port"`
	}
	if err := decodeJSON(r, &req); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := rc.reg.networks[req.Port.NetworkID]
	if n == nil || (!rc.isAdmin() && n.ProjectID != rc.projectID() && !n.Shared) {
		rc.fail(w, http.StatusNotFound, "Network %s could not be found.", req.Port.NetworkID)
		return
	}
	sgs := req.Port.SecGroups
	if sgs == nil {
		if g := rc.reg.defaultSecGroup(rc.projectID()); g != nil {
			sgs = []string{g.ID}
		}
	}
	for _, g := range sgs {
		if rc.reg.secgroups[g] == nil {
			rc.fail(w, http.StatusNotFound, "Security group %s does not exist", g)
			return
		}
	}
	p, err := c.createPort(rc.reg, n, rc.projectID(), req.Port.Name, sgs)
	if err != nil {
		rc.fail(w, http.StatusConflict, "%v", err)
		return
	}
	p.DeviceID, p.DeviceOwner = req.Port.DeviceID, req.Port.Owner
	writeJSON(w, http.StatusCreated, map[string]any{"port": c.portJSON(p)})
}

func (c *Cloud) neutronUpdatePort(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var req struct {
		Port map[string]any `json:"port"`
	}
	if err := decodeJSON(r, &req); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.neutronFind(rc.reg, "port", r.PathValue("id"), rc) == nil {
		rc.fail(w, http.StatusNotFound, "Port %s could not be found.", r.PathValue("id"))
		return
	}
	p := rc.reg.ports[r.PathValue("id")]
	if v, ok := req.Port["name"].(string); ok {
		p.Name = v
	}
	if v, ok := req.Port["security_groups"].([]any); ok {
		p.SecGroups = nil
		for _, g := range v {
			if s, ok := g.(string); ok {
				p.SecGroups = append(p.SecGroups, s)
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"port": c.portJSON(p)})
}

func (c *Cloud) neutronCreateFIP(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var req struct {
		FloatingIP struct {
			NetworkID   string `json:"floating_network_id"`
			PortID      string `json:"port_id"`
			Description string `json:"description"`
		} `json:"floatingip"`
	}
	if err := decodeJSON(r, &req); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := rc.reg.networks[req.FloatingIP.NetworkID]
	if n == nil {
		rc.fail(w, http.StatusNotFound, "Network %s could not be found.", req.FloatingIP.NetworkID)
		return
	}
	if !n.External {
		rc.fail(w, http.StatusBadRequest, "Bad floatingip request: Network %s is not a valid external network.", n.ID)
		return
	}
	if req.FloatingIP.PortID != "" {
		if p := rc.reg.ports[req.FloatingIP.PortID]; p == nil || (!rc.isAdmin() && p.ProjectID != rc.projectID()) {
			rc.fail(w, http.StatusNotFound, "Port %s could not be found.", req.FloatingIP.PortID)
			return
		}
	}
	ip, err := c.allocateIP(rc.reg.subnets[n.Subnets[0]])
	if err != nil {
		rc.fail(w, http.StatusConflict, "No more IP addresses available on network %s.", n.ID)
		return
	}
	f := &floatingIP{ID: newUUID(), ProjectID: rc.projectID(), NetworkID: n.ID, IP: ip,
		PortID: req.FloatingIP.PortID, Description: req.FloatingIP.Description, Created: time.Now()}
	rc.reg.fips[f.ID] = f
	writeJSON(w, http.StatusCreated, map[string]any{"floatingip": c.fipJSON(rc.reg, f)})
}

func (c *Cloud) neutronUpdateFIP(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var req struct {
		FloatingIP map[string]any `json:"floatingip"`
	}
	if err := decodeJSON(r, &req); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id := r.PathValue("id")
	if c.neutronFind(rc.reg, "floatingip", id, rc) == nil {
		rc.fail(w, http.StatusNotFound, "Floating IP %s could not be found.", id)
		return
	}
	f := rc.reg.fips[id]
	if v, present := req.FloatingIP["port_id"]; present {
		switch pid := v.(type) {
		case nil:
			f.PortID = ""
		case string:
			p := rc.reg.ports[pid]
			if p == nil || (!rc.isAdmin() && p.ProjectID != rc.projectID()) {
				rc.fail(w, http.StatusNotFound, "Port %s could not be found.", pid)
				return
			}
			if f.PortID != "" && f.PortID != pid {
				rc.fail(w, http.StatusConflict, "Cannot associate floating IP %s with port %s: the floating IP is already associated.", f.IP, pid)
				return
			}
			f.PortID = pid
		}
	}
	if v, ok := req.FloatingIP["description"].(string); ok {
		f.Description = v
	}
	writeJSON(w, http.StatusOK, map[string]any{"floatingip": c.fipJSON(rc.reg, f)})
}

func (c *Cloud) neutronCreateSecGroup(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var req struct {
		SecurityGroup struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"security_group"`
	}
	if err := decodeJSON(r, &req); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if req.SecurityGroup.Name == "default" {
		rc.fail(w, http.StatusConflict, "Default security group already exists.")
		return
	}
	now := time.Now()
	g := &secGroup{ID: newUUID(), Name: req.SecurityGroup.Name, Description: req.SecurityGroup.Description,
		ProjectID: rc.projectID(), Created: now}
	rc.reg.secgroups[g.ID] = g
	for _, et := range []string{"IPv4", "IPv6"} {
		rule := &secRule{ID: newUUID(), GroupID: g.ID, ProjectID: g.ProjectID, Direction: "egress", EtherType: et, Created: now}
		rc.reg.rules[rule.ID] = rule
	}
	writeJSON(w, http.StatusCreated, map[string]any{"security_group": c.secGroupJSON(rc.reg, g)})
}

func (c *Cloud) neutronCreateRule(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var req struct {
		Rule struct {
			GroupID        string `json:"security_group_id"`
			Direction      string `json:"direction"`
			EtherType      string `json:"ethertype"`
			Protocol       any    `json:"protocol"`
			PortMin        *int   `json:"port_range_min"`
			PortMax        *int   `json:"port_range_max"`
			RemoteIPPrefix string `json:"remote_ip_prefix"`
			RemoteGroupID  string `json:"remote_group_id"`
			Description    string `json:"description"`
		} `json:"security_group_rule"`
	}
	if err := decodeJSON(r, &req); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	in := req.Rule
	if in.Direction != "ingress" && in.Direction != "egress" {
		rc.fail(w, http.StatusBadRequest, "Invalid input for direction.")
		return
	}
	if in.EtherType == "" {
		in.EtherType = "IPv4"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	g := rc.reg.secgroups[in.GroupID]
	if g == nil || (!rc.isAdmin() && g.ProjectID != rc.projectID()) {
		rc.fail(w, http.StatusNotFound, "Security group %s does not exist", in.GroupID)
		return
	}
	proto := ""
	if in.Protocol != nil {
		proto = fmt.Sprint(in.Protocol)
	}
	for _, ex := range rc.reg.rules {
		if ex.GroupID == g.ID && ex.Direction == in.Direction && ex.EtherType == in.EtherType && ex.Protocol == proto &&
			eqIntPtr(ex.PortMin, in.PortMin) && eqIntPtr(ex.PortMax, in.PortMax) && ex.RemoteIPPrefix == in.RemoteIPPrefix &&
			ex.RemoteGroupID == in.RemoteGroupID {
			rc.fail(w, http.StatusConflict, "Security group rule already exists. Rule id is %s.", ex.ID)
			return
		}
	}
	rule := &secRule{ID: newUUID(), GroupID: g.ID, ProjectID: g.ProjectID, Direction: in.Direction,
		EtherType: in.EtherType, Protocol: proto, PortMin: in.PortMin, PortMax: in.PortMax,
		RemoteIPPrefix: in.RemoteIPPrefix, RemoteGroupID: in.RemoteGroupID, Description: in.Description, Created: time.Now()}
	rc.reg.rules[rule.ID] = rule
	writeJSON(w, http.StatusCreated, map[string]any{"security_group_rule": c.ruleJSON(rule)})
}

func eqIntPtr(a, b *int) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}
