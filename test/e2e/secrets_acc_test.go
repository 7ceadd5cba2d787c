package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
)

// hostileKeystone rejects every login and echoes the request body back in its
// error, as a misbehaving proxy might: the plugin must still keep secrets out of
// everything it prints and logs.
func hostileKeystone(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		echo := strings.ReplaceAll(string(body), `"`, `'`) + " " + r.Header.Get("X-Auth-Token") + " " + r.Header.Get("X-Subject-Token")
		fmt.Fprintf(w, `{"error":{"code":401,"message":"rejected %s","title":"Unauthorized"}}`, echo)
	}))
	t.Cleanup(srv.Close)
	return srv
}

const secretsTemplate = `
packer {
  required_plugins {
    glance = {
      version = ">= 0.1.0"
      source  = "github.com/packer-glance/glance"
    }
  }
}

data "glance-image" "base" {
  identity_endpoint = "%s/v3"
%s
  name = "anything"
}

source "null" "x" {
  communicator = "none"
}

build {
  sources = ["source.null.x"]
  provisioner "shell-local" {
    inline = ["echo ${data.glance-image.base.id}"]
  }
}
`

func TestAccSecretsNeverReachOutputOrLog(t *testing.T) {
	acctest.Skip(t)
	srv := hostileKeystone(t)
	cases := []struct {
		name   string
		auth   string
		secret string
	}{
		{"password", "  username = \"demo\"\n  password = \"pw-Zq81-never-print\"\n  project_name = \"demo\"", "pw-Zq81-never-print"},
		{"token", "  token = \"gAAAAB-token-never-print\"", "gAAAAB-token-never-print"},
		{"application credential", "  application_credential_id = \"ac-1\"\n  application_credential_secret = \"ac-secret-never-print\"", "ac-secret-never-print"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			acctest.WriteFile(t, dir, "secrets.pkr.hcl", fmt.Sprintf(secretsTemplate, srv.URL, tc.auth))
			res := acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"build", "-color=false", "."}})
			if res.ExitCode == 0 {
				t.Fatalf("the build succeeded against a Keystone that rejects everything:\n%s", res.Output)
			}
			if !strings.Contains(res.Output, "the credentials were rejected (HTTP 401)") {
				t.Errorf("output does not explain the failure:\n%s", res.Output)
			}
			if !strings.Contains(res.Log, "/v3/auth/tokens -> 401") {
				t.Errorf("PACKER_LOG lacks the request line; the test would prove nothing:\n%s", res.Log)
			}
			if strings.Contains(res.Output, tc.secret) {
				t.Errorf("secret in UI output:\n%s", res.Output)
			}
			if strings.Contains(res.Log, tc.secret) {
				t.Errorf("secret in PACKER_LOG output")
			}
		})
	}
}
