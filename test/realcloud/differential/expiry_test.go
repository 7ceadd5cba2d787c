package differential

import (
	"io"
	"testing"
	"time"
)

// Token expiry. The real cloud issues 120 s tokens so this runs in about two minutes; on a cloud
// whose tokens live longer than DIFF_MAX_EXPIRY_WAIT (default 5m) it is skipped. It runs in
// parallel with the other tests.

func tokenLifetime(t *testing.T, s *session) time.Duration {
	issued, err1 := time.Parse(time.RFC3339Nano, str(s.tokenBody, "issued_at"))
	expires, err2 := time.Parse(time.RFC3339Nano, str(s.tokenBody, "expires_at"))
	if err1 != nil || err2 != nil {
		t.Fatalf("token times: %v %v", err1, err2)
	}
	return expires.Sub(issued)
}

// slowReader hands out data in small pieces spread over a duration: an upload that outlives the
// token it started with.
type slowReader struct {
	data  []byte
	off   int
	start time.Time
	span  time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	// Release bytes in proportion to the time elapsed.
	due := int(float64(len(r.data)) * float64(time.Since(r.start)) / float64(r.span))
	if due <= r.off {
		time.Sleep(200 * time.Millisecond)
		due = r.off + 1
	}
	if due > len(r.data) {
		due = len(r.data)
	}
	n := copy(p, r.data[r.off:due])
	r.off += n
	return n, nil
}

func TestTokenExpiry(t *testing.T) {
	demo, admin := setup(t)
	max, err := time.ParseDuration(env("DIFF_MAX_EXPIRY_WAIT", "5m"))
	if err != nil {
		t.Fatal(err)
	}
	// A session of its own: its token is never renewed.
	s := newSession(t, cfg.demo)
	life := tokenLifetime(t, s)
	if life > max {
		t.Skipf("tokens live %s, more than DIFF_MAX_EXPIRY_WAIT %s", life, max)
	}
	t.Parallel()
	tok := s.token
	expires := s.expires
	t.Logf("token lifetime %s", life)

	img := createImage(t, demo, map[string]any{"name": name("slow-upload"), "disk_format": "raw", "container_format": "bare"})
	id := str(img, "id")
	data := payload(512<<10, 6)

	// An upload that starts with a valid token and ends after it expired.
	done := make(chan *response, 1)
	go func() {
		body := &slowReader{data: data, start: time.Now(), span: time.Until(expires) + 15*time.Second}
		r, err := clientRequest(slowClient, "PUT", s.Image+"/v2/images/"+id+"/file", io.Reader(body), map[string]string{"X-Auth-Token": tok})
		if err != nil {
			t.Errorf("slow upload: %v", err)
		}
		done <- r
	}()

	time.Sleep(time.Until(expires) + 2*time.Second)

	t.Run("expired token on Glance", func(t *testing.T) {
		r, err := rawRequest("GET", s.Image+"/v2/images?limit=1", nil, map[string]string{"X-Auth-Token": tok})
		if err != nil {
			t.Fatal(err)
		}
		checkStatus(t, r, 401)
	})
	t.Run("expired token validated on Keystone", func(t *testing.T) {
		h := map[string]string{"X-Auth-Token": admin.Token(t), "X-Subject-Token": tok}
		r, err := rawRequest("GET", cfg.admin.AuthURL+"/auth/tokens", nil, h)
		if err != nil {
			t.Fatal(err)
		}
		checkStatus(t, r, 404)
		// Services may still read it with allow_expired (Keystone's allow_expired_window).
		r, err = rawRequest("GET", cfg.admin.AuthURL+"/auth/tokens?allow_expired=1", nil, h)
		if err != nil {
			t.Fatal(err)
		}
		checkStatus(t, r, 200)
	})
	t.Run("expired token as auth method", func(t *testing.T) {
		body := map[string]any{"auth": map[string]any{
			"identity": map[string]any{"methods": []string{"token"}, "token": map[string]any{"id": tok}}}}
		r, err := rawRequest("POST", cfg.demo.AuthURL+"/auth/tokens", body, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkStatus(t, r, 404)
	})
	t.Run("re-authentication", func(t *testing.T) {
		if err := s.authenticate(); err != nil {
			t.Fatal(err)
		}
		expectStatus(t, s.Do(t, "GET", "/v2/images?limit=1", nil, nil), 200)
	})
	t.Run("upload that outlived its token", func(t *testing.T) {
		var r *response
		select {
		case r = <-done:
		case <-time.After(2 * time.Minute):
			t.Fatal("slow upload did not finish")
		}
		if r == nil {
			return
		}
		// Glance checked the token when the request began: the upload completes.
		checkStatus(t, r, 204)
		checkActive(t, getImage(t, demo, id), data)
	})
}
