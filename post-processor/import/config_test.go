package importpp

import (
	"strings"
	"testing"
	"time"
)

func configure(t *testing.T, raw map[string]interface{}) (*PostProcessor, error) {
	t.Helper()
	for _, k := range []string{"OS_CLOUD", "OS_AUTH_URL", "OS_CLIENT_CONFIG_FILE"} {
		t.Setenv(k, "")
	}
	p := new(PostProcessor)
	return p, p.Configure(raw)
}

func base(extra map[string]interface{}) map[string]interface{} {
	m := map[string]interface{}{"image_name": "img", "image_source_url": "https://example.com/img.qcow2"}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}

func TestConfigureDefaults(t *testing.T) {
	p, err := configure(t, base(nil))
	if err != nil {
		t.Fatal(err)
	}
	c := p.config
	got := []string{c.ImportMethod, c.Decompress, c.ContainerFormat, c.DiskFormat, c.Visibility, c.ImportTimeout.String()}
	want := []string{"auto", "auto", "bare", "qcow2", "private", (60 * time.Minute).String()}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("defaults %v, want %v", got, want)
	}
}

func TestConfigureAcceptsFullTemplate(t *testing.T) {
	p, err := configure(t, base(map[string]interface{}{
		"checksum": "file:https://example.com/SHA256SUMS", "decompress": "true",
		"image_source_username": "u", "image_source_password": "p", "image_source_headers": map[string]string{"X-Token": "t"},
		"visibility": "shared", "image_members": []string{"p1"}, "image_auto_accept_members": true,
		"stores": []string{"a", "b"}, "all_stores_must_succeed": false, "import_timeout": "90m",
		"properties": map[string]string{"os_distro": "fedora"}, "tags": []string{"x"}, "min_disk": 10, "min_ram": 1024,
		"protected": true, "hidden": true, "image_force": true, "keep_failed_image": true, "disk_format": "raw",
		"container_format": "bare", "source_insecure": true, "region": "kz-ala-1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if p.config.ImportTimeout != 90*time.Minute || *p.config.AllStoresMustSucceed {
		t.Fatalf("decoded %+v", p.config.ImageConfig)
	}
}

func TestConfigureWebDownloadAlias(t *testing.T) {
	p, err := configure(t, base(map[string]interface{}{"web_download": true}))
	if err != nil || p.config.ImportMethod != "web-download" {
		t.Fatalf("web_download = true: method %q, %v", p.config.ImportMethod, err)
	}
}

func TestConfigureTemplateFunctionsInName(t *testing.T) {
	p, err := configure(t, base(map[string]interface{}{"image_name": "base-{{timestamp}}"}))
	if err != nil || strings.Contains(p.config.ImageName, "{{") || !strings.HasPrefix(p.config.ImageName, "base-") {
		t.Fatalf("image_name %q, %v", p.config.ImageName, err)
	}
}

// Every conflict and invalid value fails, naming the option(s).
func TestConfigureConflicts(t *testing.T) {
	cases := []struct {
		name  string
		extra map[string]interface{}
		want  []string
	}{
		{"missing name", map[string]interface{}{"image_name": nil}, []string{"image_name"}},
		{"url and file", map[string]interface{}{"local_file_path": "/tmp/x.qcow2"}, []string{"image_source_url", "local_file_path"}},
		{"artifact_file with url", map[string]interface{}{"artifact_file": "x.qcow2"}, []string{"artifact_file"}},
		{"ftp url", map[string]interface{}{"image_source_url": "ftp://example.com/x"}, []string{"image_source_url"}},
		{"bad method", map[string]interface{}{"import_method": "copy-image"}, []string{"import_method"}},
		{"web_download with upload", map[string]interface{}{"web_download": true, "import_method": "upload"}, []string{"web_download", "import_method"}},
		{"web-download without url", map[string]interface{}{"image_source_url": nil, "local_file_path": "/x.qcow2", "import_method": "web-download"}, []string{"web-download", "image_source_url"}},
		{"web-download with decompress", map[string]interface{}{"import_method": "web-download", "decompress": "true"}, []string{"web-download", "decompress"}},
		{"web-download with checksum", map[string]interface{}{"web_download": true, "checksum": "md5:d41d8cd98f00b204e9800998ecf8427e"}, []string{"web_download", "checksum"}},
		{"web-download with credentials", map[string]interface{}{"web_download": true, "image_source_username": "u", "image_source_password": "p"}, []string{"web_download", "image_source_username"}},
		{"web-download with credentials in the URL", map[string]interface{}{"import_method": "web-download", "image_source_url": "https://u:pw-in-url@example.com/x.qcow2"}, []string{"web-download", "credentials inside image_source_url"}},
		{"web-download with headers", map[string]interface{}{"import_method": "web-download", "image_source_headers": map[string]string{"A": "b"}}, []string{"image_source_headers"}},
		{"bad decompress", map[string]interface{}{"decompress": "maybe"}, []string{"decompress"}},
		{"bad checksum", map[string]interface{}{"checksum": "sha256:abc"}, []string{"checksum"}},
		{"bad checksum type", map[string]interface{}{"checksum": "crc:abc"}, []string{"checksum"}},
		{"username alone", map[string]interface{}{"image_source_username": "u"}, []string{"image_source_username", "image_source_password"}},
		{"credentials without url", map[string]interface{}{"image_source_url": nil, "image_source_username": "u", "image_source_password": "p"}, []string{"image_source_url"}},
		{"source_insecure without url", map[string]interface{}{"image_source_url": nil, "source_insecure": true}, []string{"source_insecure"}},
		{"bad container", map[string]interface{}{"container_format": "zip"}, []string{"container_format"}},
		{"bad disk", map[string]interface{}{"disk_format": "qed"}, []string{"disk_format"}},
		{"bad visibility", map[string]interface{}{"visibility": "secret"}, []string{"visibility"}},
		{"reserved property", map[string]interface{}{"properties": map[string]string{"os_glance_import_task": "x"}}, []string{"properties", "os_glance"}},
		{"negative min_disk", map[string]interface{}{"min_disk": -1}, []string{"min_disk"}},
		{"negative min_ram", map[string]interface{}{"min_ram": -1}, []string{"min_ram"}},
		{"members not shared", map[string]interface{}{"image_members": []string{"p"}, "visibility": "private"}, []string{"image_members", "visibility"}},
		{"auto accept without members", map[string]interface{}{"image_auto_accept_members": true}, []string{"image_auto_accept_members"}},
		{"stores and all_stores", map[string]interface{}{"stores": []string{"a"}, "all_stores": true}, []string{"stores", "all_stores"}},
		{"must succeed alone", map[string]interface{}{"all_stores_must_succeed": true}, []string{"all_stores_must_succeed"}},
		{"stores with upload", map[string]interface{}{"stores": []string{"a"}, "import_method": "upload"}, []string{"stores", "upload"}},
		{"negative timeout", map[string]interface{}{"import_timeout": "-5m"}, []string{"import_timeout"}},
		{"compressed container with decompress", map[string]interface{}{"container_format": "compressed", "decompress": "true"}, []string{"container_format", "decompress"}},
		{"auto disk with web-download and no extension", map[string]interface{}{"image_source_url": "https://example.com/download", "web_download": true, "disk_format": "auto"}, []string{"disk_format"}},
		{"bad endpoint type", map[string]interface{}{"endpoint_type": "private"}, []string{"endpoint_type"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := configure(t, base(c.extra))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestConfigureReportsEveryError(t *testing.T) {
	_, err := configure(t, map[string]interface{}{"visibility": "x", "disk_format": "y", "min_ram": -1})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, w := range []string{"image_name", "visibility", "disk_format", "min_ram"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not name %s: %v", w, err)
		}
	}
}
