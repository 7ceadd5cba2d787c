package acceptance

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
)

// TestAccAuthentication logs in to the real Keystone in every supported way, each time finding
// a private image of the demo project through the data source (which only a session scoped to
// that project can see), and checks that rejected credentials fail with a clear error. Every
// run is checked for secrets in its output and PACKER_LOG.
func TestAccAuthentication(t *testing.T) {
	e := setup(t)
	p := e.prefixFor(t, "auth")
	probe := seed(t, e.demo, map[string]any{"name": p + "probe", "visibility": "private"}, filler("probe", 300))
	demo := e.clouds[cloudDemo].Auth
	cred := e.appCred
	authURL := demo.AuthURL

	lookup := func(access ...string) string {
		attrs := append([]string{"name = " + hclString(probe.img.Name)}, access...)
		return nullBuild(dataSource("probe", attrs...), printOutputs("probe"))
	}
	found := func(t *testing.T, run packerRun) {
		t.Helper()
		requireSuccess(t, run)
		if got := printed(run.Output)["probe"]["id"]; got != probe.img.ID {
			t.Fatalf("found image %q, want the demo project's private probe %s:\n%s", got, probe.img.ID, run.Output)
		}
	}

	// Each case returns the template and the run's settings; tokens are issued per run.
	fixed := func(tmpl string, o runOpts) func(*testing.T) (string, runOpts) {
		return func(*testing.T) (string, runOpts) { return tmpl, o }
	}
	cases := []struct {
		name  string
		setup func(t *testing.T) (string, runOpts)
	}{
		{"password_clouds_yaml_os_cloud", fixed(lookup(), runOpts{Cloud: cloudDemo})},
		{"password_clouds_yaml_cloud_option", fixed(lookup(`cloud = "`+cloudDemo+`"`), runOpts{})},
		{"password_template_options", fixed(lookup(
			"identity_endpoint = "+hclString(authURL), "username = "+hclString(demo.Username),
			"password = "+hclString(demo.Password), "project_name = "+hclString(demo.ProjectName),
			"user_domain_name = "+hclString(demo.UserDomainName), "project_domain_name = "+hclString(demo.ProjectDomainName),
			`region = "RegionOne"`), runOpts{})},
		{"password_os_env", fixed(lookup(), runOpts{Env: []string{"OS_AUTH_URL=" + authURL,
			"OS_USERNAME=" + demo.Username, "OS_PASSWORD=" + demo.Password, "OS_PROJECT_NAME=" + demo.ProjectName,
			"OS_USER_DOMAIN_NAME=" + demo.UserDomainName, "OS_PROJECT_DOMAIN_NAME=" + demo.ProjectDomainName,
			"OS_REGION_NAME=RegionOne"}})},
		{"appcred_clouds_yaml", fixed(lookup(), runOpts{Cloud: cloudAppCred})},
		{"appcred_template_id", fixed(lookup(
			"identity_endpoint = "+hclString(cred["OS_AUTH_URL"]),
			"application_credential_id = "+hclString(cred["OS_APPLICATION_CREDENTIAL_ID"]),
			"application_credential_secret = "+hclString(cred["OS_APPLICATION_CREDENTIAL_SECRET"])), runOpts{})},
		{"appcred_template_name", fixed(lookup(
			"identity_endpoint = "+hclString(cred["OS_AUTH_URL"]), "username = "+hclString(demo.Username),
			"user_domain_name = "+hclString(demo.UserDomainName),
			"application_credential_name = "+hclString(cred["OS_APPLICATION_CREDENTIAL_NAME"]),
			"application_credential_secret = "+hclString(cred["OS_APPLICATION_CREDENTIAL_SECRET"])), runOpts{})},
		// appcred.env exactly as written, as a shell that sourced it would pass it on.
		{"appcred_os_env", fixed(lookup(), runOpts{Env: envList(cred)})},
		{"token_template", func(t *testing.T) (string, runOpts) {
			tok := demoToken(t, e)
			return lookup("identity_endpoint = "+hclString(authURL), "token = "+hclString(tok)), runOpts{Secrets: []string{tok}}
		}},
		{"token_os_env", func(t *testing.T) (string, runOpts) {
			tok := demoToken(t, e)
			return lookup(), runOpts{Env: []string{"OS_AUTH_URL=" + authURL, "OS_TOKEN=" + tok, "OS_AUTH_TYPE=token"}, Secrets: []string{tok}}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tmpl, opts := c.setup(t)
			found(t, e.build(t, tmpl, opts))
		})
	}

	t.Run("wrong_password_template", func(t *testing.T) {
		t.Parallel()
		wrong := randomSecret(t)
		run := e.build(t, lookup("identity_endpoint = "+hclString(authURL), "username = "+hclString(demo.Username),
			"password = "+hclString(wrong), "project_name = "+hclString(demo.ProjectName)), runOpts{Secrets: []string{wrong}})
		requireFailure(t, run)
		requireOutput(t, run, authURL, "credentials were rejected", "user "+demo.Username)
	})

	t.Run("wrong_password_os_env_over_clouds_yaml", func(t *testing.T) {
		t.Parallel()
		// OS_PASSWORD wins over the clouds.yaml entry's (correct) password.
		wrong := randomSecret(t)
		run := e.build(t, lookup(), runOpts{Cloud: cloudDemo, Env: []string{"OS_PASSWORD=" + wrong}, Secrets: []string{wrong}})
		requireFailure(t, run)
		requireOutput(t, run, authURL, "credentials were rejected", "user "+demo.Username)
	})

	t.Run("wrong_appcred_secret_post_processor", func(t *testing.T) {
		t.Parallel()
		wrong := randomSecret(t)
		name := p + "never-created"
		src := sourceFor(t).add("/"+name+".raw", filler("never", 4096))
		run := e.build(t, nullBuild("", `
  post-processor "glance-import" {
    image_name                    = `+hclString(name)+`
    image_source_url              = `+hclString(src)+`
    disk_format                   = "raw"
    identity_endpoint             = `+hclString(cred["OS_AUTH_URL"])+`
    application_credential_id     = `+hclString(cred["OS_APPLICATION_CREDENTIAL_ID"])+`
    application_credential_secret = `+hclString(wrong)+`
  }`), runOpts{Secrets: []string{wrong}})
		requireFailure(t, run)
		requireOutput(t, run, cred["OS_AUTH_URL"], "credentials were rejected", "application credential "+cred["OS_APPLICATION_CREDENTIAL_ID"])
		if imgs := e.admin.imagesNamed(t, name); len(imgs) != 0 {
			t.Errorf("a rejected login still created %d image(s) named %q", len(imgs), name)
		}
	})
}

// demoToken issues a token of the demo user scoped to the demo project, as a user would with
// `openstack token issue`.
func demoToken(t *testing.T, e *realEnv) string {
	t.Helper()
	tok, _, err := issueToken(e.clouds[cloudDemo])
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(tok) == "" {
		t.Fatal("Keystone returned no X-Subject-Token")
	}
	return tok
}

func envList(m map[string]string) []string {
	var env []string
	for k, v := range m {
		env = append(env, k+"="+v)
	}
	return env
}

// randomSecret is a wrong password nobody could guess, so finding it in a log means a leak.
func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "wrong-" + hex.EncodeToString(b)
}
