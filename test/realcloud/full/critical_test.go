package full

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/instanceactions"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

// The cloud's critical path of one build: the time the cloud itself needs for the steps a build
// must wait for, whatever the client does. A build's wall time minus this is the builder's
// overhead (Packer's start, lookups, late polls, provisioning, its own requests).
//
//	create    POST /servers reaches nova-api → nova-compute has built the server (ACTIVE)
//	ssh       ACTIVE → the guest's port 22 accepts a connection (probed by the bench every 100 ms)
//	stop      the os-stop action reaches nova-api → the guest is powered off (SHUTOFF)
//	snapshot  the createImage action reaches nova-api → Glance has the snapshot's data (active) and
//	          Nova has finished the snapshot (the server may be deleted from then on)
//	delete    DELETE /servers/<id> reaches nova-api → nova-compute has released the server's network
//	          (its last step before the server reads DELETED)
//
// The steps are found through Nova's instance actions (their request IDs). Their times come from
// the services' own logs, to the millisecond: nova-api logs each request when it ends with its
// duration (so the arrival is the line's time minus that), nova-compute and Glance log the end
// of the work under the same request ID. When a log line is missing (a cloud whose logs cannot be
// read), the instance action's times are used, which MariaDB keeps to the second only.

// span is one step of the critical path.
type span struct {
	from, to time.Time
	coarse   bool // from instance actions (whole seconds) rather than the logs
}

func (s span) ok() bool              { return !s.from.IsZero() && !s.to.IsZero() }
func (s span) length() time.Duration { return s.to.Sub(s.from) }
func (s span) format(name string) string {
	if !s.ok() {
		return name + " ?"
	}
	mark := ""
	if s.coarse {
		mark = "~"
	}
	return fmt.Sprintf("%s %s%.1f", name, mark, s.length().Seconds())
}

// cloudPath is the critical path of one build.
type cloudPath struct {
	create, ssh, stop, snapshot, del span
}

func (p cloudPath) spans() []span { return []span{p.create, p.ssh, p.stop, p.snapshot, p.del} }

// total is the sum of the steps, or false when one is unknown.
func (p cloudPath) total() (time.Duration, bool) {
	var d time.Duration
	for _, s := range p.spans() {
		if !s.ok() {
			return 0, false
		}
		d += s.length()
	}
	return d, true
}

func (p cloudPath) format() string {
	return strings.Join([]string{p.create.format("create"), p.ssh.format("ssh"), p.stop.format("stop"),
		p.snapshot.format("snapshot"), p.del.format("delete")}, " + ")
}

// gaps is where the overhead goes: the time between the steps of the critical path, from the
// build's start to its end.
func (p cloudPath) gaps(start, end time.Time) string {
	names := []string{"before create", "ssh→stop", "shutoff→snapshot", "image→delete", "after delete"}
	bounds := [][2]time.Time{
		{start, p.create.from}, {p.ssh.to, p.stop.from}, {p.stop.to, p.snapshot.from},
		{p.snapshot.to, p.del.from}, {p.del.to, end},
	}
	parts := make([]string, len(names))
	for i, b := range bounds {
		if b[0].IsZero() || b[1].IsZero() {
			parts[i] = names[i] + " ?"
			continue
		}
		parts[i] = fmt.Sprintf("%s %.1f", names[i], b[1].Sub(b[0]).Seconds())
	}
	return strings.Join(parts, ", ")
}

// noticed is how late the builder printed its next line after each step ended: its polls (or
// its SSH attempts) are that late.
func (p cloudPath) noticed(w *lineWatch) string {
	names := []string{"active", "ssh", "shutoff", "image", "deleted"}
	ends := []time.Time{p.create.to, p.ssh.to, p.stop.to, p.snapshot.to, p.del.to}
	parts := make([]string, len(names))
	for i, t := range ends {
		next := w.after(t)
		if t.IsZero() || next.IsZero() {
			parts[i] = names[i] + " ?"
			continue
		}
		parts[i] = fmt.Sprintf("%s +%.1f", names[i], next.Sub(t).Seconds())
	}
	return strings.Join(parts, ", ")
}

// logFiles are the service logs the critical path is read from (test/realcloud's log folder).
type logFiles struct {
	dir     string
	offsets map[string]int64
}

var logNames = []string{"nova-api.log", "nova-compute.log", "glance-api.log"}

// markLogs remembers how long each log is, so that a run reads only what it added.
func markLogs() *logFiles {
	dir := os.Getenv("RC_LOGS")
	if dir == "" {
		dir = "/var/lib/packer-plugin-glance-realcloud/logs"
	}
	l := &logFiles{dir: dir, offsets: map[string]int64{}}
	for _, n := range logNames {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil {
			l.offsets[n] = st.Size()
		}
	}
	return l
}

// since returns the lines a log gained after markLogs (none when it cannot be read).
func (l *logFiles) since(name string) []string {
	f, err := os.Open(filepath.Join(l.dir, name))
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(l.offsets[name], io.SeekStart); err != nil {
		return nil
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil
	}
	return strings.Split(string(b), "\n")
}

const logStamp = "2006-01-02 15:04:05.000"

// lineTime is the time at the start of an OpenStack log line.
func lineTime(line string) (time.Time, bool) {
	if len(line) < len(logStamp) {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(logStamp, line[:len(logStamp)], time.Local)
	return t, err == nil
}

// nova-api's request lines: `... "POST /v2.1/servers HTTP/1.1" status: 202 len: 834 time: 3.8966248`.
var novaRequest = regexp.MustCompile(`"(GET|POST|PUT|DELETE) (\S+) HTTP/1\.1" status: (\d+) len: \d+ time: ([0-9.]+)`)

// arrival is when the request with that ID, method and path reached nova-api.
func arrival(lines []string, reqID, method string, path *regexp.Regexp) (time.Time, bool) {
	for _, l := range lines {
		if !strings.Contains(l, reqID) {
			continue
		}
		m := novaRequest.FindStringSubmatch(l)
		if m == nil || m[1] != method || !path.MatchString(m[2]) {
			continue
		}
		end, ok := lineTime(l)
		secs, err := strconv.ParseFloat(m[4], 64)
		if !ok || err != nil {
			continue
		}
		return end.Add(-time.Duration(secs * float64(time.Second))), true
	}
	return time.Time{}, false
}

// logged is the time of the first line with that request ID containing text.
func logged(lines []string, reqID, text string) (time.Time, bool) {
	for _, l := range lines {
		if strings.Contains(l, reqID) && strings.Contains(l, text) {
			return lineTime(l)
		}
	}
	return time.Time{}, false
}

// uploadEnd is when Glance answered the data upload of an image (it is active from then on).
func uploadEnd(lines []string, imageID string) (time.Time, bool) {
	for _, l := range lines {
		if strings.Contains(l, `"PUT /v2/images/`+imageID+`/file HTTP/1.1" 204`) {
			return lineTime(l)
		}
	}
	return time.Time{}, false
}

var (
	serversPath = regexp.MustCompile(`/servers$`)
	actionPath  = regexp.MustCompile(`/servers/[0-9a-f-]+/action$`)
	serverPath  = regexp.MustCompile(`/servers/[0-9a-f-]+$`)
)

// actionInfo is one instance action with its events.
type actionInfo struct {
	reqID  string
	start  time.Time
	events map[string]instanceactions.Event
}

// serverActions reads a (possibly deleted) server's instance actions as admin, the latest of each
// kind.
func serverActions(ctx context.Context, compute *gophercloud.ServiceClient, serverID string) (map[string]actionInfo, error) {
	pages, err := instanceactions.List(compute, serverID, nil).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := instanceactions.ExtractInstanceActions(pages)
	if err != nil {
		return nil, err
	}
	out := map[string]actionInfo{}
	for _, a := range list {
		if _, seen := out[a.Action]; seen {
			continue // the list is newest first
		}
		d, err := instanceactions.Get(ctx, compute, serverID, a.RequestID).Extract()
		if err != nil {
			return nil, err
		}
		info := actionInfo{reqID: a.RequestID, start: a.StartTime, events: map[string]instanceactions.Event{}}
		if d.Events != nil {
			for _, e := range *d.Events {
				info.events[e.Event] = e
			}
		}
		out[a.Action] = info
	}
	return out, nil
}

// buildPath puts the critical path of one build together: the server's instance actions, the
// service logs since logs was taken, the server's and the snapshot's IDs and the time port 22
// first answered.
func buildPath(actions map[string]actionInfo, logs *logFiles, serverID, imageID string, sshUp time.Time) cloudPath {
	api, compute, glance := logs.since("nova-api.log"), logs.since("nova-compute.log"), logs.since("glance-api.log")
	step := func(action string, fromLog func(reqID string) (time.Time, bool), toLog func(reqID string) (time.Time, bool),
		event string) span {
		a, ok := actions[action]
		if !ok {
			return span{}
		}
		var s span
		if t, ok := fromLog(a.reqID); ok {
			s.from = t
		} else {
			s.from, s.coarse = a.start, true
		}
		if t, ok := toLog(a.reqID); ok {
			s.to = t
		} else if e, ok := a.events[event]; ok && !e.FinishTime.IsZero() {
			s.to, s.coarse = e.FinishTime, true
		}
		return s
	}
	var p cloudPath
	p.create = step("create",
		func(r string) (time.Time, bool) { return arrival(api, r, "POST", serversPath) },
		func(r string) (time.Time, bool) { return logged(compute, r, "seconds to build instance") },
		"compute__do_build_and_run_instance")
	p.ssh = span{from: p.create.to, to: sshUp, coarse: p.create.coarse}
	p.stop = step("stop",
		func(r string) (time.Time, bool) { return arrival(api, r, "POST", actionPath) },
		func(r string) (time.Time, bool) { return logged(compute, r, "Instance shutdown successfully") },
		"compute_stop_instance")
	p.snapshot = step("createImage",
		func(r string) (time.Time, bool) { return arrival(api, r, "POST", actionPath) },
		func(string) (time.Time, bool) { return uploadEnd(glance, imageID) },
		"compute_snapshot_instance")
	// Nova finishes the snapshot (clears the server's task_state) after Glance has the data; a
	// build must wait for that before it deletes the server, or Nova deletes the image. Only the
	// instance action says when, to the second (rounded down: never more than the truth).
	if e, ok := actions["createImage"].events["compute_snapshot_instance"]; ok && e.FinishTime.After(p.snapshot.to) && p.snapshot.ok() {
		p.snapshot.to, p.snapshot.coarse = e.FinishTime, true
	}
	p.del = step("delete",
		func(r string) (time.Time, bool) { return arrival(api, r, "DELETE", serverPath) },
		// Logged without the request's ID; right after it Nova saves the server as DELETED (then it
		// updates its resource tracker and Placement, and drops the record).
		func(string) (time.Time, bool) {
			return logged(compute, "[instance: "+serverID+"]", "to deallocate network for instance")
		},
		"compute_terminate_instance")
	return p
}

// sshProbe finds the build's server in the output, its address through Neutron (once a second
// until the port has one) and then connects to its port 22 every 100 ms until it answers.
type sshProbe struct {
	stop chan struct{}
	done chan struct{}
	once sync.Once
	up   time.Time // read after done
	addr string
}

var serverCreated = regexp.MustCompile(`Server ([0-9a-f-]{36}) created|Server ID: ([0-9a-f-]{36})`)

func probeSSH(network *gophercloud.ServiceClient, w *lineWatch) *sshProbe {
	p := &sshProbe{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		wait := func(d time.Duration) bool {
			select {
			case <-p.stop:
				return false
			case <-time.After(d):
				return true
			}
		}
		var id string
		for id == "" {
			if m := w.match(serverCreated); m != nil {
				id = m[1] + m[2]
			} else if !wait(100 * time.Millisecond) {
				return
			}
		}
		for p.addr == "" {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			pages, err := ports.List(network, ports.ListOpts{DeviceID: id}).AllPages(ctx)
			cancel()
			if err == nil {
				if ps, _ := ports.ExtractPorts(pages); len(ps) > 0 && len(ps[0].FixedIPs) > 0 {
					p.addr = net.JoinHostPort(ps[0].FixedIPs[0].IPAddress, "22")
					break
				}
			}
			if !wait(time.Second) {
				return
			}
		}
		for {
			if c, err := net.DialTimeout("tcp", p.addr, 300*time.Millisecond); err == nil {
				p.up = time.Now()
				c.Close()
				return
			}
			if !wait(100 * time.Millisecond) {
				return
			}
		}
	}()
	return p
}

// finish stops the probe and returns when port 22 first answered (zero if it never did).
func (p *sshProbe) finish() time.Time {
	p.once.Do(func() { close(p.stop) })
	<-p.done
	return p.up
}

// median of a list of durations (0 for none).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// loadAverage is the first three fields of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
