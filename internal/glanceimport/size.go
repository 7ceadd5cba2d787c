package glanceimport

import (
	"fmt"
	"strconv"
	"strings"
)

// sizeUnits are the suffixes ParseSize accepts: decimal (kB, MB, ...) and
// binary (KiB, MiB, ...), case-insensitive, with an optional B for bytes.
var sizeUnits = []struct {
	suffix string
	factor int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// ParseSize reads a size such as "40GiB", "512 MB", "1.5TiB" or "1048576"
// (bytes). Bare K, M, G and T are binary, as qemu-img and Glance's docs use them.
func ParseSize(s string) (int64, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	factor := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(v, u.suffix) {
			v, factor = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive size such as \"40GiB\", \"500MB\" or a number of bytes", s)
	}
	size := n * float64(factor)
	if size >= 1<<62 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(size), nil
}
