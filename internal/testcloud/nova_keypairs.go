package testcloud

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net/http"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

func (c *Cloud) keypairJSON(k *keypair, withKey bool, rc *reqCtx) map[string]any {
	m := map[string]any{"name": k.Name, "public_key": k.PublicKey, "fingerprint": k.Fingerprint}
	if rc.micro.atLeast(2, 2) {
		m["type"] = k.Type
	}
	if withKey {
		m["user_id"] = k.UserID
		m["created_at"] = k.Created.UTC().Format("2006-01-02T15:04:05.000000")
		m["deleted"], m["deleted_at"], m["updated_at"], m["id"] = false, nil, nil, 1
	}
	return m
}

func (c *Cloud) novaListKeypairs(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var names []string
	for key, k := range rc.reg.keypairs {
		if k.UserID == rc.tok.userID {
			names = append(names, key)
		}
	}
	sort.Strings(names)
	out := []any{}
	for _, n := range names {
		out = append(out, map[string]any{"keypair": c.keypairJSON(rc.reg.keypairs[n], false, rc)})
	}
	c.novaOK(w, rc, http.StatusOK, map[string]any{"keypairs": out})
}

func (c *Cloud) novaCreateKeypair(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var req struct {
		Keypair struct {
			Name      string `json:"name"`
			PublicKey string `json:"public_key"`
			Type      string `json:"type"`
		} `json:"keypair"`
	}
	if err := decodeJSON(r, &req); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	in := req.Keypair
	if in.Name == "" || strings.ContainsAny(in.Name, "/\\") {
		rc.fail(w, http.StatusBadRequest, "Keypair data is invalid: Keypair name contains unsafe characters")
		return
	}
	var private string
	if in.PublicKey == "" {
		// Nova generates a key when none is given (until 2.92) and returns the private half once.
		if rc.micro.atLeast(2, 92) {
			rc.fail(w, http.StatusBadRequest, "Invalid input for field/attribute keypair. 'public_key' is a required property")
			return
		}
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		sshPub, _ := ssh.NewPublicKey(pub)
		block, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			rc.fail(w, http.StatusInternalServerError, "generate key: %v", err)
			return
		}
		private = string(pem.EncodeToMemory(block))
		in.PublicKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " Generated-by-Nova"
	}
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(in.PublicKey))
	if err != nil {
		rc.fail(w, http.StatusBadRequest, "Keypair data is invalid: failed to generate fingerprint")
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key := rc.tok.userID + "/" + in.Name
	if rc.reg.keypairs[key] != nil {
		rc.fail(w, http.StatusConflict, "Key pair '%s' already exists.", in.Name)
		return
	}
	typ := in.Type
	if typ == "" {
		typ = "ssh"
	}
	k := &keypair{Name: in.Name, UserID: rc.tok.userID, PublicKey: strings.TrimSpace(in.PublicKey),
		Fingerprint: ssh.FingerprintLegacyMD5(pk), Type: typ, Created: time.Now(), key: pk}
	rc.reg.keypairs[key] = k
	body := c.keypairJSON(k, false, rc)
	body["user_id"] = k.UserID
	if private != "" {
		body["private_key"] = private
	}
	status := http.StatusOK
	if rc.micro.atLeast(2, 2) {
		status = http.StatusCreated
	}
	c.novaOK(w, rc, status, map[string]any{"keypair": body})
}

func (c *Cloud) novaGetKeypair(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := rc.reg.keypairs[rc.tok.userID+"/"+r.PathValue("name")]
	if k == nil {
		rc.fail(w, http.StatusNotFound, "Keypair %s not found for user %s", r.PathValue("name"), rc.tok.userID)
		return
	}
	c.novaOK(w, rc, http.StatusOK, map[string]any{"keypair": c.keypairJSON(k, true, rc)})
}

func (c *Cloud) novaDeleteKeypair(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := rc.tok.userID + "/" + r.PathValue("name")
	if rc.reg.keypairs[key] == nil {
		rc.fail(w, http.StatusNotFound, "Keypair %s not found for user %s", r.PathValue("name"), rc.tok.userID)
		return
	}
	delete(rc.reg.keypairs, key)
	status := http.StatusAccepted
	if rc.micro.atLeast(2, 2) {
		status = http.StatusNoContent
	}
	c.novaOK(w, rc, status, nil)
}

func interfaceJSON(p *port) map[string]any {
	return map[string]any{"port_id": p.ID, "net_id": p.NetworkID, "mac_addr": p.MAC, "port_state": "ACTIVE",
		"fixed_ips": []any{map[string]any{"subnet_id": p.SubnetID, "ip_address": p.IP}}}
}

func (c *Cloud) novaListInterfaces(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.lookupServer(w, r, rc)
	if s == nil {
		return
	}
	out := []any{}
	for _, pid := range s.Ports {
		if p := rc.reg.ports[pid]; p != nil {
			out = append(out, interfaceJSON(p))
		}
	}
	c.novaOK(w, rc, http.StatusOK, map[string]any{"interfaceAttachments": out})
}

func (c *Cloud) novaAttachInterface(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var req struct {
		Attachment struct {
			PortID string `json:"port_id"`
			NetID  string `json:"net_id"`
		} `json:"interfaceAttachment"`
	}
	if err := decodeJSON(r, &req); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.lookupServer(w, r, rc)
	if s == nil {
		return
	}
	reg := rc.reg
	var p *port
	if req.Attachment.PortID != "" {
		p = reg.ports[req.Attachment.PortID]
		if p == nil {
			rc.fail(w, http.StatusNotFound, "Port %s could not be found.", req.Attachment.PortID)
			return
		}
		if p.DeviceID != "" {
			rc.fail(w, http.StatusConflict, "Port %s is still in use.", p.ID)
			return
		}
	} else {
		n := reg.networks[req.Attachment.NetID]
		if n == nil {
			rc.fail(w, http.StatusNotFound, "Network %s could not be found.", req.Attachment.NetID)
			return
		}
		var err error
		p, err = c.createPort(reg, n, s.ProjectID, "", nil)
		if err != nil {
			rc.fail(w, http.StatusInternalServerError, "%v", err)
			return
		}
		p.auto = true
	}
	p.DeviceID, p.DeviceOwner = s.ID, "compute:"+s.AZ
	s.Ports = append(s.Ports, p.ID)
	c.novaOK(w, rc, http.StatusOK, map[string]any{"interfaceAttachment": interfaceJSON(p)})
}

func (c *Cloud) novaDetachInterface(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.lookupServer(w, r, rc)
	if s == nil {
		return
	}
	pid := r.PathValue("port")
	for i, id := range s.Ports {
		if id == pid {
			s.Ports = append(s.Ports[:i], s.Ports[i+1:]...)
			if p := rc.reg.ports[pid]; p != nil {
				if p.auto {
					c.deletePort(rc.reg, p)
				} else {
					p.DeviceID, p.DeviceOwner = "", ""
				}
			}
			c.novaOK(w, rc, http.StatusAccepted, nil)
			return
		}
	}
	rc.fail(w, http.StatusNotFound, "Port %s is not attached", pid)
}
