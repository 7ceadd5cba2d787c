package differential

import (
	"net/url"
	"testing"
)

// Glance image members: the owner shares, the member accepts, listings follow the member status.

func TestMembers(t *testing.T) {
	demo, admin := setup(t)
	// The member side is the second non-admin project when the cloud has one; otherwise the admin
	// project, and the listing checks are skipped (an admin lists every image whatever its member
	// status).
	member, memberIsAdmin := admin, true
	if cfg.alt != nil {
		member, memberIsAdmin = newSession(t, cfg.alt), false
	}
	mid := member.ProjectID
	img := createImage(t, demo, map[string]any{"name": name("shared"), "disk_format": "raw",
		"container_format": "bare", "visibility": "shared"})
	id := str(img, "id")
	base := "/v2/images/" + id + "/members"

	t.Run("private image has no members", func(t *testing.T) {
		priv := createImage(t, demo, map[string]any{"name": name("private-members"), "visibility": "private"})
		r := demo.Do(t, "POST", "/v2/images/"+str(priv, "id")+"/members", map[string]any{"member": mid}, nil)
		checkStatus(t, r, 403)
	})

	r := demo.Do(t, "POST", base, map[string]any{"member": mid}, nil)
	expectStatus(t, r, 200)
	m := r.JSON()
	field(t, m, "image_id", id)
	field(t, m, "member_id", mid)
	field(t, m, "status", "pending")
	field(t, m, "schema", "/v2/schemas/member")
	for _, k := range []string{"created_at", "updated_at"} {
		if str(m, k) == "" {
			t.Errorf("member %s missing", k)
		}
	}

	t.Run("duplicate member", func(t *testing.T) {
		checkStatus(t, demo.Do(t, "POST", base, map[string]any{"member": mid}, nil), 409)
	})
	t.Run("owner lists members", func(t *testing.T) {
		r := demo.Do(t, "GET", base, nil, nil)
		expectStatus(t, r, 200)
		ms := list(r.JSON(), "members")
		field(t, r.JSON(), "schema", "/v2/schemas/members")
		if len(ms) != 1 || str(ms[0].(map[string]any), "member_id") != mid {
			t.Errorf("members: %s", r)
		}
	})
	t.Run("owner cannot accept for the member", func(t *testing.T) {
		r := demo.Do(t, "PUT", base+"/"+mid, map[string]any{"status": "accepted"}, nil)
		checkStatus(t, r, 403)
	})
	t.Run("pending image is not listed", func(t *testing.T) {
		if memberIsAdmin {
			t.Skip("member listings need a non-admin member cloud (DIFF_ALT_CLOUD)")
		}
		q := "name=" + url.QueryEscape(name("shared"))
		if names, _ := listNames(t, member, q); len(names) != 0 {
			t.Errorf("default list shows the pending shared image: %v", names)
		}
		if names, _ := listNames(t, member, q+"&member_status=pending"); len(names) != 1 {
			t.Errorf("member_status=pending does not list the pending image: %v", names)
		}
		if names, _ := listNames(t, member, q+"&member_status=all"); len(names) != 1 {
			t.Errorf("member_status=all does not list the pending image: %v", names)
		}
		// The pending image can be read by id all the same.
		expectStatus(t, member.Do(t, "GET", "/v2/images/"+id, nil, nil), 200)
	})
	t.Run("member cannot patch or share", func(t *testing.T) {
		if memberIsAdmin {
			t.Skip("needs a non-admin member cloud (DIFF_ALT_CLOUD)")
		}
		r := member.Patch(t, "/v2/images/"+id, map[string]any{"op": "replace", "path": "/name", "value": "x"})
		checkStatus(t, r, 403)
		// The member may list the members: it sees its own membership only.
		r = member.Do(t, "GET", base, nil, nil)
		if checkStatus(t, r, 200) {
			ms := list(r.JSON(), "members")
			if len(ms) != 1 || str(ms[0].(map[string]any), "member_id") != mid {
				t.Errorf("member's view of the members: %s", r)
			}
		}
		checkStatus(t, member.Do(t, "POST", base, map[string]any{"member": demo.ProjectID}, nil), 403)
	})

	r = member.Do(t, "PUT", base+"/"+mid, map[string]any{"status": "accepted"}, nil)
	expectStatus(t, r, 200)
	field(t, r.JSON(), "status", "accepted")
	field(t, r.JSON(), "member_id", mid)

	t.Run("member reads its membership", func(t *testing.T) {
		r := member.Do(t, "GET", base+"/"+mid, nil, nil)
		expectStatus(t, r, 200)
		field(t, r.JSON(), "status", "accepted")
	})
	t.Run("accepted image listed", func(t *testing.T) {
		if memberIsAdmin {
			t.Skip("member listings need a non-admin member cloud (DIFF_ALT_CLOUD)")
		}
		names, _ := listNames(t, member, "name="+url.QueryEscape(name("shared")))
		if len(names) != 1 {
			t.Errorf("default list does not show the accepted image: %v", names)
		}
		names, _ = listNames(t, member, "name="+url.QueryEscape(name("shared"))+"&visibility=shared")
		if len(names) != 1 {
			t.Errorf("visibility=shared does not show the accepted image: %v", names)
		}
	})
	t.Run("bad member status", func(t *testing.T) {
		r := member.Do(t, "PUT", base+"/"+mid, map[string]any{"status": "maybe"}, nil)
		checkStatus(t, r, 400)
	})
	t.Run("no member management once private", func(t *testing.T) {
		r := demo.Patch(t, "/v2/images/"+id, map[string]any{"op": "replace", "path": "/visibility", "value": "private"})
		expectStatus(t, r, 200)
		checkStatus(t, demo.Do(t, "GET", base, nil, nil), 403)
		checkStatus(t, demo.Do(t, "DELETE", base+"/"+mid, nil, nil), 403)
		if !memberIsAdmin {
			checkStatus(t, member.Do(t, "GET", "/v2/images/"+id, nil, nil), 404)
		}
		r = demo.Patch(t, "/v2/images/"+id, map[string]any{"op": "replace", "path": "/visibility", "value": "shared"})
		expectStatus(t, r, 200)
		// Shared again: the membership is still there.
		r = demo.Do(t, "GET", base+"/"+mid, nil, nil)
		if checkStatus(t, r, 200) {
			field(t, r.JSON(), "status", "accepted")
		}
	})
	t.Run("status missing", func(t *testing.T) {
		checkStatus(t, member.Do(t, "PUT", base+"/"+mid, map[string]any{}, nil), 400)
	})
	t.Run("owner removes member", func(t *testing.T) {
		checkStatus(t, demo.Do(t, "DELETE", base+"/"+mid, nil, nil), 204)
		checkStatus(t, demo.Do(t, "GET", base+"/"+mid, nil, nil), 404)
		if !memberIsAdmin {
			checkStatus(t, member.Do(t, "GET", "/v2/images/"+id, nil, nil), 404)
		}
	})
}
