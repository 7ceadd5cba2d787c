package differential

import (
	"testing"
	"time"
)

// Keystone: the authentication paths the plugin uses.

func TestTokenPassword(t *testing.T) {
	demo, _ := setup(t)
	r, err := rawRequest("POST", cfg.demo.AuthURL+"/auth/tokens", passwordBody(cfg.demo, cfg.demo.Password), nil)
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, r, 201)
	if r.Header.Get("X-Subject-Token") == "" {
		t.Error("no X-Subject-Token header")
	}
	tok := obj(r.JSON(), "token")
	if got := strs(list(tok, "methods")); len(got) != 1 || got[0] != "password" {
		t.Errorf("methods = %v, want [password]", got)
	}
	field(t, obj(tok, "project"), "name", cfg.demo.ProjectName)
	field(t, obj(tok, "project"), "id", demo.ProjectID)
	field(t, obj(obj(tok, "project"), "domain"), "name", cfg.demo.ProjectDomain)
	field(t, obj(tok, "user"), "name", cfg.demo.Username)
	var roles []string
	for _, x := range list(tok, "roles") {
		roles = append(roles, str(x.(map[string]any), "name"))
	}
	if !contains(roles, "member") {
		t.Errorf("roles = %v, want member among them", roles)
	}
	if contains(roles, "admin") {
		t.Errorf("roles = %v: the member cloud must not be admin", roles)
	}
	issued, err1 := time.Parse(time.RFC3339Nano, str(tok, "issued_at"))
	expires, err2 := time.Parse(time.RFC3339Nano, str(tok, "expires_at"))
	if err1 != nil || err2 != nil {
		t.Errorf("issued_at %q / expires_at %q do not parse", str(tok, "issued_at"), str(tok, "expires_at"))
	} else {
		t.Logf("token lifetime %s", expires.Sub(issued).Round(time.Second))
	}
	if catalogURL(tok, "image", cfg.demo.Interface, cfg.demo.Region) == "" {
		t.Error("catalog has no image endpoint")
	}
	if catalogURL(tok, "identity", cfg.demo.Interface, cfg.demo.Region) == "" {
		t.Error("catalog has no identity endpoint")
	}
}

func TestTokenWrongPassword(t *testing.T) {
	setup(t)
	r, err := rawRequest("POST", cfg.demo.AuthURL+"/auth/tokens", passwordBody(cfg.demo, "not-"+cfg.demo.Password), nil)
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, r, 401)
	e := obj(r.JSON(), "error")
	field(t, e, "code", 401)
	field(t, e, "title", "Unauthorized")
	if str(e, "message") == "" {
		t.Error("error.message is empty")
	}
	if r.Header.Get("X-Subject-Token") != "" {
		t.Error("a failed authentication returned a token")
	}
}

func TestTokenUnknownUser(t *testing.T) {
	setup(t)
	c := *cfg.demo
	c.Username = "no-such-user-" + cfg.runID
	r, err := rawRequest("POST", c.AuthURL+"/auth/tokens", passwordBody(&c, "x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Keystone does not tell unknown users from wrong passwords.
	expectStatus(t, r, 401)
}

func TestTokenApplicationCredential(t *testing.T) {
	demo, _ := setup(t)
	if cfg.appcred == nil {
		t.Skip("no application-credential cloud in the clouds.yaml")
	}
	r, err := rawRequest("POST", cfg.appcred.AuthURL+"/auth/tokens", authBody(cfg.appcred), nil)
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, r, 201)
	tok := obj(r.JSON(), "token")
	if got := strs(list(tok, "methods")); len(got) != 1 || got[0] != "application_credential" {
		t.Errorf("methods = %v, want [application_credential]", got)
	}
	// The credential is bound to the member's project: no scope in the request.
	field(t, obj(tok, "project"), "id", demo.ProjectID)
	field(t, obj(tok, "application_credential"), "id", cfg.appcred.AppCredID)
	if catalogURL(tok, "image", cfg.appcred.Interface, cfg.appcred.Region) == "" {
		t.Error("catalog has no image endpoint")
	}

	// A wrong secret is 401 like a wrong password.
	bad := *cfg.appcred
	bad.AppCredSecret = "wrong"
	r, err = rawRequest("POST", bad.AuthURL+"/auth/tokens", authBody(&bad), nil)
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, r, 401)

	// The token works on Glance.
	s := newSession(t, cfg.appcred)
	expectStatus(t, s.Do(t, "GET", "/v2/images?limit=1", nil, nil), 200)
}

func TestTokenMethodToken(t *testing.T) {
	demo, _ := setup(t)
	body := map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"token"}, "token": map[string]any{"id": demo.Token(t)}},
		"scope":    map[string]any{"project": map[string]any{"id": demo.ProjectID}},
	}}
	r, err := rawRequest("POST", cfg.demo.AuthURL+"/auth/tokens", body, nil)
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, r, 201)
	tok := obj(r.JSON(), "token")
	methods := strs(list(tok, "methods"))
	t.Logf("methods of a token made from a password token: %v", methods)
	if !contains(methods, "token") || !contains(methods, "password") {
		t.Errorf("methods = %v, want both token and password", methods)
	}
	field(t, obj(tok, "project"), "id", demo.ProjectID)
	// A token made from a token never outlives the one it came from.
	if str(tok, "expires_at") != str(demo.tokenBody, "expires_at") {
		t.Errorf("expires_at %s, want the original token's %s", str(tok, "expires_at"), str(demo.tokenBody, "expires_at"))
	}

	// An invalid token as method is 404 on Keystone (the token is not found).
	body["auth"].(map[string]any)["identity"] = map[string]any{"methods": []string{"token"}, "token": map[string]any{"id": "gAAAAABinvalid"}}
	r, err = rawRequest("POST", cfg.demo.AuthURL+"/auth/tokens", body, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkStatus(t, r, 404)
}

func TestTokenValidate(t *testing.T) {
	demo, admin := setup(t)
	// Validating a token: GET /v3/auth/tokens with the subject in X-Subject-Token.
	r, err := rawRequest("GET", cfg.demo.AuthURL+"/auth/tokens", nil,
		map[string]string{"X-Auth-Token": admin.Token(t), "X-Subject-Token": demo.Token(t)})
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, r, 200)
	field(t, obj(obj(r.JSON(), "token"), "project"), "id", demo.ProjectID)
}

func TestGlanceRejectsBadToken(t *testing.T) {
	demo, _ := setup(t)
	r, err := rawRequest("GET", demo.Image+"/v2/images", nil, map[string]string{"X-Auth-Token": "not-a-token"})
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, r, 401)
	if h := r.Header.Get("WWW-Authenticate"); h == "" {
		t.Error("no WWW-Authenticate header on Glance's 401")
	} else {
		t.Logf("WWW-Authenticate: %s", h)
	}
	r, err = rawRequest("GET", demo.Image+"/v2/images", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, r, 401)
}

func TestTokenRequestShapes(t *testing.T) {
	demo, _ := setup(t)
	issue := func(t *testing.T, body map[string]any, want int) map[string]any {
		t.Helper()
		r, err := rawRequest("POST", cfg.demo.AuthURL+"/auth/tokens", body, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkStatus(t, r, want)
		return obj(r.JSON(), "token")
	}
	user := map[string]any{"name": cfg.demo.Username, "domain": map[string]any{"name": cfg.demo.UserDomain}, "password": cfg.demo.Password}
	identity := map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": user}}
	t.Run("no scope: the default project", func(t *testing.T) {
		tok := issue(t, map[string]any{"auth": map[string]any{"identity": identity}}, 201)
		field(t, obj(tok, "project"), "id", demo.ProjectID)
	})
	t.Run("explicitly unscoped", func(t *testing.T) {
		tok := issue(t, map[string]any{"auth": map[string]any{"identity": identity, "scope": "unscoped"}}, 201)
		absent(t, tok, "project")
	})
	t.Run("no method", func(t *testing.T) {
		issue(t, map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{}}}}, 401)
	})
	t.Run("method without its object", func(t *testing.T) {
		issue(t, map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"password"}}}}, 400)
	})
	t.Run("user name without domain", func(t *testing.T) {
		u := map[string]any{"name": cfg.demo.Username, "password": cfg.demo.Password}
		issue(t, map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"password"},
			"password": map[string]any{"user": u}}}}, 400)
	})
	t.Run("no identity", func(t *testing.T) {
		issue(t, map[string]any{"auth": map[string]any{}}, 400)
	})
}
