package glanceimport

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"40GiB": 40 << 30, "40 gib": 40 << 30, "500MB": 500e6, "1.5TiB": 3 << 39, "1048576": 1 << 20,
		"2G": 2 << 30, "64k": 64 << 10, "10B": 10, "1kb": 1000,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "GiB", "-1GiB", "0", "ten", "1PiB", "1e30"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}
