package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
)

// TestAccExamplesValidateOffline runs `packer validate` on every template shipped
// in example/ and docs/, and on every complete template (one with a build block)
// quoted in the docs and README, with no cloud reachable and no OS_* variables.
func TestAccExamplesValidateOffline(t *testing.T) {
	acctest.Skip(t)
	root := acctest.RepoRoot(t)
	templates := map[string]string{} // name -> content
	for _, dir := range []string{"example", "docs"} {
		_ = filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			b, _ := os.ReadFile(path)
			switch {
			case strings.HasSuffix(path, ".pkr.hcl"):
				templates[rel] = string(b)
			case strings.HasSuffix(path, ".mdx") || strings.HasSuffix(path, ".md"):
				for i, block := range completeHCLBlocks(string(b)) {
					templates[rel+"#"+string(rune('a'+i))] = block
				}
			}
			return nil
		})
	}
	readme, _ := os.ReadFile(filepath.Join(root, "README.md"))
	for i, block := range completeHCLBlocks(string(readme)) {
		templates["README.md#"+string(rune('a'+i))] = block
	}
	if len(templates) == 0 {
		t.Fatal("no templates found: the test would prove nothing")
	}
	for name, content := range templates {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			// Files a template refers to by relative path (e.g. scripts) come along.
			if src := filepath.Join(root, strings.SplitN(name, "#", 2)[0]); strings.HasSuffix(src, ".pkr.hcl") {
				copyDir(t, filepath.Dir(src), dir)
			}
			acctest.WriteFile(t, dir, "template.pkr.hcl", content)
			removeOtherTemplates(t, dir)
			res := acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"validate", "-syntax-only=false", "template.pkr.hcl"},
				Env: []string{"OS_AUTH_URL=http://127.0.0.1:1/v3"}})
			if res.ExitCode != 0 {
				t.Fatalf("packer validate failed:\n%s", res.Output)
			}
		})
	}
}

var (
	fenced     = regexp.MustCompile("(?s)```hcl\n(.*?)```")
	sourceRef  = regexp.MustCompile(`"source\.([\w-]+)\.([\w-]+)"`)
	sourceDecl = regexp.MustCompile(`(?m)^\s*source\s+"([\w-]+)"\s+"([\w-]+)"`)
)

// completeHCLBlocks returns the fenced HCL blocks that are whole templates: a build
// block, and a source block for every source it builds. Snippets that show one
// block of a larger template are not templates and are left out.
func completeHCLBlocks(doc string) []string {
	var out []string
	for _, m := range fenced.FindAllStringSubmatch(doc, -1) {
		block := m[1]
		if !strings.Contains(block, "build {") {
			continue
		}
		declared := map[string]bool{}
		for _, d := range sourceDecl.FindAllStringSubmatch(block, -1) {
			declared[d[1]+"."+d[2]] = true
		}
		complete := true
		for _, r := range sourceRef.FindAllStringSubmatch(block, -1) {
			if !declared[r[1]+"."+r[2]] {
				complete = false
			}
		}
		if complete {
			out = append(out, block)
		}
	}
	return out
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, _ := os.ReadDir(from)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// removeOtherTemplates leaves only template.pkr.hcl (and variable files) so each
// template is validated on its own.
func removeOtherTemplates(t *testing.T, dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".pkr.hcl") && e.Name() != "template.pkr.hcl" {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
