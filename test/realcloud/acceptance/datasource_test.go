package acceptance

import (
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// seeded is one image the data-source tests put into Glance.
type seeded struct {
	img  *image
	data []byte
}

// seed creates an image as who, uploads data (unless data is nil) and returns it as Glance
// then shows it.
func seed(t *testing.T, who *identity, fields map[string]any, data []byte) seeded {
	t.Helper()
	if fields["container_format"] == nil {
		fields["container_format"] = "bare"
	}
	if fields["disk_format"] == nil {
		fields["disk_format"] = "raw"
	}
	img := who.createImage(t, fields)
	if data != nil {
		img = who.upload(t, img.ID, data)
	}
	return seeded{img: img, data: data}
}

// filler is n bytes that differ per label, so that every seeded image has its own hash.
func filler(label string, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = label[i%len(label)] ^ byte(i/len(label))
	}
	return b
}

func sha512Hex(b []byte) string {
	s := sha512.Sum512(b)
	return hex.EncodeToString(s[:])
}

// dataSource renders a glance-image data source block.
func dataSource(label string, attrs ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "data \"glance-image\" %q {\n", label)
	for _, a := range attrs {
		fmt.Fprintf(&b, "  %s\n", a)
	}
	b.WriteString("}\n")
	return b.String()
}

// printOutputs is a shell-local post-processor echoing the outputs of the labelled data
// sources as "OUT <label> <key>=<value>" lines.
func printOutputs(labels ...string) string {
	var lines []string
	for _, l := range labels {
		ds := "data.glance-image." + l
		for _, kv := range [][2]string{
			{"id", ds + ".id"}, {"name", ds + ".name"}, {"visibility", ds + ".visibility"},
			{"owner", ds + ".owner"}, {"status", ds + ".status"}, {"tags", `join(",", ` + ds + ".tags)"},
			{"os_distro", `lookup(` + ds + `.properties, "os_distro", "")`},
			{"os_version", `lookup(` + ds + `.properties, "os_version", "")`},
			{"disk_format", ds + ".disk_format"}, {"size", ds + ".size"},
			{"os_hash_value", ds + ".os_hash_value"}, {"created_at", ds + ".created_at"},
			{"hidden", ds + ".hidden"}, {"region", ds + ".region"},
		} {
			lines = append(lines, fmt.Sprintf("    \"echo 'OUT %s %s=${%s}'\",", l, kv[0], kv[1]))
		}
	}
	return "  post-processor \"shell-local\" {\n    inline = [\n" + strings.Join(lines, "\n") + "\n    ]\n  }\n"
}

// TestAccDataSourceRealListings seeds images in the real Glance (as demo and as admin) and
// looks them up through packer: exact names, wildcards, regular expressions, properties, tags,
// visibility, owner, formats and sizes, hidden and pending-shared images, and most_recent
// where creation time and name order disagree. Then the failures: no match, several matches.
func TestAccDataSourceRealListings(t *testing.T) {
	e := setup(t)
	p := e.prefixFor(t, "ds")
	demo, admin := e.demo, e.admin
	private := func(name string, more map[string]any) map[string]any {
		f := map[string]any{"name": p + name, "visibility": "private"}
		for k, v := range more {
			f[k] = v
		}
		return f
	}
	fedora := map[string]any{"disk_format": "qcow2", "os_distro": "fedora"}
	with := func(base map[string]any, more map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range more {
			out[k] = v
		}
		return out
	}

	// Older group, then one second later (Glance's timestamps have one-second precision) the
	// newer group. In the newer group, names sort before their older siblings' on purpose.
	f371 := seed(t, demo, private("fedora-37-1", with(fedora, map[string]any{"os_version": "37", "tags": []string{"golden"}})), filler("f371", 1024))
	u0301 := seed(t, demo, private("ubuntu-22.04-20240301", map[string]any{"os_distro": "ubuntu"}), filler("u0301", 2048))
	relB := seed(t, demo, private("rel-b", nil), filler("relb", 512))
	waitNextSecond(t, relB.img)
	f372 := seed(t, demo, private("fedora-37-2", with(fedora, map[string]any{"os_version": "37", "tags": []string{"golden", "cis"}})), filler("f372", 1024))
	u0101 := seed(t, demo, private("ubuntu-22.04-20240101", map[string]any{"os_distro": "ubuntu"}), filler("u0101", 2048))
	relA := seed(t, demo, private("rel-a", nil), filler("rela", 512))
	f381 := seed(t, demo, private("fedora-38-1", with(fedora, map[string]any{"os_version": "38"})), filler("f381", 1024))
	hidden := seed(t, demo, private("hidden-base", map[string]any{"os_hidden": true}), filler("hidden", 256))
	// Newest of the fedora-37 names, but never given data: the default status filter skips it.
	seed(t, demo, private("fedora-37-9", with(fedora, map[string]any{"os_version": "37"})), nil)
	public := seed(t, admin, with(fedora, map[string]any{"name": p + "public-fedora-37", "visibility": "public", "os_version": "37"}), filler("pub", 768))
	shared := seed(t, admin, map[string]any{"name": p + "partner-appliance", "visibility": "shared"}, filler("partner", 640))
	admin.must(t, "POST", "/v2/images/"+shared.img.ID+"/members", map[string]any{"member": demo.Project}, nil, 200)

	anyName := hclString(p + "*")
	body := dataSource("exact", "name = "+hclString(p+"ubuntu-22.04-20240301")) +
		dataSource("wildcard", "name = "+hclString(p+"fedora-37-*"), "visibility = \"private\"", "most_recent = true") +
		dataSource("wildcard_time", "name = "+hclString(p+"rel-*"), "most_recent = true") +
		dataSource("regex", "name_regex = "+hclString("^"+regexp.QuoteMeta(p)+`ubuntu-22\.04-[0-9]{8}$`), "most_recent = true") +
		dataSource("props", "name = "+anyName, "properties = "+hclMap("os_distro", "fedora", "os_version", "38")) +
		dataSource("props_private", "name = "+anyName, "visibility = \"private\"", "properties = "+hclMap("os_distro", "fedora", "os_version", "37"), "most_recent = true") +
		dataSource("tags", "name = "+anyName, "tags = "+hclList("golden", "cis")) +
		dataSource("tag_regex", "name_regex = "+hclString("^"+regexp.QuoteMeta(p)+".*-1$"), "tags = "+hclList("golden")) +
		dataSource("public", "name = "+anyName, "visibility = \"public\"") +
		dataSource("owner", "name = "+anyName, "owner = "+hclString(admin.Project), "visibility = \"all\"") +
		dataSource("sized", "name = "+anyName, "disk_format = \"raw\"", "size_min = 2000", "size_max = 4096", "most_recent = true") +
		dataSource("hidden", "name = "+hclString(p+"hidden-base"), "hidden = true") +
		dataSource("pending", "name = "+hclString(p+"partner-appliance"), "visibility = \"shared\"", "member_status = \"pending\"")
	labels := []string{"exact", "wildcard", "wildcard_time", "regex", "props", "props_private", "tags", "tag_regex", "public", "owner", "sized", "hidden", "pending"}

	t.Run("lookups", func(t *testing.T) {
		t.Parallel()
		run := e.build(t, nullBuild(body, printOutputs(labels...)), runOpts{Cloud: cloudDemo})
		requireSuccess(t, run)
		got := printed(run.Output)
		want := map[string]seeded{
			"exact": u0301, "wildcard": f372, "wildcard_time": relA, "regex": u0101, "props": f381,
			"props_private": f372, "tags": f372, "tag_regex": f371, "public": public, "owner": public,
			"sized": u0101, "hidden": hidden, "pending": shared,
		}
		for _, l := range labels {
			w, out := want[l], got[l]
			if out == nil {
				t.Errorf("%s: nothing printed", l)
				continue
			}
			if out["id"] != w.img.ID {
				t.Errorf("%s: found %s (%s), want %s (%s)", l, out["id"], out["name"], w.img.ID, w.img.Name)
				continue
			}
			checkOutputs(t, l, out, w)
		}
	})

	t.Run("no_match", func(t *testing.T) {
		t.Parallel()
		run := e.build(t, nullBuild(dataSource("none", "name = "+hclString(p+"nothing-*"), "properties = "+hclMap("os_distro", "fedora")),
			printOutputs("none")), runOpts{Cloud: cloudDemo})
		requireFailure(t, run)
		requireOutput(t, run, "no Glance image matches", `name = "`+p+`nothing-*"`, `status = "active"`, "os_distro")
	})

	t.Run("no_match_rejected_on_client", func(t *testing.T) {
		t.Parallel()
		// Glance lists the prefix's fedora images (the property goes to Glance); the regex
		// rejects them all on the client, and the error says so.
		run := e.build(t, nullBuild(dataSource("none", "name_regex = "+hclString("^"+regexp.QuoteMeta(p)+"fedora-99-"), "properties = "+hclMap("os_distro", "fedora")),
			printOutputs("none")), runOpts{Cloud: cloudDemo})
		requireFailure(t, run)
		requireOutput(t, run, "no Glance image matches", "fedora-99-", "rejected on the client by")
	})

	t.Run("several_matches", func(t *testing.T) {
		t.Parallel()
		run := e.build(t, nullBuild(dataSource("many", "name = "+hclString(p+"fedora-37-*"), "visibility = \"private\""),
			printOutputs("many")), runOpts{Cloud: cloudDemo})
		requireFailure(t, run)
		requireOutput(t, run, "2 Glance images match", "most_recent", f371.img.ID, f372.img.ID, p+"fedora-37-1", p+"fedora-37-2")
	})
}

// checkOutputs compares the printed outputs of one data source with the seeded image.
func checkOutputs(t *testing.T, label string, out map[string]string, w seeded) {
	t.Helper()
	img := w.img
	check := func(key, want string) {
		t.Helper()
		if out[key] != want {
			t.Errorf("%s: %s = %q, want %q", label, key, out[key], want)
		}
	}
	check("name", img.Name)
	check("visibility", img.Visibility)
	check("owner", img.Owner)
	check("status", "active")
	check("os_distro", img.prop("os_distro"))
	check("os_version", img.prop("os_version"))
	check("disk_format", img.DiskFormat)
	check("size", strconv.Itoa(len(w.data)))
	check("os_hash_value", sha512Hex(w.data))
	check("hidden", strconv.FormatBool(img.Hidden))
	check("region", "RegionOne")
	gotTags := strings.Split(out["tags"], ",")
	if out["tags"] == "" {
		gotTags = nil
	}
	wantTags := slices.Clone(img.Tags)
	slices.Sort(gotTags)
	slices.Sort(wantTags)
	if !slices.Equal(gotTags, wantTags) {
		t.Errorf("%s: tags = %v, want %v", label, gotTags, wantTags)
	}
	got, err1 := time.Parse(time.RFC3339, out["created_at"])
	want, err2 := time.Parse(time.RFC3339, img.CreatedAt)
	if err1 != nil || err2 != nil || !got.Equal(want) {
		t.Errorf("%s: created_at = %q, want %q", label, out["created_at"], img.CreatedAt)
	}
}

// waitNextSecond returns once Glance's clock has passed img's creation second, so that the
// next image is strictly newer.
func waitNextSecond(t *testing.T, img *image) {
	t.Helper()
	created, err := time.Parse(time.RFC3339, img.CreatedAt)
	if err != nil {
		t.Fatalf("created_at %q: %v", img.CreatedAt, err)
	}
	// Glance and the test share the machine's clock.
	if d := time.Until(created.Add(time.Second)); d > 0 {
		time.Sleep(d + 50*time.Millisecond)
	}
}
