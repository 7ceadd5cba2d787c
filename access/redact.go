package access

import (
	"net/url"
	"regexp"
	"strings"
)

// secretQueryKeys are query parameters that can carry credentials (temporary URLs,
// signed URLs, tokens passed in the query).
var secretQueryKeys = regexp.MustCompile(`(?i)(token|secret|password|passwd|signature|sig|key|credential|auth)`)

// RedactURL renders u without user info and with credential-like query values
// hidden, for logs and error messages.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		c.User = url.User("redacted")
	}
	if c.RawQuery != "" {
		q := c.Query()
		changed := false
		for k := range q {
			if secretQueryKeys.MatchString(k) {
				q.Set(k, "redacted")
				changed = true
			}
		}
		if changed {
			c.RawQuery = q.Encode()
		}
	}
	return c.String()
}

// RedactURLString is RedactURL for a string; an unparsable URL is hidden whole.
func RedactURLString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparsable URL>"
	}
	return RedactURL(u)
}

// secretJSONFields matches JSON string members whose values must never be logged.
var secretJSONFields = regexp.MustCompile(`(?i)("(?:password|secret|token|id_token|access_token|adminPass|admin_pass|private_key)"\s*:\s*)"(?:[^"\\]|\\.)*"`)

// redactBody hides credential-like JSON members in a response body.
func redactBody(body string) string {
	body = secretJSONFields.ReplaceAllString(body, `$1"redacted"`)
	return strings.TrimSpace(body)
}

// URLCarriesSecrets reports whether a URL holds a credential: user info
// (user:password@host), or a query parameter whose name marks a signature,
// token or key (pre-signed object-store URLs, Swift temporary URLs). Such a URL
// must not be handed to a service that keeps it, such as Glance's task records.
func URLCarriesSecrets(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	if u.User != nil {
		return true
	}
	for k := range u.Query() {
		if secretQueryKeys.MatchString(k) {
			return true
		}
	}
	return false
}
