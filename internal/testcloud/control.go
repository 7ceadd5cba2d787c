package testcloud

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

// Ref names one leaked resource.
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Leaks maps a resource kind (servers, keypairs, ports, floating_ips, security_groups, volumes, images) to
// what was left behind. Every kind is always present; an empty report means nothing leaked.
type Leaks map[string][]Ref

// Empty reports whether nothing leaked.
func (l Leaks) Empty() bool {
	for _, refs := range l {
		if len(refs) > 0 {
			return false
		}
	}
	return true
}

// TemporaryImagePrefix marks images the builder creates for itself; such an image is a leak even when active.
const TemporaryImagePrefix = "packer_"

// Leaks reports every non-seeded resource left in any region (see the contract in docs/testcloud.md).
func (c *Cloud) Leaks() Leaks {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := Leaks{"servers": {}, "keypairs": {}, "ports": {}, "floating_ips": {}, "security_groups": {}, "volumes": {}, "images": {}}
	for _, rname := range c.opts.Regions {
		reg := c.regions[rname]
		for _, s := range reg.servers {
			l["servers"] = append(l["servers"], Ref{s.ID, s.Name})
		}
		for _, k := range reg.keypairs {
			l["keypairs"] = append(l["keypairs"], Ref{k.Name, k.Name})
		}
		for _, p := range reg.ports {
			if !p.Seeded {
				l["ports"] = append(l["ports"], Ref{p.ID, p.Name})
			}
		}
		for _, f := range reg.fips {
			l["floating_ips"] = append(l["floating_ips"], Ref{f.ID, f.IP})
		}
		for _, g := range reg.secgroups {
			if !g.Seeded {
				l["security_groups"] = append(l["security_groups"], Ref{g.ID, g.Name})
			}
		}
		for _, v := range reg.volumes {
			l["volumes"] = append(l["volumes"], Ref{v.ID, v.Name})
		}
		for _, img := range reg.images {
			if img.Seeded {
				continue
			}
			if img.Status != "active" || strings.HasPrefix(img.Name, TemporaryImagePrefix) {
				l["images"] = append(l["images"], Ref{img.ID, img.Name})
			}
		}
	}
	for _, refs := range l {
		sort.Slice(refs, func(i, j int) bool { return refs[i].ID < refs[j].ID })
	}
	return l
}

// serveControl answers the unauthenticated control API under /_testcloud (loopback only).
func (c *Cloud) serveControl(w http.ResponseWriter, r *http.Request, rest string) {
	rest = strings.TrimSuffix(rest, "/")
	switch {
	case rest == "/leaks" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, c.Leaks())
	case rest == "/faults" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"faults": c.Faults()})
	case rest == "/faults" && r.Method == http.MethodPost:
		c.controlAddFaults(w, r)
	case rest == "/faults" && r.Method == http.MethodDelete:
		c.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(rest, "/faults/") && r.Method == http.MethodDelete:
		if !c.RemoveFault(strings.TrimPrefix(rest, "/faults/")) {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "no such fault"})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case rest == "/requests" && r.Method == http.MethodGet:
		reqs := c.Requests()
		if op := r.URL.Query().Get("op"); op != "" {
			var kept []Request
			for _, q := range reqs {
				if q.Op == op {
					kept = append(kept, q)
				}
			}
			reqs = kept
		}
		if reqs == nil {
			reqs = []Request{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"requests": reqs})
	case rest == "/requests" && r.Method == http.MethodDelete:
		c.ResetRequests()
		w.WriteHeader(http.StatusNoContent)
	case rest == "/expire-tokens" && r.Method == http.MethodPost:
		c.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(rest, "/servers/") && strings.HasSuffix(rest, "/error") && r.Method == http.MethodPost:
		id := strings.TrimSuffix(strings.TrimPrefix(rest, "/servers/"), "/error")
		var body struct {
			Message string `json:"message"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.Message == "" {
			body.Message = "forced into ERROR by the test cloud control API"
		}
		if err := c.ForceServerError(id, body.Message); err != nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case rest == "/images" && r.Method == http.MethodGet:
		var out []map[string]any
		c.mu.Lock()
		for _, rname := range c.opts.Regions {
			for _, img := range c.regions[rname].sortedImages() {
				if n := r.URL.Query().Get("name"); n == "" || n == img.Name {
					m := img.json()
					m["region"] = rname
					out = append(out, m)
				}
			}
		}
		c.mu.Unlock()
		if out == nil {
			out = []map[string]any{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"images": out})
	case rest == "" || rest == "/info":
		writeJSON(w, http.StatusOK, map[string]any{"auth_url": c.AuthURL(), "regions": c.opts.Regions,
			"ssh_port": c.SSHPort(), "data_dir": c.dataDir})
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "unknown control endpoint " + r.Method + " " + rest})
	}
}

// controlAddFaults accepts one fault object or {"faults": [...]}.
func (c *Cloud) controlAddFaults(w http.ResponseWriter, r *http.Request) {
	var raw json.RawMessage
	if err := decodeJSON(r, &raw); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	var many struct {
		Faults []Fault `json:"faults"`
	}
	var list []Fault
	if json.Unmarshal(raw, &many) == nil && many.Faults != nil {
		list = many.Faults
	} else {
		var one Fault
		if err := json.Unmarshal(raw, &one); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		list = []Fault{one}
	}
	var added []Fault
	for _, f := range list {
		id, err := c.faults.add(f)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		f.ID = id
		added = append(added, f)
	}
	writeJSON(w, http.StatusCreated, map[string]any{"faults": added})
}
