package testcloud

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

func (c *Cloud) serveIdentity(w http.ResponseWriter, r *http.Request, rc *reqCtx, rest string) {
	rc.prefix = c.baseURL + "/identity"
	if rest == "" {
		rest = "/"
	}
	r2 := r.Clone(withReqCtx(r.Context(), rc))
	r2.URL.Path = rest
	r2.URL.RawPath = ""
	c.identity.ServeHTTP(w, r2)
}

func (c *Cloud) identityRouter() *router {
	rt := newRouter(c)
	rt.public("GET /{$}", "identity.versions", c.keystoneVersions)
	rt.public("GET /v3", "identity.version", c.keystoneVersion)
	rt.public("GET /v3/{$}", "identity.version", c.keystoneVersion)
	rt.public("POST /v3/auth/tokens", "identity.token.create", c.keystoneIssueToken)
	rt.public("GET /v3/auth/tokens", "identity.token.get", c.keystoneValidateToken)
	rt.public("HEAD /v3/auth/tokens", "identity.token.check", c.keystoneValidateToken)
	rt.public("DELETE /v3/auth/tokens", "identity.token.revoke", c.keystoneRevokeToken)
	rt.public("GET /v3/auth/catalog", "identity.catalog", c.keystoneCatalog)
	rt.public("GET /v3/auth/projects", "identity.auth.projects", c.keystoneAuthProjects)
	rt.public("GET /v3/projects", "identity.project.list", c.keystoneListProjects)
	rt.public("GET /v3/projects/{id}", "identity.project.get", c.keystoneGetProject)
	rt.public("GET /v3/users/{id}", "identity.user.get", c.keystoneGetUser)
	rt.public("POST /v3/users/{id}/application_credentials", "identity.appcred.create", c.keystoneCreateAppCred)
	rt.public("GET /v3/users/{id}/application_credentials", "identity.appcred.list", c.keystoneListAppCreds)
	rt.public("DELETE /v3/users/{id}/application_credentials/{cid}", "identity.appcred.delete", c.keystoneDeleteAppCred)
	return rt
}

func (c *Cloud) keystoneVersionDoc() map[string]any {
	return map[string]any{
		"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links": []any{map[string]any{"rel": "self", "href": c.baseURL + "/identity/v3/"}},
		"media-types": []any{map[string]any{"base": "application/json",
			"type": "application/vnd.openstack.identity-v3+json"}},
	}
}

func (c *Cloud) keystoneVersions(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	writeJSON(w, http.StatusMultipleChoices, map[string]any{"versions": map[string]any{
		"values": []any{c.keystoneVersionDoc()}}})
}

func (c *Cloud) keystoneVersion(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	writeJSON(w, http.StatusOK, map[string]any{"version": c.keystoneVersionDoc()})
}

// authRequest is the body of POST /v3/auth/tokens.
type authRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User nameOrID `json:"user"`
			} `json:"password"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
			ApplicationCredential *struct {
				ID     string    `json:"id"`
				Name   string    `json:"name"`
				Secret string    `json:"secret"`
				User   *nameOrID `json:"user"`
			} `json:"application_credential"`
		} `json:"identity"`
		Scope any `json:"scope"`
	} `json:"auth"`
}

type nameOrID struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Password string    `json:"password"`
	Domain   *nameOrID `json:"domain"`
}

func (n *nameOrID) domainOK(id *identity) bool {
	if n.Domain == nil {
		return true
	}
	return n.Domain.ID == id.domain.ID || n.Domain.Name == id.domain.Name ||
		(n.Domain.ID == "" && n.Domain.Name == "")
}

const unauthorizedMsg = "The request you have made requires authentication."

// checkAuthShape applies Keystone's validation of an auth request before any credential is looked at:
// identity and methods are required, every listed method needs its own object, and a name needs a domain.
func checkAuthShape(raw map[string]any, req *authRequest) (int, string) {
	auth, _ := raw["auth"].(map[string]any)
	identity, ok := auth["identity"].(map[string]any)
	if !ok {
		return http.StatusBadRequest, "'identity' is a required property"
	}
	if _, ok := identity["methods"].([]any); !ok {
		return http.StatusBadRequest, "Invalid input for field 'identity': 'methods' is a required property"
	}
	for _, m := range req.Auth.Identity.Methods {
		if _, ok := identity[m].(map[string]any); !ok {
			return http.StatusBadRequest, fmt.Sprintf("Expecting to find %s in identity. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.", m)
		}
	}
	if pw := req.Auth.Identity.Password; pw != nil && contains(req.Auth.Identity.Methods, "password") &&
		pw.User.ID == "" && pw.User.Domain == nil {
		return http.StatusBadRequest, "Expecting to find domain in user. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error."
	}
	return 0, ""
}

func (c *Cloud) keystoneIssueToken(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		rc.fail(w, http.StatusBadRequest, "read body: %v", err)
		return
	}
	var req authRequest
	var raw map[string]any
	if err := json.Unmarshal(body, &req); err != nil || json.Unmarshal(body, &raw) != nil {
		rc.fail(w, http.StatusBadRequest, "Expecting to find auth in request body.")
		return
	}
	if status, msg := checkAuthShape(raw, &req); status != 0 {
		rc.fail(w, status, "%s", msg)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.ident
	ident := req.Auth.Identity
	var u *user
	var projectID string
	var roles []string
	var appCredID string
	scopedByCred := false
	// A token made from a token keeps the original's methods (then "token") and never outlives it.
	methods := ident.Methods
	var expires time.Time
	switch {
	case contains(ident.Methods, "password") && ident.Password != nil:
		pu := ident.Password.User
		if pu.ID != "" {
			u = id.users[pu.ID]
		} else if pu.domainOK(id) {
			u = id.userByName(pu.Name)
		}
		if u == nil || u.Password != pu.Password {
			rc.fail(w, http.StatusUnauthorized, unauthorizedMsg)
			return
		}
	case contains(ident.Methods, "token") && ident.Token != nil:
		t := id.tokens[ident.Token.ID]
		if t == nil || t.expired || time.Now().After(t.expires) {
			rc.fail(w, http.StatusNotFound, "Could not find token: %s.", ident.Token.ID)
			return
		}
		u = id.users[t.userID]
		methods = append([]string{}, t.methods...)
		if !contains(methods, "token") {
			methods = append(methods, "token")
		}
		expires = t.expires
	case contains(ident.Methods, "application_credential") && ident.ApplicationCredential != nil:
		ac := ident.ApplicationCredential
		var cred *appCred
		if ac.ID != "" {
			cred = id.appCreds[ac.ID]
		} else if ac.User != nil {
			for _, cand := range id.appCreds {
				cu := id.users[cand.UserID]
				if cand.Name == ac.Name && cu != nil && (cu.ID == ac.User.ID || cu.Name == ac.User.Name) {
					cred = cand
				}
			}
		}
		if cred == nil || cred.Secret != ac.Secret || (!cred.ExpiresAt.IsZero() && time.Now().After(cred.ExpiresAt)) {
			rc.fail(w, http.StatusUnauthorized, unauthorizedMsg)
			return
		}
		u = id.users[cred.UserID]
		projectID, roles, appCredID, scopedByCred = cred.ProjectID, cred.Roles, cred.ID, true
	default:
		// No method, or none the cloud supports (every listed one has its object: checked above).
		rc.fail(w, http.StatusUnauthorized, unauthorizedMsg)
		return
	}
	if u == nil {
		rc.fail(w, http.StatusUnauthorized, unauthorizedMsg)
		return
	}
	if !scopedByCred {
		scope := req.Auth.Scope
		if scope == nil && len(u.Roles[u.DefaultProjectID]) > 0 {
			// Keystone scopes a request without scope to the user's default project (when the user
			// has a role there; else the token is unscoped).
			scope = map[string]any{"project": map[string]any{"id": u.DefaultProjectID}}
		}
		pid, ok := id.resolveScope(scope, u)
		if !ok {
			rc.fail(w, http.StatusUnauthorized, unauthorizedMsg)
			return
		}
		projectID = pid
		if pid != "" {
			roles = u.Roles[pid]
			if len(roles) == 0 {
				rc.fail(w, http.StatusUnauthorized, "User %s has no access to project %s", u.ID, pid)
				return
			}
		}
	}
	now := time.Now()
	if expires.IsZero() {
		expires = now.Add(c.opts.TokenLifetime)
	}
	t := &token{
		id: "gAAAAA" + newHexID() + newHexID(), userID: u.ID, userName: u.Name, projectID: projectID,
		roles: roles, methods: methods, issued: now, expires: expires,
		appCredID: appCredID, auditID: newHexID()[:22],
	}
	id.tokens[t.id] = t
	w.Header().Set("X-Subject-Token", t.id)
	writeJSON(w, http.StatusCreated, map[string]any{"token": c.tokenBody(t, !r.URL.Query().Has("nocatalog"))})
}

// resolveScope returns the project ID of the requested scope ("" for unscoped). ok is false when the
// scope names something that does not exist.
func (id *identity) resolveScope(scope any, u *user) (string, bool) {
	m, _ := scope.(map[string]any)
	if m == nil {
		if scope == nil || scope == "unscoped" {
			return "", true
		}
		return "", false
	}
	p, _ := m["project"].(map[string]any)
	if p == nil {
		if _, ok := m["system"]; ok && contains(u.Roles[u.DefaultProjectID], "admin") {
			return u.DefaultProjectID, true // good enough: a system scope behaves as the admin project
		}
		if _, ok := m["domain"]; ok {
			return "", true
		}
		return "", false
	}
	if pid, _ := p["id"].(string); pid != "" {
		_, ok := id.projects[pid]
		return pid, ok
	}
	name, _ := p["name"].(string)
	if d, _ := p["domain"].(map[string]any); d != nil {
		did, _ := d["id"].(string)
		dname, _ := d["name"].(string)
		if did != id.domain.ID && dname != id.domain.Name {
			return "", false
		}
	}
	if pr := id.projectByName(name); pr != nil {
		return pr.ID, true
	}
	return "", false
}

func (c *Cloud) tokenBody(t *token, withCatalog bool) map[string]any {
	id := c.ident
	dom := map[string]any{"id": id.domain.ID, "name": id.domain.Name}
	body := map[string]any{
		"methods":    t.methods,
		"user":       map[string]any{"domain": dom, "id": t.userID, "name": t.userName, "password_expires_at": nil},
		"audit_ids":  []string{t.auditID},
		"expires_at": microTime(t.expires),
		"issued_at":  microTime(t.issued),
	}
	if t.projectID != "" {
		body["project"] = map[string]any{"domain": dom, "id": t.projectID, "name": id.projectName(t.projectID)}
		body["is_domain"] = false
		roles := []any{}
		for _, r := range t.roles {
			roles = append(roles, map[string]any{"id": id.roleIDs[r], "name": r})
		}
		body["roles"] = roles
		if withCatalog {
			body["catalog"] = c.catalog(t.projectID)
		}
	}
	if t.appCredID != "" {
		body["application_credential"] = map[string]any{"id": t.appCredID, "name": id.appCreds[t.appCredID].Name, "restricted": true}
	}
	return body
}

// catalogServices lists (type, name, service path, version suffix) of every catalog entry.
// The volume endpoint carries the project ID like a real Cinder v3 endpoint.
var catalogServices = []struct{ typ, name, service, suffix string }{
	{"compute", "nova", "compute", "/v2.1"},
	{"image", "glance", "image", ""},
	{"network", "neutron", "network", ""},
	{"volumev3", "cinderv3", "volume", "/v3/%s"},
	{"block-storage", "cinder", "volume", "/v3/%s"},
}

func (c *Cloud) catalog(projectID string) []any {
	out := []any{}
	idEndpoints := []any{}
	for _, region := range c.opts.Regions {
		for _, iface := range serviceInterfaces {
			idEndpoints = append(idEndpoints, map[string]any{
				"id": stableID("identity", region, iface), "interface": iface, "region": region,
				"region_id": region, "url": c.baseURL + "/identity",
			})
		}
	}
	out = append(out, map[string]any{"type": "identity", "name": "keystone", "id": stableID("identity"), "endpoints": idEndpoints})
	for _, s := range catalogServices {
		eps := []any{}
		for _, region := range c.opts.Regions {
			for _, iface := range serviceInterfaces {
				suffix := s.suffix
				if strings.Contains(suffix, "%s") {
					suffix = strings.ReplaceAll(suffix, "%s", projectID)
				}
				eps = append(eps, map[string]any{
					"id": stableID(s.typ, region, iface), "interface": iface, "region": region, "region_id": region,
					"url": c.serviceURL(region, iface, s.service) + suffix,
				})
			}
		}
		out = append(out, map[string]any{"type": s.typ, "name": s.name, "id": stableID(s.typ), "endpoints": eps})
	}
	return out
}

// stableID derives a readable deterministic ID for catalog entries.
func stableID(parts ...string) string { return strings.Join(parts, "-") }

// subjectToken validates X-Auth-Token and returns the token named by X-Subject-Token.
func (c *Cloud) subjectToken(w http.ResponseWriter, r *http.Request, rc *reqCtx) *token {
	caller := c.ident.tokens[r.Header.Get("X-Auth-Token")]
	if caller == nil || caller.expired || time.Now().After(caller.expires) {
		rc.fail(w, http.StatusUnauthorized, unauthorizedMsg)
		return nil
	}
	subj := c.ident.tokens[r.Header.Get("X-Subject-Token")]
	// Services may read a token that expired naturally within Keystone's allow_expired_window (2 days,
	// the default) by asking with allow_expired; a revoked token is gone either way.
	expiredOK := r.Method != http.MethodDelete && queryBool(r, "allow_expired") && subj != nil &&
		time.Since(subj.expires) < allowExpiredWindow
	if subj == nil || (!expiredOK && (subj.expired || time.Now().After(subj.expires))) {
		rc.fail(w, http.StatusNotFound, "Could not find token: %s.", r.Header.Get("X-Subject-Token"))
		return nil
	}
	return subj
}

func (c *Cloud) keystoneValidateToken(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.subjectToken(w, r, rc)
	if t == nil {
		return
	}
	w.Header().Set("X-Subject-Token", t.id)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": c.tokenBody(t, !r.URL.Query().Has("nocatalog"))})
}

func (c *Cloud) keystoneRevokeToken(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.subjectToken(w, r, rc)
	if t == nil {
		return
	}
	delete(c.ident.tokens, t.id)
	w.WriteHeader(http.StatusNoContent)
}

// callerToken returns the valid token of the caller, or writes 401.
func (c *Cloud) callerToken(w http.ResponseWriter, r *http.Request, rc *reqCtx) *token {
	t := c.ident.tokens[r.Header.Get("X-Auth-Token")]
	if t == nil || t.expired || time.Now().After(t.expires) {
		rc.fail(w, http.StatusUnauthorized, unauthorizedMsg)
		return nil
	}
	return t
}

func (c *Cloud) keystoneCatalog(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.callerToken(w, r, rc)
	if t == nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"catalog": c.catalog(t.projectID),
		"links": map[string]any{"self": rc.prefix + "/v3/auth/catalog"}})
}

func (c *Cloud) projectJSON(p *project) map[string]any {
	return map[string]any{"id": p.ID, "name": p.Name, "domain_id": p.DomainID, "enabled": true,
		"is_domain": false, "parent_id": p.DomainID, "description": "", "tags": []string{},
		"links": map[string]any{"self": c.baseURL + "/identity/v3/projects/" + p.ID}}
}

func (c *Cloud) keystoneAuthProjects(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.callerToken(w, r, rc)
	if t == nil {
		return
	}
	u := c.ident.users[t.userID]
	out := []any{}
	for pid := range u.Roles {
		out = append(out, c.projectJSON(c.ident.projects[pid]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": out, "links": map[string]any{"self": rc.prefix + "/v3/auth/projects"}})
}

func (c *Cloud) keystoneListProjects(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.callerToken(w, r, rc)
	if t == nil {
		return
	}
	if !t.hasRole("admin") {
		rc.fail(w, http.StatusForbidden, "You are not authorized to perform the requested action: identity:list_projects.")
		return
	}
	ids := []string{}
	for id := range c.ident.projects {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := []any{}
	name := r.URL.Query().Get("name")
	for _, id := range ids {
		p := c.ident.projects[id]
		if name == "" || p.Name == name {
			out = append(out, c.projectJSON(p))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": out, "links": map[string]any{"self": rc.prefix + "/v3/projects"}})
}

func (c *Cloud) keystoneGetProject(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.callerToken(w, r, rc)
	if t == nil {
		return
	}
	p := c.ident.projects[r.PathValue("id")]
	if p == nil || (!t.hasRole("admin") && p.ID != t.projectID) {
		rc.fail(w, http.StatusNotFound, "Could not find project: %s.", r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"project": c.projectJSON(p)})
}

func (c *Cloud) keystoneGetUser(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.callerToken(w, r, rc)
	if t == nil {
		return
	}
	u := c.ident.users[r.PathValue("id")]
	if u == nil || (!t.hasRole("admin") && u.ID != t.userID) {
		rc.fail(w, http.StatusNotFound, "Could not find user: %s.", r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": map[string]any{"id": u.ID, "name": u.Name,
		"domain_id": u.DomainID, "enabled": true, "default_project_id": u.DefaultProjectID, "password_expires_at": nil}})
}

func (c *Cloud) appCredJSON(ac *appCred, withSecret bool) map[string]any {
	roles := []any{}
	for _, r := range ac.Roles {
		roles = append(roles, map[string]any{"id": c.ident.roleIDs[r], "name": r, "domain_id": nil})
	}
	m := map[string]any{"id": ac.ID, "name": ac.Name, "project_id": ac.ProjectID, "roles": roles,
		"unrestricted": false, "description": nil, "expires_at": nil, "access_rules": []any{},
		"links": map[string]any{"self": c.baseURL + "/identity/v3/users/" + ac.UserID + "/application_credentials/" + ac.ID}}
	if !ac.ExpiresAt.IsZero() {
		m["expires_at"] = microTime(ac.ExpiresAt)
	}
	if withSecret {
		m["secret"] = ac.Secret
	}
	return m
}

func (c *Cloud) keystoneCreateAppCred(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var req struct {
		ApplicationCredential struct {
			Name      string  `json:"name"`
			Secret    string  `json:"secret"`
			ExpiresAt *string `json:"expires_at"`
		} `json:"application_credential"`
	}
	if err := decodeJSON(r, &req); err != nil {
		rc.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.callerToken(w, r, rc)
	if t == nil {
		return
	}
	if t.userID != r.PathValue("id") || t.projectID == "" {
		rc.fail(w, http.StatusForbidden, "You are not authorized to perform the requested action: identity:create_application_credential.")
		return
	}
	in := req.ApplicationCredential
	if in.Name == "" {
		rc.fail(w, http.StatusBadRequest, "Invalid input for field 'name'.")
		return
	}
	ac := &appCred{ID: newHexID(), Name: in.Name, Secret: in.Secret, UserID: t.userID, ProjectID: t.projectID, Roles: t.roles}
	if ac.Secret == "" {
		ac.Secret = newHexID() + newHexID()
	}
	if in.ExpiresAt != nil && *in.ExpiresAt != "" {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000000", "2006-01-02T15:04:05"} {
			if ts, err := time.Parse(layout, *in.ExpiresAt); err == nil {
				ac.ExpiresAt = ts
				break
			}
		}
	}
	c.ident.appCreds[ac.ID] = ac
	writeJSON(w, http.StatusCreated, map[string]any{"application_credential": c.appCredJSON(ac, true)})
}

func (c *Cloud) keystoneListAppCreds(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.callerToken(w, r, rc)
	if t == nil {
		return
	}
	out := []any{}
	for _, ac := range c.ident.appCreds {
		if ac.UserID == r.PathValue("id") && (t.userID == ac.UserID || t.hasRole("admin")) {
			out = append(out, c.appCredJSON(ac, false))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"application_credentials": out})
}

func (c *Cloud) keystoneDeleteAppCred(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.callerToken(w, r, rc)
	if t == nil {
		return
	}
	ac := c.ident.appCreds[r.PathValue("cid")]
	if ac == nil || ac.UserID != r.PathValue("id") || (t.userID != ac.UserID && !t.hasRole("admin")) {
		rc.fail(w, http.StatusNotFound, "Could not find application credential: %s.", r.PathValue("cid"))
		return
	}
	delete(c.ident.appCreds, ac.ID)
	w.WriteHeader(http.StatusNoContent)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// allowExpiredWindow is Keystone's [token] allow_expired_window default.
const allowExpiredWindow = 48 * time.Hour

// queryBool reads a Keystone boolean query flag (1, true, yes, on).
func queryBool(r *http.Request, key string) bool {
	switch strings.ToLower(r.URL.Query().Get(key)) {
	case "1", "true", "yes", "on", "y", "t":
		return true
	}
	return false
}
