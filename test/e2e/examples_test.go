package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// What the test cloud cannot show (its guests run everything as root, and any
// region or URL can be passed in): the examples must work on a real cloud as
// written.
func TestExamplesWorkAsWritten(t *testing.T) {
	build := readRepoFile(t, "example/build.pkr.hcl")
	// The SSH user of a Fedora image is not root.
	if regexp.MustCompile(`[^|]>\s*/etc/`).MatchString(build) || !strings.Contains(build, "| sudo tee /etc/golden-release") {
		t.Error("example/build.pkr.hcl writes under /etc without sudo")
	}
	vis := regexp.MustCompile(`(?m)^\s*image_visibility\s*=\s*"(\w+)"`).FindStringSubmatch(build)
	header := build[:strings.Index(build, "packer {")]
	if vis == nil || !strings.Contains(header, "a "+vis[1]+" image") {
		t.Errorf("the header of example/build.pkr.hcl does not describe the visibility it sets (%v)", vis)
	}

	imp := readRepoFile(t, "example/import-fedora.pkr.hcl")
	region := regexp.MustCompile(`(?s)variable "region" \{.*?default\s*=\s*"([^"]*)"`).FindStringSubmatch(imp)
	if region == nil || region[1] != "" {
		t.Errorf("the import example's region defaults to %v: it must come from OS_REGION_NAME or clouds.yaml unless set", region)
	}
	if !strings.Contains(imp, "kz-ala-1") {
		t.Error("the import example no longer shows how to pick a region")
	}
	for _, v := range []string{"image_url", "checksum"} {
		def := regexp.MustCompile(`(?s)variable "` + v + `" \{.*?default\s*=\s*"([^"]*)"`).FindStringSubmatch(imp)
		if def == nil || !strings.Contains(def[1], "https://archives.fedoraproject.org/pub/archive/fedora/linux/releases/37/") {
			t.Errorf("variable %s of the import example does not default to Fedora's archive: %v", v, def)
		}
	}
}

// Fedora 37 left Fedora's download mirrors for the archive, and HCL templates
// use HCL functions rather than the legacy {{timestamp}}.
func TestDocsUseLiveURLsAndHCLFunctions(t *testing.T) {
	files := []string{"README.md", "docs/builders/glance.mdx", "docs/post-processors/import.mdx", "docs/datasources/image.mdx"}
	entries, _ := os.ReadDir(filepath.Join("..", "..", "example"))
	for _, e := range entries {
		files = append(files, "example/"+e.Name())
	}
	for _, f := range files {
		body := readRepoFile(t, f)
		if strings.Contains(body, "download.fedoraproject.org/pub/fedora/linux/releases/37") {
			t.Errorf("%s links Fedora 37 on download.fedoraproject.org, where it is gone: use the archive", f)
		}
		blocks := fenced.FindAllStringSubmatch(body, -1)
		if strings.HasSuffix(f, ".pkr.hcl") {
			blocks = [][]string{{body, body}}
		}
		for _, b := range blocks {
			if strings.Contains(b[1], "{{") {
				t.Errorf("%s: an HCL block uses legacy {{ }} template syntax:\n%s", f, b[1])
			}
		}
	}
}
