// Package differential is one Glance + Keystone scenario suite that runs against any cloud named in
// a clouds.yaml: the real services (make realcloud) and the test cloud emulator. Its expectations
// are those of real Glance 25 (Zed) and Keystone 22 as shipped by Debian 12; every difference seen
// against another cloud is a bug in that cloud.
//
// The suite talks plain HTTP (net/http) so that it sees exact status codes, headers and fields,
// with nothing in between that retries or normalises.
package differential

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// cloudConfig is the part of a clouds.yaml cloud entry the suite needs.
type cloudConfig struct {
	Name          string
	AuthType      string
	AuthURL       string
	Username      string
	Password      string
	ProjectName   string
	UserDomain    string
	ProjectDomain string
	AppCredID     string
	AppCredSecret string
	Region        string
	Interface     string
}

// loadClouds reads a clouds.yaml. It understands the subset such files use: nested maps of
// scalars, comments, and single- or double-quoted values. Written here rather than importing a
// YAML library, to keep the module's dependencies unchanged for a test-only need.
func loadClouds(path string) (map[string]*cloudConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	flat := map[string]string{} // "clouds.NAME.auth.username" -> value
	var stack []struct {
		indent int
		key    string
	}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		raw := sc.Text()
		trimmed := strings.TrimSpace(raw)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || trimmed == "---" {
			continue
		}
		if strings.HasPrefix(trimmed, "- ") {
			return nil, fmt.Errorf("%s:%d: lists are not supported", path, line)
		}
		indent := len(raw) - len(strings.TrimLeft(raw, " "))
		key, value, ok := strings.Cut(trimmed, ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: expected 'key: value'", path, line)
		}
		key = unquote(strings.TrimSpace(key))
		value = strings.TrimSpace(value)
		if !strings.HasPrefix(value, "'") && !strings.HasPrefix(value, "\"") {
			if i := strings.Index(value, " #"); i >= 0 {
				value = strings.TrimSpace(value[:i])
			}
		}
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		parts := make([]string, 0, len(stack)+1)
		for _, s := range stack {
			parts = append(parts, s.key)
		}
		parts = append(parts, key)
		if value == "" {
			stack = append(stack, struct {
				indent int
				key    string
			}{indent, key})
			continue
		}
		flat[strings.Join(parts, ".")] = unquote(value)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	clouds := map[string]*cloudConfig{}
	for k, v := range flat {
		rest, ok := strings.CutPrefix(k, "clouds.")
		if !ok {
			continue
		}
		name, field, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		c := clouds[name]
		if c == nil {
			c = &cloudConfig{Name: name}
			clouds[name] = c
		}
		switch field {
		case "auth_type":
			c.AuthType = v
		case "auth.auth_url":
			c.AuthURL = v
		case "auth.username":
			c.Username = v
		case "auth.password":
			c.Password = v
		case "auth.project_name":
			c.ProjectName = v
		case "auth.user_domain_name":
			c.UserDomain = v
		case "auth.project_domain_name":
			c.ProjectDomain = v
		case "auth.application_credential_id":
			c.AppCredID = v
		case "auth.application_credential_secret":
			c.AppCredSecret = v
		case "region_name":
			c.Region = v
		case "interface":
			c.Interface = v
		}
	}
	for _, c := range clouds {
		if c.UserDomain == "" {
			c.UserDomain = "Default"
		}
		if c.ProjectDomain == "" {
			c.ProjectDomain = "Default"
		}
		if c.Interface == "" {
			c.Interface = "public"
		}
		c.AuthURL = strings.TrimRight(c.AuthURL, "/")
		if !strings.HasSuffix(c.AuthURL, "/v3") {
			c.AuthURL += "/v3"
		}
	}
	return clouds, nil
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}
