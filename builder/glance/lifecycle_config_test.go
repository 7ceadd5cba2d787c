package glance

import (
	"strings"
	"testing"
	"time"
)

func verifyBlock(kv ...interface{}) map[string]interface{} {
	m := map[string]interface{}{"inline": []string{"test -s /etc/golden-marker"}}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestPrepareLifecycleAccepts(t *testing.T) {
	c, _, err := prepare(t, with("image_family", "golden-fedora", "keep_latest", 3,
		"image_properties", map[string]string{"os_distro": "fedora", "image_family": "golden-fedora"},
		"ssh_host", "203.0.113.7",
		"verify", verifyBlock("flavor", "m1.tiny")))
	if err != nil {
		t.Fatalf("rejected: %v", err)
	}
	if c.ImageProperties["image_family"] != "golden-fedora" || c.ImageProperties["os_distro"] != "fedora" {
		t.Errorf("properties = %v: image_family must be one of them", c.ImageProperties)
	}
	if c.RetireAction != "hide" {
		t.Errorf("retire_action = %q, want the default hide", c.RetireAction)
	}
	if !c.Verifies() || c.Verify.Timeout != defaultVerifyTimeout || c.Verify.Flavor != "m1.tiny" {
		t.Errorf("verify = %+v", c.Verify)
	}
	// The test server is reached at the address the template gave, not the
	// build server's, which the build's connection writes into the config.
	c.Comm.SSHHost = "10.0.0.5"
	if comm := c.verifyComm(); comm.SSHHost != "203.0.113.7" || c.Comm.SSHHost != "10.0.0.5" {
		t.Errorf("verify's ssh_host = %q (the build's: %q)", comm.SSHHost, c.Comm.SSHHost)
	}

	c, _, err = prepare(t, with("image_family", "golden-fedora", "keep_latest", 1, "retire_action", "delete",
		"verify", verifyBlock("timeout", "90s")))
	if err != nil {
		t.Fatalf("rejected: %v", err)
	}
	if c.RetireAction != "delete" || c.Verify.Timeout != 90*time.Second || c.verifyComm().SSHHost != "" {
		t.Errorf("retire_action %q, verify %+v", c.RetireAction, c.Verify)
	}

	// Without lifecycle options nothing changes.
	c, _, err = prepare(t, minimal())
	if err != nil || c.Verifies() || c.retention().Enabled() || c.ImageProperties != nil {
		t.Errorf("defaults: %v, %+v, properties %v", err, c.LifecycleConfig, c.ImageProperties)
	}
}

func TestPrepareLifecycleRejects(t *testing.T) {
	cases := []struct {
		name string
		raw  map[string]interface{}
		want string
	}{
		{"keep_latest without a family", with("keep_latest", 2), "keep_latest needs image_family"},
		{"negative keep_latest", with("image_family", "f", "keep_latest", -1), "keep_latest must be 1 or more"},
		{"retire_action without keep_latest", with("image_family", "f", "retire_action", "delete"), "retire_action is set without keep_latest"},
		{"unknown retire_action", with("image_family", "f", "keep_latest", 2, "retire_action", "archive"), `retire_action "archive" is not one of hide, delete`},
		{"family disagrees with image_properties", with("image_family", "f", "image_properties", map[string]string{"image_family": "g"}), "image_family = \"f\" and image_properties[\"image_family\"] = \"g\" disagree"},
		{"family disagrees with metadata", with("image_family", "f", "metadata", map[string]string{"image_family": "g"}), "disagree"},
		{"retired_at in properties", with("image_properties", map[string]string{"retired_at": "2024-01-01T00:00:00Z"}), "set by retention"},
		{"blank family", with("image_family", " "), "image_family is blank"},
		{"verify options without commands", with("verify", map[string]interface{}{"flavor": "m1.tiny"}), "verify.flavor and verify.timeout need verify.inline"},
		{"empty verify command", with("verify", map[string]interface{}{"inline": []string{"true", " "}}), "verify.inline[1] is empty"},
		{"negative verify timeout", with("verify", verifyBlock("timeout", "-1m")), "verify.timeout cannot be negative"},
		{"verify without a communicator", with("communicator", "none", "ssh_username", nil, "verify", verifyBlock()), `communicator is "none"`},
		{"verify over winrm without a password", with("communicator", "winrm", "ssh_username", nil, "winrm_username", "Administrator", "verify", verifyBlock()), "needs winrm_password"},
		{"verify with skip_create_image", with("skip_create_image", true, "verify", verifyBlock()), "verify is set with skip_create_image"},
		{"family with skip_create_image", with("skip_create_image", true, "image_family", "f"), "image_family is set with skip_create_image"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := prepare(t, tc.raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
