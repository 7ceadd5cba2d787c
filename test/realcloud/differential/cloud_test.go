package differential

import (
	"os"
	"path/filepath"
	"testing"
)

// The clouds.yaml reader, without any cloud: the shapes written by test/realcloud/register.py and by
// the test cloud, plus quoting and comments.
func TestLoadClouds(t *testing.T) {
	text := `# comment
clouds:
  realcloud:
    auth:
      auth_url: http://127.0.0.1:5000/v3
      username: demo
      password: "pa:ss # not a comment"
      project_name: 'demo'
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne   # trailing comment
    interface: public
    identity_api_version: 3
  realcloud-appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: http://127.0.0.1:5000
      application_credential_id: abc
      application_credential_secret: s3cret
    region_name: RegionOne
`
	path := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	clouds, err := loadClouds(path)
	if err != nil {
		t.Fatal(err)
	}
	d := clouds["realcloud"]
	if d == nil {
		t.Fatalf("no realcloud: %v", clouds)
	}
	if d.Username != "demo" || d.Password != "pa:ss # not a comment" || d.ProjectName != "demo" ||
		d.Region != "RegionOne" || d.AuthURL != "http://127.0.0.1:5000/v3" || d.UserDomain != "Default" {
		t.Errorf("realcloud parsed as %+v", d)
	}
	a := clouds["realcloud-appcred"]
	if a == nil || a.AuthType != "v3applicationcredential" || a.AppCredID != "abc" || a.AppCredSecret != "s3cret" ||
		a.AuthURL != "http://127.0.0.1:5000/v3" || a.Interface != "public" {
		t.Errorf("realcloud-appcred parsed as %+v", a)
	}
	if _, err := loadClouds(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file: no error")
	}
}
