package testcloud

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// identity is Keystone's state: one domain, projects, users with per-project roles, application
// credentials and issued tokens.
type identity struct {
	domain   idRef
	projects map[string]*project // by ID
	users    map[string]*user    // by ID
	appCreds map[string]*appCred // by ID
	tokens   map[string]*token   // by token string
	roleIDs  map[string]string   // role name -> ID

	demoAppCred *appCred // seeded credential of demo, written to clouds.yaml
}

type idRef struct{ ID, Name string }

type project struct {
	ID, Name, DomainID string
}

type user struct {
	ID, Name, DomainID, Password string
	DefaultProjectID             string
	Roles                        map[string][]string // project ID -> role names
}

type appCred struct {
	ID, Name, Secret, UserID, ProjectID string
	Roles                               []string
	ExpiresAt                           time.Time // zero = never
}

type token struct {
	id        string
	userID    string
	userName  string
	projectID string // "" when unscoped
	roles     []string
	methods   []string
	issued    time.Time
	expires   time.Time
	appCredID string
	auditID   string
	expired   bool // forced by a fault
}

func (t *token) hasRole(name string) bool {
	for _, r := range t.roles {
		if r == name {
			return true
		}
	}
	return false
}

func newHexID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newUUID returns a random RFC 4122 version 4 UUID.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func newIdentity() *identity {
	id := &identity{
		domain:   idRef{ID: "default", Name: DefaultDomainName},
		projects: map[string]*project{},
		users:    map[string]*user{},
		appCreds: map[string]*appCred{},
		tokens:   map[string]*token{},
		roleIDs:  map[string]string{},
	}
	for _, r := range []string{"admin", "member", "reader"} {
		id.roleIDs[r] = newHexID()
	}
	admin := id.addProject(AdminProject)
	demo := id.addProject(DemoProject)
	id.addProject("service")
	id.addUser(AdminUser, AdminPassword, admin.ID, map[string][]string{
		admin.ID: {"admin", "member", "reader"},
		demo.ID:  {"admin", "member", "reader"},
	})
	demoUser := id.addUser(DemoUser, DemoPassword, demo.ID, map[string][]string{demo.ID: {"member", "reader"}})
	// A second non-admin project and user: the other side of image sharing.
	alt := id.addProject(AltProject)
	id.addUser(AltUser, AltPassword, alt.ID, map[string][]string{alt.ID: {"member", "reader"}})
	// An application credential of demo, for the clouds.yaml entry testcloud-appcred.
	id.demoAppCred = id.addAppCred(demoUser, DemoAppCredName)
	return id
}

func (id *identity) addProject(name string) *project {
	p := &project{ID: newHexID(), Name: name, DomainID: id.domain.ID}
	id.projects[p.ID] = p
	return p
}

func (id *identity) addUser(name, password, defaultProject string, roles map[string][]string) *user {
	u := &user{ID: newHexID(), Name: name, DomainID: id.domain.ID, Password: password,
		DefaultProjectID: defaultProject, Roles: roles}
	id.users[u.ID] = u
	return u
}

func (id *identity) projectByName(name string) *project {
	for _, p := range id.projects {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func (id *identity) userByName(name string) *user {
	for _, u := range id.users {
		if u.Name == name {
			return u
		}
	}
	return nil
}

func (id *identity) projectName(pid string) string {
	if p := id.projects[pid]; p != nil {
		return p.Name
	}
	return ""
}

// CreateProject adds a project to the Default domain and returns its ID.
func (c *Cloud) CreateProject(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.ident.addProject(name)
	c.seedProjectNetworkBits(p.ID)
	return p.ID
}

// CreateUser adds a user in the Default domain with the given role names in project projectName and
// returns the user ID.
func (c *Cloud) CreateUser(name, password, projectName string, roles ...string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.ident.projectByName(projectName)
	if p == nil {
		return "", fmt.Errorf("testcloud: no project %q", projectName)
	}
	if len(roles) == 0 {
		roles = []string{"member", "reader"}
	}
	u := c.ident.addUser(name, password, p.ID, map[string][]string{p.ID: roles})
	return u.ID, nil
}

// CreateApplicationCredential creates an application credential for userName scoped to the user's
// default project, and returns its ID and secret.
func (c *Cloud) CreateApplicationCredential(userName, credName string) (id, secret string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.ident.userByName(userName)
	if u == nil {
		return "", "", fmt.Errorf("testcloud: no user %q", userName)
	}
	ac := c.ident.addAppCred(u, credName)
	return ac.ID, ac.Secret, nil
}

// addAppCred creates an application credential of u bound to u's default project and roles there.
func (id *identity) addAppCred(u *user, name string) *appCred {
	ac := &appCred{ID: newHexID(), Name: name, Secret: newHexID(), UserID: u.ID,
		ProjectID: u.DefaultProjectID, Roles: u.Roles[u.DefaultProjectID]}
	id.appCreds[ac.ID] = ac
	return ac
}

// ProjectID returns the ID of a project by name ("" when absent).
func (c *Cloud) ProjectID(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.ident.projectByName(name); p != nil {
		return p.ID
	}
	return ""
}

// ExpireTokens marks every issued token as expired, so that the next call of every client gets 401.
func (c *Cloud) ExpireTokens() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.ident.tokens {
		t.expired = true
	}
}

// checkToken validates X-Auth-Token. It returns the token, or the status and message to answer.
func (c *Cloud) checkToken(r *http.Request) (*token, int, string) {
	v := strings.TrimSpace(r.Header.Get("X-Auth-Token"))
	if v == "" {
		return nil, http.StatusUnauthorized, "The request you have made requires authentication."
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.ident.tokens[v]
	if t == nil || t.expired || time.Now().After(t.expires) {
		return nil, http.StatusUnauthorized, "The request you have made requires authentication."
	}
	if t.projectID == "" {
		return nil, http.StatusUnauthorized, "The request you have made requires authentication (the token is not scoped to a project)."
	}
	return t, 0, ""
}
