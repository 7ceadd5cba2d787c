package osapi

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func parseQuery(t *testing.T, r ImageQuery) url.Values {
	t.Helper()
	q, err := r.ToImageListQuery()
	if err != nil {
		t.Fatal(err)
	}
	if q == "" {
		return url.Values{}
	}
	if !strings.HasPrefix(q, "?") {
		t.Fatalf("query %q does not start with ?", q)
	}
	v, err := url.ParseQuery(q[1:])
	if err != nil {
		t.Fatalf("query %q: %v", q, err)
	}
	return v
}

func TestListRequestEncodesEveryFilter(t *testing.T) {
	v := parseQuery(t, ImageQuery{
		Name: "Fedora", Owner: "p1", Visibility: "all", Tags: []string{"a b", "c&d"},
		Properties:      map[string]string{"os_distro": "fedora", "note": `a&b=c "d", e:f/ü+%`},
		ContainerFormat: "bare", DiskFormat: "qcow2", MemberStatus: "pending", Hidden: true,
		Status: "active", SizeMin: 1, SizeMax: 12345678901, Sort: "name:asc", Limit: 50,
	})
	want := url.Values{
		"name": {"Fedora"}, "owner": {"p1"}, "visibility": {"all"}, "tag": {"a b", "c&d"},
		"os_distro": {"fedora"}, "note": {`a&b=c "d", e:f/ü+%`}, "container_format": {"bare"},
		"disk_format": {"qcow2"}, "member_status": {"pending"}, "os_hidden": {"true"},
		"status": {"active"}, "size_min": {"1"}, "size_max": {"12345678901"}, "sort": {"name:asc"}, "limit": {"50"},
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("query decodes to\n%v\nwant\n%v", v, want)
	}
}

func TestListRequestLeavesUnsetFiltersOut(t *testing.T) {
	if v := parseQuery(t, ImageQuery{}); len(v) != 0 {
		t.Errorf("empty request sends %v", v)
	}
	// os_hidden=false would be a property filter on clouds older than Rocky.
	if v := parseQuery(t, ImageQuery{Name: "x"}); v.Has("os_hidden") {
		t.Error("os_hidden sent although hidden is false")
	}
}

func TestEqFilterValueQuotesColons(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"plain", "plain", true},
		{"debian:12", `in:"debian:12"`, true},
		{"a,b:c", `in:"a,b:c"`, true},
		{`back\slash:x`, `in:"back\slash:x"`, true},
		{`say "hi"`, `say "hi"`, true}, // no colon: Glance compares as is
		{`say:"hi"`, "", false},        // Glance's quote parser cannot carry it
		{`ends:with\`, "", false},
	}
	for _, tc := range cases {
		got, ok := EqFilterValue(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("EqFilterValue(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	v := parseQuery(t, ImageQuery{Name: "debian:12"})
	if v.Get("name") != `in:"debian:12"` {
		t.Errorf("name sent as %q", v.Get("name"))
	}
}
