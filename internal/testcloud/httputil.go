package testcloud

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// reqCtx carries what the router learned about a request to the handlers and to the request log.
type reqCtx struct {
	cloud   *Cloud
	started time.Time
	service string // identity, image, compute, network, volume
	region  string
	iface   string
	prefix  string // catalog URL of the service, without trailing slash
	op      string // operation name used by faults and the log, e.g. image.create
	reg     *region
	tok     *token
	micro   microversion
	// acceptJSON: the client asked for JSON (Accept: application/json), which makes Glance's webob
	// error pages JSON instead of HTML.
	acceptJSON bool
	// importTask is the import task that held the image the call named, when it did (request log).
	importTask string
}

type reqCtxKey struct{}

func withReqCtx(ctx context.Context, rc *reqCtx) context.Context {
	return context.WithValue(ctx, reqCtxKey{}, rc)
}

func getReqCtx(r *http.Request) *reqCtx {
	rc, _ := r.Context().Value(reqCtxKey{}).(*reqCtx)
	return rc
}

func (rc *reqCtx) projectID() string { return rc.tok.projectID }
func (rc *reqCtx) isAdmin() bool     { return rc.tok.hasRole("admin") }

// statusRecorder remembers the status code written, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// decodeJSON reads a JSON body with a size bound (API bodies are small; image data never comes here).
func decodeJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return fmt.Errorf("the request body is empty")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("malformed JSON in request body: %w", err)
	}
	return nil
}

// Nova and Cinder wrap errors in an object named after the fault class.
var novaFaultNames = map[int]string{
	400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound", 405: "badMethod",
	409: "conflictingRequest", 413: "overLimit", 415: "badMediaType", 429: "overLimit", 500: "computeFault",
	501: "notImplemented", 503: "serviceUnavailable",
}

var neutronErrorTypes = map[int]string{
	400: "BadRequest", 401: "NotAuthorized", 403: "PolicyNotAuthorized", 404: "NotFound", 409: "Conflict",
	429: "OverQuota", 500: "InternalServerError", 503: "ServiceUnavailable",
}

// fail writes an error in the shape the service really uses.
func (rc *reqCtx) fail(w http.ResponseWriter, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	rc.writeServiceError(w, status, msg)
}

func (rc *reqCtx) writeServiceError(w http.ResponseWriter, status int, msg string) {
	if status == http.StatusUnauthorized {
		// keystonemiddleware names Keystone by absolute URL; Keystone itself names its /v3.
		uri := ""
		if rc.cloud != nil {
			uri = rc.cloud.baseURL + "/identity"
		}
		if rc.service == "identity" {
			uri += "/v3"
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Keystone uri=%q", uri))
		if rc.service == "image" {
			// Glance's 401 is webob's, with webob's wording.
			msg = "This server could not verify that you are authorized to access the document you requested. " +
				"Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand " +
				"how to supply the credentials required."
		} else {
			writeJSON(w, status, map[string]any{"error": map[string]any{
				"code": status, "title": "Unauthorized", "message": msg,
			}})
			return
		}
	}
	switch rc.service {
	case "compute", "volume":
		name := novaFaultNames[status]
		if name == "" {
			name = "computeFault"
		}
		writeJSON(w, status, map[string]any{name: map[string]any{"code": status, "message": msg}})
	case "network":
		typ := neutronErrorTypes[status]
		if typ == "" {
			typ = "NeutronError"
		}
		writeJSON(w, status, map[string]any{"NeutronError": map[string]any{"type": typ, "message": msg, "detail": ""}})
	case "image":
		// Glance answers errors with webob's error document: JSON when the client accepts JSON,
		// else a small HTML page. Both keep webob's "<br /><br />" after the message.
		title := fmt.Sprintf("%d %s", status, http.StatusText(status))
		if rc.acceptJSON {
			writeJSON(w, status, map[string]any{"message": msg + "<br /><br />\n\n\n", "code": title,
				"title": http.StatusText(status)})
			return
		}
		body := fmt.Sprintf("<html>\n <head>\n  <title>%s</title>\n </head>\n <body>\n  <h1>%s</h1>\n  %s<br /><br />\n\n\n\n </body>\n</html>",
			title, title, html.EscapeString(msg))
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	default:
		writeJSON(w, status, map[string]any{"error": map[string]any{
			"code": status, "title": http.StatusText(status), "message": msg,
		}})
	}
}

// router wraps a ServeMux so that every route has an operation name, token check and fault injection.
type router struct {
	c   *Cloud
	mux *http.ServeMux
}

func newRouter(c *Cloud) *router { return &router{c: c, mux: http.NewServeMux()} }

type handlerFunc func(w http.ResponseWriter, r *http.Request, rc *reqCtx)

// handle registers an authenticated route.
func (rt *router) handle(pattern, op string, h handlerFunc) { rt.add(pattern, op, true, h) }

// public registers a route that needs no token (version discovery).
func (rt *router) public(pattern, op string, h handlerFunc) { rt.add(pattern, op, false, h) }

func (rt *router) add(pattern, op string, auth bool, h handlerFunc) {
	rt.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		rc := getReqCtx(r)
		rc.op = op
		if auth {
			tok, status, msg := rt.c.checkToken(r)
			if tok == nil {
				rc.fail(w, status, "%s", msg)
				return
			}
			rc.tok = tok
		}
		rc.micro = parseMicroversion(r, rc.service)
		rt.c.serveWithFaults(w, r, rc, func(w http.ResponseWriter) { h(w, r, rc) })
	})
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := getReqCtx(r)
	if _, pattern := rt.mux.Handler(r); pattern == "" {
		// Answer in the service's error shape; a known path with the wrong method is 405, as in the real
		// services.
		rc.op = rc.service + ".unknown"
		status := http.StatusNotFound
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, p := rt.mux.Handler(probe); p != "" && m != r.Method {
				status = http.StatusMethodNotAllowed
			}
		}
		if status == http.StatusMethodNotAllowed {
			rc.fail(w, status, "The method specified is not allowed for this resource.")
			return
		}
		rc.fail(w, status, "The resource could not be found.")
		return
	}
	rt.mux.ServeHTTP(w, r)
}

// timestamp formats for the different services.
func isoTime(t time.Time) string   { return t.UTC().Format("2006-01-02T15:04:05Z") }
func novaTime(t time.Time) string  { return t.UTC().Format("2006-01-02T15:04:05Z") }
func microTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }
func cinderTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000")
}

// acceptsJSON tells whether webob would pick JSON for an error document: only when the Accept header
// names application/json and not text/html (webob prefers HTML, and sends it when Accept is absent).
func acceptsJSON(accept string) bool {
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}
