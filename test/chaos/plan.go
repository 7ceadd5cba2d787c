package chaos

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/packer-glance/packer-plugin-glance/internal/testcloud"
)

// Kind is what a plan does to a run, and so what the run must end with.
type Kind string

const (
	// Transient plans inject only what the plugin must ride out: every run succeeds.
	Transient Kind = "transient"
	// Fatal plans break one operation for good: the run fails, says what failed and
	// leaves nothing.
	Fatal Kind = "fatal"
	// CtrlC plans press Ctrl-C at a random moment: the run fails and leaves nothing,
	// or succeeds with its artifact.
	CtrlC Kind = "ctrl-c"
)

// Scenario is one of the builds or imports a plan runs.
type Scenario string

const (
	BuildFixedIP    Scenario = "build-fixed-ip"
	BuildFloatingIP Scenario = "build-floating-ip"
	BuildVolume     Scenario = "build-volume"
	BuildSecGroup   Scenario = "build-secgroup"
	ImportUpload    Scenario = "import-upload"
	ImportWeb       Scenario = "import-web-download"
	ImportGzip      Scenario = "import-gzip"
)

// Scenarios lists every scenario, in the order plans pick them from.
var Scenarios = []Scenario{BuildFixedIP, BuildFloatingIP, BuildVolume, BuildSecGroup, ImportUpload, ImportWeb, ImportGzip}

// IsBuild tells the builder's scenarios from the post-processor's.
func (s Scenario) IsBuild() bool { return strings.HasPrefix(string(s), "build-") }

// Plan is everything one seed decides: the scenario, the faults installed on the
// test cloud before packer starts, and for Ctrl-C plans the moment of the Ctrl-C.
// The same seed always gives the same plan; the test cloud draws its percentages
// from its own generator, so a replay runs the same plan, not the same sequence
// of fired faults.
type Plan struct {
	Seed     uint64            `json:"seed"`
	Scenario Scenario          `json:"scenario"`
	Kind     Kind              `json:"kind"`
	Faults   []testcloud.Fault `json:"faults"`

	// Expect, for fatal plans, is what the error must say: every group must have
	// one of its phrases in it (case does not matter).
	Expect [][]string `json:"expect,omitempty"`

	// The Ctrl-C moment: CtrlCDelay after CtrlCAfter appears in packer's output
	// (after the start when CtrlCAfter is empty).
	CtrlCAfter string             `json:"ctrl_c_after,omitempty"`
	CtrlCDelay testcloud.Duration `json:"ctrl_c_delay,omitempty"`

	// FromFile makes import-upload read a local file instead of a URL.
	FromFile bool `json:"from_file,omitempty"`
	// GlanceDirect makes import-gzip stage the data and import it with
	// glance-direct instead of uploading it.
	GlanceDirect bool `json:"glance_direct,omitempty"`
	// DataSize is the size of an import's image data.
	DataSize int `json:"data_size,omitempty"`
	// Token is what a build writes into its image, and what the image must hold.
	Token string `json:"token,omitempty"`
}

// Name is the plan's subtest name.
func (p Plan) Name() string { return fmt.Sprintf("seed-%d-%s-%s", p.Seed, p.Kind, p.Scenario) }

// String is the plan on one line of JSON; each fault is also a valid
// glance-testcloud --fault argument.
func (p Plan) String() string {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Sprintf("seed %d: %v", p.Seed, err)
	}
	return strings.ReplaceAll(string(b), `,"calls":0,"fired":0`, "")
}

// ImageName is the name of the image the run makes.
func (p Plan) ImageName() string { return fmt.Sprintf("chaos-%d", p.Seed) }

// NewPlan draws the plan of a seed.
func NewPlan(seed uint64) Plan {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p := Plan{Seed: seed, Scenario: Scenarios[r.IntN(len(Scenarios))]}
	token, size := fmt.Sprintf("chaos-%d-%08x", seed, r.Uint32()), 256<<10+r.IntN(2<<20)
	if p.Scenario.IsBuild() {
		p.Token = token
	} else {
		p.DataSize = size
	}
	p.FromFile = p.Scenario == ImportUpload && r.IntN(2) == 0
	p.GlanceDirect = p.Scenario == ImportGzip && r.IntN(2) == 0
	switch k := r.IntN(10); {
	case k < 4:
		p.Kind = Transient
		p.Faults = transientFaults(r)
	case k < 7:
		p.Kind = Fatal
		faults := fatalFaults(p.Scenario, p.GlanceDirect)
		f := faults[r.IntN(len(faults))]
		p.Faults = []testcloud.Fault{f.fault(r)}
		p.Expect = f.expect
		if r.IntN(2) == 0 {
			p.Faults = append(p.Faults, transientFaults(r)...)
		}
	default:
		p.Kind = CtrlC
		// An import takes about a second (its source is served slowly for these
		// plans), a build about ten.
		after, longest := 150, 1200
		if p.Scenario.IsBuild() {
			after, longest = 600, 9000
		}
		if m := markers(p.Scenario); r.IntN(3) > 0 {
			p.CtrlCAfter = m[r.IntN(len(m))]
			p.CtrlCDelay = testcloud.Duration(time.Duration(r.IntN(after)) * time.Millisecond)
		} else {
			p.CtrlCAfter = Started
			p.CtrlCDelay = testcloud.Duration(time.Duration(200+r.IntN(longest)) * time.Millisecond)
		}
		if r.IntN(2) == 0 {
			p.Faults = transientFaults(r)
		}
	}
	return p
}

// Started begins every line of a build's progress (with -color=false), the
// first once the plugins are up. A Ctrl-C before it catches Packer itself
// starting up: Packer 1.15 may then exit 0 without a word, which says nothing
// about the plugin.
const Started = "==> "

// transientFaults draws what a cloud under load does now and then: errors the
// plugin must retry or recover from on 5–20 % of the calls of every operation
// (the share split among 1–3 kinds of error), often 409 on 5–20 % of the deletes,
// and often latency on top.
func transientFaults(r *rand.Rand) []testcloud.Fault {
	rate := 5 + float64(r.IntN(151))/10 // 5.0 .. 20.0 %
	kinds := []string{"5xx", "429", "lose_reply"}
	r.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	kinds = kinds[:1+r.IntN(len(kinds))]
	weights := make([]float64, len(kinds))
	var sum float64
	for i := range weights {
		weights[i] = 1 + r.Float64()
		sum += weights[i]
	}
	if r.IntN(2) == 0 {
		kinds, weights = append(kinds, "409-delete"), append(weights, 0)
	}
	var out []testcloud.Fault
	for i, k := range kinds {
		f := testcloud.Fault{Op: "*", Percent: float64(int(rate*weights[i]/sum*10)) / 10}
		f.Percent = max(f.Percent, 1)
		switch k {
		case "5xx":
			f.Status = []int{500, 502, 503, 504}[r.IntN(4)]
			if f.Status == 503 && r.IntN(2) == 0 {
				f.RetryAfter = 1
			}
		case "429":
			f.Status = 429
			f.RetryAfter = 1 + r.IntN(2)
		case "409-delete":
			f.Op = "*.delete"
			f.Status = 409
			// On deletes alone, the whole rate: they are few.
			f.Percent = rate
		case "lose_reply":
			f.Action = testcloud.ActionLoseReply
			f.Status = []int{0, 500, 502, 504}[r.IntN(4)]
		}
		out = append(out, f)
	}
	if r.IntN(3) > 0 {
		out = append(out, testcloud.Fault{Op: "*", Percent: float64(5 + r.IntN(16)),
			Latency: testcloud.Duration(time.Duration(20+r.IntN(380)) * time.Millisecond)})
	}
	return out
}

// fatalFault is a fault that must fail a scenario, and what the error must say.
type fatalFault struct {
	op, action string
	statuses   []int // a status answered on every call (no action)
	message    string
	expect     [][]string
}

func (f fatalFault) fault(r *rand.Rand) testcloud.Fault {
	out := testcloud.Fault{Op: f.op, Action: f.action, Message: f.message}
	if len(f.statuses) > 0 {
		out.Status = f.statuses[r.IntN(len(f.statuses))]
	}
	return out
}

var (
	timedOut = []string{"timed out", "timeout", "time out", "did not become", "within"}
	// POST creates: a 5xx is recovered (looked for, then sent once more), then fails;
	// a 4xx fails at once.
	createStatuses = []int{500, 400, 403}
)

// fatalFaults lists the faults that must fail a scenario. None of them touches a
// delete operation, nor leaves what the clean-up deletes in a state that cannot
// be deleted (a volume held in "creating" cannot be, on the test cloud as on
// Cinder), so the clean-up can always run.
func fatalFaults(s Scenario, glanceDirect bool) []fatalFault {
	if !s.IsBuild() {
		out := []fatalFault{
			{op: "image.create", statuses: createStatuses, expect: [][]string{{"image"}, {"creat"}}},
		}
		if glanceDirect {
			out = append(out,
				fatalFault{op: "image.stage", action: testcloud.ActionFail, expect: [][]string{{"stag"}}},
				fatalFault{op: "image.stage", statuses: []int{400, 403}, expect: [][]string{{"stag"}}},
				fatalFault{op: "image.import", statuses: []int{400, 403}, expect: [][]string{{"import"}}})
		}
		if s == ImportWeb || glanceDirect {
			return append(out,
				fatalFault{op: "image.import", action: testcloud.ActionKill, expect: [][]string{{"import", "web-download"}, {"killed"}}},
				fatalFault{op: "image.import", action: testcloud.ActionFail, message: "chaos: the store refused the data",
					expect: [][]string{{"import", "web-download"}, {"chaos: the store refused the data", "failed"}}},
				fatalFault{op: "image.import", action: testcloud.ActionHold, expect: [][]string{{"import", "web-download", "image"}, timedOut}},
			)
		}
		return append(out,
			fatalFault{op: "image.upload", action: testcloud.ActionKill, expect: [][]string{{"upload"}}},
			fatalFault{op: "image.upload", action: testcloud.ActionFail, expect: [][]string{{"upload"}}},
			fatalFault{op: "image.upload", action: testcloud.ActionHold, expect: [][]string{{"upload", "image"}, timedOut}},
		)
	}
	out := []fatalFault{
		{op: "keypair.create", statuses: createStatuses, expect: [][]string{{"keypair"}}},
		{op: "server.create", statuses: createStatuses, expect: [][]string{{"server"}}},
		{op: "server.create", action: testcloud.ActionError, message: "chaos: No valid host was found",
			expect: [][]string{{"chaos: No valid host was found"}}},
		{op: "server.create", action: testcloud.ActionHold, expect: [][]string{{"server"}, timedOut}},
		{op: "server.stop", action: testcloud.ActionError, message: "chaos: the hypervisor lost the guest",
			expect: [][]string{{"server"}, {"chaos: the hypervisor lost the guest", "ERROR"}}},
		{op: "server.stop", action: testcloud.ActionHold, expect: [][]string{{"server"}, timedOut}},
	}
	switch s {
	case BuildFloatingIP:
		// The address is made on the server's port: no floatingip.update to break.
		out = append(out, fatalFault{op: "floatingip.create", statuses: createStatuses, expect: [][]string{{"floating IP"}}})
	case BuildSecGroup:
		out = append(out, fatalFault{op: "secgroup.create", statuses: createStatuses, expect: [][]string{{"security group"}}},
			fatalFault{op: "secgroup_rule.create", statuses: []int{400, 403}, expect: [][]string{{"security group", "rule"}}})
	}
	if s == BuildVolume {
		return append(out,
			fatalFault{op: "volume.create", statuses: createStatuses, expect: [][]string{{"volume"}}},
			fatalFault{op: "volume.create", action: testcloud.ActionError, expect: [][]string{{"volume"}, {"error"}}},
			fatalFault{op: "volume.upload_image", action: testcloud.ActionKill, expect: [][]string{{"image"}, {"killed"}}},
			fatalFault{op: "volume.upload_image", action: testcloud.ActionFail, expect: [][]string{{"image"}}},
			fatalFault{op: "volume.upload_image", action: testcloud.ActionHold, expect: [][]string{{"image", "volume"}, timedOut}},
		)
	}
	return append(out,
		fatalFault{op: "server.createImage", statuses: createStatuses, expect: [][]string{{"image"}}},
		fatalFault{op: "server.createImage", action: testcloud.ActionError, message: "chaos: snapshot failed on the host",
			expect: [][]string{{"image", "server"}, {"killed", "chaos: snapshot failed on the host", "ERROR"}}},
		fatalFault{op: "server.createImage", action: testcloud.ActionKill, expect: [][]string{{"image"}, {"killed"}}},
		fatalFault{op: "server.createImage", action: testcloud.ActionFail, expect: [][]string{{"image"}}},
		fatalFault{op: "server.createImage", action: testcloud.ActionHold, expect: [][]string{{"image"}, timedOut}},
	)
}

// markers are lines of a scenario's output after which a Ctrl-C is interesting:
// while each resource is made, waited for, and cleaned up.
func markers(s Scenario) []string {
	if !s.IsBuild() {
		m := []string{"Importing ", "Created image", "Waiting for image", "is active: ID"}
		if s == ImportWeb {
			return append(m, "Asking Glance to download")
		}
		return append(m, " to image ", "Glance's sha512 matches")
	}
	m := []string{"Checking the image name", "Uploading the temporary", "Creating server", "Waiting for server",
		"is ACTIVE", "Waiting for SSH", "Connected to SSH", "Provisioning with shell", "Stopping server",
		"is SHUTOFF", "Waiting for image", "Setting the visibility", "Deleting server", "Deleting the temporary keypair"}
	switch s {
	case BuildFloatingIP:
		m = append(m, "Allocating a floating IP", "Releasing floating IP")
	case BuildSecGroup:
		m = append(m, "Creating the temporary security group", "Deleting the temporary security group")
	case BuildVolume:
		m = append(m, "Creating volume", "Uploading volume", "Deleting volume")
	}
	if s != BuildVolume {
		m = append(m, "Creating the image")
	}
	return m
}
