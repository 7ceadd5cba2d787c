package chaos

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

// Seeds are the seeds a run of the tier covers, read from the environment:
// CHAOS_SEED=n alone, or CHAOS_SEEDS seeds (default 10) from CHAOS_SEED_BASE
// (default: a fresh base, so every run of the tier tries new plans).
type Seeds struct {
	List  []uint64
	Base  uint64
	Fresh bool // the base was drawn, not given
	One   bool // CHAOS_SEED named one seed
}

// SeedsFromEnv reads CHAOS_SEED, CHAOS_SEEDS, CHAOS_SEED_BASE and CHAOS_REPEAT.
func SeedsFromEnv() (Seeds, error) {
	s, err := seedsFromEnv()
	if v := os.Getenv("CHAOS_REPEAT"); v != "" && err == nil {
		n, aerr := strconv.Atoi(v)
		if aerr != nil || n < 1 {
			return Seeds{}, fmt.Errorf("CHAOS_REPEAT=%q: want a positive number", v)
		}
		s.Repeat(n)
	}
	return s, err
}

func seedsFromEnv() (Seeds, error) {
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return Seeds{}, fmt.Errorf("CHAOS_SEED=%q: %v", v, err)
		}
		return Seeds{List: []uint64{n}, Base: n, One: true}, nil
	}
	count := 10
	if v := os.Getenv("CHAOS_SEEDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return Seeds{}, fmt.Errorf("CHAOS_SEEDS=%q: want a positive number", v)
		}
		count = n
	}
	s := Seeds{}
	if v := os.Getenv("CHAOS_SEED_BASE"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return Seeds{}, fmt.Errorf("CHAOS_SEED_BASE=%q: %v", v, err)
		}
		s.Base = n
	} else {
		s.Base, s.Fresh = rand.Uint64N(1_000_000_000), true //nolint:gosec // a seed, not a secret
	}
	for i := range count {
		s.List = append(s.List, s.Base+uint64(i))
	}
	return s, nil
}

// Repeat runs every seed n times (CHAOS_REPEAT): a replay runs the same plan,
// but the test cloud draws which calls its percentages hit afresh each time.
func (s *Seeds) Repeat(n int) {
	var out []uint64
	for _, seed := range s.List {
		for range max(n, 1) {
			out = append(out, seed)
		}
	}
	s.List = out
}

// ImageData is the data an import plan sends: a header that no format sniffing
// takes for a compressed stream, then bytes drawn from the seed.
func (p Plan) ImageData() []byte {
	r := rand.New(rand.NewPCG(p.Seed, 7))
	b := make([]byte, p.DataSize)
	n := copy(b, fmt.Sprintf("CHAOS DISK seed %d\n", p.Seed))
	for i := n; i < len(b); i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func gzipped(data []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(data)
	_ = w.Close()
	return buf.Bytes()
}

// Timeout of the plugin's waits in the templates: short for fatal plans, whose
// held resources would otherwise keep them waiting; generous otherwise, so that
// no transient plan fails on a slow machine.
func (p Plan) waitTimeout() string {
	if p.Kind == Fatal {
		return "15s"
	}
	return "90s"
}

// Template is the packer template of the plan. sshPort is the test cloud's SSH
// port; url is the import's source (or local file).
func (p Plan) Template(sshPort int, source string) string {
	head := `packer {
  required_plugins {
    glance = { version = ">= 0.1.0", source = "github.com/packer-glance/glance" }
  }
}
`
	if !p.Scenario.IsBuild() {
		var src string
		switch {
		case p.FromFile:
			src = fmt.Sprintf("local_file_path  = %q\n    import_method    = \"upload\"", source)
		case p.Scenario == ImportUpload:
			src = fmt.Sprintf("image_source_url = %q\n    import_method    = \"upload\"", source)
		case p.Scenario == ImportWeb:
			src = fmt.Sprintf("image_source_url = %q\n    import_method    = \"web-download\"", source)
		case p.GlanceDirect:
			src = fmt.Sprintf("image_source_url = %q\n    import_method    = \"glance-direct\"", source)
		default:
			src = fmt.Sprintf("image_source_url = %q", source)
		}
		return head + fmt.Sprintf(`
source "null" "src" {
  communicator = "none"
}

build {
  sources = ["source.null.src"]
  post-processor "glance-import" {
    image_name       = %q
    %s
    disk_format      = "raw"
    container_format = "bare"
    tags             = ["chaos"]
    import_timeout   = %q
  }
}
`, p.ImageName(), src, p.waitTimeout())
	}
	var extra []string
	if sshPort != 22 {
		extra = append(extra, fmt.Sprintf("ssh_port = %d", sshPort))
	}
	switch p.Scenario {
	case BuildFloatingIP:
		extra = append(extra, `networks = ["private"]`, `floating_ip_network = "public"`)
	case BuildVolume:
		extra = append(extra, "use_blockstorage_volume = true", "volume_size = 1")
	case BuildSecGroup:
		extra = append(extra, "temporary_security_group = true")
	}
	inline := fmt.Sprintf(`"echo %s > /etc/chaos-marker"`, p.Token)
	if p.Kind == CtrlC {
		inline += `, "sleep 1"`
	}
	return head + fmt.Sprintf(`
source "glance" "chaos" {
  source_image_name = "Fedora-Cloud-Base-37-1.7"
  flavor            = "m1.tiny"
  ssh_username      = "fedora"
  ssh_timeout       = "2m"
  image_name        = %q
  image_tags        = ["chaos"]
  state_timeout     = %[2]q
  image_timeout     = %[2]q
  %s
}

build {
  sources = ["source.glance.chaos"]
  provisioner "shell" {
    inline = [%s]
  }
}
`, p.ImageName(), p.waitTimeout(), strings.Join(extra, "\n  "), inline)
}

// Record is how one seed ended, for the tally.
type Record struct {
	Plan     Plan
	Outcome  string
	Failed   bool
	Duration time.Duration
	Fired    int // faults that fired
}
