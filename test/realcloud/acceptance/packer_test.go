package acceptance

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
)

// templateHead pins the plugin; every template starts with it.
var templateHead = `
packer {
  required_plugins {
    glance = { version = ">= 0.1.0", source = "` + acctest.SourceAddress + `" }
  }
}
`

// nullBuild wraps body (data sources, locals) and the build's post-processors in a template
// whose only source is a null builder without a communicator.
func nullBuild(body, postProcessors string) string {
	return templateHead + body + `
source "null" "src" {
  communicator = "none"
}

build {
  sources = ["source.null.src"]
` + postProcessors + `
}
`
}

// packerRun is one `packer build` with its result and wall time.
type packerRun struct {
	acctest.Result
	Took time.Duration
}

// runOpts are the knobs of one packer build.
type runOpts struct {
	Env     []string      // extra environment; the clouds.yaml is always given, OS_CLOUD is not
	Cloud   string        // OS_CLOUD, when set
	Secrets []string      // values, besides the clouds' passwords and secrets, that must not show
	Timeout time.Duration // default 10 minutes
	// Interrupt, when set, may send packer SIGINT (Ctrl-C) while it runs.
	Interrupt func(cmd *exec.Cmd, out *acctest.SyncBuffer)
}

// build runs `packer build` on the template and checks that no secret reached its output or
// log, whatever the outcome.
func (e *realEnv) build(t *testing.T, template string, o runOpts) packerRun {
	t.Helper()
	dir := t.TempDir()
	acctest.WriteFile(t, dir, "t.pkr.hcl", template)
	runEnv := append([]string{"OS_CLIENT_CONFIG_FILE=" + e.cloudsYAML}, o.Env...)
	if o.Cloud != "" {
		runEnv = append(runEnv, "OS_CLOUD="+o.Cloud)
	}
	start := time.Now()
	res := acctest.Packer(t, acctest.Run{Dir: dir, Args: []string{"build", "-color=false", "."}, Env: runEnv, Timeout: o.Timeout, Interrupt: o.Interrupt})
	run := packerRun{Result: res, Took: time.Since(start)}
	t.Logf("packer build: exit %d after %s", res.ExitCode, run.Took.Round(100*time.Millisecond))
	if os.Getenv("REALCLOUD_ACC_SHOW") != "" {
		t.Logf("packer output:\n%s", run.Output)
	}
	requireNoSecrets(t, run, append(e.secrets(), o.Secrets...))
	return run
}

// fernetToken matches a Keystone fernet token (base64url of a version-0x80 fernet message).
var fernetToken = regexp.MustCompile(`gAAAAA[A-Za-z0-9_-]{60,}`)

// requireNoSecrets fails the test when a secret appears in the output or the PACKER_LOG log.
func requireNoSecrets(t *testing.T, run packerRun, secrets []string) {
	t.Helper()
	if run.Log == "" {
		t.Errorf("PACKER_LOG output is empty: the secrets check would prove nothing")
	}
	// Keystone's fernet tokens, the ones the plugin obtained itself included.
	for what, text := range map[string]string{"packer's output": run.Output, "PACKER_LOG": run.Log} {
		if tok := fernetToken.FindString(text); tok != "" {
			t.Errorf("a Keystone token (%s…) is in %s", tok[:8], what)
		}
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(run.Output, s) {
			t.Errorf("a secret (%d characters, starting %q) is in packer's output", len(s), s[:min(3, len(s))])
		}
		if strings.Contains(run.Log, s) {
			t.Errorf("a secret (%d characters, starting %q) is in PACKER_LOG", len(s), s[:min(3, len(s))])
		}
	}
}

func requireSuccess(t *testing.T, run packerRun) {
	t.Helper()
	if run.ExitCode != 0 {
		t.Fatalf("packer build failed (exit %d):\n%s", run.ExitCode, run.Output)
	}
}

func requireFailure(t *testing.T, run packerRun) {
	t.Helper()
	if run.ExitCode == 0 {
		t.Fatalf("packer build succeeded, want a failure:\n%s", run.Output)
	}
}

// requireOutput fails unless the output contains every fragment.
func requireOutput(t *testing.T, run packerRun, fragments ...string) {
	t.Helper()
	for _, f := range fragments {
		if !strings.Contains(run.Output, f) {
			t.Errorf("packer output lacks %q:\n%s", f, run.Output)
		}
	}
}

// printed collects the "OUT <label> <key>=<value>" lines that the templates' shell-local
// post-processors echo: printed[label][key] = value.
var printedLine = regexp.MustCompile(`OUT (\S+) ([a-z_]+)=(.*)$`)

func printed(output string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, line := range strings.Split(output, "\n") {
		m := printedLine.FindStringSubmatch(strings.TrimRight(line, "\r"))
		if m == nil {
			continue
		}
		if out[m[1]] == nil {
			out[m[1]] = map[string]string{}
		}
		out[m[1]][m[2]] = strings.TrimSpace(m[3])
	}
	return out
}

// hclString quotes s as an HCL string literal (no template sequences).
func hclString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", "$${", "%{", "%%{", "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// hclList renders a list of strings.
func hclList(items ...string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = hclString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// hclMap renders a map of strings from key, value, key, value... in that order.
func hclMap(pairs ...string) string {
	var b strings.Builder
	b.WriteString("{\n")
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(&b, "    %s = %s\n", pairs[i], hclString(pairs[i+1]))
	}
	b.WriteString("  }")
	return b.String()
}
