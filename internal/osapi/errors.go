package osapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/packer-glance/packer-plugin-glance/access"
)

// IsNotFound reports whether err is an OpenStack 404.
func IsNotFound(err error) bool {
	return gophercloud.ResponseCodeIs(err, http.StatusNotFound)
}

// IsConflict reports whether err is an OpenStack 409.
func IsConflict(err error) bool {
	return gophercloud.ResponseCodeIs(err, http.StatusConflict)
}

// IsForbidden reports whether err is an OpenStack 403.
func IsForbidden(err error) bool {
	return gophercloud.ResponseCodeIs(err, http.StatusForbidden)
}

// DescribeAPIError names the request and the HTTP status of an OpenStack
// error, with the start of the response body on one line.
func DescribeAPIError(err error) string {
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		body := compactBody(string(code.Body))
		if len(body) > 500 {
			body = body[:500] + "..."
		}
		return fmt.Sprintf("%s %s: HTTP %d %s: %s", code.Method, access.RedactURLString(code.URL),
			code.Actual, http.StatusText(code.Actual), body)
	}
	return err.Error()
}

// htmlTag matches the markup of the HTML error pages Glance (webob) returns.
var (
	htmlTag  = regexp.MustCompile(`<[^>]*>`)
	htmlHead = regexp.MustCompile(`(?is)<head>.*?</head>`)
)

// compactBody turns an error body into one line: the service's message when
// the body is one of OpenStack's JSON error shapes, HTML markup dropped,
// whitespace collapsed.
func compactBody(body string) string {
	if msg := jsonMessage(body); msg != "" {
		// webob ends Glance's messages with line breaks in HTML.
		body = lineBreak.ReplaceAllString(msg, " ")
	} else if strings.Contains(body, "<html") || strings.Contains(body, "<body") {
		body = htmlHead.ReplaceAllString(body, " ")
		body = htmlTag.ReplaceAllString(body, " ")
	}
	return strings.Join(strings.Fields(body), " ")
}

var lineBreak = regexp.MustCompile(`(?i)<br\s*/?>`)

// jsonMessage finds the message of an OpenStack JSON error: Glance's
// {"message": ...}, or the one member holding it in Nova's, Neutron's,
// Cinder's and Keystone's shapes ({"itemNotFound": {"message": ...}},
// {"NeutronError": {...}}, {"error": {...}}). "" when the body says none.
func jsonMessage(body string) string {
	var top map[string]any
	if json.Unmarshal([]byte(body), &top) != nil {
		return ""
	}
	if m, ok := top["message"].(string); ok {
		return m
	}
	for _, v := range top {
		if inner, ok := v.(map[string]any); ok {
			if m, ok := inner["message"].(string); ok {
				return m
			}
		}
	}
	return ""
}

// apiError is an API error described for people (request, status, body) that
// still answers errors.As with gophercloud's error.
type apiError struct {
	msg string
	err error
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.err }

// described gives an API error the one-line description people read (request,
// status, Glance's message without its HTML), keeping gophercloud's error
// underneath for errors.As; other errors are returned as they are.
func described(err error) error {
	var code gophercloud.ErrUnexpectedResponseCode
	if err == nil || !errors.As(err, &code) {
		return err
	}
	var already *apiError
	if errors.As(err, &already) {
		return err
	}
	return &apiError{msg: DescribeAPIError(err), err: err}
}
