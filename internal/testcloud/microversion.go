package testcloud

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// microversion is a Nova or Cinder API microversion such as 2.45.
type microversion struct{ major, minor int }

func (m microversion) atLeast(major, minor int) bool {
	return m.major > major || (m.major == major && m.minor >= minor)
}

func (m microversion) String() string { return fmt.Sprintf("%d.%d", m.major, m.minor) }

// Versions this emulator advertises: Nova as Zed does, Cinder a little lower (what Zed's Cinder offers).
var (
	novaMinVersion   = microversion{2, 1}
	novaMaxVersion   = microversion{2, 93}
	cinderMinVersion = microversion{3, 0}
	cinderMaxVersion = microversion{3, 70}
)

// parseMicroversion reads the requested version from OpenStack-API-Version or the legacy per-service
// headers. Absent means the minimum; "latest" means the maximum; out-of-range values are clamped
// (real services answer 406 there; clients in this project never ask for such versions).
func parseMicroversion(r *http.Request, service string) microversion {
	var min, max microversion
	var typeNames []string
	var legacy string
	switch service {
	case "compute":
		min, max, typeNames, legacy = novaMinVersion, novaMaxVersion, []string{"compute"}, "X-OpenStack-Nova-API-Version"
	case "volume":
		min, max, typeNames, legacy = cinderMinVersion, cinderMaxVersion, []string{"volume", "block-storage", "volumev3"}, "X-OpenStack-Volume-API-Version"
	default:
		return microversion{}
	}
	requested := ""
	for _, h := range r.Header.Values("OpenStack-API-Version") {
		for _, part := range strings.Split(h, ",") {
			fields := strings.Fields(part)
			if len(fields) == 2 {
				for _, t := range typeNames {
					if strings.EqualFold(fields[0], t) {
						requested = fields[1]
					}
				}
			}
		}
	}
	if requested == "" {
		requested = r.Header.Get(legacy)
	}
	if requested == "" {
		return min
	}
	if strings.EqualFold(requested, "latest") {
		return max
	}
	a, b, ok := strings.Cut(requested, ".")
	if !ok {
		return min
	}
	ma, err1 := strconv.Atoi(a)
	mi, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		return min
	}
	v := microversion{ma, mi}
	if !v.atLeast(min.major, min.minor) {
		return min
	}
	if v.atLeast(max.major, max.minor) {
		return max
	}
	return v
}

// setMicroversionHeaders echoes the version used, as Nova and Cinder do.
func setMicroversionHeaders(w http.ResponseWriter, rc *reqCtx) {
	switch rc.service {
	case "compute":
		w.Header().Set("OpenStack-API-Version", "compute "+rc.micro.String())
		w.Header().Set("X-OpenStack-Nova-API-Version", rc.micro.String())
		w.Header().Add("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version")
	case "volume":
		w.Header().Set("OpenStack-API-Version", "volume "+rc.micro.String())
		w.Header().Add("Vary", "OpenStack-API-Version")
	}
}
